"""A dispatch as an owner sees it, in a real browser (issue 19).

On the shared stack (conftest ``configured``), on the "Home" site: the device
page shows the *Dispatch* sensor as "Idle"; a charge dispatch started from
Home Assistant's action (as an automation or the developer tools call it)
turns it to "Waiting for the battery" and, once two live polls show the
battery charging from the grid, to "Acting", with the mode and strategy in its
attributes; *Cancel override* ends it and puts every setting back. Leaves
Home's settings as it found them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

# The settings a charge dispatch changes, as the simulator reports them.
SETTINGS = (
    "default_real_mode",
    "backup_reserve_percent",
    "disallow_charge_from_grid_with_solar_installed",
)


def _state(page: Any, entity_id: str) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id]", entity_id
    )
    return found


def _open_home(web: Browser, running: Stack) -> str:
    """Home's device page; its device id."""
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Home", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Dispatch", exact=True).first.wait_for()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_charge_dispatch_acts_and_cancel_restores(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Idle, waiting, acting on the device page; cancel puts the settings back."""
    running, _ = configured
    page = logged_in.page
    device_id = _open_home(logged_in, running)
    sensor = stack.entity_id_of(page, f"{SITE_FULL}_dispatch")
    assert sensor is not None
    assert _state(page, sensor)["state"] == "idle"
    logged_in.shot("dispatch-idle", full_page=True)
    before = {key: running.site(SITE_FULL)[key] for key in SETTINGS}

    answer: dict[str, Any] = stack.ha_ws(
        page,
        {
            "type": "call_service",
            "domain": stack.DOMAIN,
            "service": "dispatch",
            "service_data": {
                "device_id": device_id,
                "mode": "charge",
                "duration": {"minutes": 30},
            },
            "return_response": True,
        },
    )
    (site,) = answer["response"]["sites"]
    assert site["mode"] == "charge"
    assert site["strategy"] == site["ladder"][0]
    assert site["ends_at"]
    assert running.site(SITE_FULL)["backup_reserve_percent"] == 100

    # Two live polls (30 s apart) with the battery charging: acting.
    stack.wait_until(
        lambda: _state(page, sensor)["state"] == "acting",
        "the dispatch to act",
        timeout=150,
    )
    attributes = _state(page, sensor)["attributes"]
    assert attributes["mode"] == "charge"
    assert attributes["strategy"] == site["strategy"]
    logged_in.shot("dispatch-acting", full_page=True)

    page.get_by_role("button", name="Press", exact=True).click()
    stack.wait_until(
        lambda: {key: running.site(SITE_FULL)[key] for key in SETTINGS} == before,
        "the settings put back",
        timeout=60,
    )
    stack.wait_until(
        lambda: _state(page, sensor)["state"] == "idle",
        "the dispatch sensor idle again",
        timeout=60,
    )
    logged_in.shot("dispatch-cancelled", full_page=True)
