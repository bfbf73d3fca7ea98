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

from pathlib import Path
import re

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]


def _check_devices(web: Browser, running: Stack) -> None:
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Home & 2 more sites").wait_for()
    for device in ("Home", "Cabin"):
        page.get_by_text(device, exact=True).first.wait_for()
    web.shot("integration")
    page.get_by_text("Home", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Tesla").first.wait_for()
    web.shot("device-home", full_page=True)
    # The site's Wall Connector: its own device, linked to the site.
    page.goto(f"{running.ha_url}/config/devices/dashboard")
    page.get_by_role("row").filter(has_text="Gen 3 Wall Connector").first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Connected vehicle").first.wait_for()
    web.shot("device-wall-connector", full_page=True)


def _check_stops(running: Stack) -> None:
    code = stack.interrupt(running)
    assert code in (0, 130), (
        f"scripts/develop exited with {code}:\n{stack.tail(running.log)}"
    )
    ports = [int(url.rsplit(":", 1)[1]) for url in (running.ha_url, running.sim_url)]
    assert all(stack.port_is_free(port) for port in ports), "a process outlived Ctrl-C"


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
    running = stack.start_develop(tmp_path / "config", artifacts / "develop.log", *args)
    try:
        stack.log_in(browser, running)
        stack.add_integration(browser)
        if credentials == "dialog":
            stack.application_credentials_dialog(browser, running)
        stack.config_flow(browser, running)
        _check_devices(browser, running)
    except BaseException:
        browser.shot_all("failed")
        stack.interrupt(running)
        raise
    _check_stops(running)
