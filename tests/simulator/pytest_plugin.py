"""Pytest fixtures: ``simulator`` (a started Simulator on loopback) and ``sim_clock``.

Register with ``pytest_plugins = ["tests.simulator.pytest_plugin"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
import pytest_asyncio

from .clock import SimClock
from .server import Simulator


@pytest.fixture
def sim_clock() -> SimClock:
    """A fresh simulated clock at the default start (2026-06-21T12:00:00Z)."""
    return SimClock()


@pytest_asyncio.fixture
async def simulator(
    socket_enabled: None, sim_clock: SimClock
) -> AsyncGenerator[Simulator]:
    """A started simulator on 127.0.0.1 (free port), stopped after the test."""
    sim = Simulator(sim_clock)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()
