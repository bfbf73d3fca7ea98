"""Fleet API requests the energy history spends: backfill, a normal day, catch-up.

Run with ``scripts/bench energy`` (or ``python -m tests.benchmarks.energy``).
Prints figures; asserts nothing about them. Home Assistant (test harness) and
the simulator share one frozen clock that moves a poll at a time, so a whole
simulated day takes seconds.
"""

from __future__ import annotations

import sys

import pytest

if __name__ == "__main__":
    # Through pytest: Home Assistant's test harness must load before Home
    # Assistant's modules are imported.
    sys.exit(
        pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "--no-header"])
    )

from collections import Counter

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from tests.integration.conftest import (  # noqa: F401 - fixtures
    config_dir,
    credentials,
    developer_mode,
    no_retry_delay,
)
from tests.integration.test_energy import Run
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

# The energy sensors only; time is frozen: a retry goes at once.
pytestmark = [
    pytest.mark.platforms(Platform.SENSOR),
    pytest.mark.usefixtures("no_retry_delay"),
]


def _spent(simulator: Simulator) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for record in simulator.requests:
        if record.endpoint == "calendar_history" and record.site_id == SITE_FULL:
            kinds[record.query.get("kind", "?")] += 1
    return kinds


async def test_requests_spent(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,  # noqa: F811 - the imported fixture
    freezer: FrozenDateTimeFactory,
) -> None:
    """Print the requests of the 30-day backfill, a day after, a 3-day catch-up."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    simulator.reset_counts()
    polls = await run.catch_up()
    backfill = _spent(simulator)

    simulator.reset_counts()
    await run.run_for(86400, step=300)
    day = _spent(simulator)

    await run.stop()
    await run.down_for(3 * 86400)
    await run.start()
    simulator.reset_counts()
    await run.catch_up()
    catch_up = _spent(simulator)

    print("\nenergy history requests (site America/Los_Angeles, defaults)")
    print(
        f"  30-day backfill: {backfill['energy']} energy + {backfill['backup']} "
        f"outage = {backfill.total()} requests over {polls} polls, "
        f"{(polls - 1) * 5} s at the pace of one request per 5 s"
    )
    print(
        f"  per day after:   {day['energy']} energy + {day['backup']} outage "
        f"= {day.total()} requests"
    )
    print(
        f"  3-day downtime:  {catch_up['energy']} energy + {catch_up['backup']} "
        f"outage = {catch_up.total()} requests to catch up"
    )
