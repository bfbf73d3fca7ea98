"""Price sync as an owner sets it up, in a real browser (issue 22).

On the shared stack (conftest ``configured``): a price sensor with a forecast
(the generic ``forecast`` list of ``{start, end, price}``, in the stack's
currency) is chosen in the options' collapsed "Sync prices to the Powerwall"
section; the request budget step names what the sync costs; the "Home"
site's *Price sync* sensor turns "Synced" and the simulator holds a tariff
whose buy prices order the hours as the forecast does. Switching sync off
puts back the tariff Home had, exactly. An entity without a forecast is
refused in the form with the shapes it expects. Leaves Home's tariff as it
found it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

FORECAST_ENTITY = "sensor.spot_price_forecast"
PLAIN_ENTITY = "sensor.spot_price_now"
SECTION = "Sync prices to the Powerwall"


def _forecast(now: datetime) -> list[dict[str, Any]]:
    """36 hours from the hour before now: cheap at night, dear at 17-21 UTC."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    items = []
    for hour in range(36):
        start = first + timedelta(hours=hour)
        price = 0.08 + 0.01 * (start.hour % 6)
        if 17 <= start.hour < 21:
            price = 0.40 + 0.02 * (start.hour - 17)
        items.append(
            {
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
                "price": round(price, 4),
            }
        )
    return items


def _set_state(
    page: Any, entity_id: str, state: str, attributes: dict[str, Any]
) -> None:
    """A sensor state written through Home Assistant's REST API (as a bridge would)."""
    page.evaluate(
        "([id, body]) => document.querySelector('home-assistant')"
        ".hass.callApi('POST', 'states/' + id, body)",
        [entity_id, {"state": state, "attributes": attributes}],
    )


def _state(page: Any, entity_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id] || null",
        entity_id,
    )
    return found


def _device_of(page: Any, entity_id: str) -> str:
    entries: list[dict[str, Any]] = stack.ha_ws(
        page, {"type": "config/entity_registry/list"}
    )
    return next(e["device_id"] for e in entries if e["entity_id"] == entity_id)


def _open_options(web: Browser, running: Stack) -> None:
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    stack.role(page, "button", "Configure").click()
    page.get_by_text("Polling and prices").wait_for()


def _expand_section(web: Browser) -> None:
    """Open the collapsed sync section (its fields then show)."""
    page = web.page
    header = page.get_by_text(SECTION, exact=True).filter(visible=True).first
    header.wait_for()
    buy = page.get_by_text("Buy price entity", exact=True).filter(visible=True)
    if buy.count() == 0:
        header.click()
    buy.first.wait_for()
    web.shot("section-open", full_page=True)


def _pick_buy(web: Browser, name: str) -> None:
    """Choose the entity called ``name`` as the buy price (the third picker)."""
    page = web.page
    page.get_by_text("Select an entity").filter(visible=True).nth(2).click()
    stack.search_picker(page, name)
    web.shot("picker", full_page=True)
    page.get_by_text(name, exact=True).filter(visible=True).last.click()


def _switch_sync(page: Any, on: bool) -> None:
    """The section's switch (the form's last one)."""
    switch = page.get_by_role("switch").filter(visible=True).last
    if switch.is_checked() != on:
        switch.click(force=True)


def test_price_sync_from_the_options(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Refused without a forecast; synced with one; switched off: own tariff back."""
    running, _ = configured
    page = logged_in.page
    own = running.site(SITE_FULL)["tariff_content_v2"]
    now = datetime.now(UTC)
    forecast = _forecast(now)
    _set_state(
        page,
        FORECAST_ENTITY,
        str(forecast[1]["price"]),
        {
            "unit_of_measurement": "USD/kWh",
            "friendly_name": "Spot price forecast",
            "forecast": forecast,
        },
    )
    _set_state(
        page,
        PLAIN_ENTITY,
        "0.12",
        {"unit_of_measurement": "USD/kWh", "friendly_name": "Spot price now"},
    )
    sensor = stack.entity_id_of(page, f"{SITE_FULL}_price_sync")
    assert sensor is not None
    state = _state(page, sensor)
    assert state is not None
    assert state["state"] == "off"

    # An entity without a forecast: refused, nothing saved.
    _open_options(logged_in, running)
    _expand_section(logged_in)
    _switch_sync(page, True)
    _pick_buy(logged_in, "Spot price now")
    stack.role(page, "button", "Submit").click()
    refusal = page.get_by_text(re.compile(r"has no price forecast this integration"))
    refusal.wait_for()
    refusal.scroll_into_view_if_needed()
    logged_in.shot("no-forecast-refused", full_page=True)
    page.keyboard.press("Escape")

    # With a forecast: the budget names the sync; saved; Home synced.
    _open_options(logged_in, running)
    _expand_section(logged_in)
    _switch_sync(page, True)
    _pick_buy(logged_in, "Spot price forecast")
    logged_in.shot("sync-chosen", full_page=True)
    stack.role(page, "button", "Submit").click()
    page.get_by_text(
        re.compile(r"Price sync adds at most \d+ requests per day")
    ).wait_for()
    logged_in.shot("sync-budget")
    stack.role(page, "button", "Submit").click()

    stack.wait_until(
        lambda: (
            (found := _state(page, sensor)) is not None and found["state"] == "synced"
        ),
        "Home's price sync to be synced",
        timeout=120,
    )
    pushed = running.site(SITE_FULL)["tariff_content_v2"]
    assert pushed != own
    assert running.site(SITE_FULL)["optimization_strategy"] == "economics"
    answer: dict[str, Any] = stack.ha_ws(
        page,
        {
            "type": "call_service",
            "domain": stack.DOMAIN,
            "service": "get_time_of_use",
            "service_data": {"device_id": _device_of(page, sensor)},
            "return_response": True,
        },
    )
    current = answer["response"]["sites"][0]["current"]
    # The hour now is one of the cheap ones (or a dear one): its level is
    # ordered as the forecast is against the dearest hour's.
    dear = max(item["price"] for item in forecast)
    now_price = next(
        item["price"]
        for item in forecast
        if datetime.fromisoformat(item["start"])
        <= now
        < datetime.fromisoformat(item["end"])
    )
    if now_price < dear:
        attributes = (_state(page, sensor) or {})["attributes"]
        prices = [level["price"] for level in attributes["levels"]]
        assert current["buy"] < max(prices), (current, attributes)
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Home", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    page.get_by_text("Price sync", exact=True).first.wait_for()
    logged_in.shot("home-synced", full_page=True)

    # Switched off: Home holds its own tariff again, exactly.
    _open_options(logged_in, running)
    _expand_section(logged_in)
    _switch_sync(page, False)
    stack.role(page, "button", "Submit").click()
    page.get_by_text("Request budget").wait_for()
    stack.role(page, "button", "Submit").click()
    stack.wait_until(
        lambda: running.site(SITE_FULL)["tariff_content_v2"] == own,
        "Home's own tariff back",
        timeout=120,
    )
    stack.wait_until(
        lambda: (found := _state(page, sensor)) is not None and found["state"] == "off",
        "Home's price sync off",
        timeout=60,
    )
