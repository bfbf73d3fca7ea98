"""The energy history back to the installation date (issue 20), against the simulator.

The simulator's site was installed three years ago (``install_years_ago``):
a bucket for every 5 minutes since, six changes to and from summer time, and
a tariff change a year ago. Home Assistant's clock (freezer) and the
simulator's move together; nothing sleeps.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
import itertools
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistic_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.coordinator import LifetimeCoordinator
from custom_components.powerwall_fleet.energy.lifetime import (
    LIFETIME_DAILY_CAP,
    LIFETIME_PACE,
)
from custom_components.powerwall_fleet.energy.statistics import statistic_id
from tests.integration.test_energy import (
    HISTORY_MARKS,
    MAIN_FLOWS,
    Run,
    assert_hours_match,
    sim_clock,  # noqa: F401 - fixture
)
from tests.simulator import Simulator
from tests.simulator.history import final_buckets
from tests.simulator.scenario import SITE_FULL

pytestmark = [*HISTORY_MARKS, pytest.mark.lifetime]
LA = ZoneInfo("America/Los_Angeles")
DAY = 86400
YEARS = float(__import__("os").environ.get("LIFETIME_YEARS", "3"))


def lifetime(run: Run) -> LifetimeCoordinator:
    """The site's lifetime coordinator."""
    assert run.entry is not None
    return run.entry.runtime_data.sites[SITE_FULL].lifetime


def day_requests(simulator: Simulator, before: date) -> list[tuple[float, date]]:
    """(when, day asked for) of the energy history requests for days before ``before``."""
    found = []
    for record in simulator.requests:
        if (
            record.endpoint == "calendar_history"
            and record.site_id == SITE_FULL
            and record.query.get("kind") == "energy"
            and record.status == 200
        ):
            day = datetime.fromisoformat(record.query["end_date"]).date()
            if day < before:
                found.append((record.ts, day))
    return found


async def week_changes(
    hass: HomeAssistant, start: datetime, keys: tuple[str, ...]
) -> dict[str, float]:
    """What the Energy dashboard shows for the week from ``start``: each statistic's change."""
    await async_wait_recording_done(hass)
    changes = {}
    for key in keys:
        found = await get_instance(hass).async_add_executor_job(
            statistic_during_period,
            hass,
            start,
            start + timedelta(days=7),
            statistic_id(SITE_FULL, key),
            {"change"},
            None,
        )
        changes[key] = round(found["change"] or 0.0, 6)
    return changes


def truth_kwh(simulator: Simulator, start: datetime, end: datetime) -> dict[str, float]:
    """Tesla's kWh per main flow in [start, end)."""
    totals: Counter[str] = Counter()
    for _when, fields in final_buckets(simulator, SITE_FULL, start, end):
        for flow in MAIN_FLOWS:
            totals[flow.key] += fields[flow.field]
    return {flow.key: round(totals[flow.key] / 1000, 6) for flow in MAIN_FLOWS}


async def test_three_year_site_back_to_installation(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Every hour since installation exact; ~1 request a day; restart resumes; live fresh.

    A past week's figures on the Energy dashboard are the same before,
    during and after the import.
    """
    installed = simulator.install_years_ago(SITE_FULL, YEARS)
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    history = run.history()
    first_day = history.ledger.first_day
    assert first_day is not None
    keys = tuple(flow.key for flow in MAIN_FLOWS)
    week = datetime.combine(first_day + timedelta(days=7), time(), LA)
    before = await week_changes(hass, week, keys)
    assert before == truth_kwh(simulator, week, week + timedelta(days=7))
    sensor = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_FULL}_history_imported_from"
    )
    assert sensor is not None
    started = simulator.clock.timestamp()

    # Half the days, then Home Assistant restarts in the middle of the import.
    days = (first_day - installed.date()).days
    await run.live_through(days // 2 * 10)
    during = await week_changes(hass, week, keys)
    state = hass.states.get(sensor)
    assert state is not None
    assert 0 < state.attributes["share_done"] < 100
    assert 0 < state.attributes["days_left"] < days
    imported_from = datetime.fromisoformat(state.state)
    assert imported_from.astimezone(LA).time() == time()
    assert installed.date() < imported_from.astimezone(LA).date() < first_day
    await run.stop()
    await run.down_for(600)
    await run.start()
    await run.live_through((days - days // 2) * 10 + 1200)

    state = hass.states.get(sensor)
    assert state is not None
    assert datetime.fromisoformat(state.state) == datetime.combine(
        installed.date(), time(), LA
    )
    assert "share_done" not in state.attributes
    after = await week_changes(hass, week, keys)
    assert before == during == after

    # One request per day, each day once, none missing, within the cap.
    asked = day_requests(simulator, first_day)
    assert sorted(day for _ts, day in asked) == [
        installed.date() + timedelta(days=n) for n in range(days)
    ]
    per_day = Counter(datetime.fromtimestamp(ts, LA).date() for ts, _day in asked)
    assert max(per_day.values()) <= LIFETIME_DAILY_CAP
    times = sorted(ts for ts, _day in asked)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= LIFETIME_PACE.total_seconds()
    print(  # noqa: T201 - the figures the issue asks for
        f"\n{days} days since installation: {len(asked)} requests,"
        f" {(times[-1] - started) / 3600:.1f} h"
    )
    # Live data kept its pace: no poll more than one interval late.
    live = [
        record.ts
        for record in simulator.requests
        if record.endpoint == "live_status"
        and started <= record.ts <= times[-1]
        and record.site_id == SITE_FULL
    ]
    interval = run.entry.runtime_data.sites[SITE_FULL].live.interval.total_seconds()  # type: ignore[union-attr]
    restart = max(gap for gap in (b - a for a, b in itertools.pairwise(live)))
    assert restart <= 600 + 2 * interval  # the restart's downtime only
    late = [
        b - a
        for a, b in itertools.pairwise(live)
        if b - a > 2 * interval and b - a < 600
    ]
    assert not late

    # Every hour of every imported flow since installation, hour by hour.
    end = history.ledger.cursor
    assert end is not None
    compared = await assert_hours_match(
        hass,
        simulator,
        SITE_FULL,
        installed.replace(minute=0).astimezone(UTC),
        (end + timedelta(minutes=5)).replace(minute=0, second=0, microsecond=0),
    )
    assert compared > days * 24
