"""Energy history against the simulator's physics, whose buckets are ground truth.

Home Assistant's clock (freezer) and the simulator's clock move together. The
history coordinator polls on its own aligned schedule; each ``tick`` fires the
timers that are due. After every scenario the hourly long-term statistics are
compared, hour by hour and flow by flow, with the simulator's buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
import math
from typing import Any, cast
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy import (
    data as energy_data,
    validate as energy_validate,
)
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.const import EVENT_STATE_CHANGED, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.powerwall_fleet.const import (
    CONF_BACKFILL_FROM_INSTALLATION,
    CONF_BREAKDOWN_STATISTICS,
)
from custom_components.powerwall_fleet.coordinator import HistoryCoordinator
from custom_components.powerwall_fleet.coordinator.history import PACE
from custom_components.powerwall_fleet.energy.ledger import FLOWS, EnergyFlow
from custom_components.powerwall_fleet.energy.statistics import statistic_id
from custom_components.powerwall_fleet.fleet import ServerError
from tests.integration.entity_helpers import new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.clock import SimClock
from tests.simulator.history import bucket_truth
from tests.simulator.scenario import (
    SITE_EU,
    SITE_FULL,
    SITE_SOLAR_ONLY,
    USER_EU,
    USER_MAIN,
)

HOUR = timedelta(hours=1)
MAIN_FLOWS = tuple(flow for flow in FLOWS if flow.main)
CALENDAR = r"/calendar_history$"
# Friday 30 October 2026, 13:00 in California; clocks go back on Sunday 1 November.
DST_START = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)


# What a test of the energy history needs: the recorder (the statistics), the
# energy sensors (no other platform), retries at once (time is frozen).
HISTORY_MARKS = [
    pytest.mark.recorder,
    pytest.mark.platforms(Platform.SENSOR),
    pytest.mark.usefixtures("no_retry_delay"),
]
pytestmark = HISTORY_MARKS


@pytest.fixture
def sim_clock() -> SimClock:
    """The simulator's clock: two days before the end of summer time in the US."""
    return SimClock(DST_START)


class Run:
    """Home Assistant and the simulator on one clock, plus what the sensors did."""

    def __init__(
        self,
        hass: HomeAssistant,
        simulator: Simulator,
        freezer: FrozenDateTimeFactory,
        site_ids: list[int],
    ) -> None:
        """Put Home Assistant's clock on the simulator's, its currency on the tariff's."""
        hass.config.currency = simulator.site(site_ids[0]).tariff_content_v2["currency"]
        self.hass = hass
        self.simulator = simulator
        self.freezer = freezer
        self.site_ids = site_ids
        self.entry: MockConfigEntry | None = None
        self.states: dict[str, list[str]] = {}
        self.stopping = False
        freezer.move_to(simulator.clock.now())
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._state_changed)

    @callback
    def _state_changed(self, event: Event[Any]) -> None:
        # In the event loop: run in a worker thread, reading the entity
        # registry while it changes raced ("dictionary changed size").
        if self.stopping:
            return  # unloading makes every entity unavailable: not ours
        new = event.data["new_state"]
        if new is not None and new.entity_id in self.energy_entities():
            self.states.setdefault(new.entity_id, []).append(new.state)

    def energy_entities(self) -> set[str]:
        """Entity ids of the energy sensors."""
        registry = er.async_get(self.hass)
        keys = {flow.key for flow in FLOWS}
        return {
            entity.entity_id
            for entity in registry.entities.values()
            if entity.platform == "powerwall_fleet"
            and entity.unique_id.split("_", 1)[1] in keys
        }

    async def start(self, *, user: str = USER_MAIN) -> MockConfigEntry:
        """Set the entry up (first time) or again (after a restart)."""
        if self.entry is None:
            self.entry = new_entry(self.simulator, user=user)
            await setup_sites(self.hass, self.entry, *self.site_ids, enable_all=True)
        else:
            await setup_sites(self.hass, self.entry, enable_all=True)
        return self.entry

    async def stop(self) -> None:
        """Home Assistant goes down."""
        assert self.entry is not None
        self.stopping = True
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        self.stopping = False

    def history(self, site_id: int = SITE_FULL) -> HistoryCoordinator:
        """The site's history coordinator."""
        assert self.entry is not None
        return self.entry.runtime_data.sites[site_id].history

    async def tick(self, seconds: float) -> None:
        """Both clocks move on; whatever was due runs."""
        self.simulator.clock.advance(seconds)
        self.freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(self.hass)
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def live_through(self, seconds: int) -> None:
        """Live through ``seconds``, moving straight to each timer as it falls due.

        Whole seconds: Home Assistant runs coordinator timers on whole seconds
        (plus under 0.5 s, which ``tick`` covers), so none is late or skipped.
        """
        end = self.simulator.clock.timestamp() + seconds
        while (left := math.floor(end - self.simulator.clock.timestamp())) > 0:
            loop = self.hass.loop
            due = min(
                (
                    handle.when() - loop.time()
                    for handle in get_scheduled_timer_handles(loop)
                    if not handle.cancelled()
                ),
                default=left,
            )
            await self.tick(min(max(math.ceil(due - 0.5), 1), left))

    async def down_for(self, seconds: float) -> None:
        """Time passes without Home Assistant."""
        self.simulator.clock.advance(seconds)
        self.freezer.tick(timedelta(seconds=seconds))

    async def next_poll(self, site_id: int = SITE_FULL) -> None:
        """Move on to the next scheduled history poll."""
        interval = self.history(site_id).update_interval
        assert interval is not None
        await self.tick(interval.total_seconds())

    async def catch_up(self, site_id: int = SITE_FULL, limit: int = 500) -> int:
        """Poll until the coordinator stops hurrying; returns the polls spent."""
        for polls in range(1, limit):
            await self.next_poll(site_id)
            if self.history(site_id).update_interval != PACE:
                return polls
        raise AssertionError("never caught up")

    async def run_for(self, seconds: float, step: float) -> None:
        """Live through ``seconds`` in steps of ``step`` (polls whenever due)."""
        while seconds > 0:
            await self.tick(min(step, seconds))
            seconds -= step

    def now(self) -> datetime:
        """The shared time."""
        return self.simulator.clock.now()


async def hourly_sums(
    hass: HomeAssistant, site_id: int, keys: Iterable[str], end: datetime
) -> dict[str, dict[datetime, float]]:
    """Each statistic's increase per hour before ``end``, from the imported sums.

    Every row from the first is read: the first row's sum is its increase.
    """
    await async_wait_recording_done(hass)
    ids = {statistic_id(site_id, key): key for key in keys}
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime.fromtimestamp(0, UTC),
        end,
        set(ids),
        "hour",
        None,
        {"sum"},
    )
    changes: dict[str, dict[datetime, float]] = {}
    for stat_id, found in rows.items():
        previous = 0.0
        per_hour = changes.setdefault(ids[stat_id], {})
        for row in found:
            total = row["sum"]
            assert total is not None
            per_hour[datetime.fromtimestamp(row["start"], UTC)] = total - previous
            previous = total
    return changes


async def assert_hours_match(
    hass: HomeAssistant,
    simulator: Simulator,
    site_id: int,
    start: datetime,
    end: datetime,
    flows: Iterable[EnergyFlow] = MAIN_FLOWS,
) -> int:
    """Every complete hour in [start, end): statistics == simulator, every flow.

    Only the main flows are imported unless the breakdown is asked for.
    Returns the number of hours compared.
    """
    flows = tuple(flows)
    changes = await hourly_sums(hass, site_id, (flow.key for flow in flows), end)
    hour = start
    compared = 0
    while hour + HOUR <= end:
        truth = bucket_truth(simulator, site_id, hour, hour + HOUR)
        for flow in flows:
            got = changes.get(flow.key, {})
            assert hour in got, f"no statistics row for {flow.key} at {hour}"
            wh = round(got[hour] * 1000)
            assert wh == truth[flow.field], (
                f"{flow.key} at {hour.isoformat()}: {wh} Wh, "
                f"Tesla says {truth[flow.field]} Wh"
            )
        hour += HOUR
        compared += 1
    return compared


def assert_sensors_sane(run: Run) -> None:
    """Energy sensors never decrease and never go back to unknown."""
    assert run.states, "no energy sensor changed"
    for entity_id, states in run.states.items():
        seen_value = False
        previous = 0.0
        for state in states:
            if state in ("unknown", "unavailable"):
                assert not seen_value, f"{entity_id} went {state}"
                continue
            value = float(state)
            assert value >= previous, (
                f"{entity_id} went back from {previous} to {value}"
            )
            previous = value
            seen_value = True


def history_start(simulator: Simulator, site_id: int) -> datetime:
    """First hour with simulated energy (the simulator's history start)."""
    return datetime.fromtimestamp(simulator.site(site_id).history_start, UTC)


def last_complete_hour(history: HistoryCoordinator) -> datetime:
    """End of the last hour whose buckets are all counted."""
    cursor = history.ledger.cursor
    assert cursor is not None
    end = cursor + timedelta(minutes=5)
    return end.replace(minute=0, second=0, microsecond=0)


def assert_sensor_totals(
    hass: HomeAssistant, run: Run, simulator: Simulator, site_id: int
) -> None:
    """The sensors equal the simulator's total since the history began."""
    history = run.history(site_id)
    cursor = history.ledger.cursor
    assert cursor is not None
    truth = bucket_truth(
        simulator,
        site_id,
        history_start(simulator, site_id),
        cursor + timedelta(minutes=5),
    )
    registry = er.async_get(hass)
    for flow in FLOWS:
        entity_id = registry.async_get_entity_id(
            "sensor", "powerwall_fleet", f"{site_id}_{flow.key}"
        )
        if entity_id is None:
            continue
        state = hass.states.get(entity_id)
        assert state is not None
        assert round(float(state.state) * 1000) == truth[flow.field], entity_id


# ---------------------------------------------------------------- the tests


async def test_multi_day_run_across_midnight_and_dst(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Three days crossing two midnights and the end of summer time.

    Every hourly statistic of every flow equals the simulator's buckets to the
    Wh, including the 25-hour day; sensors never decrease nor turn unknown.
    """
    run = Run(hass, simulator, freezer, [SITE_FULL])
    entry = await run.start()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_BREAKDOWN_STATISTICS: True}
    )
    history = run.history()
    assert not history.ledger.started
    backfill_polls = await run.catch_up()
    assert backfill_polls == 31  # 30 days back + today, one request each
    assert history.ledger.backfilled
    assert_sensor_totals(hass, run, simulator, SITE_FULL)

    # Irregular steps, so polls land everywhere in the hour.
    await run.run_for(3 * 86400 + 7200, step=47 * 60 + 17)

    start = history_start(simulator, SITE_FULL)
    end = last_complete_hour(history)
    assert end > datetime(2026, 11, 2, 12, tzinfo=UTC)
    hours = await assert_hours_match(hass, simulator, SITE_FULL, start, end, FLOWS)
    assert hours > 24 * 4
    assert_sensors_sane(run)
    assert_sensor_totals(hass, run, simulator, SITE_FULL)


async def test_home_assistant_down_for_hours_and_days(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Down 3 hours, then 3 days: the energy lands in the hours it flowed."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.run_for(2 * 3600, step=1100)

    await run.stop()
    await run.down_for(3 * 3600)
    await run.start()
    assert run.history().ledger.backfilled  # values right away, from the store
    await run.catch_up()
    await run.run_for(3600, step=1100)

    await run.stop()
    await run.down_for(3 * 86400 + 1234)
    await run.start()
    simulator.reset_counts()
    polls = await run.catch_up()
    assert polls == 4  # the day it stopped, two whole days, today
    assert simulator.count("calendar_history", site_id=SITE_FULL) <= polls + 1
    await run.run_for(3600, step=1100)

    history = run.history()
    start = history_start(simulator, SITE_FULL)
    await assert_hours_match(
        hass, simulator, SITE_FULL, start, last_complete_hour(history)
    )
    assert_sensors_sane(run)
    assert_sensor_totals(hass, run, simulator, SITE_FULL)


async def test_tesla_down_for_an_hour(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """503 for an hour: sensors stay available, then the hour is filled in."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.run_for(1800, step=300)
    cursor = run.history().ledger.cursor

    fault = simulator.add_fault(CALENDAR, status=503, times=None)
    await run.run_for(3600, step=1100)
    assert run.history().ledger.cursor == cursor
    assert not run.history().last_update_success
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "sensor", "powerwall_fleet", f"{SITE_FULL}_grid_energy_imported"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state not in ("unknown", "unavailable")

    simulator.faults.remove(fault)
    await run.run_for(1800, step=300)
    assert run.history().last_update_success
    await assert_hours_match(
        hass,
        simulator,
        SITE_FULL,
        history_start(simulator, SITE_FULL),
        last_complete_hour(run.history()),
    )
    assert_sensors_sane(run)
    assert_sensor_totals(hass, run, simulator, SITE_FULL)


def energy_requests(simulator: Simulator, site_id: int = SITE_FULL) -> list[str]:
    """The end dates of the energy history requests sent for a site."""
    return [
        record.query.get("end_date", "")
        for record in simulator.requests
        if record.endpoint == "calendar_history"
        and record.site_id == site_id
        and record.query.get("kind") == "energy"
    ]


async def test_restart_in_the_middle_of_the_backfill(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Interrupted after 24 of 31 days: resumes at day 25, nothing twice or lost.

    The simulator has 12 days of history: the first 18 requests find nothing.
    """
    simulator.clock.advance(12 * 86400)
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    for _ in range(24):
        await run.next_poll()
    first_day = run.history().ledger.first_day
    assert first_day is not None
    assert len(energy_requests(simulator)) == 24
    assert not run.history().ledger.backfilled

    await run.stop()
    await run.down_for(200)
    await run.start()
    assert run.history().ledger.first_day == first_day
    await run.catch_up()

    requests = energy_requests(simulator)
    assert len(requests) == 31
    assert len(set(requests)) == 31  # every day asked once
    zone = ZoneInfo("America/Los_Angeles")
    start = max(
        datetime.combine(first_day, time(), zone).astimezone(UTC),
        history_start(simulator, SITE_FULL),
    )
    hours = await assert_hours_match(
        hass, simulator, SITE_FULL, start, last_complete_hour(run.history())
    )
    assert hours >= 12 * 24
    # The sensors start from the backfilled total: no spike, no zero.
    truth = simulator.energy_totals(SITE_FULL, start, run.now())
    state = hass.states.get(entity_id(hass, SITE_FULL, "home_energy_consumed"))
    assert state is not None
    assert round(float(state.state) * 1000) == truth["total_home_usage"]
    assert_sensors_sane(run)


def entity_id(hass: HomeAssistant, site_id: int, key: str) -> str:
    """The entity id of a site's sensor."""
    found = er.async_get(hass).async_get_entity_id(
        "sensor", "powerwall_fleet", f"{site_id}_{key}"
    )
    assert found is not None, key
    return found


async def test_energy_dashboard_accepts_statistics_and_sensors(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Home Assistant's energy validation finds no issue with either."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.tick(300)
    now = run.now()
    do_adhoc_statistics(
        hass,
        start=now.replace(minute=now.minute - now.minute % 5, second=0)
        - timedelta(minutes=5),
    )
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)

    def sources(pick: Callable[[str], str]) -> list[dict[str, Any]]:
        return [
            {
                "type": "grid",
                "stat_energy_from": pick("grid_energy_imported"),
                "stat_energy_to": pick("grid_energy_exported"),
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
                "stat_compensation": None,
                "entity_energy_price_export": None,
                "number_energy_price_export": None,
                "cost_adjustment_day": 0.0,
            },
            {
                "type": "solar",
                "stat_energy_from": pick("solar_energy_produced"),
                "config_entry_solar_forecast": None,
            },
            {
                "type": "battery",
                "stat_energy_from": pick("battery_energy_discharged"),
                "stat_energy_to": pick("battery_energy_charged"),
            },
        ]

    for pick in (
        lambda key: statistic_id(SITE_FULL, key),
        lambda key: entity_id(hass, SITE_FULL, key),
    ):
        await manager.async_update(
            cast(Any, {"energy_sources": sources(pick), "device_consumption": []})
        )
        result = (await energy_validate.async_validate(hass)).as_dict()
        assert result["energy_sources"] == [[], [], []], result
        assert not any(result["device_consumption"])


async def test_grid_outages_of_the_last_30_days(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An outage is read again once the grid is back: count, time, start."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.tick(300)
    outages = entity_id(hass, SITE_FULL, "grid_outages")
    assert hass.states.get(outages).state == "0"  # type: ignore[union-attr]

    began = run.now()
    simulator.set_grid_outage(SITE_FULL, True)
    await run.run_for(7200, step=300)
    simulator.set_grid_outage(SITE_FULL, False)
    await run.run_for(900, step=60)

    assert hass.states.get(outages).state == "1"  # type: ignore[union-attr]
    duration = hass.states.get(entity_id(hass, SITE_FULL, "grid_outage_duration"))
    assert duration is not None
    assert float(duration.state) == pytest.approx(120, abs=0.1)
    last = hass.states.get(entity_id(hass, SITE_FULL, "last_grid_outage"))
    assert last is not None
    assert datetime.fromisoformat(last.state) == began


async def test_site_without_time_zone_uses_home_assistant_zone(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An empty installation_time_zone: days follow Home Assistant's zone."""
    run = Run(hass, simulator, freezer, [SITE_SOLAR_ONLY])
    await run.start()
    await run.catch_up(SITE_SOLAR_ONLY)
    zones = {
        record.query.get("time_zone")
        for record in simulator.requests
        if record.endpoint == "calendar_history"
    }
    assert zones == {hass.config.time_zone}
    registry = er.async_get(hass)
    keys = {
        entry.unique_id.removeprefix(f"{SITE_SOLAR_ONLY}_")
        for entry in registry.entities.values()
        if entry.platform == "powerwall_fleet"
    }
    assert "solar_energy_produced" in keys
    assert "battery_energy_charged" not in keys  # no battery there
    assert "grid_outages" not in keys


async def test_rate_limited_history_keeps_totals(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A 429 pauses history polling until Retry-After; nothing is lost."""
    run = Run(hass, simulator, freezer, [SITE_EU])
    await run.start(user=USER_EU)
    await run.catch_up(SITE_EU)
    simulator.add_fault(CALENDAR, status=429, headers={"Retry-After": "1800"}, times=1)
    await run.run_for(600, step=300)
    history = run.history(SITE_EU)
    assert history.throttled_until is not None
    await run.run_for(3600, step=300)
    assert history.throttled_until is None
    await assert_hours_match(
        hass,
        simulator,
        SITE_EU,
        history_start(simulator, SITE_EU),
        last_complete_hour(history),
    )
    assert_sensors_sane(run)


async def test_history_edges(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Backfill from installation, no request when nothing closed, new zone, errors."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    entry = await run.start()
    history = run.history()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_BACKFILL_FROM_INSTALLATION: True}
    )
    await run.next_poll()
    assert history.ledger.first_day == date(2023, 3, 14)  # installation date
    history.ledger.next_day = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    await run.next_poll()
    sent = len(energy_requests(simulator))

    await history.async_refresh()  # no bucket closed since: no request
    assert len(energy_requests(simulator)) == sent

    simulator.override_fields(
        SITE_FULL, "site_info", set={"installation_time_zone": "America/New_York"}
    )
    await history.info.async_refresh()
    await run.next_poll()
    assert history.ledger.time_zone == "America/New_York"

    history.ledger.outages_due = True
    with patch.object(
        history.client, "backup_history", side_effect=ServerError("down", status=503)
    ):
        await run.next_poll()
    assert history.last_update_success  # energy still fine

    info = history.info.data
    history.info.data = None  # type: ignore[assignment]
    sent = len(energy_requests(simulator))
    await run.next_poll()
    assert len(energy_requests(simulator)) == sent
    history.info.data = info
