"""OAuth, token rotation, partner registration and region discovery."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from custom_components.powerwall_fleet.fleet import (
    SCOPES,
    FleetClient,
    InvalidArgument,
    InvalidClient,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    TokenManager,
    TokenSet,
    build_authorize_url,
    decode_jwt_claims,
    discover_region,
    exchange_code,
    keys,
    normalize_domain,
    partner_public_key,
    partner_token,
    refresh_tokens,
    region_from_token,
    register_partner,
    token_scopes,
    token_subject,
)
from custom_components.powerwall_fleet.fleet.errors import CannotConnect, ServerError
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    CLIENT_SECRET,
    SITE_FULL,
    USER_EU,
    USER_MAIN,
)

REDIRECT = "http://127.0.0.1/callback"


def test_build_authorize_url() -> None:
    """The authorize URL carries every OAuth parameter, scopes space-separated."""
    url = build_authorize_url(
        client_id="abc", redirect_uri=REDIRECT, state="xyz", prompt="login"
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://auth.tesla.com/oauth2/v3/authorize"
    )
    query = parse_qs(parts.query)
    assert query == {
        "response_type": ["code"],
        "client_id": ["abc"],
        "redirect_uri": [REDIRECT],
        "scope": [" ".join(SCOPES)],
        "state": ["xyz"],
        "prompt": ["login"],
    }
    assert query["scope"][0] == "openid offline_access energy_device_data energy_cmds"


async def test_code_exchange_and_token_claims(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A code becomes tokens whose claims name the account, scopes and region."""
    code = simulator.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    assert code.startswith("NA_")
    tokens = await exchange_code(
        session,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT,
        audience=simulator.base_url("na"),
        token_url=simulator.token_url,
    )
    assert tokens.refresh_token
    assert tokens.refresh_token.startswith("NA_")
    assert tokens.expires_in == 28800
    assert token_subject(tokens.access_token) == USER_MAIN
    assert set(SCOPES) <= set(token_scopes(tokens.access_token))
    assert region_from_token(tokens.access_token) == "na"
    assert CLIENT_SECRET not in repr(tokens)
    assert tokens.access_token not in repr(tokens)
    stored = tokens.as_dict()
    assert stored["refresh_token"] == tokens.refresh_token
    assert stored["expires_at"] == tokens.expires_at

    with pytest.raises(LoginRequired):  # codes are single-use
        await exchange_code(
            session,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=code,
            redirect_uri=REDIRECT,
            audience=simulator.base_url("na"),
            token_url=simulator.token_url,
        )


async def test_wrong_client_secret(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A wrong client secret is InvalidClient and the secret is not echoed."""
    code = simulator.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    with pytest.raises(InvalidClient) as err:
        await exchange_code(
            session,
            client_id=CLIENT_ID,
            client_secret="wrong-secret-value",
            code=code,
            redirect_uri=REDIRECT,
            audience=simulator.base_url("na"),
            token_url=simulator.token_url,
        )
    assert "wrong-secret-value" not in str(err.value)


async def test_refresh_rotates_and_old_token_dies(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """Every refresh returns a new refresh token; reusing the old one fails."""
    first = simulator.issue_tokens(user=USER_MAIN)
    second = await refresh_tokens(
        session,
        client_id=CLIENT_ID,
        refresh_token=first["refresh_token"],
        token_url=simulator.token_url,
    )
    assert second.refresh_token
    assert second.refresh_token != first["refresh_token"]
    assert second.access_token != first["access_token"]
    with pytest.raises(LoginRequired) as err:
        await refresh_tokens(
            session,
            client_id=CLIENT_ID,
            refresh_token=first["refresh_token"],
            token_url=simulator.token_url,
        )
    assert err.value.error == "login_required"
    assert first["refresh_token"] not in str(err.value)
    third = await refresh_tokens(
        session,
        client_id=CLIENT_ID,
        refresh_token=second.refresh_token,
        token_url=simulator.token_url,
    )
    assert third.refresh_token not in (first["refresh_token"], second.refresh_token)


async def test_refresh_after_password_change(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A revoked account needs a new login."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    simulator.revoke_user(USER_MAIN)
    with pytest.raises(LoginRequired):
        await refresh_tokens(
            session,
            client_id=CLIENT_ID,
            refresh_token=tokens["refresh_token"],
            token_url=simulator.token_url,
        )


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 503, "json": {"error": "unavailable"}}, ServerError),
        ({"status": 200, "body": "<html>maintenance</html>"}, InvalidResponse),
        ({"drop": True}, CannotConnect),
    ],
)
async def test_refresh_transient_failures_are_not_login_required(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    fault: dict[str, Any],
    expected: type[Exception],
) -> None:
    """Network errors and 5xx during refresh never look like a lost login."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    simulator.add_fault(r"/oauth2/v3/token$", **fault)
    with pytest.raises(expected) as err:
        await refresh_tokens(
            session,
            client_id=CLIENT_ID,
            refresh_token=tokens["refresh_token"],
            token_url=simulator.token_url,
        )
    assert not isinstance(err.value, LoginRequired)
    # The refresh token was not spent: it still works.
    again = await refresh_tokens(
        session,
        client_id=CLIENT_ID,
        refresh_token=tokens["refresh_token"],
        token_url=simulator.token_url,
    )
    assert again.access_token


def _manager(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    tokens: dict[str, Any],
    saved: list[TokenSet],
) -> TokenManager:
    async def save(new: TokenSet) -> None:
        await asyncio.sleep(0)
        saved.append(new)

    now = simulator.clock.now().timestamp()
    return TokenManager(
        session,
        client_id=CLIENT_ID,
        tokens=TokenSet.from_response(tokens, now=now),
        token_url=simulator.token_url,
        on_rotate=save,
        clock=lambda: simulator.clock.now().timestamp(),
    )


async def test_token_manager_refreshes_before_expiry(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """Close to expiry the manager refreshes first and saves the rotated tokens."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    saved: list[TokenSet] = []
    manager = _manager(simulator, session, tokens, saved)
    client = FleetClient(
        session,
        manager.access_token,
        simulator.base_url("na"),
        on_token_rejected=manager.token_rejected,
    )
    await client.site_info(SITE_FULL)
    assert manager.refresh_count == 0
    simulator.clock.advance(tokens["expires_in"] - 60)
    await client.site_info(SITE_FULL)
    assert manager.refresh_count == 1
    assert len(saved) == 1
    assert saved[0].refresh_token != tokens["refresh_token"]
    assert manager.tokens.refresh_token == saved[0].refresh_token
    # the request after the refresh used the new token
    assert simulator.requests[-1].status == 200
    simulator.clock.advance(3600)
    await client.site_info(SITE_FULL)
    assert manager.refresh_count == 1


async def test_concurrent_callers_share_one_refresh(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """Ten requests at once after expiry cause exactly one refresh request."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    saved: list[TokenSet] = []
    manager = _manager(simulator, session, tokens, saved)
    client = FleetClient(
        session,
        manager.access_token,
        simulator.base_url("na"),
        on_token_rejected=manager.token_rejected,
    )
    simulator.clock.advance(tokens["expires_in"] + 10)
    simulator.reset_counts()
    results = await asyncio.gather(*(client.live_status(SITE_FULL) for _ in range(10)))
    assert all(result.solar_power is not None for result in results)
    assert simulator.count("token") == 1
    assert manager.refresh_count == 1
    assert len(saved) == 1


async def test_concurrent_401s_share_one_refresh(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """Several requests rejected with the same token refresh only once."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    saved: list[TokenSet] = []
    manager = _manager(simulator, session, tokens, saved)
    client = FleetClient(
        session,
        manager.access_token,
        simulator.base_url("na"),
        on_token_rejected=manager.token_rejected,
    )
    simulator.add_fault(r"/live_status$", status=401, body="", times=5)
    simulator.reset_counts()
    await asyncio.gather(*(client.live_status(SITE_FULL) for _ in range(5)))
    assert simulator.count("token") == 1
    assert manager.refresh_count == 1


async def test_token_manager_login_required(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """A dead refresh token surfaces as LoginRequired, nothing is saved."""
    tokens = simulator.issue_tokens(user=USER_MAIN)
    simulator.revoke_user(USER_MAIN)
    saved: list[TokenSet] = []
    manager = _manager(simulator, session, tokens, saved)
    simulator.clock.advance(tokens["expires_in"])
    with pytest.raises(LoginRequired):
        await manager.access_token()
    assert saved == []


async def test_partner_registration(
    session: aiohttp.ClientSession,
) -> None:
    """Partner token, registration per region and the public-key check."""
    async with Simulator(partner_registered=False) as simulator:
        key = keys.generate_private_key()
        domain = "my-home.example.net"
        simulator.publish_public_key(domain, keys.public_key_pem(key))
        token = await partner_token(
            session,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            audience=simulator.base_url("na"),
            token_url=simulator.token_url,
        )
        assert token.access_token
        assert simulator.count("token", billable=True) == 0
        assert (
            await partner_public_key(
                session,
                partner_token=token.access_token,
                base_url=simulator.base_url("na"),
                domain=domain,
            )
            is None
        )
        account = await register_partner(
            session,
            partner_token=token.access_token,
            base_url=simulator.base_url("na"),
            domain="HTTPS://My-Home.Example.net/",
        )
        assert account.domain == domain
        reported = await partner_public_key(
            session,
            partner_token=token.access_token,
            base_url=simulator.base_url("na"),
            domain=domain,
        )
        assert keys.same_public_key(key, reported)
        # registration is per region
        assert (
            await partner_public_key(
                session,
                partner_token=token.access_token,
                base_url=simulator.base_url("eu"),
                domain=domain,
            )
            is None
        )
        user = simulator.issue_tokens(user=USER_MAIN)

        async def access() -> str:
            return user["access_token"]

        sites = await FleetClient(
            session, access, simulator.base_url("na")
        ).energy_sites()
        assert sites


async def test_partner_registration_errors(
    session: aiohttp.ClientSession,
) -> None:
    """Unpublished key and a domain owned by another app are refused clearly."""
    async with Simulator(partner_registered=False) as simulator:
        token = await partner_token(
            session,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            audience=simulator.base_url("na"),
            token_url=simulator.token_url,
        )
        with pytest.raises((InvalidRequest, ServerError)) as err:
            await register_partner(
                session,
                partner_token=token.access_token,
                base_url=simulator.base_url("na"),
                domain="unpublished.example.org",
            )
        assert "public key" in str(err.value).lower()


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("https://home.example.org/path", "home.example.org"),
        ("home.example.org.", "home.example.org"),
    ],
)
def test_normalize_domain(domain: str, expected: str) -> None:
    """Domains are lowercased and stripped of scheme, path and trailing dot."""
    assert normalize_domain(domain) == expected


@pytest.mark.parametrize(
    ("domain", "error"),
    [
        ("mytesla.example.org", "domain_contains_tesla"),
        ("localhost", "invalid_domain"),
        ("home.example.org:8123", "invalid_domain"),
        ("bad_domain!.org", "invalid_domain"),
        ("", "invalid_domain"),
        ("-lead.example.org", "invalid_domain"),
    ],
)
def test_normalize_domain_refuses(domain: str, error: str) -> None:
    """Domains Tesla refuses fail locally with a reason key."""
    with pytest.raises(InvalidArgument) as err:
        normalize_domain(domain)
    assert err.value.error == error


async def test_discover_region(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    """users/region answers from any region with the account's base URL."""
    tokens = simulator.issue_tokens(user=USER_EU)
    assert region_from_token(tokens["access_token"]) == "eu"
    region = await discover_region(
        session, access_token=tokens["access_token"], base_url=simulator.base_url("na")
    )
    assert region.region == "eu"
    assert region.fleet_api_base_url == simulator.base_url("eu")


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "a.!!!.c", "a.bnVsbA.c", "a.WzEsMl0.c"]
)
def test_decode_jwt_garbage(token: str) -> None:
    """Anything that is not a JWT with an object payload gives no claims."""
    assert decode_jwt_claims(token) == {}
    assert token_scopes(token) == ()
    assert token_subject(token) is None
    assert region_from_token(token) is None


def test_token_set_from_response() -> None:
    """Token answers are checked; expiry is computed from expires_in."""
    tokens = TokenSet.from_response(
        {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 100,
            "scope": "openid x",
        },
        now=1000.0,
    )
    assert tokens.expires_at == 1100.0
    assert tokens.scope == ("openid", "x")
    assert tokens.expires_within(200, now=1000.0)
    assert not tokens.expires_within(50, now=1000.0)
    bad: object
    for bad in (None, [], {"access_token": ""}, {"access_token": 5}):
        with pytest.raises(InvalidResponse):
            TokenSet.from_response(bad)
