"""The end-to-end tests' pieces: a running scripts/develop, a browser, UI steps.

``start_develop`` runs scripts/develop (the Fleet API simulator and the newest
Home Assistant release from .venv-ha-release) in a temporary config dir on
free ports; ``Browser`` wraps a Playwright page with numbered screenshots;
the ``log_in``/``add_integration``/``config_flow`` steps are what the banner
of scripts/develop tells a developer to do. ``ha_ws``/``ha_service`` talk to
Home Assistant through the logged-in frontend's own connection;
``poll_history_now`` starts a site's energy history at once. Stopping a stack
(``interrupt``) fails the test when Home Assistant's log reports a deprecated
use by the integration.

Test modules call ``skip_unless_asked()`` first: they run only when asked
for (scripts/e2e sets POWERWALL_FLEET_E2E=1), with Playwright installed and a
Chromium found.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import importlib
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import time
from typing import Any
import urllib.request

import pytest

from tests.deprecation_reports import deprecation_reports
from tests.simulator.scenario import CLIENT_ID, CLIENT_SECRET, PARTNER_DOMAIN

# Imported by name: Playwright is only in .venv-ha-release, and the linters
# run in .venv.
sync_api: Any
try:
    sync_api = importlib.import_module("playwright.sync_api")
except ImportError:
    sync_api = None


def _find_chromium() -> str | None:
    if explicit := os.environ.get("E2E_CHROMIUM"):
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


CHROMIUM = _find_chromium()


def skip_unless_asked() -> None:
    """Skip the calling test module unless scripts/e2e runs it and can."""
    if os.environ.get("POWERWALL_FLEET_E2E") != "1":
        pytest.skip(
            "end-to-end browser test, not part of the default run: use scripts/e2e",
            allow_module_level=True,
        )
    if sync_api is None:
        pytest.skip(
            "playwright is not installed: scripts/setup --ha release, then scripts/e2e",
            allow_module_level=True,
        )
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium found: install one (Debian/Ubuntu: apt-get install chromium)"
            " or point E2E_CHROMIUM at a Chromium or Chrome binary",
            allow_module_level=True,
        )


REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
USERNAME = "dev"
PASSWORD = "dev"
# The first start installs Home Assistant's frontend and friends into the venv.
STARTUP_TIMEOUT = float(os.environ.get("E2E_STARTUP_TIMEOUT", "900"))
UI_TIMEOUT = 30_000  # ms, for each step of the UI
DOMAIN = "powerwall_fleet"


@dataclass
class Stack:
    """A running scripts/develop."""

    ha_url: str
    sim_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        """Call one of the simulator's ``/_sim`` control routes."""
        request = urllib.request.Request(  # noqa: S310 - loopback http
            f"{self.sim_url}/_sim/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def site(self, site_id: int) -> dict[str, Any]:
        """The simulator's state of one site (reserve, mode, ...)."""
        site: dict[str, Any] = self.sim("GET", "state")["sites"][str(site_id)]
        return site


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_develop(config_dir: Path, log: Path, *args: str) -> Stack:
    """Start scripts/develop with its config in ``config_dir``; wait for its banner."""
    ha_port, sim_port = free_port(), free_port()
    env = {
        **os.environ,
        "HA_PORT": str(ha_port),
        "SIM_PORT": str(sim_port),
        "HA_CONFIG_DIR": str(config_dir),
        "DEV_USERNAME": USERNAME,
        "DEV_PASSWORD": PASSWORD,
    }
    env.pop("POWERWALL_FLEET_DEVELOPER", None)  # scripts/develop must set it
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [str(REPO / "scripts" / "develop"), *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's job
        )
    stack = Stack(
        f"http://127.0.0.1:{ha_port}", f"http://127.0.0.1:{sim_port}", process, log
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while "is up:" not in log.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(
                f"scripts/develop exited with {process.returncode}:\n{tail(log)}"
            )
        if time.monotonic() > deadline:
            interrupt(stack)
            pytest.fail(
                f"scripts/develop not up in {STARTUP_TIMEOUT:.0f} s:\n{tail(log)}"
            )
        time.sleep(0.5)
    return stack


def interrupt(stack: Stack) -> int:
    """Ctrl-C, as in a terminal: SIGINT to the whole process group.

    Then fails when Home Assistant's log (the stack's output) reports a
    deprecated use by the integration: ``check_log``.
    """
    if stack.process.poll() is None:
        os.killpg(stack.process.pid, signal.SIGINT)
    try:
        code = stack.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait()
        raise
    check_log(stack.log)
    return code


def check_log(log: Path) -> None:
    """Fail when ``log`` has Home Assistant reporting a deprecated use by the integration.

    Home Assistant only logs those (tests/deprecation_reports.py), and keeps
    working until the version the report names.
    """
    if reports := deprecation_reports(log.read_text(errors="replace").splitlines()):
        pytest.fail(
            f"Home Assistant reported a deprecated use by the integration ({log}):\n"
            + "\n".join(reports),
            pytrace=False,
        )


def tail(log: Path, lines: int = 40) -> str:
    """The last lines of ``log``."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def artifacts_dir(name: str) -> Path:
    """A fresh folder for one test's screenshots and logs."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class Browser:
    """A headless Chromium tab with numbered screenshots."""

    def __init__(self, page: Any, folder: Path) -> None:
        """Drive ``page``; screenshots go to ``folder``."""
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str, page: Any = None, *, full_page: bool = False) -> Path:
        """Save a screenshot of ``page`` (default: the main tab)."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        (page or self.page).screenshot(path=path, full_page=full_page)
        return path

    def shot_all(self, name: str) -> None:
        """Screenshots of every open tab (after a failure)."""
        for page in self.page.context.pages:
            with contextlib.suppress(sync_api.Error):
                self.shot(name, page)


def new_context(chromium: Any, storage_state: Path | None = None) -> Any:
    """A browser context like a desktop user's (optionally logged in already)."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        storage_state=str(storage_state) if storage_state else None,
    )
    context.set_default_timeout(UI_TIMEOUT)
    return context


def role(page: Any, kind: str, name: str | re.Pattern[str]) -> Any:
    """The element of ARIA role ``kind`` with accessible name ``name``."""
    return page.get_by_role(kind, name=name)


def log_in(web: Browser, stack: Stack) -> None:
    """Log in on Home Assistant's login page."""
    page = web.page
    page.goto(stack.ha_url)
    role(page, "textbox", "Username").fill(USERNAME)
    role(page, "textbox", "Password").fill(PASSWORD)
    web.shot("login")
    role(page, "button", "Log in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    role(page, "link", "Settings").wait_for()
    web.shot("logged-in")


def add_integration(web: Browser) -> None:
    """Settings > Devices & services > Add integration > our brand."""
    page = web.page
    role(page, "link", "Settings").click()
    role(page, "link", "Devices & services").click()
    role(page, "button", "Add integration").click()
    page.get_by_text("Select brand").wait_for()
    page.keyboard.type("Powerwall")  # the search field has the focus
    page.get_by_text("Tesla Powerwall (Fleet API)", exact=True).wait_for()
    web.shot("search")
    page.get_by_text("Tesla Powerwall (Fleet API)", exact=True).click()


def application_credentials_dialog(web: Browser, stack: Stack) -> None:
    """Home Assistant asks for credentials first when the integration has none."""
    page = web.page
    page.get_by_text("Add application credentials").first.wait_for()
    client_id = role(page, "textbox", "OAuth client ID")
    try:
        client_id.wait_for()
        loaded = True
    except sync_api.TimeoutError:
        loaded = False
    if not loaded:
        web.shot("credentials-dialog-not-loading")
        errors = [
            line
            for line in stack.log.read_text(errors="replace").splitlines()
            if "application_credentials" in line or line.startswith("RuntimeError")
        ]
        pytest.fail(
            "The 'Add application credentials' dialog shows no fields (it spins)."
            " Home Assistant's log says:\n" + "\n".join(errors[-8:])
        )
    page.get_by_text("/auth/external/callback").wait_for()  # the redirect URI
    web.shot("credentials-dialog")
    role(page, "textbox", "Name").fill("Fleet API simulator")
    client_id.fill(CLIENT_ID)
    role(page, "textbox", "OAuth client secret").fill(CLIENT_SECRET)
    web.shot("credentials-filled")
    role(page, "button", re.compile(r"^Add$")).click()


def approve_sign_in(web: Browser, stack: Stack) -> None:
    """Open website > the simulator's consent page > Approve (the tab closes)."""
    page = web.page
    open_website = page.get_by_text("Open website")
    open_website.wait_for()
    web.shot("sign-in")
    with page.context.expect_page() as opened:
        open_website.click()
    consent = opened.value
    consent.wait_for_load_state()
    assert consent.url.startswith(f"{stack.sim_url}/oauth2/v3/authorize"), consent.url
    web.shot("approve-page", consent)
    with consent.expect_event("close"):  # Home Assistant's callback closes it
        role(consent, "button", "Approve").click()


def config_flow(web: Browser, stack: Stack) -> None:
    """From the server step to the created entry."""
    page = web.page
    # Fleet API server
    custom = role(page, "radio", "Custom Fleet-API-compatible server")
    custom.wait_for()
    web.shot("server")
    custom.check()
    role(page, "textbox", "Fleet API base URL").fill(f"{stack.sim_url}/na")
    role(page, "textbox", "Sign-in server URL").fill(stack.sim_url)
    web.shot("server-filled")
    role(page, "button", "Submit").click()

    # Register with Tesla: the simulator downloads the key from Home Assistant.
    domain = role(page, "textbox", "Domain")
    domain.wait_for()
    page.get_by_text("BEGIN PUBLIC KEY").wait_for()
    web.shot("partner")
    domain.fill(PARTNER_DOMAIN)
    role(page, "button", "Submit").click()

    # Sign in to "Tesla": the simulator's consent page opens in a new tab.
    approve_sign_in(web, stack)

    # Energy sites: all the account's sites with a battery, solar or grid.
    home = role(page, "checkbox", re.compile(r"^Home \(\d+\)$"))
    home.wait_for()
    web.shot("sites")
    assert home.is_checked()
    assert role(page, "checkbox", re.compile(r"^Cabin \(\d+\)$")).is_checked()
    role(page, "button", "Submit").click()

    # Created: name the devices and assign areas, or skip.
    finish = role(page, "button", re.compile("finish", re.IGNORECASE))
    finish.wait_for()
    names = role(page, "textbox", "Device name")
    names.first.wait_for()
    assert {"Home", "Cabin"} <= {box.input_value() for box in names.all()}
    web.shot("created")
    finish.click()


def ha_ws(page: Any, message: dict[str, Any]) -> Any:
    """Send a websocket command over the frontend's own connection; its result."""
    return page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)",
        message,
    )


def ha_service(page: Any, domain: str, service: str, data: dict[str, Any]) -> None:
    """Call an action through the frontend's own connection."""
    ha_ws(
        page,
        {
            "type": "call_service",
            "domain": domain,
            "service": service,
            "service_data": data,
        },
    )


def search_picker(page: Any, words: str) -> None:
    """Type ``words`` into the search box of the picker that was just opened.

    The box may take a moment to appear and take the focus (the list loads
    after it opens), so it is filled once it is there rather than typed into
    whatever has the focus.
    """
    box = page.get_by_placeholder("Search").filter(visible=True).last
    box.wait_for()
    box.fill(words)


def wait_until(probe: Any, what: str, timeout: float = 120.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if result := probe():
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(1)


def our_entries(page: Any) -> list[dict[str, Any]]:
    """The integration's config entries (entry_id, state, title...)."""
    result: list[dict[str, Any]] = ha_ws(
        page, {"type": "config_entries/get", "domain": DOMAIN}
    )
    return result


def entity_id_of(page: Any, unique_id: str) -> str | None:
    """The entity id of the integration's entity with ``unique_id``, if registered."""
    entries: list[dict[str, Any]] = ha_ws(page, {"type": "config/entity_registry/list"})
    return next(
        (
            entry["entity_id"]
            for entry in entries
            if entry.get("platform") == DOMAIN and entry.get("unique_id") == unique_id
        ),
        None,
    )


def poll_history_now(page: Any, site_id: int) -> str:
    """Have the site's energy history polled now; its grid-import energy sensor.

    The integration asks for history just after Tesla's next 5-minute bucket
    closes (up to 5 min 45 s after setup), then backfills 30 days at one
    request per 5 s. A browser test need not wait for the bucket: Home
    Assistant's ``homeassistant.update_entity`` on one of the site's energy
    sensors makes their (history) coordinator refresh now, which starts the
    backfill at once. The integration's timing and pacing are untouched.
    """
    entity_id = wait_until(
        lambda: entity_id_of(page, f"{site_id}_grid_energy_imported"),
        f"the grid-import energy sensor of site {site_id}",
        timeout=60,
    )
    ha_service(page, "homeassistant", "update_entity", {"entity_id": entity_id})
    return str(entity_id)
