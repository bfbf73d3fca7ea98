"""Time-of-use: entities follow the clock; set/get_time_of_use actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import OFF_PEAK_ALL_DAY, new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_SOLAR_ONLY

CALENDAR_DOMAIN = "calendar"
SERVICE_GET_EVENTS = "get_events"
pytestmark = pytest.mark.platforms(Platform.CALENDAR, Platform.SENSOR)
# Sunday 21 June 2026, 05:00 in Los Angeles (SITE_FULL), Summer OFF_PEAK.
START = datetime.fromisoformat("2026-06-21T12:00:00+00:00")


def _entity_id(hass: HomeAssistant, key: str, site_id: int = SITE_FULL) -> str:
    registry = er.async_get(hass)
    platform = "calendar" if key == "tariff" else "sensor"
    entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{site_id}_{key}")
    assert entity_id is not None, key
    return entity_id


def _state(hass: HomeAssistant, key: str, site_id: int = SITE_FULL) -> Any:
    state = hass.states.get(_entity_id(hass, key, site_id))
    assert state is not None
    return state


async def _move(hass: HomeAssistant, freezer: FrozenDateTimeFactory, iso: str) -> None:
    freezer.move_to(datetime.fromisoformat(iso))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _device(hass: HomeAssistant, site_id: int = SITE_FULL) -> str:
    identifier = (DOMAIN, str(site_id))
    registry = dr.async_get(hass)
    for config_entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(
            registry, config_entry.entry_id
        ):
            if identifier in device.identifiers:
                return device.id
    raise AssertionError(site_id)


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> MockConfigEntry:
    """The full site (TOU) and the solar-only one (no TOU), at START."""
    freezer.move_to(START)
    return await setup_sites(
        hass, new_entry(simulator), SITE_FULL, SITE_SOLAR_ONLY, enable_all=True
    )


async def test_entities_follow_the_clock(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Period, prices, next change and calendar change at the period boundary."""
    period = _state(hass, "tou_period")
    assert period.state == "off_peak"
    assert period.attributes["season"] == "Summer"
    assert period.attributes["period"] == "OFF_PEAK"
    assert period.attributes["options"] == [
        "on_peak",
        "partial_peak",
        "off_peak",
        "super_off_peak",
    ]
    buy = _state(hass, "tou_buy_price")
    assert float(buy.state) == 0.31
    assert buy.attributes[ATTR_UNIT_OF_MEASUREMENT] == "USD/kWh"
    assert buy.attributes["device_class"] == "monetary"
    assert float(_state(hass, "tou_sell_price").state) == 0.29
    assert _state(hass, "tou_next_change").state == "2026-06-21T23:00:00+00:00"
    calendar = _state(hass, "tariff")
    assert calendar.state == "on"
    assert calendar.attributes["message"] == (
        "Off peak: buy 0.31 USD/kWh, sell 0.29 USD/kWh"
    )
    # The solar-only site has no tariff, so no TOU entities.
    registry = er.async_get(hass)
    assert (
        registry.async_get_entity_id("sensor", DOMAIN, f"{SITE_SOLAR_ONLY}_tou_period")
        is None
    )

    await _move(hass, freezer, "2026-06-21T22:59:59+00:00")
    assert _state(hass, "tou_period").state == "off_peak"
    await _move(hass, freezer, "2026-06-21T23:00:00+00:00")
    assert _state(hass, "tou_period").state == "on_peak"
    assert float(_state(hass, "tou_buy_price").state) == 0.62
    assert float(_state(hass, "tou_sell_price").state) == 0.6
    assert _state(hass, "tou_next_change").state == "2026-06-22T04:00:00+00:00"
    assert _state(hass, "tariff").attributes["message"].startswith("On peak")
    await _move(hass, freezer, "2026-06-22T04:00:00+00:00")
    assert _state(hass, "tou_period").state == "off_peak"


async def test_entities_follow_dst(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """When clocks go back the repeated hour's periods come round again."""
    await hass.services.async_call(
        DOMAIN,
        "set_time_of_use",
        {
            "device_id": _device(hass),
            "currency": "USD",
            "seasons": [
                {
                    "periods": [
                        {
                            "period": "SUPER_OFF_PEAK",
                            "start": "01:30",
                            "end": "02:30",
                            "buy": 0.1,
                            "sell": 0.05,
                        },
                        {
                            "period": "ON_PEAK",
                            "start": "02:30",
                            "end": "01:30",
                            "buy": 0.5,
                            "sell": 0.05,
                        },
                    ]
                }
            ],
        },
        blocking=True,
    )
    await _move(hass, freezer, "2026-11-01T08:00:00+00:00")  # 01:00 PDT
    assert _state(hass, "tou_period").state == "on_peak"
    expected = [
        ("2026-11-01T08:30:00+00:00", "super_off_peak"),  # 01:30 PDT
        ("2026-11-01T09:00:00+00:00", "on_peak"),  # 01:00 PST, clocks went back
        ("2026-11-01T09:30:00+00:00", "super_off_peak"),  # 01:30 PST
        ("2026-11-01T10:30:00+00:00", "on_peak"),  # 02:30 PST
    ]
    for when, state in expected:
        assert _state(hass, "tou_next_change").state == when
        await _move(hass, freezer, when)
        assert _state(hass, "tou_period").state == state, when
        # 01:30 PDT to 01:00 PST looks negative in wall-clock time: no event.
        calendar = "off" if when == "2026-11-01T08:30:00+00:00" else "on"
        assert _state(hass, "tariff").state == calendar


async def test_calendar_events(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The calendar lists each stretch of a period with its prices."""
    result: Any = await hass.services.async_call(
        CALENDAR_DOMAIN,
        SERVICE_GET_EVENTS,
        {
            "entity_id": _entity_id(hass, "tariff"),
            "start_date_time": "2026-06-22T00:00:00-07:00",
            "end_date_time": "2026-06-23T00:00:00-07:00",
        },
        blocking=True,
        return_response=True,
    )
    assert result is not None
    events = result[_entity_id(hass, "tariff")]["events"]
    assert [(e["start"], e["end"], e["summary"]) for e in events] == [
        (
            "2026-06-22T07:00:00+00:00",
            "2026-06-22T23:00:00+00:00",
            "Off peak: buy 0.31 USD/kWh, sell 0.29 USD/kWh",
        ),
        (
            "2026-06-22T23:00:00+00:00",
            "2026-06-23T04:00:00+00:00",
            "On peak: buy 0.62 USD/kWh, sell 0.6 USD/kWh",
        ),
        (
            "2026-06-23T04:00:00+00:00",
            "2026-06-23T07:00:00+00:00",
            "Off peak: buy 0.31 USD/kWh, sell 0.29 USD/kWh",
        ),
    ]
    assert "Season: Summer" in events[0]["description"]


async def test_set_time_of_use_success(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The legacy form from the seed is sent as v2, read back and confirmed."""
    response: Any = await hass.services.async_call(
        DOMAIN,
        "set_time_of_use",
        {
            "device_id": _device(hass),
            "name": "Seed tariff",
            "currency": "USD",
            "schedule": {
                "tou_settings": {
                    "optimization_strategy": "economics",
                    "schedule": [
                        {
                            "target": "peak",
                            "week_days": [1, 2, 3, 4, 5],
                            "start_seconds": 50400,
                            "end_seconds": 75600,
                        },
                        {
                            "target": "off_peak",
                            "week_days": [0, 6],
                            "start_seconds": 79200,
                            "end_seconds": 25200,
                        },
                    ],
                }
            },
            "prices": {
                "peak": {"buy": 0.5, "sell": 0.1},
                "off_peak": {"buy": 0.1, "sell": 0.05},
                "shoulder": {"buy": 0.04, "sell": 0.08},  # Tesla raises buy to 0.08
            },
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: Any = response["sites"]
    assert sites == [
        {
            "site_id": SITE_FULL,
            "device_id": _device(hass),
            "name": sites[0]["name"],
            "confirmed": True,
            "differences": [],
        }
    ]
    assert any("below the sell price" in w for w in response["warnings"])
    held = simulator.sites[SITE_FULL].tariff_content_v2
    assert held["name"] == "Seed tariff"
    assert held["energy_charges"]["Summer"]["rates"]["PARTIAL_PEAK"] == 0.08
    # 05:00 on a Sunday: off-peak; the entities show the new tariff at once.
    assert float(_state(hass, "tou_buy_price").state) == 0.1
    # Full v2 form: what get_time_of_use returns can be sent back unchanged.
    got: Any = await hass.services.async_call(
        DOMAIN,
        "get_time_of_use",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert got is not None
    full: Any = got["sites"]
    mine = next(site for site in full if site["site_id"] == SITE_FULL)
    assert mine["time_zone"] == "America/Los_Angeles"
    assert mine["current"] == {
        "season": "Summer",
        "period": "OFF_PEAK",
        "buy": 0.1,
        "sell": 0.05,
    }
    assert {
        "season": "Summer",
        "season_dates": "01-01 to 12-31",
        "period": "ON_PEAK",
        "days": "mon-fri",
        "start": "14:00",
        "end": "21:00",
        "buy": 0.5,
        "sell": 0.1,
    } in mine["periods"]
    solar = next(site for site in full if site["site_id"] == SITE_SOLAR_ONLY)
    assert solar["tariff"] is None
    again: Any = await hass.services.async_call(
        DOMAIN,
        "set_time_of_use",
        {"device_id": _device(hass), "tariff": mine["tariff"]},
        blocking=True,
        return_response=True,
    )
    assert again is not None
    assert again["sites"][0]["confirmed"] is True


def _commands(entry: MockConfigEntry) -> int:
    return sum(
        site.usage.counts.get("commands", 0)
        for site in entry.runtime_data.sites.values()
    )


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        (
            {"tariff": {"seasons": {"Summer": {"tou_periods": {}}}}},
            "invalid_tariff",
            "Monday 00:00-24:00 is not covered",
        ),
        (
            {
                "seasons": [
                    {
                        "periods": [
                            {
                                "period": "ON_PEAK",
                                "start": "00:00",
                                "end": "12:00",
                                "buy": -1,
                            },
                            {
                                "period": "OFF_PEAK",
                                "start": "11:00",
                                "end": "00:00",
                                "buy": 1,
                            },
                        ]
                    }
                ]
            },
            "invalid_tariff",
            "covered more than once (ON_PEAK, OFF_PEAK)",
        ),
        ({"schedule": [{"target": "peak"}]}, "invalid_tariff", "week_days"),
        ({"tariff": {}, "seasons": []}, "tariff_one_form", None),
        ({}, "tariff_one_form", None),
    ],
)
async def test_set_time_of_use_refused_before_sending(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
    fragment: str | None,
) -> None:
    """Every problem in one translated ServiceValidationError; nothing sent."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"device_id": _device(hass), **data},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == key
    if fragment is not None:
        assert fragment in (err.value.translation_placeholders or {})["problems"]
        assert fragment in str(err.value)
    assert _commands(entry) == 0


async def test_set_time_of_use_targets(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Targets are checked first: none, foreign, or a site without TOU."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "no_target"),
        ({"device_id": "nope"}, "not_our_target"),
        ({"config_entry_id": "nope"}, "not_our_target"),
        ({"device_id": _device(hass, SITE_SOLAR_ONLY)}, "not_tou_capable"),
    ]
    for target, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "set_time_of_use", {**OFF_PEAK_ALL_DAY, **target}, blocking=True
            )
        assert err.value.translation_key == key
    assert _commands(entry) == 0
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_time_of_use",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_set_time_of_use_api_failure(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Tesla refusing: a translated HomeAssistantError, the site keeps its tariff."""
    before = simulator.sites[SITE_FULL].tariff_content_v2
    simulator.add_fault(r"/time_of_use_settings$", method="POST", status=503)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"device_id": _device(hass), **OFF_PEAK_ALL_DAY},
            blocking=True,
        )
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "command_failed"
    assert simulator.sites[SITE_FULL].tariff_content_v2 == before
    assert _state(hass, "tou_period").state == "off_peak"


@pytest.mark.parametrize(
    ("stored", "found", "shown"),
    [
        pytest.param(
            {"currency": "XXX"},
            ["currency"],
            ("tou_buy_price", ATTR_UNIT_OF_MEASUREMENT, "XXX/kWh"),
            id="other-currency",
        ),
        pytest.param(
            {"seasons": "broken"},
            ["tariff_content_v2"],
            ("tou_period", None, STATE_UNAVAILABLE),
            id="unreadable",
        ),
    ],
)
async def test_set_time_of_use_not_held(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    stored: dict[str, Any],
    found: list[str],
    shown: tuple[str, str | None, str],
) -> None:
    """Accepted but not what the site reports: the response says so, a warning is logged."""
    with patch(
        "tests.simulator.write_routes.tesla_stores",
        side_effect=lambda tariff: {**tariff, **stored},
    ):
        response: Any = await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"device_id": _device(hass), "currency": "USD", **OFF_PEAK_ALL_DAY},
            blocking=True,
            return_response=True,
        )
    assert response is not None
    site: Any = response["sites"][0]
    assert site["confirmed"] is False
    assert site["differences"] == found
    assert "still reports the previous setting" in caplog.text
    key, attribute, expected = shown
    state = _state(hass, key)
    assert (state.attributes[attribute] if attribute else state.state) == expected


async def test_unreadable_tariff(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tariff that does not parse: entities unavailable, get reports the problems."""
    freezer.move_to(START)
    simulator.sites[SITE_FULL].tariff_content_v2 = {"seasons": "broken"}
    await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    assert _state(hass, "tou_period").state == STATE_UNAVAILABLE
    assert _state(hass, "tariff").state == STATE_UNAVAILABLE
    response: Any = await hass.services.async_call(
        DOMAIN,
        "get_time_of_use",
        {"device_id": _device(hass)},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["sites"][0]["problems"] == ["seasons: must be an object"]


TOU_KEYS = ("tou_period", "tou_buy_price", "tou_sell_price", "tou_next_change")


def _tou_unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """The unique ids of the site's time-of-use entities, duplicates kept."""
    wanted = {f"{SITE_FULL}_{key}" for key in (*TOU_KEYS, "tariff")}
    return sorted(
        entity.unique_id
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.unique_id in wanted
    )


async def _refresh_info(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    await hass.async_block_till_done()


async def test_tariff_appearing_after_setup_adds_entities(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No tariff at setup: the next site_info with one adds every TOU entity, once."""
    freezer.move_to(START)
    simulator.override_fields(SITE_FULL, "site_info", remove=["tariff_content_v2"])
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    assert _tou_unique_ids(hass, entry) == []
    await _refresh_info(hass, entry)
    assert _tou_unique_ids(hass, entry) == []

    simulator.clear_overrides()
    await _refresh_info(hass, entry)
    assert _state(hass, "tou_period").state == "off_peak"
    assert float(_state(hass, "tou_buy_price").state) == 0.31
    assert float(_state(hass, "tou_sell_price").state) == 0.29
    assert _state(hass, "tou_next_change").state == "2026-06-21T23:00:00+00:00"
    assert _state(hass, "tariff").attributes["message"] == (
        "Off peak: buy 0.31 USD/kWh, sell 0.29 USD/kWh"
    )
    device = _device(hass)
    for key in (*TOU_KEYS, "tariff"):
        entity = er.async_get(hass).async_get(_entity_id(hass, key))
        assert entity is not None
        assert entity.device_id == device

    # Later site_info (and the tariff going and coming back) add nothing twice.
    await _refresh_info(hass, entry)
    simulator.override_fields(SITE_FULL, "site_info", remove=["tariff_content_v2"])
    await _refresh_info(hass, entry)
    assert _state(hass, "tou_period").state == STATE_UNAVAILABLE
    simulator.clear_overrides()
    await _refresh_info(hass, entry)
    assert _state(hass, "tou_period").state == "off_peak"
    assert _tou_unique_ids(hass, entry) == sorted(
        f"{SITE_FULL}_{key}" for key in (*TOU_KEYS, "tariff")
    )
    assert "does not generate unique IDs" not in caplog.text
    # The clock is followed by the added entities too.
    await _move(hass, freezer, "2026-06-21T23:00:00+00:00")
    assert _state(hass, "tou_period").state == "on_peak"
    assert _state(hass, "tariff").attributes["message"].startswith("On peak")


async def test_tariff_set_by_action_after_setup_adds_entities(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tariff sent with set_time_of_use to a site without one shows at once."""
    freezer.move_to(START)
    simulator.override_fields(SITE_FULL, "site_info", remove=["tariff_content_v2"])
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    assert _tou_unique_ids(hass, entry) == []
    simulator.clear_overrides()
    await hass.services.async_call(
        DOMAIN,
        "set_time_of_use",
        {"device_id": _device(hass), "currency": "USD", **OFF_PEAK_ALL_DAY},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert _state(hass, "tou_period").state == "off_peak"
    assert float(_state(hass, "tou_buy_price").state) == 0.2
    assert _state(hass, "tariff").state == "on"


async def test_sell_price_added_when_the_tariff_gains_one(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tariff without sell prices has no Sell price; one with them adds it."""
    freezer.move_to(START)
    buy_only = {
        key: value
        for key, value in simulator.sites[SITE_FULL].tariff_content_v2.items()
        if key != "sell_tariff"
    }
    simulator.override_fields(
        SITE_FULL, "site_info", set={"tariff_content_v2": buy_only}
    )
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    assert f"{SITE_FULL}_tou_sell_price" not in _tou_unique_ids(hass, entry)
    assert float(_state(hass, "tou_buy_price").state) == 0.31

    simulator.clear_overrides()
    await _refresh_info(hass, entry)
    assert float(_state(hass, "tou_sell_price").state) == 0.29
    assert len(_tou_unique_ids(hass, entry)) == 5
