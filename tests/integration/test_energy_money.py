"""Money and late or revised data against the simulator's ground truth, hour by hour.

The simulator publishes some buckets late and revises others (``BucketFault``),
the site's tariff changes mid-day, Tesla answers 503 for an hour, Home
Assistant is down for 3 hours across the end of summer time. Every hourly row
of the main energy statistics and of the cost and compensation statistics must
equal what the simulator's buckets (as Tesla reports them in the end) and the
tariff in force at each bucket's start make of them.
"""

from __future__ import annotations

from collections.abc import Sequence
import copy
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy import (
    data as energy_data,
    validate as energy_validate,
)
from homeassistant.components.recorder.statistics import list_statistic_ids
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.powerwall_fleet.energy.ledger import FLOWS, MONEY_KEYS
from custom_components.powerwall_fleet.energy.statistics import (
    statistic_id,
    statistic_name,
)
from custom_components.powerwall_fleet.fleet.tariff import parse_tariff, resolve
from tests.integration.test_energy import (  # noqa: F401 - sim_clock: a fixture
    CALENDAR,
    HISTORY_MARKS,
    HOUR,
    MAIN_FLOWS,
    Run,
    assert_hours_match,
    assert_sensors_sane,
    history_start,
    hourly_sums,
    last_complete_hour,
    sim_clock,
)
from tests.simulator import Simulator
from tests.simulator.faults import BucketFault
from tests.simulator.history import final_buckets
from tests.simulator.scenario import SITE_FULL, SITE_PW3
from tests.simulator.tariff import default_tariff, tariff_read_back

ZONE = ZoneInfo("America/Los_Angeles")
COST, COMPENSATION = MONEY_KEYS

pytestmark = HISTORY_MARKS

# A tariff's versions as the integration saw them: (first seen, tariff).
type TariffLog = list[tuple[datetime, dict[str, Any]]]


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in California, in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def pricier_tariff() -> dict[str, Any]:
    """The default tariff with other prices (what a mid-day change brings)."""
    tariff = copy.deepcopy(default_tariff())
    for season in ("Summer", "Winter"):
        tariff["energy_charges"][season]["rates"] = {"ON_PEAK": 0.83, "OFF_PEAK": 0.17}
        tariff["sell_tariff"]["energy_charges"][season]["rates"] = {
            "ON_PEAK": 0.11,
            "OFF_PEAK": 0.04,
        }
    return tariff


def money_truth(
    simulator: Simulator,
    site_id: int,
    hour: datetime,
    tariffs: TariffLog,
    zone: tzinfo,
) -> dict[str, float]:
    """Cost and compensation of an hour: each bucket's kWh times the price at its start."""
    parsed = [(seen, parse_tariff(tariff_read_back(raw))) for seen, raw in tariffs]
    cost = compensation = 0.0
    for start, fields in final_buckets(simulator, site_id, hour, hour + HOUR):
        tariff = parsed[0][1]
        for seen, version in parsed:
            if seen <= start:
                tariff = version
        point = resolve(tariff, start, zone)
        assert point.buy is not None
        assert point.sell is not None
        cost += fields["grid_energy_imported"] / 1000 * point.buy
        compensation += fields["total_grid_energy_exported"] / 1000 * point.sell
    return {COST: cost, COMPENSATION: compensation}


async def worst_money_error(
    hass: HomeAssistant,
    simulator: Simulator,
    site_id: int,
    start: datetime,
    end: datetime,
    tariffs: TariffLog,
) -> float:
    """The largest per-hour difference from the truth, cost or compensation."""
    changes = await hourly_sums(hass, site_id, MONEY_KEYS, end)
    worst = 0.0
    hour = start
    while hour + HOUR <= end:
        truth = money_truth(simulator, site_id, hour, tariffs, ZONE)
        for key in MONEY_KEYS:
            got = changes.get(key, {})
            assert hour in got, f"no statistics row for {key} at {hour}"
            worst = max(worst, abs(got[hour] - truth[key]))
        hour += HOUR
    return worst


async def change_tariff(run: Run, tariff: dict[str, Any], tariffs: TariffLog) -> None:
    """The owner changes the site's tariff; site_info shows it at once."""
    simulator = run.simulator
    simulator.site(SITE_FULL).tariff_content_v2 = tariff
    await run.history().info.async_refresh()
    tariffs.append((run.now(), tariff))


async def run_until(run: Run, when: datetime, step: float = 600) -> None:
    """Live on until ``when`` (both clocks), polling whenever due."""
    await run.run_for((when - run.now()).total_seconds(), step=step)


def faults(simulator: Simulator, days: int) -> Sequence[BucketFault]:
    """Late and revised buckets on each day of the scenario (from 30 October)."""
    added: list[BucketFault] = []
    for offset in range(days):
        day = date(2026, 10, 30) + timedelta(days=offset)
        after = day + timedelta(days=1)

        def at(when: date, hour: int, minute: int = 0) -> datetime:
            return local(when.year, when.month, when.day, hour, minute)

        added += [
            # today: late by an hour, and revised 90 minutes after it closed
            BucketFault(SITE_FULL, at(day, 14), hidden_until=at(day, 15, 10)),
            BucketFault(
                SITE_FULL,
                at(day, 14, 30),
                delta={"grid_energy_imported": 120, "total_home_usage": 120},
                revised_at=at(day, 16),
            ),
            # the day's last but one bucket comes after midnight; a bucket of
            # the evening is revised (down) after the day closed: the re-read
            # the next day finds both
            BucketFault(SITE_FULL, at(day, 23, 50), hidden_until=at(after, 1, 30)),
            BucketFault(
                SITE_FULL,
                at(day, 20),
                delta={
                    "grid_energy_imported": -40,
                    "total_home_usage": -40,
                    "total_grid_energy_exported": 25,
                },
                revised_at=at(after, 1),
            ),
        ]
    # late from before the tariff change (31 October, noon): the old price
    added.append(
        BucketFault(
            SITE_FULL,
            local(2026, 10, 31, 11, 50),
            hidden_until=local(2026, 10, 31, 12, 20),
        )
    )
    simulator.bucket_faults.extend(added)
    return added


async def live_through_faults(run: Run, end: datetime, tariffs: TariffLog) -> None:
    """From the first backfill to ``end``: tariff change, 503 hour, 3 h down."""
    await run_until(run, local(2026, 10, 31, 12, 0))
    await change_tariff(run, pricier_tariff(), tariffs)

    await run_until(run, local(2026, 10, 31, 16, 0))
    fault = run.simulator.add_fault(CALENDAR, status=503, times=None)
    await run_until(run, local(2026, 10, 31, 17, 0))
    run.simulator.faults.remove(fault)

    # Down at 00:40 summer time, back at 02:40 winter time (3 hours).
    await run_until(run, local(2026, 11, 1, 0, 40))
    await run.stop()
    await run.down_for(3 * 3600)
    await run.start()
    await run.catch_up()
    await run_until(run, end)


async def test_money_and_energy_hour_by_hour_through_every_fault(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Late, revised, tariff change, 503 hour, 3 h down across DST: all exact."""
    tariffs: TariffLog = [(simulator.clock.now(), default_tariff())]
    faults(simulator, 3)
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    history = run.history()
    assert history.ledger.currencies == {COST: "USD", COMPENSATION: "USD"}

    await live_through_faults(run, datetime(2026, 11, 2, 12, 0, tzinfo=UTC), tariffs)

    history = run.history()  # the one of the new run
    start = history_start(simulator, SITE_FULL)
    end = last_complete_hour(history)
    assert end >= datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    await assert_hours_match(hass, simulator, SITE_FULL, start, end)
    assert (
        await worst_money_error(hass, simulator, SITE_FULL, start, end, tariffs) < 5e-9
    )
    assert history.ledger.unpriced == {"import": 0, "export": 0}
    assert_sensors_sane(run)


async def test_the_picker_gets_main_flows_and_money_with_readable_names(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A site called "Home": six energy statistics, cost and compensation in USD."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        list_statistic_ids, hass, None, None
    )
    ours = {
        item["statistic_id"]: item
        for item in found
        if item["source"] == "powerwall_fleet"
    }
    expected = {statistic_id(SITE_FULL, flow.key) for flow in MAIN_FLOWS} | {
        statistic_id(SITE_FULL, key) for key in MONEY_KEYS
    }
    assert set(ours) == expected
    names = {item["name"] for item in ours.values()}
    assert names == {
        "Home · Grid imported",
        "Home · Grid exported",
        "Home · Solar produced",
        "Home · Battery charged",
        "Home · Battery discharged",
        "Home consumed",
        "Home · Grid import cost",
        "Home · Grid export compensation",
    }
    cost = ours[statistic_id(SITE_FULL, COST)]
    assert cost["statistics_unit_of_measurement"] == "USD"
    assert cost["has_sum"]
    assert cost["unit_class"] is None
    assert len(FLOWS) > len(MAIN_FLOWS)


def test_statistic_names_whatever_the_site_is_called() -> None:
    """No "Home Home consumed"; other names get the site in front."""
    assert statistic_name("Home", "Home consumed") == "Home consumed"
    assert statistic_name("home", "Home from grid") == "Home from grid"
    assert statistic_name("Home", "Grid imported") == "Home · Grid imported"
    assert statistic_name("Homestead", "Home consumed") == "Homestead · Home consumed"
    assert statistic_name("Cabin", "Home consumed") == "Cabin · Home consumed"
    assert statistic_name("  ", "Grid imported") == "Grid imported"


async def test_two_sites_called_the_same_get_distinct_names(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Both sites called "Home": the end of each id tells their statistics apart."""
    simulator.override_fields(SITE_PW3, "site_info", set={"site_name": "Home"})
    run = Run(hass, simulator, freezer, [SITE_FULL, SITE_PW3])
    await run.start()
    await run.catch_up(SITE_FULL)
    await run.catch_up(SITE_PW3)
    await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        list_statistic_ids, hass, None, None
    )
    names = {
        item["statistic_id"]: item["name"]
        for item in found
        if item["source"] == "powerwall_fleet"
    }
    key = "home_energy_consumed"
    assert names[statistic_id(SITE_FULL, key)] == "Home (7001) · Home consumed"
    assert names[statistic_id(SITE_PW3, key)] == "Home (7003) · Home consumed"
    assert len(set(names.values())) == len(names)


async def test_energy_dashboard_accepts_the_money_statistics(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Grid source from the statistics with their cost and compensation: no issue."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.tick(300)
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    grid: dict[str, Any] = {
        "type": "grid",
        "stat_energy_from": statistic_id(SITE_FULL, "grid_energy_imported"),
        "stat_energy_to": statistic_id(SITE_FULL, "grid_energy_exported"),
        "stat_cost": statistic_id(SITE_FULL, COST),
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": statistic_id(SITE_FULL, COMPENSATION),
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0.0,
    }
    await manager.async_update(
        cast(Any, {"energy_sources": [grid], "device_consumption": []})
    )
    result = (await energy_validate.async_validate(hass)).as_dict()
    assert result["energy_sources"] == [[]], result
