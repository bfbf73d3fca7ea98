"""A tariff that arrives after setup brings its entities, in a real browser.

On the shared stack (conftest ``configured``) the "Cabin" site had no tariff
when the integration was added: the simulator left ``tariff_content_v2`` out
of its site_info, so the site's device page has no Buy price, Sell price,
period, next change or tariff calendar. Then Tesla reports a tariff; the next
site_info (asked for here with the integration's refresh action, as an owner
can) must put those entities on the open device page, without a reload of
the entry or the page, each once, showing what ``get_time_of_use`` reports.
Runs before test_reauth.py (file order), which replaces the stack's login.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_PW3

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

# The time-of-use entities' keys (unique id ``<site_id>_<key>``) and names.
TOU = {
    "tou_period": "Time-of-use period",
    "tou_buy_price": "Buy price",
    "tou_sell_price": "Sell price",
    "tou_next_change": "Next tariff change",
    "tariff": "Tariff",
}


def _tou_entities(page: Any) -> dict[str, str]:
    """The Cabin's time-of-use entities in the entity registry: key -> entity id."""
    wanted = {f"{SITE_PW3}_{key}": key for key in TOU}
    entries: list[dict[str, Any]] = stack.ha_ws(
        page, {"type": "config/entity_registry/list"}
    )
    return {
        wanted[entry["unique_id"]]: entry["entity_id"]
        for entry in entries
        if entry.get("platform") == stack.DOMAIN and entry.get("unique_id") in wanted
    }


def _state(page: Any, entity_id: str) -> dict[str, Any] | None:
    """The entity's state object as the frontend has it (None when it has none)."""
    found: dict[str, Any] | None = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id] || null",
        entity_id,
    )
    return found


def _open_cabin(web: Browser, running: Stack) -> str:
    """The Cabin's device page; its device id."""
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Cabin", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Backup reserve").first.wait_for()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_tariff_set_after_setup_shows_without_reload(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """No tariff at setup: none of its entities; Tesla reports one: all appear."""
    running, _ = configured
    page = logged_in.page
    device_id = _open_cabin(logged_in, running)
    assert _tou_entities(page) == {}
    for name in ("Buy price", "Sell price", "Next tariff change"):
        assert page.get_by_text(name, exact=True).count() == 0, name
    logged_in.shot("cabin-without-tariff", full_page=True)

    # The owner picks a tariff in the Tesla app; Home Assistant reads site_info.
    running.sim("DELETE", "overrides")
    stack.ha_service(page, stack.DOMAIN, "refresh", {"device_id": device_id})

    # On the page that is still open, no reload: every entity, once.
    for name in ("Buy price", "Sell price", "Next tariff change"):
        page.get_by_text(name, exact=True).first.wait_for()
    found = stack.wait_until(
        lambda: (entities := _tou_entities(page)).keys() == TOU.keys() and entities,
        "the Cabin's time-of-use entities in the registry",
        timeout=60,
    )
    logged_in.shot("cabin-with-tariff", full_page=True)
    states = {key: _state(page, entity_id) for key, entity_id in found.items()}
    assert all(state is not None for state in states.values()), states
    assert all(
        state["state"] not in ("unavailable", "unknown")
        for state in states.values()
        if state is not None
    ), states

    answer: dict[str, Any] = stack.ha_ws(
        page,
        {
            "type": "call_service",
            "domain": stack.DOMAIN,
            "service": "get_time_of_use",
            "service_data": {"device_id": device_id},
            "return_response": True,
        },
    )
    current = answer["response"]["sites"][0]["current"]
    buy, sell = states["tou_buy_price"], states["tou_sell_price"]
    assert buy is not None
    assert sell is not None
    assert float(buy["state"]) == pytest.approx(current["buy"]), (buy, current)
    assert float(sell["state"]) == pytest.approx(current["sell"]), (sell, current)
    assert buy["attributes"]["unit_of_measurement"].endswith("/kWh"), buy
    period = states["tou_period"]
    assert period is not None
    assert period["attributes"]["period"] == current["period"], (period, current)

    # Each entity once: Home Assistant refuses (and logs) a repeated unique id.
    assert "does not generate unique IDs" not in running.log.read_text(errors="replace")
