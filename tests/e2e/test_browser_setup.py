"""A newcomer's first run, in a real browser.

Starts scripts/develop (the Fleet API simulator and a real Home Assistant) in
a temporary config dir on free ports, then drives headless Chromium through
what its banner tells a developer to do: log in, add "Tesla Powerwall (Fleet
API)", go through the config flow (application credentials dialog, server
step, partner registration, the simulator's Approve page, energy sites) and
see the sites as devices. Ctrl-C (SIGINT) must then stop the whole stack.

Opt-in and slow (a Home Assistant start per test): run it with scripts/e2e.
Screenshots of every step land in tests/e2e/artifacts/<test>/, with the
stack's output in develop.log.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import time
from typing import Any

import pytest

from tests.simulator.scenario import CLIENT_ID, CLIENT_SECRET, PARTNER_DOMAIN

if os.environ.get("POWERWALL_FLEET_E2E") != "1":
    pytest.skip(
        "end-to-end browser test, not part of the default run: use scripts/e2e",
        allow_module_level=True,
    )
sync_api: Any = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed: .venv/bin/pip install -r tests/e2e/requirements.txt",
)


def _find_chromium() -> str | None:
    if explicit := os.environ.get("E2E_CHROMIUM"):
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


CHROMIUM = _find_chromium()
if CHROMIUM is None:
    pytest.skip(
        "no Chromium found: install one (Debian/Ubuntu: apt-get install chromium)"
        " or point E2E_CHROMIUM at a Chromium or Chrome binary",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
USERNAME = "dev"
PASSWORD = "dev"
# The first start installs Home Assistant's frontend and friends into .venv.
STARTUP_TIMEOUT = float(os.environ.get("E2E_STARTUP_TIMEOUT", "900"))
UI_TIMEOUT = 30_000  # ms, for each step of the UI


@dataclass
class Stack:
    """A running scripts/develop."""

    ha_url: str
    sim_url: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_develop(tmp_path: Path, log: Path, *args: str) -> Stack:
    ha_port, sim_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "HA_PORT": str(ha_port),
        "SIM_PORT": str(sim_port),
        "HA_CONFIG_DIR": str(tmp_path / "config"),
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
                f"scripts/develop exited with {process.returncode}:\n{_tail(log)}"
            )
        if time.monotonic() > deadline:
            _interrupt(stack)
            pytest.fail(
                f"scripts/develop not up in {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}"
            )
        time.sleep(0.5)
    return stack


def _interrupt(stack: Stack) -> int:
    """Ctrl-C, as in a terminal: SIGINT to the whole process group."""
    if stack.process.poll() is None:
        os.killpg(stack.process.pid, signal.SIGINT)
    try:
        return stack.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait()
        raise


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A fresh folder for this test's screenshots and logs."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class Browser:
    """Headless Chromium with numbered screenshots."""

    def __init__(self, page: Any, folder: Path) -> None:
        """Drive ``page``; screenshots go to ``folder``."""
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str, page: Any = None, *, full_page: bool = False) -> None:
        """Save a screenshot of ``page`` (default: the main tab)."""
        self.count += 1
        (page or self.page).screenshot(
            path=self.folder / f"{self.count:02d}-{name}.png", full_page=full_page
        )

    def shot_all(self, name: str) -> None:
        """Screenshots of every open tab (after a failure)."""
        for page in self.page.context.pages:
            with contextlib.suppress(sync_api.Error):
                self.shot(name, page)


@pytest.fixture
def browser(artifacts: Path) -> Iterator[Browser]:
    """A fresh headless Chromium tab."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900}, locale="en-US"
        )
        context.set_default_timeout(UI_TIMEOUT)
        try:
            yield Browser(context.new_page(), artifacts)
        finally:
            context.close()
            chromium.close()


def _role(page: Any, role: str, name: str | re.Pattern[str]) -> Any:
    return page.get_by_role(role, name=name)


def _log_in(web: Browser, stack: Stack) -> None:
    page = web.page
    page.goto(stack.ha_url)
    _role(page, "textbox", "Username").fill(USERNAME)
    _role(page, "textbox", "Password").fill(PASSWORD)
    web.shot("login")
    _role(page, "button", "Log in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    _role(page, "link", "Settings").wait_for()
    web.shot("logged-in")


def _add_integration(web: Browser) -> None:
    """Settings > Devices & services > Add integration > our brand."""
    page = web.page
    _role(page, "link", "Settings").click()
    _role(page, "link", "Devices & services").click()
    _role(page, "button", "Add integration").click()
    page.get_by_text("Select brand").wait_for()
    page.keyboard.type("Powerwall")  # the search field has the focus
    page.get_by_text("Tesla Powerwall (Fleet API)", exact=True).wait_for()
    web.shot("search")
    page.get_by_text("Tesla Powerwall (Fleet API)", exact=True).click()


def _application_credentials_dialog(web: Browser, stack: Stack) -> None:
    """Home Assistant asks for credentials first when the integration has none."""
    page = web.page
    page.get_by_text("Add application credentials").first.wait_for()
    client_id = _role(page, "textbox", "OAuth client ID")
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
    _role(page, "textbox", "Name").fill("Fleet API simulator")
    client_id.fill(CLIENT_ID)
    _role(page, "textbox", "OAuth client secret").fill(CLIENT_SECRET)
    web.shot("credentials-filled")
    _role(page, "button", re.compile(r"^Add$")).click()


def _config_flow(web: Browser, stack: Stack) -> None:
    """From the server step to the created entry."""
    page = web.page
    # Fleet API server
    custom = _role(page, "radio", "Custom Fleet-API-compatible server")
    custom.wait_for()
    web.shot("server")
    custom.check()
    _role(page, "textbox", "Fleet API base URL").fill(f"{stack.sim_url}/na")
    _role(page, "textbox", "Sign-in server URL").fill(stack.sim_url)
    web.shot("server-filled")
    _role(page, "button", "Submit").click()

    # Register with Tesla: the simulator downloads the key from Home Assistant.
    domain = _role(page, "textbox", "Domain")
    domain.wait_for()
    page.get_by_text("BEGIN PUBLIC KEY").wait_for()
    web.shot("partner")
    domain.fill(PARTNER_DOMAIN)
    _role(page, "button", "Submit").click()

    # Sign in to "Tesla": the simulator's consent page opens in a new tab.
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
        _role(consent, "button", "Approve").click()

    # Energy sites: all the account's sites with a battery, solar or grid.
    home = _role(page, "checkbox", re.compile(r"^Home \(\d+\)$"))
    home.wait_for()
    web.shot("sites")
    assert home.is_checked()
    assert _role(page, "checkbox", re.compile(r"^Cabin \(\d+\)$")).is_checked()
    _role(page, "button", "Submit").click()

    # Created: name the devices and assign areas, or skip.
    finish = _role(page, "button", re.compile("finish", re.IGNORECASE))
    finish.wait_for()
    names = _role(page, "textbox", "Device name")
    names.first.wait_for()
    assert {"Home", "Cabin"} <= {box.input_value() for box in names.all()}
    web.shot("created")
    finish.click()


def _check_devices(web: Browser, stack: Stack) -> None:
    page = web.page
    page.goto(f"{stack.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Home & 2 more sites").wait_for()
    for device in ("Home", "Cabin"):
        page.get_by_text(device, exact=True).first.wait_for()
    web.shot("integration")
    page.get_by_text("Home", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Tesla").first.wait_for()
    web.shot("device-home", full_page=True)
    # The site's Wall Connector: its own device, linked to the site.
    page.goto(f"{stack.ha_url}/config/devices/dashboard")
    page.get_by_role("row").filter(has_text="Gen 3 Wall Connector").first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Connected vehicle").first.wait_for()
    web.shot("device-wall-connector", full_page=True)


def _check_stops(stack: Stack) -> None:
    code = _interrupt(stack)
    assert code in (0, 130), f"scripts/develop exited with {code}:\n{_tail(stack.log)}"
    ports = [int(url.rsplit(":", 1)[1]) for url in (stack.ha_url, stack.sim_url)]
    assert all(_port_is_free(port) for port in ports), "a process outlived Ctrl-C"


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("added", id="credentials-added-by-develop"),
        pytest.param("dialog", id="credentials-dialog"),
    ],
)
def test_add_integration_in_browser(
    tmp_path: Path, artifacts: Path, browser: Browser, credentials: str
) -> None:
    """The README's development steps work in a browser, end to end."""
    args = ("--no-credentials",) if credentials == "dialog" else ()
    stack = _start_develop(tmp_path, artifacts / "develop.log", *args)
    try:
        _log_in(browser, stack)
        _add_integration(browser)
        if credentials == "dialog":
            _application_credentials_dialog(browser, stack)
        _config_flow(browser, stack)
        _check_devices(browser, stack)
    except BaseException:
        browser.shot_all("failed")
        _interrupt(stack)
        raise
    _check_stops(stack)
