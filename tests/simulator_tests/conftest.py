"""Fixtures of the simulator's HTTP tests: a client session and an API helper."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.simulator import Simulator
from tests.simulator_tests.helpers import Api


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(simulator: Simulator, http: aiohttp.ClientSession) -> Api:
    """API helper with a token of the main user (all energy scopes)."""
    return Api(simulator, http, simulator.issue_tokens()["access_token"])
