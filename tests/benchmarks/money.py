"""Seven simulated days with every fault: worst per-hour error, requests the re-read adds.

Run with ``scripts/bench money`` (or ``python -m tests.benchmarks.money``).
The scenario of ``test_energy_money`` for 7 days (30 October - 6 November
2026, America/Los_Angeles, across the end of summer time): each day a bucket
published an hour late, one revised the same day, the day's last but one
bucket published after midnight and an evening bucket revised after the day
closed; a tariff change at noon with a late bucket from before it; a Tesla
503 hour; Home Assistant down 3 hours. Prints the worst per-hour difference
from the simulator's ground truth over every energy flow (Wh) and the cost
and compensation statistics (currency), and the energy history requests per
day against the same run with the daily re-read switched off. Asserts nothing.
"""

from __future__ import annotations

import sys

import pytest

if __name__ == "__main__":
    sys.exit(
        pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "--no-header"])
    )

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.powerwall_fleet.const import CONF_BREAKDOWN_STATISTICS
from custom_components.powerwall_fleet.energy.ledger import FLOWS, EnergyLedger
from tests.integration.conftest import config_dir, credentials, no_retry_delay  # noqa: F401 - fixtures
from tests.integration.test_energy import (  # noqa: F401 - sim_clock: a fixture
    HISTORY_MARKS,
    HOUR,
    Run,
    hourly_sums,
    last_complete_hour,
    sim_clock,
)
from tests.integration.test_energy_money import (
    TariffLog,
    faults,
    live_through_faults,
    worst_money_error,
)
from tests.simulator import Simulator
from tests.simulator.history import bucket_truth
from tests.simulator.scenario import SITE_FULL
from tests.simulator.tariff import default_tariff

pytestmark = HISTORY_MARKS

DAYS = 7
END = datetime(2026, 10, 30, 20, 0, tzinfo=UTC) + timedelta(days=DAYS)


def energy_requests(simulator: Simulator) -> int:
    """Billable energy history requests of the site."""
    return sum(
        1
        for record in simulator.requests
        if record.endpoint == "calendar_history"
        and record.site_id == SITE_FULL
        and record.query.get("kind") == "energy"
        and record.billable
    )


async def _week(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> tuple[Run, TariffLog]:
    hass.loop.set_debug(False)
    tariffs: TariffLog = [(simulator.clock.now(), default_tariff())]
    faults(simulator, DAYS)
    run = Run(hass, simulator, freezer, [SITE_FULL])
    entry = await run.start()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_BREAKDOWN_STATISTICS: True}
    )
    await run.catch_up()
    simulator.reset_counts()
    await live_through_faults(run, END, tariffs)
    return run, tariffs


async def test_week_with_faults(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,  # noqa: F811 - the imported fixture
    freezer: FrozenDateTimeFactory,
) -> None:
    """Print the worst per-hour errors and the requests per day."""
    run, tariffs = await _week(hass, simulator, freezer)
    sent = energy_requests(simulator)
    history = run.history()
    start = datetime.fromtimestamp(simulator.site(SITE_FULL).history_start, UTC)
    end = last_complete_hour(history)
    changes = await hourly_sums(hass, SITE_FULL, (flow.key for flow in FLOWS), end)
    worst_wh = 0
    hours = 0
    hour = start
    while hour + HOUR <= end:
        truth = bucket_truth(simulator, SITE_FULL, hour, hour + HOUR)
        for flow in FLOWS:
            got = round(changes.get(flow.key, {}).get(hour, 0) * 1000)
            worst_wh = max(worst_wh, abs(got - truth[flow.field]))
        hours += 1
        hour += HOUR
    worst_money = await worst_money_error(
        hass, simulator, SITE_FULL, start, end, tariffs
    )
    print(f"\n{DAYS} simulated days with faults, {hours} hours compared")
    print(f"  worst per-hour energy error: {worst_wh} Wh (all {len(FLOWS)} flows)")
    print(f"  worst per-hour money error:  {worst_money:.4f} USD")
    print(f"  energy history requests: {sent} in {DAYS} days ({sent / DAYS:.1f}/day)")
    print(f"  unpriced buckets: {history.ledger.unpriced}")


async def test_week_without_the_reread(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,  # noqa: F811 - the imported fixture
    freezer: FrozenDateTimeFactory,
) -> None:
    """The same week with the daily re-read switched off: the requests it adds."""
    with patch.object(EnergyLedger, "reread_due", return_value=None):
        await _week(hass, simulator, freezer)
    sent = energy_requests(simulator)
    print(f"\n  without the re-read: {sent} in {DAYS} days ({sent / DAYS:.1f}/day)")
    print("  (the difference per day is what the re-read adds per site)")
