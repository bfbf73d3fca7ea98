"""Price sync against the simulator: each source shape through a day, gaps, switching off.

A simulated day per source: the day's prices at midnight, the next day's
published at 13:00 local; the site's tariff then orders the hours as the
prices do, with at most 48 pushes. A 3-hour gap gives ``fallback`` and the
site's own tariff within one push interval; switching sync off puts the own
tariff back exactly; an override holding the tariff stops pushes until it
ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import (
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    CONF_PRICE_SYNC,
    CONF_PRICE_SYNC_BUY,
    CONF_PRICE_SYNC_ENABLED,
    CONF_PRICE_SYNC_INTERVAL,
    CONF_PRICE_SYNC_SELL,
    DOMAIN,
)
from custom_components.powerwall_fleet.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.powerwall_fleet.fleet.tariff import (
    differences,
    parse_tariff,
    resolve,
)
from custom_components.powerwall_fleet.overrides.model import Override
from tests.integration.entity_helpers import (
    new_entry,
    request_bodies,
    setup_sites,
    tick,
)
from tests.simulator import Simulator
from tests.simulator.controller import CHARGE, TouPlanner
from tests.simulator.scenario import SITE_PW3
from tests.simulator.tariff import night_tariff

pytestmark = pytest.mark.usefixtures("credentials")

ZONE = ZoneInfo("America/New_York")  # SITE_PW3's zone
DAY = datetime(2026, 6, 22, tzinfo=ZONE)
# A real-shaped day-ahead day (EUR/MWh, hourly: night low, morning and evening
# peaks, a solar dip at noon) and the next day with a negative midday hour.
TODAY = [
    92.1, 88.4, 85.0, 83.2, 84.9, 91.7, 108.3, 131.5, 139.8, 124.6, 110.2, 98.7,
    93.1, 90.4, 95.8, 104.3, 121.9, 148.6, 162.3, 151.2, 132.7, 118.4, 106.5, 97.9,
]  # fmt: skip
TOMORROW = [
    96.3, 90.2, 86.7, 85.1, 86.0, 94.8, 112.6, 128.4, 120.1, 95.3, 61.2, 20.4,
    -4.9, 12.7, 55.0, 89.6, 118.3, 141.7, 170.4, 158.8, 129.9, 112.0, 101.4, 94.1,
]  # fmt: skip
PUSH = "time_of_use_settings"
ENTITY = {
    "nordpool": "sensor.nordpool_kwh_se3_sek_3_10_025",
    "epex_spot": "sensor.epex_spot_data_price",
    "entsoe": "sensor.average_electricity_price_today",
    "octopus_energy": "event.octopus_energy_electricity_22l_current_day_rates",
    "amber": "sensor.home_general_forecast",
    "tibber": "sensor.tibber_future_prices",
    "generic": "sensor.price_forecast",
}


def hourly(
    day: datetime, prices: list[float]
) -> list[tuple[datetime, datetime, float]]:
    """(start, end, EUR per kWh) per hour of ``day`` (local)."""
    return [
        (day + timedelta(hours=h), day + timedelta(hours=h + 1), p / 1000)
        for h, p in enumerate(prices)
    ]


def half_hourly(
    items: list[tuple[datetime, datetime, float]],
) -> list[tuple[datetime, datetime, float]]:
    """Each hour as two half hours (Octopus Energy's and Amber's rhythm)."""
    half = timedelta(minutes=30)
    return [
        part
        for start, end, price in items
        for part in ((start, start + half, price), (start + half, end, price))
    ]


def source_state(
    source: str, items: list[tuple[datetime, datetime, float]], now: datetime
) -> tuple[str, dict[str, Any]]:
    """The state and attributes ``source`` would show for ``items``."""
    current = next((p for s, e, p in items if s <= now < e), items[0][2])
    days: dict[Any, list[tuple[datetime, datetime, float]]] = {}
    for item in items:
        days.setdefault(item[0].date(), []).append(item)
    first, *rest = days.values()
    second = rest[0] if rest else []

    def iso(value: datetime) -> str:
        return value.isoformat()

    match source:
        case "nordpool":  # öre/kWh: a currency's hundredths
            attributes: dict[str, Any] = {
                "unit_of_measurement": "öre/kWh",
                "raw_today": [
                    {"start": iso(s), "end": iso(e), "value": round(p * 100, 3)}
                    for s, e, p in first
                ],
                "raw_tomorrow": [
                    {"start": iso(s), "end": iso(e), "value": round(p * 100, 3)}
                    for s, e, p in second
                ],
                "tomorrow_valid": bool(second),
            }
            return str(round(current * 100, 3)), attributes
        case "epex_spot":
            return str(current), {
                "unit_of_measurement": "EUR/kWh",
                "data": [
                    {"start_time": iso(s), "end_time": iso(e), "price_per_kwh": p}
                    for s, e, p in items
                ],
            }
        case "entsoe":
            return str(current), {
                "unit_of_measurement": "€/kWh",
                "prices_today": [{"time": iso(s), "price": p} for s, _, p in first],
                "prices_tomorrow": [{"time": iso(s), "price": p} for s, _, p in second],
            }
        case "octopus_energy":  # an event entity: state = when it fired
            return iso(now), {
                "rates": [
                    {"start": iso(s), "end": iso(e), "value_inc_vat": p}
                    for s, e, p in half_hourly(items)
                ],
            }
        case "amber":  # only what is still to come
            return str(current), {
                "unit_of_measurement": "$/kWh",
                "forecasts": [
                    {"start_time": iso(s), "end_time": iso(e), "per_kwh": p}
                    for s, e, p in half_hourly(items)
                    if e > now
                ],
            }
        case "tibber":
            return str(current), {
                "unit_of_measurement": "NOK/kWh",
                "today": [{"startsAt": iso(s), "total": p} for s, _, p in first],
                "tomorrow": [{"startsAt": iso(s), "total": p} for s, _, p in second],
            }
        case _:  # generic, in cents: a currency's hundredths
            return str(round(current * 100, 4)), {
                "unit_of_measurement": "c/kWh",
                "forecast": [
                    {"start": iso(s), "end": iso(e), "price": round(p * 100, 4)}
                    for s, e, p in items
                ],
            }


def show(
    hass: HomeAssistant,
    source: str,
    items: list[tuple[datetime, datetime, float]],
    entity_id: str | None = None,
) -> None:
    """Make the source's entity show ``items`` now."""
    state, attributes = source_state(source, items, datetime.now(ZONE))
    hass.states.async_set(entity_id or ENTITY[source], state, attributes)


def sync_entry(simulator: Simulator, entity_id: str, **more: Any) -> MockConfigEntry:
    """An entry with price sync on (slow polls: the day passes in few requests)."""
    return new_entry(
        simulator,
        options={
            CONF_LIVE_INTERVAL: 3600,
            CONF_INFO_INTERVAL: 1440,
            CONF_HISTORY_INTERVAL: 60,
            CONF_PRICE_SYNC: {
                CONF_PRICE_SYNC_ENABLED: True,
                CONF_PRICE_SYNC_BUY: entity_id,
                CONF_PRICE_SYNC_INTERVAL: 30,
                **more,
            },
        },
    )


def sync_state(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    """The price_sync sensor's state and attributes."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_PW3}_price_sync"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state, dict(state.attributes)


def held_buy(simulator: Simulator) -> Callable[[datetime], float | None]:
    """The buy price the site's stored tariff gives at an instant."""
    tariff = parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    return lambda at: resolve(tariff, at, ZONE).buy


async def run_until(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    end: datetime,
    step: float = 900,
    each: Callable[[datetime], None] | None = None,
) -> None:
    """Let time pass in steps until ``end``; ``each`` runs before each step."""
    while datetime.now(ZONE) < end:
        if each is not None:
            each(datetime.now(ZONE))
            # What the new state starts (a push) finishes before time moves.
            await hass.async_block_till_done(wait_background_tasks=True)
        await tick(hass, freezer, step)


def assert_ordered(
    buy: Callable[[datetime], float | None],
    items: list[tuple[datetime, datetime, float]],
) -> None:
    """The tariff orders the hours as the prices do; the dearest is dearest."""
    levels = [(price, buy(start + timedelta(minutes=1))) for start, _, price in items]
    assert all(level is not None for _, level in levels)
    for price, level in levels:
        for other, other_level in levels:
            if price < other:
                assert level <= other_level, (price, level, other, other_level)  # type: ignore[operator]
    dearest = max(levels)[1]
    cheapest = min(levels)[1]
    assert dearest is not None
    assert cheapest is not None
    assert dearest > cheapest


@pytest.mark.parametrize("source", list(ENTITY))
async def test_a_day_with_day_ahead_prices_at_13(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    source: str,
) -> None:
    """Prices published at 13:00 end the day with the tariff ordering the hours."""
    freezer.move_to(DAY + timedelta(minutes=5))
    today = hourly(DAY, TODAY)
    both = today + hourly(DAY + timedelta(days=1), TOMORROW)
    show(hass, source, today)
    # The site's own tariff: a night tariff with a feed-in below every price.
    own = night_tariff()
    for rates in own["sell_tariff"]["energy_charges"].values():
        rates["rates"] = dict.fromkeys(rates["rates"], 0.03)
    simulator.site(SITE_PW3).tariff_content_v2 = own
    entry = await setup_sites(hass, sync_entry(simulator, ENTITY[source]), SITE_PW3)
    await tick(hass, freezer, 1)

    assert sync_state(hass)[0] == "synced"
    first = request_bodies(simulator, PUSH, SITE_PW3)
    assert len(first) == 1
    assert first[0]["tou_settings"]["optimization_strategy"] == "economics"
    assert_ordered(held_buy(simulator), today)
    # The simulated controller acts on it: it charges in the cheapest hour
    # (03:00) to be ready for the dear evening, not in the dearest (18:00).
    planner = TouPlanner(ZONE)
    stored = simulator.site(SITE_PW3).tariff_content_v2
    cheapest = (DAY + timedelta(hours=3, minutes=1)).timestamp()
    dearest = (DAY + timedelta(hours=18, minutes=1)).timestamp()
    assert planner.plan(stored, cheapest).action == CHARGE
    assert planner.plan(stored, dearest).action != CHARGE

    published = False

    def publish(now: datetime) -> None:
        nonlocal published
        if now >= DAY + timedelta(hours=13) and not published:
            published = True
            show(hass, source, both)
        elif source in ("amber", "octopus_energy"):
            show(hass, source, both if published else today)  # rolling updates

    await run_until(hass, freezer, DAY + timedelta(hours=13, minutes=20), each=publish)
    pushes_at_13 = len(request_bodies(simulator, PUSH, SITE_PW3))
    # New day-ahead prices went out at once, confirmed by the read-back.
    last_push = datetime.fromisoformat(sync_state(hass)[1]["last_push"])
    assert DAY + timedelta(hours=13) <= last_push < DAY + timedelta(hours=13, minutes=6)
    assert_ordered(
        held_buy(simulator), [i for i in both if i[1] > DAY + timedelta(hours=13)]
    )
    await run_until(hass, freezer, DAY + timedelta(hours=23, minutes=55), each=publish)

    pushes = len(request_bodies(simulator, PUSH, SITE_PW3))
    assert 2 <= pushes <= 48
    assert pushes_at_13 >= 2
    now = datetime.now(ZONE)
    assert_ordered(held_buy(simulator), [i for i in both if i[0] >= now])
    state, attributes = sync_state(hass)
    assert state == "synced"
    assert len(attributes["levels"]) == 4
    assert attributes["next_price_change"] is not None
    # The tomorrow's negative hour is stored as 0, its cheapest level.
    noon = DAY + timedelta(days=1, hours=12, minutes=1)
    assert held_buy(simulator)(noon) == 0
    # Outside the forecast (two days on) the site's own tariff's order holds.
    tariff = parse_tariff(own)
    later = DAY + timedelta(days=3)
    night, evening = later + timedelta(hours=2), later + timedelta(hours=18)
    own_night, own_evening = (resolve(tariff, t, ZONE).buy for t in (night, evening))
    assert own_night is not None
    assert own_evening is not None
    assert (held_buy(simulator)(night) or 0) <= (held_buy(simulator)(evening) or 0)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_minor_units_are_converted(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Prices in cents are pushed in dollars."""
    freezer.move_to(DAY + timedelta(minutes=5))
    show(hass, "generic", hourly(DAY, TODAY))
    entry = await setup_sites(hass, sync_entry(simulator, ENTITY["generic"]), SITE_PW3)
    await tick(hass, freezer, 1)
    held = parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    assert held.currency == "USD"
    # The diagnostics show the last pushed tariff.
    shown = await async_get_config_entry_diagnostics(hass, entry)
    sent = request_bodies(simulator, PUSH, SITE_PW3)[-1]["tou_settings"]
    assert (
        shown["price_sync"]["sites"][0]["last_pushed_tariff"]
        == sent["tariff_content_v2"]
    )
    prices = held.buy.energy_charges["Summer"].values()
    assert min(TODAY) / 1000 <= min(prices)
    assert max(prices) <= max(TODAY) / 1000


async def test_gap_falls_back_to_the_own_tariff_and_resumes(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 3-hour gap: fallback and the own tariff within one interval; a repair after an hour."""
    freezer.move_to(DAY + timedelta(hours=1, minutes=5))
    items = hourly(DAY, TODAY) + hourly(DAY + timedelta(days=1), TOMORROW)
    show(hass, "epex_spot", items)
    own = parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    entry = await setup_sites(
        hass, sync_entry(simulator, ENTITY["epex_spot"]), SITE_PW3
    )
    await tick(hass, freezer, 1)
    assert sync_state(hass)[0] == "synced"
    assert differences(own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2))

    # The source loses the next three hours.
    now = datetime.now(ZONE)
    gap = [
        i
        for i in items
        if not now - timedelta(hours=1) < i[0] < now + timedelta(hours=3)
    ]
    show(hass, "epex_spot", gap)
    stale_since = datetime.now(ZONE)
    await tick(hass, freezer, 60)
    assert sync_state(hass)[0] == "fallback"
    assert not differences(
        own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    )
    pushes = len(request_bodies(simulator, PUSH, SITE_PW3))

    # Once: no more pushes while it lasts; a repair issue after an hour.
    await run_until(hass, freezer, stale_since + timedelta(minutes=59), step=60)
    assert len(request_bodies(simulator, PUSH, SITE_PW3)) == pushes
    issue_id = f"price_sync_stale_{SITE_PW3}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await tick(hass, freezer, 120)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["entity"] == ENTITY["epex_spot"]

    # The forecast is back: sync resumes, the issue closes.
    show(hass, "epex_spot", items)
    await tick(hass, freezer, 60)
    assert sync_state(hass)[0] == "synced"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert differences(own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2))
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("state", ["unavailable", "not a price"])
async def test_unusable_entity_falls_back(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    state: str,
) -> None:
    """An unavailable or non-numeric price entity never makes a tariff."""
    freezer.move_to(DAY + timedelta(hours=1))
    items = hourly(DAY, TODAY)
    show(hass, "entsoe", items)
    own = parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    await setup_sites(hass, sync_entry(simulator, ENTITY["entsoe"]), SITE_PW3)
    await tick(hass, freezer, 1)
    assert sync_state(hass)[0] == "synced"
    current = hass.states.get(ENTITY["entsoe"])
    assert current is not None
    hass.states.async_set(ENTITY["entsoe"], state, current.attributes)
    await tick(hass, freezer, 1)
    assert sync_state(hass)[0] == "fallback"
    assert not differences(
        own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    )


async def test_switching_off_restores_the_own_tariff_exactly(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Sync off: the tariff held when it was switched on is back, read back and equal."""
    freezer.move_to(DAY + timedelta(hours=9))
    show(hass, "tibber", hourly(DAY, TODAY))
    own_raw = simulator.site(SITE_PW3).tariff_content_v2
    own = parse_tariff(own_raw)
    entry = await setup_sites(hass, sync_entry(simulator, ENTITY["tibber"]), SITE_PW3)
    await tick(hass, freezer, 1)
    assert differences(own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2))

    # Tesla refuses the first attempts: a repair issue until it is back.
    simulator.add_fault(
        rf"/{SITE_PW3}/time_of_use_settings$", method="POST", status=400
    )
    options = dict(entry.options)
    options[CONF_PRICE_SYNC] = {
        **options[CONF_PRICE_SYNC],
        CONF_PRICE_SYNC_ENABLED: False,
    }
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_reload(entry.entry_id)
    await tick(hass, freezer, 1)
    issue_id = f"price_sync_restore_{SITE_PW3}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert differences(own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2))
    simulator.clear_faults()
    await tick(hass, freezer, 30 * 60)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    held = simulator.site(SITE_PW3).tariff_content_v2
    assert not differences(own, parse_tariff(held))
    assert held["energy_charges"] == own_raw["energy_charges"]
    assert held["seasons"] == own_raw["seasons"]
    assert (
        held["sell_tariff"]["energy_charges"]
        == own_raw["sell_tariff"]["energy_charges"]
    )
    assert sync_state(hass)[0] == "off"
    pushes = len(request_bodies(simulator, PUSH, SITE_PW3))
    await tick(hass, freezer, 3600)
    assert len(request_bodies(simulator, PUSH, SITE_PW3)) == pushes


async def test_sell_entity_and_override_holding_the_tariff(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A sell entity makes the sell side; an override holding the tariff pauses sync."""
    freezer.move_to(DAY + timedelta(hours=2))
    items = hourly(DAY, TODAY)
    show(hass, "generic", items)
    sell = [(s, e, p / 2 - 0.05) for s, e, p in items]  # negative at night
    show(hass, "generic", sell, "sensor.sell_forecast")
    entry = await setup_sites(
        hass,
        sync_entry(
            simulator,
            ENTITY["generic"],
            **{CONF_PRICE_SYNC_SELL: "sensor.sell_forecast"},
        ),
        SITE_PW3,
    )
    await tick(hass, freezer, 1)
    assert sync_state(hass)[0] == "synced"
    held = parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    assert held.sell is not None
    # A negative sell price stays at 0, a positive one stays positive.
    for start, _, price in sell:
        at = start + timedelta(minutes=1)
        got = resolve(held, at, ZONE).sell
        assert got is not None
        assert (got == 0) == (price <= 0), (start, price, got)

    overrides = entry.runtime_data.overrides
    overrides.overrides[SITE_PW3] = Override(
        values={"time_of_use": "dispatch"}, restore={"time_of_use": "own"}
    )
    assert overrides.holds_tariff(SITE_PW3)
    pushes = len(request_bodies(simulator, PUSH, SITE_PW3))
    show(
        hass,
        "generic",
        [(s, e, p * 2 + (0.3 if s.hour == 3 else 0)) for s, e, p in items],
    )
    await tick(hass, freezer, 3600)
    assert len(request_bodies(simulator, PUSH, SITE_PW3)) == pushes
    assert sync_state(hass)[0] == "pending"

    del overrides.overrides[SITE_PW3]
    overrides._notify()
    await tick(hass, freezer, 1)
    assert len(request_bodies(simulator, PUSH, SITE_PW3)) == pushes + 1
    assert sync_state(hass)[0] == "synced"


async def test_removing_the_entry_restores_the_own_tariff(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Removing the entry puts the own tariff back (read back, equal)."""
    freezer.move_to(DAY + timedelta(hours=9))
    show(hass, "nordpool", hourly(DAY, TODAY))
    own_raw = simulator.site(SITE_PW3).tariff_content_v2
    own = parse_tariff(own_raw)
    entry = await setup_sites(hass, sync_entry(simulator, ENTITY["nordpool"]), SITE_PW3)
    await tick(hass, freezer, 1)
    assert differences(own, parse_tariff(simulator.site(SITE_PW3).tariff_content_v2))
    pushes = len(request_bodies(simulator, PUSH, SITE_PW3))

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert len(request_bodies(simulator, PUSH, SITE_PW3)) == pushes + 1
    held = simulator.site(SITE_PW3).tariff_content_v2
    assert not differences(own, parse_tariff(held))
    assert held["energy_charges"] == own_raw["energy_charges"]


async def test_options_refuse_an_unknown_shape_and_save_sync(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A source without a known forecast is refused, naming what was expected."""
    freezer.move_to(DAY + timedelta(hours=9))
    hass.states.async_set(
        "sensor.spot_price", "0.12", {"unit_of_measurement": "USD/kWh", "prices_x": []}
    )
    show(hass, "nordpool", hourly(DAY, TODAY))
    intervals = {
        CONF_LIVE_INTERVAL: 30.0,
        CONF_INFO_INTERVAL: 15.0,
        CONF_HISTORY_INTERVAL: 5.0,
    }
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **intervals,
            CONF_PRICE_SYNC: {
                CONF_PRICE_SYNC_ENABLED: True,
                CONF_PRICE_SYNC_BUY: "sensor.spot_price",
                CONF_PRICE_SYNC_INTERVAL: 30.0,
            },
        },
    )
    assert result["errors"] == {"base": "price_sync_shape"}
    shown = result["description_placeholders"]
    assert shown is not None
    assert "raw_today" in shown["expected"]
    assert shown["entity"] == "sensor.spot_price"

    # On without an entity: refused too.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**intervals, CONF_PRICE_SYNC: {CONF_PRICE_SYNC_ENABLED: True}},
    )
    assert result["errors"] == {"base": "price_sync_no_entity"}

    sync = {
        CONF_PRICE_SYNC_ENABLED: True,
        CONF_PRICE_SYNC_BUY: ENTITY["nordpool"],
        CONF_PRICE_SYNC_INTERVAL: 15.0,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**intervals, CONF_PRICE_SYNC: sync}
    )
    assert result["step_id"] == "confirm"
    # A push every 15 minutes plus one for new prices, each read back: 2 x 97.
    shown = result["description_placeholders"]
    assert shown is not None
    assert shown["sync_per_day"] == "194"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_PRICE_SYNC] == {
        **sync,
        CONF_PRICE_SYNC_INTERVAL: 15,
    }


async def test_a_refused_push_is_tried_again_once_per_interval(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Tesla refusing every push: state error, one attempt per interval, no more."""
    freezer.move_to(DAY + timedelta(hours=1))
    items = hourly(DAY, TODAY)
    show(hass, "epex_spot", items)
    simulator.add_fault(
        rf"/{SITE_PW3}/time_of_use_settings$", method="POST", status=400, times=None
    )
    await setup_sites(hass, sync_entry(simulator, ENTITY["epex_spot"]), SITE_PW3)
    await tick(hass, freezer, 1)
    assert sync_state(hass)[0] == "error"
    # New day-ahead prices do not bypass the interval after a failure.
    show(hass, "epex_spot", items + hourly(DAY + timedelta(days=1), TOMORROW))
    await run_until(hass, freezer, DAY + timedelta(hours=3), step=60)
    attempts = [r for r in simulator.requests if r.endpoint == PUSH]
    assert 4 <= len(attempts) <= 5  # 01:00, then every 30 minutes
    assert sync_state(hass)[0] == "error"
