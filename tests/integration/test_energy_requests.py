"""What a site costs in requests: a day against the estimate, outage reads.

Home Assistant and the simulator share one frozen clock (``Run`` from
test_energy, which jumps from timer to timer); the simulator's request
counter says what was sent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import pytest

from custom_components.powerwall_fleet import PLATFORMS
from custom_components.powerwall_fleet.const import (
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    requests_per_day,
)
from custom_components.powerwall_fleet.coordinator.history import (
    PACE,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from custom_components.powerwall_fleet.energy.ledger import EnergyLedger
from tests.integration.test_energy import Run, energy_requests, entity_id
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3

ZONE = ZoneInfo("America/Los_Angeles")  # the full site's
STORE_KEY = f"powerwall_fleet.history.{SITE_FULL}"

pytestmark = pytest.mark.platforms(Platform.SENSOR)  # the energy sensors only


def outage_reads(simulator: Simulator) -> int:
    """Outage history requests sent for the full site."""
    return sum(
        1
        for record in simulator.requests
        if record.endpoint == "calendar_history"
        and record.site_id == SITE_FULL
        and record.query.get("kind") == "backup"
    )


def outage_state(hass: HomeAssistant) -> str:
    """The state of the full site's outage count sensor."""
    state = hass.states.get(entity_id(hass, SITE_FULL, "grid_outages"))
    assert state is not None
    return state.state


def until_after_midnight(now: datetime) -> int:
    """Seconds from ``now`` to ten minutes after the site's next midnight."""
    tomorrow = now.astimezone(ZONE).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, time(0, 10), ZONE)
    return int((midnight - now).total_seconds())


@pytest.mark.parametrize(
    ("live", "info", "history", "site_ids"),
    [
        (30, 15, 5, [SITE_FULL]),  # the defaults
        (60, 60, 15, [SITE_FULL, SITE_PW3]),  # Los Angeles and Chicago
        (3600, 1440, 60, [SITE_FULL]),  # the longest intervals
    ],
    ids=["defaults", "two-sites", "longest"],
)
@pytest.mark.platforms(*PLATFORMS)  # every platform, as at home
async def test_estimate_matches_a_day_of_requests(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    live: int,
    info: int,
    history: int,
    site_ids: list[int],
) -> None:
    """The options form's estimate is within 1 % of 24 h of billable requests."""
    hass.loop.set_debug(False)  # thousands of polls: no asyncio debug checks
    run = Run(hass, simulator, freezer, site_ids)
    entry = await run.start()
    await run.stop()
    hass.config_entries.async_update_entry(
        entry,
        options={
            CONF_LIVE_INTERVAL: live,
            CONF_INFO_INTERVAL: info,
            CONF_HISTORY_INTERVAL: history,
        },
    )
    await run.start()
    for site_id in site_ids:
        await run.catch_up(site_id)
    assert all(run.history(site_id).update_interval != PACE for site_id in site_ids)
    simulator.reset_counts()

    await run.live_through(86400)

    counted = simulator.count(billable=True)
    assert simulator.count("products") == 1  # the daily check of the sites
    assert outage_reads(simulator) == 1
    estimate = requests_per_day(live, info, history, len(site_ids))
    assert abs(estimate - counted) <= 0.01 * counted, (estimate, counted)


async def test_restart_same_day_sends_no_outage_read(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Read once that day: a restart keeps the summary and does not ask again."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    assert outage_reads(simulator) == 1
    stored = hass_storage[STORE_KEY]
    assert (stored["version"], stored["minor_version"]) == (
        STORAGE_VERSION,
        STORAGE_MINOR_VERSION,
    )
    assert (
        stored["data"]["outages_read"] == run.now().astimezone(ZONE).date().isoformat()
    )

    await run.stop()
    await run.down_for(600)
    simulator.reset_counts()
    await run.start()
    assert outage_state(hass) == "0"  # from the store, before any request
    await run.live_through(1800)

    assert len(energy_requests(simulator)) >= 6  # the ledger went on polling
    assert outage_reads(simulator) == 0
    assert outage_state(hass) == "0"


@pytest.mark.parametrize("while_down", ["midnight", "grid_change"])
async def test_restart_reads_outages_when_due(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    while_down: str,
) -> None:
    """Down across the site's midnight, or the grid went away meanwhile: one read."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    await run.live_through(300)
    await run.stop()
    if while_down == "midnight":
        await run.down_for(until_after_midnight(run.now()))
    else:
        simulator.set_grid_outage(SITE_FULL, True)
        await run.down_for(600)
    simulator.reset_counts()

    await run.start()
    await run.catch_up()
    await run.live_through(900)

    assert outage_reads(simulator) == 1
    assert not run.history().ledger.outages_due


async def test_ledger_stored_before_outage_bookkeeping_loads(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A ledger saved by the previous version (1.1): totals kept, outages read once."""
    now = simulator.clock.now()
    cursor = now.replace(minute=now.minute - now.minute % 5, second=0) - timedelta(
        minutes=10
    )
    old = EnergyLedger(
        cursor=cursor,
        next_day=cursor.astimezone(ZONE).date(),
        first_day=cursor.astimezone(ZONE).date() - timedelta(days=30),
        time_zone=str(ZONE),
        backfilled=True,
    )
    old.totals["home_energy_consumed"] = 1_234_000.0
    data = {
        key: value
        for key, value in old.as_dict().items()
        if key not in ("outages", "outages_read", "outages_due", "grid_status")
    }
    hass_storage[STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORE_KEY,
        "data": data,
    }

    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    ledger = run.history().ledger
    assert ledger.cursor == cursor
    assert ledger.outages is None
    simulator.reset_counts()
    await run.live_through(600)

    assert outage_reads(simulator) == 1
    assert len(energy_requests(simulator)) == 2  # no backfill: the ledger went on
    assert ledger.totals["home_energy_consumed"] > 1_234_000.0
    assert hass_storage[STORE_KEY]["minor_version"] == STORAGE_MINOR_VERSION
    assert hass_storage[STORE_KEY]["data"]["outages"]["count"] == 0


async def test_ledger_stored_before_the_window_loads_without_recounting(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A 1.2 ledger (cursor, totals, open hour): only the buckets after it count."""
    now = simulator.clock.now()
    cursor = now.replace(minute=now.minute - now.minute % 5, second=0) - timedelta(
        minutes=10
    )
    data = {
        "cursor": cursor.isoformat(),
        "next_day": cursor.astimezone(ZONE).date().isoformat(),
        "first_day": (cursor.astimezone(ZONE).date() - timedelta(days=30)).isoformat(),
        "time_zone": str(ZONE),
        "backfilled": True,
        "totals": {"home_energy_consumed": 1_234_000.0},
        "open_hour": cursor.replace(minute=0).isoformat(),
        "open_totals": {"home_energy_consumed": 1_234_000.0},
        "outages": None,
        "outages_read": None,
        "outages_due": False,
        "grid_status": None,
    }
    hass_storage[STORE_KEY] = {
        "version": 1,
        "minor_version": 2,
        "key": STORE_KEY,
        "data": data,
    }

    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    ledger = run.history().ledger
    assert ledger.cursor == cursor
    simulator.reset_counts()
    await run.live_through(600)

    assert len(energy_requests(simulator)) == 2  # no backfill: the ledger went on
    new_cursor = ledger.cursor
    assert new_cursor is not None
    truth = simulator.energy_totals(
        SITE_FULL, cursor + timedelta(minutes=5), new_cursor + timedelta(minutes=5)
    )
    assert (
        ledger.totals["home_energy_consumed"] == 1_234_000.0 + truth["total_home_usage"]
    )
    stored = hass_storage[STORE_KEY]
    assert stored["minor_version"] == STORAGE_MINOR_VERSION == 3
    assert min(start for start, *_ in stored["data"]["window"]) > cursor.isoformat()
