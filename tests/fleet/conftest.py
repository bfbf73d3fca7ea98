"""Fixtures for Fleet API client tests: a real HTTP session against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.powerwall_fleet.fleet import FleetClient
from tests.simulator import Simulator
from tests.simulator.scenario import USER_MAIN

from .cli_support import KeyServer


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would inject one.

    Real sockets are allowed: the tests talk HTTP to the simulator on 127.0.0.1.
    """
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def tokens(simulator: Simulator) -> dict[str, Any]:
    """Tokens of the main test account with every energy scope."""
    return simulator.issue_tokens(user=USER_MAIN)


@pytest.fixture
def make_client(
    simulator: Simulator, session: aiohttp.ClientSession
) -> Callable[..., FleetClient]:
    """Build a client for an access token (default region: na)."""

    def _make(access_token: str, *, region: str = "na", **kwargs: Any) -> FleetClient:
        async def token() -> str:
            return access_token

        return FleetClient(session, token, simulator.base_url(region), **kwargs)

    return _make


@pytest.fixture
def client(
    make_client: Callable[..., FleetClient], tokens: dict[str, Any]
) -> FleetClient:
    """A client for the main account in its own region."""
    return make_client(tokens["access_token"])


@pytest.fixture
async def key_server(socket_enabled: None) -> AsyncIterator[KeyServer]:
    """A domain's web server on loopback, serving nothing yet."""
    server = KeyServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fresh_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A simulator where our application is registered nowhere."""
    async with Simulator(partner_registered=False) as sim:
        yield sim
