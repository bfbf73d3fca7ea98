"""Every error class, over real HTTP with the simulator's fault injection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from custom_components.powerwall_fleet.fleet import (
    CannotConnect,
    DeviceOffline,
    FleetClient,
    FleetError,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    MissingScopes,
    NotFound,
    PartnerNotRegistered,
    PaymentRequired,
    RateLimited,
    ServerError,
    TokenExpired,
    WrongRegion,
    is_retryable,
    site_is_unavailable,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_EU, SITE_FULL, USER_EU, USER_MAIN

LIVE = r"/live_status$"


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, "invalid_field", InvalidRequest),
        (401, None, TokenExpired),
        (402, "Payment required", PaymentRequired),
        (403, "Unauthorized missing scopes", MissingScopes),
        (404, "not_found", NotFound),
        (406, "not acceptable", InvalidRequest),
        (408, "device offline", DeviceOffline),
        (
            412,
            "A condition has not been met to process the request",
            PartnerNotRegistered,
        ),
        (
            421,
            "user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com",
            WrongRegion,
        ),
        (422, "invalid resource", InvalidRequest),
        (423, "locked", InvalidRequest),
        (424, "bad upstream answer", ServerError),
        (429, "rate limited", RateLimited),
        (500, "internal error", ServerError),
        (500, "upstream internal error", ServerError),
        (503, "service unavailable", ServerError),
        (504, "gateway timeout", ServerError),
        (540, "device unexpected response", ServerError),
    ],
)
async def test_status_maps_to_error_class(
    make_client: Callable[..., FleetClient],
    tokens: dict[str, Any],
    simulator: Simulator,
    status: int,
    error: str | None,
    expected: type[FleetError],
) -> None:
    """Each status (and Tesla's error key) maps to its class with details kept."""
    body: dict[str, Any] = (
        {"json": {"response": None, "error": error, "error_description": "details"}}
        if error
        else {"body": ""}
    )
    simulator.add_fault(LIVE, status=status, times=None, **body)
    with pytest.raises(expected) as err:
        await make_client(
            tokens["access_token"], follow_region_redirects=False
        ).live_status(SITE_FULL)
    assert err.value.status == status
    assert err.value.error == error
    if error:
        assert error in str(err.value)


async def test_error_key_wins_over_status(
    client: FleetClient, simulator: Simulator
) -> None:
    """A 401 saying login_required means the session is over, not a refresh."""
    simulator.add_fault(LIVE, status=401, json={"error": "login_required"})
    with pytest.raises(LoginRequired):
        await client.live_status(SITE_FULL)


async def test_missing_scopes_named(
    make_client: Callable[..., FleetClient], simulator: Simulator
) -> None:
    """A token without energy_cmds can read but not write; the scope is named."""
    tokens = simulator.issue_tokens(
        user=USER_MAIN, scopes=("openid", "offline_access", "energy_device_data")
    )
    client = make_client(tokens["access_token"])
    assert (await client.site_info(SITE_FULL)).site_name == "Home"
    with pytest.raises(MissingScopes) as err:
        await client.set_backup_reserve(SITE_FULL, 30)
    assert err.value.status == 403
    assert err.value.scopes == ("energy_cmds",)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": "0"}, 0.0),
        ({"RateLimit-Reset": "30"}, 30.0),
        ({"Retry-After": "999999"}, 86400.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
async def test_rate_limited_retry_after(
    client: FleetClient,
    simulator: Simulator,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    """Retry-After / RateLimit-Reset become seconds (capped), else None."""
    simulator.add_fault(LIVE, status=429, headers=headers)
    with pytest.raises(RateLimited) as err:
        await client.live_status(SITE_FULL)
    assert err.value.retry_after == expected


async def test_retry_after_http_date(client: FleetClient, simulator: Simulator) -> None:
    """An HTTP-date Retry-After in the past means no wait."""
    simulator.add_fault(
        LIVE, status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    with pytest.raises(RateLimited) as err:
        await client.live_status(SITE_FULL)
    assert err.value.retry_after == 0.0


async def test_token_rejected_refreshes_once_and_retries(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A 401 asks for a new token once and repeats the request with it."""
    first = simulator.issue_tokens(user=USER_MAIN)
    second = simulator.issue_tokens(user=USER_MAIN)
    rejected: list[str] = []

    async def token() -> str:
        return first["access_token"]

    async def on_rejected(old: str) -> str:
        rejected.append(old)
        return second["access_token"]

    client = FleetClient(
        session, token, simulator.base_url("na"), on_token_rejected=on_rejected
    )
    simulator.add_fault(LIVE, status=401, body="")
    live = await client.live_status(SITE_FULL)
    assert live.solar_power is not None
    assert rejected == [first["access_token"]]
    assert simulator.count("live_status") == 2

    simulator.add_fault(LIVE, status=401, body="", times=2)
    with pytest.raises(TokenExpired):
        await client.live_status(SITE_FULL)
    assert len(rejected) == 2


async def test_expired_access_token(
    make_client: Callable[..., FleetClient],
    simulator: Simulator,
    tokens: dict[str, Any],
) -> None:
    """When the access token's life ends the simulator answers 401."""
    client = make_client(tokens["access_token"])
    simulator.clock.advance(tokens["expires_in"] + 1)
    with pytest.raises(TokenExpired):
        await client.site_info(SITE_FULL)


async def test_wrong_region_switches_and_persists(
    make_client: Callable[..., FleetClient], simulator: Simulator
) -> None:
    """A 421 moves the client to the account's region, says so, and retries."""
    tokens = simulator.issue_tokens(user=USER_EU)
    moved: list[str] = []
    client = make_client(
        tokens["access_token"], region="na", on_base_url_change=moved.append
    )
    info = await client.site_info(SITE_EU)
    assert info.components is not None
    assert client.base_url == simulator.base_url("eu")
    assert moved == [simulator.base_url("eu")]
    assert [r.status for r in simulator.requests] == [421, 200]
    await client.live_status(SITE_EU)
    assert moved == [simulator.base_url("eu")]


async def test_wrong_region_to_untrusted_host_is_refused(
    client: FleetClient, simulator: Simulator
) -> None:
    """A 421 pointing at a foreign host never receives the bearer token."""
    simulator.add_fault(
        LIVE,
        status=421,
        json={
            "error": "use base URL: https://evil.example.com",
            "error_description": "",
        },
    )
    with pytest.raises(WrongRegion) as err:
        await client.live_status(SITE_FULL)
    assert err.value.base_url == "https://evil.example.com"
    assert client.base_url == simulator.base_url("na")
    assert simulator.count("live_status") == 1


async def test_wrong_region_without_url_asks_users_region(
    make_client: Callable[..., FleetClient], simulator: Simulator
) -> None:
    """A 421 without a URL falls back to users/region."""
    tokens = simulator.issue_tokens(user=USER_EU)
    client = make_client(tokens["access_token"], region="na")
    simulator.add_fault(
        r"/na/api/1/energy_sites/\d+/site_info$",
        status=421,
        json={"error": "wrong region"},
    )
    info = await client.site_info(SITE_EU)
    assert info.site_name is not None
    assert client.base_url == simulator.base_url("eu")
    assert simulator.count("users_region") == 1


async def test_partner_not_registered(
    session: aiohttp.ClientSession,
) -> None:
    """Every user call answers 412 until the partner registered in the region."""
    async with Simulator(partner_registered=False) as simulator:
        tokens = simulator.issue_tokens(user=USER_MAIN)

        async def token() -> str:
            return tokens["access_token"]

        client = FleetClient(session, token, simulator.base_url("na"))
        with pytest.raises(PartnerNotRegistered) as err:
            await client.products()
        assert err.value.status == 412


async def test_dead_site(client: FleetClient) -> None:
    """A deactivated site: 404 on site_info, upstream internal error on live."""
    with pytest.raises(NotFound) as not_found:
        await client.site_info(SITE_DEAD)
    assert site_is_unavailable(not_found.value)
    with pytest.raises(ServerError) as upstream:
        await client.live_status(SITE_DEAD)
    assert upstream.value.site_unavailable
    assert site_is_unavailable(upstream.value)
    assert not is_retryable(upstream.value)


async def test_unknown_site_is_not_found(client: FleetClient) -> None:
    """A site of another account is not found."""
    with pytest.raises(NotFound):
        await client.site_info(SITE_EU)


async def test_timeout_is_cannot_connect(
    simulator: Simulator, session: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    """A server slower than the per-request timeout gives CannotConnect."""

    async def token() -> str:
        return tokens["access_token"]

    client = FleetClient(session, token, simulator.base_url("na"), timeout=0.2)
    simulator.add_fault(LIVE, status=200, delay=2.0)
    with pytest.raises(CannotConnect) as err:
        await client.live_status(SITE_FULL)
    assert is_retryable(err.value)
    assert (await client.site_info(SITE_FULL)).site_name == "Home"


async def test_dropped_connection_is_cannot_connect(
    client: FleetClient, simulator: Simulator
) -> None:
    """A connection closed without an answer gives CannotConnect.

    aiohttp itself retries an idempotent request once on a dropped kept-alive
    connection, so the server drops every attempt here.
    """
    simulator.add_fault(LIVE, drop=True, times=None)
    with pytest.raises(CannotConnect):
        await client.live_status(SITE_FULL)
    simulator.clear_faults()
    assert (await client.live_status(SITE_FULL)).load_power is not None


async def test_refused_connection_is_cannot_connect(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """Nothing listening gives CannotConnect, not an aiohttp error."""

    async def token() -> str:
        return "t"

    client = FleetClient(session, token, f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(CannotConnect):
        await client.products()


@pytest.mark.parametrize(
    "answer",
    [
        {"body": '{"response": {"solar_pow'},
        {"body": "<html>Bad gateway</html>"},
        {"body": ""},
        {"json": {"response": "site is sleeping"}},
        {"json": {"response": None}},
        {"json": {"response": [1, 2]}},
        {"json": ["response"]},
        {"json": "just a string"},
    ],
)
async def test_malformed_answers_are_invalid_response(
    client: FleetClient, simulator: Simulator, answer: dict[str, Any]
) -> None:
    """A 200 that is not JSON or not the expected shape is InvalidResponse."""
    simulator.add_fault(LIVE, status=200, **answer)
    with pytest.raises(InvalidResponse):
        await client.live_status(SITE_FULL)


async def test_products_not_a_list(client: FleetClient, simulator: Simulator) -> None:
    """Products must answer a list."""
    simulator.add_fault(r"/products$", status=200, json={"response": {"a": 1}})
    with pytest.raises(InvalidResponse):
        await client.products()


async def test_wrong_typed_and_missing_fields(
    client: FleetClient, simulator: Simulator
) -> None:
    """Wrong-typed fields become None, missing ones too; the rest still parses."""
    simulator.override_fields(
        SITE_FULL,
        "live_status",
        set={"solar_power": "lots", "percentage_charged": None, "grid_status": 7},
        remove=["battery_power"],
    )
    live = await client.live_status(SITE_FULL)
    assert live.solar_power is None
    assert live.percentage_charged is None
    assert live.grid_status is None
    assert live.battery_power is None
    assert live.load_power is not None
    assert live.raw["solar_power"] == "lots"


async def test_secrets_never_in_error_messages(
    client: FleetClient, simulator: Simulator, tokens: dict[str, Any]
) -> None:
    """Even a server echoing our token does not put it in the exception."""
    access = tokens["access_token"]
    simulator.add_fault(
        LIVE,
        status=400,
        json={"error": f"bad token {access}", "error_description": f"Bearer {access}"},
    )
    with pytest.raises(InvalidRequest) as err:
        await client.live_status(SITE_FULL)
    assert access not in str(err.value)
    assert access not in repr(err.value)
    assert access not in (err.value.error or "")
    assert access not in (err.value.description or "")
