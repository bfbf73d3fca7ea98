"""Fleet API requests and CPU of one simulated day, one site, default options.

Run with ``scripts/bench requests`` (or ``python -m tests.benchmarks.requests``).
Prints figures; asserts nothing about them. Home Assistant (test harness, every
platform) and the simulator share one frozen clock that jumps from one timer to
the next, so the day takes a minute or two. After setup and the 30-day
backfill, the simulator's request counter counts 24 hours: requests per
endpoint, the billable total beside the options form's estimate, and the
process CPU time per update cycle of each coordinator. Then what an hour of
408 answers and a restart cost.
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

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from custom_components.powerwall_fleet.const import (
    DEFAULT_HISTORY_INTERVAL,
    DEFAULT_INFO_INTERVAL,
    DEFAULT_LIVE_INTERVAL,
    requests_per_day,
)
from tests.integration.conftest import (  # noqa: F401 - fixtures
    config_dir,
    credentials,
    developer_mode,
    no_retry_delay,
)
from tests.integration.test_energy import Run
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

DAY = 86400
HOUR = 3600


# Time is frozen: a retry goes at once (the pause would never end).
pytestmark = pytest.mark.usefixtures("no_retry_delay")


class CpuMeter:
    """Process CPU time spent in each coordinator's update cycles.

    A cycle is one ``_async_refresh`` (request, parsing, bookkeeping, listeners).
    The simulator answers in the same process: the time spent in its answers
    (when it can be told apart) is counted separately.
    """

    def __init__(self, simulator: Simulator) -> None:
        """Nothing measured yet."""
        self.simulator = simulator
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.simulated: defaultdict[str, float] = defaultdict(float)
        self.cycles: Counter[str] = Counter()
        self.in_simulator = 0.0
        self.separates_simulator = hasattr(simulator, "_route")

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Measure while inside."""
        meter = self
        refresh = DataUpdateCoordinator._async_refresh

        async def timed_refresh(
            coordinator: DataUpdateCoordinator[Any], *args: Any, **kwargs: Any
        ) -> None:
            name = getattr(coordinator, "endpoint", type(coordinator).__name__)
            cpu, simulated = time.process_time(), meter.in_simulator
            try:
                await refresh(coordinator, *args, **kwargs)
            finally:
                meter.cpu[name] += time.process_time() - cpu
                meter.simulated[name] += meter.in_simulator - simulated
                meter.cycles[name] += 1

        with patch.object(DataUpdateCoordinator, "_async_refresh", timed_refresh):
            if not self.separates_simulator:
                yield
                return
            route: Callable[..., Awaitable[Any]] = self.simulator._route

            async def timed_route(*args: Any, **kwargs: Any) -> Any:
                cpu = time.process_time()
                try:
                    return await route(*args, **kwargs)
                finally:
                    meter.in_simulator += time.process_time() - cpu

            with patch.object(self.simulator, "_route", timed_route):
                yield


def _by_endpoint(simulator: Simulator) -> tuple[Counter[str], Counter[str]]:
    """Billable and free requests per endpoint (history split by kind)."""
    billable: Counter[str] = Counter()
    free: Counter[str] = Counter()
    for record in simulator.requests:
        name = record.endpoint or record.path
        if record.endpoint == "calendar_history":
            name = f"calendar_history {record.query.get('kind', '?')}"
        (billable if record.billable else free)[name] += 1
    return billable, free


async def test_one_day(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,  # noqa: F811 - the imported fixture
    freezer: FrozenDateTimeFactory,
) -> None:
    """Print one day's requests by endpoint, the estimate, and CPU per cycle."""
    # The test harness runs the loop in debug mode (slow, and it reports every
    # jump of the frozen clock as a slow callback): run as Home Assistant does.
    hass.loop.set_debug(False)
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.catch_up()
    meter = CpuMeter(simulator)
    simulator.reset_counts()
    process = time.process_time()
    with meter.measuring():
        await run.live_through(DAY)
    process = time.process_time() - process
    billable, free = _by_endpoint(simulator)

    # Two things the day does not show: Tesla answering 408 for an hour, and
    # a restart (setup and the first five minutes).
    simulator.reset_counts()
    fault = simulator.add_fault(r"/live_status$", status=408, times=None)
    await run.live_through(HOUR)
    simulator.faults.remove(fault)
    offline = simulator.count("live_status")
    await run.stop()
    await run.down_for(60)
    simulator.reset_counts()
    await run.start()
    await run.live_through(300)
    restart, _ = _by_endpoint(simulator)
    await run.stop()

    counted = billable.total()
    estimate = requests_per_day(
        DEFAULT_LIVE_INTERVAL, DEFAULT_INFO_INTERVAL, DEFAULT_HISTORY_INTERVAL
    )
    print(
        f"\nrequests in 24 h, one site (America/Los_Angeles), defaults "
        f"({DEFAULT_LIVE_INTERVAL} s / {DEFAULT_INFO_INTERVAL} min / "
        f"{DEFAULT_HISTORY_INTERVAL} min)"
    )
    for name, count in sorted(billable.items()):
        print(f"  {name:<28} {count:>6}")
    print(f"  {'total (billable)':<28} {counted:>6}")
    for name, count in sorted(free.items()):
        print(f"  {name + ' (free)':<28} {count:>6}")
    print(
        f"  options-form estimate        {estimate:>6}  "
        f"({(estimate - counted) / counted:+.2%} against the count)"
    )

    print(f"\nan hour of 408 answers on live_status: {offline} requests")
    print(
        "a restart, setup and first 5 minutes: "
        + ", ".join(f"{name} {count}" for name, count in sorted(restart.items()))
    )

    cycles = meter.cycles.total()
    print("\nprocess CPU per update cycle (ms)")
    print("  coordinator          cycles   all  without simulator")
    for name in sorted(meter.cycles):
        count = meter.cycles[name]
        whole = meter.cpu[name] / count * 1000
        own = (meter.cpu[name] - meter.simulated[name]) / count * 1000
        shown = f"{own:>8.2f}" if meter.separates_simulator else "     n/a"
        print(f"  {name:<20} {count:>6} {whole:>6.2f} {shown}")
    print(
        f"  whole day: {process:.1f} s process CPU (Home Assistant, the "
        f"integration and the simulator), {process / cycles * 1000:.2f} ms "
        f"per cycle over {cycles} cycles"
    )
