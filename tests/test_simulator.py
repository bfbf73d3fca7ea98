"""Tests of the Fleet API simulator over real HTTP (OAuth, partner, Fleet API, faults, counts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
import dataclasses
from datetime import UTC, datetime
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
import pytest

from tests.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    SITE_DEAD,
    SITE_EU,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
    USER_MAIN,
    SimClock,
    Simulator,
    default_scenario,
)
from tests.simulator.auth import OAuthClient, decode_jwt_claims

REDIRECT = "http://127.0.0.1/callback"


# --------------------------------------------------------------------------- helpers
@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session."""
    async with aiohttp.ClientSession() as session:
        yield session


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def pem_of(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    """Public PEM of a private key."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def point_hex(key: ec.EllipticCurvePrivateKey) -> str:
    """Uncompressed point of an EC key, hex."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        .hex()
    )


class Api:
    """Tiny helper around a session and the simulator."""

    def __init__(
        self,
        sim: Simulator,
        http: aiohttp.ClientSession,
        token: str,
        region: str = "na",
    ) -> None:
        """Remember the simulator, session, token and region."""
        self.sim = sim
        self.http = http
        self.token = token
        self.region = region

    async def get(
        self, path: str, **params: str
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        """GET a Fleet API path: (status, parsed body or None, response)."""
        url = f"{self.sim.base_url(self.region)}/api/1/{path}"
        async with self.http.get(
            url, params=params, headers=bearer(self.token)
        ) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None, resp

    async def post(
        self, path: str, body: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        """POST JSON to a Fleet API path: (status, parsed body or None, response)."""
        url = f"{self.sim.base_url(self.region)}/api/1/{path}"
        async with self.http.post(url, json=body, headers=bearer(self.token)) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None, resp

    async def live(self, site_id: int = SITE_FULL) -> dict[str, Any]:
        """live_status response of a site."""
        status, body, _ = await self.get(f"energy_sites/{site_id}/live_status")
        assert status == 200, body
        return body["response"]

    async def info(self, site_id: int = SITE_FULL) -> dict[str, Any]:
        """site_info response of a site."""
        status, body, _ = await self.get(f"energy_sites/{site_id}/site_info")
        assert status == 200, body
        return body["response"]


@pytest.fixture
def api(simulator: Simulator, http: aiohttp.ClientSession) -> Api:
    """API helper with a token of the main user (all energy scopes)."""
    return Api(simulator, http, simulator.issue_tokens()["access_token"])


async def token_request(
    sim: Simulator, http: aiohttp.ClientSession, **form: str
) -> tuple[int, dict[str, Any]]:
    """POST the token endpoint (form encoded)."""
    async with http.post(sim.token_url, data=form) as resp:
        return resp.status, await resp.json()


# --------------------------------------------------------------------------- OAuth
async def test_authorize_page_approve_and_exchange(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """The consent page leads to a code that exchanges into working tokens."""
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": " ".join(DEFAULT_SCOPES),
        "state": "xyz-state",
        "prompt": "login",
        "login_hint": USER_EU,
    }
    async with http.get(simulator.authorize_url, params=params) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
    assert "Approve" in page
    assert "Deny" in page
    assert CLIENT_ID in page
    assert "energy_cmds" in page
    assert f'<option value="{USER_EU}" selected>' in page

    form = {**params, "user": USER_EU, "decision": "approve"}
    async with http.post(
        simulator.authorize_url, data=form, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    query = parse_qs(parts.query)
    assert query["state"] == ["xyz-state"]
    assert query["issuer"] == [f"{simulator.url}/oauth2/v3"]
    code = query["code"][0]
    assert code.startswith("EU_")

    status, tokens = await token_request(
        simulator,
        http,
        grant_type="authorization_code",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT,
        audience=simulator.base_url("eu"),
    )
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 28800
    assert tokens["refresh_token"].startswith("EU_")
    assert tokens["state"] == "xyz-state"
    assert "id_token" in tokens
    claims = decode_jwt_claims(tokens["access_token"])
    assert claims["sub"] == USER_EU
    assert claims["ou_code"] == "EU"
    assert claims["azp"] == CLIENT_ID
    assert claims["scp"] == list(DEFAULT_SCOPES)
    assert claims["iss"].startswith(simulator.url)
    assert claims["exp"] - claims["iat"] == 28800
    assert claims["exp"] == int(simulator.clock.timestamp()) + 28800
    assert "partner" not in claims

    # the code is single-use
    status, body = await token_request(
        simulator,
        http,
        grant_type="authorization_code",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT,
    )
    assert status == 400
    assert body["error"] == "invalid_grant"

    eu = Api(simulator, http, tokens["access_token"], "eu")
    assert (await eu.info(SITE_EU))["site_name"] == "Zuhause"


async def test_authorize_deny_unknown_client_and_scope_choice(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """Deny redirects with access_denied; unknown clients get a 400 page; scopes can be unticked."""
    base = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": " ".join(DEFAULT_SCOPES),
        "state": "s1",
    }
    async with http.post(
        simulator.authorize_url,
        data={**base, "decision": "deny"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s1"]}

    async with http.get(
        simulator.authorize_url, params={**base, "client_id": "nope"}
    ) as resp:
        assert resp.status == 400
        assert "nope" in await resp.text()

    # the page's checkboxes: the user grants only reading
    form = aiohttp.FormData()
    for key, value in base.items():
        form.add_field(key, value)
    form.add_field("grant_form", "1")
    for scope in ("openid", "offline_access", "energy_device_data"):
        form.add_field("grant", scope)
    form.add_field("decision", "approve")
    form.add_field("user", USER_MAIN)
    async with http.post(
        simulator.authorize_url, data=form, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    assert code.startswith("NA_")
    status, tokens = await token_request(
        simulator,
        http,
        grant_type="authorization_code",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT,
    )
    assert status == 200
    assert decode_jwt_claims(tokens["access_token"])["scp"] == [
        "openid",
        "offline_access",
        "energy_device_data",
    ]
    api = Api(simulator, http, tokens["access_token"])
    status, body, _ = await api.post(
        f"energy_sites/{SITE_FULL}/backup", {"backup_reserve_percent": 30}
    )
    assert status == 403
    assert body == {
        "response": None,
        "error": "Unauthorized missing scopes",
        "error_description": "missing scopes: energy_cmds",
    }


async def test_code_rules(simulator: Simulator, http: aiohttp.ClientSession) -> None:
    """Codes are bound to client and redirect URI and expire after 10 minutes."""
    common = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    code = simulator.issue_code(redirect_uri=REDIRECT)
    status, body = await token_request(
        simulator, http, **common, code=code, redirect_uri="http://127.0.0.1/other"
    )
    assert (status, body["error"]) == (400, "invalid_grant")

    code = simulator.issue_code(redirect_uri=REDIRECT)
    simulator.clock.advance(601)
    status, body = await token_request(
        simulator, http, **common, code=code, redirect_uri=REDIRECT
    )
    assert (status, body["error"]) == (400, "invalid_grant")

    status, body = await token_request(
        simulator, http, **common, code="NA_bogus", redirect_uri=REDIRECT
    )
    assert (status, body["error"]) == (400, "invalid_grant")

    code = simulator.issue_code(redirect_uri=REDIRECT)
    status, body = await token_request(
        simulator,
        http,
        grant_type="authorization_code",
        client_id=CLIENT_ID,
        client_secret="wrong",
        code=code,
        redirect_uri=REDIRECT,
    )
    assert (status, body["error"]) == (401, "invalid_client")

    status, body = await token_request(
        simulator, http, grant_type="authorization_code", client_id=CLIENT_ID
    )
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await token_request(simulator, http, client_id=CLIENT_ID)
    assert (status, body["error"]) == (400, "invalid_request")

    # JSON bodies are accepted too
    code = simulator.issue_code(redirect_uri=REDIRECT)
    async with http.post(
        simulator.token_url,
        json={**common, "code": code, "redirect_uri": REDIRECT},
    ) as resp:
        assert resp.status == 200
        assert "access_token" in await resp.json()


async def test_refresh_rotation_and_revoke(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """Refresh tokens are single-use: reuse answers 401 login_required; revoke kills all."""
    first = simulator.issue_tokens(
        scopes=("openid", "offline_access", "energy_device_data")
    )
    simulator.clock.advance(3600)
    status, second = await token_request(
        simulator,
        http,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        refresh_token=first["refresh_token"],
    )
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    assert second["refresh_token"].startswith("NA_")
    assert second["access_token"] != first["access_token"]
    claims = decode_jwt_claims(second["access_token"])
    assert claims["scp"] == ["openid", "offline_access", "energy_device_data"]
    assert claims["iat"] == int(simulator.clock.timestamp())

    status, body = await token_request(
        simulator,
        http,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        refresh_token=first["refresh_token"],
    )
    assert status == 401
    assert body["error"] == "login_required"

    status, third = await token_request(
        simulator,
        http,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=second["refresh_token"],
    )
    assert status == 200

    status, body = await token_request(
        simulator,
        http,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        client_secret="wrong",
        refresh_token=third["refresh_token"],
    )
    assert (status, body["error"]) == (401, "invalid_client")

    api = Api(simulator, http, third["access_token"])
    assert (await api.info())["site_name"] == "Home"
    simulator.revoke_user(USER_MAIN)
    status, body, _ = await api.get(f"energy_sites/{SITE_FULL}/site_info")
    assert (status, body) == (401, None)
    status, body = await token_request(
        simulator,
        http,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        refresh_token=third["refresh_token"],
    )
    assert (status, body["error"]) == (401, "login_required")


async def test_refresh_grace_window(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """With a grace window a rotated refresh token keeps working for a while."""
    simulator.refresh_token_grace = 60
    first = simulator.issue_tokens()
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "refresh_token": first["refresh_token"],
    }
    assert (await token_request(simulator, http, **form))[0] == 200
    simulator.clock.advance(30)
    assert (await token_request(simulator, http, **form))[0] == 200
    simulator.clock.advance(31)
    assert (await token_request(simulator, http, **form))[0] == 401


async def test_access_token_expiry(simulator: Simulator, api: Api) -> None:
    """An expired access token gets 401 with an empty body."""
    assert (await api.live())["grid_status"] == "Active"
    simulator.clock.advance(28799)
    await api.live()
    simulator.clock.advance(1)
    status, body, resp = await api.get(f"energy_sites/{SITE_FULL}/live_status")
    assert status == 401
    assert body is None
    assert resp.content_length in (0, None)
    status, body, _ = await Api(simulator, api.http, "not-a-token").get("products")
    assert (status, body) == (401, None)


async def test_partner_token_scope_of_use(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """Partner tokens only work on partner endpoints, user tokens only elsewhere."""
    status, body = await token_request(
        simulator,
        http,
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        audience=simulator.base_url("na"),
        scope="openid energy_device_data energy_cmds",
    )
    assert status == 200
    assert "refresh_token" not in body
    claims = decode_jwt_claims(body["access_token"])
    assert claims["partner"] is True
    assert claims["sub"] == CLIENT_ID
    partner = Api(simulator, http, body["access_token"])
    status, _, _ = await partner.get("products")
    assert status == 403
    status, answer, _ = await partner.get(
        "partner_accounts/public_key", domain=PARTNER_DOMAIN
    )
    assert status == 200
    assert answer["response"]["public_key"].startswith("04")

    user = Api(simulator, http, simulator.issue_tokens()["access_token"])
    status, _, _ = await user.post("partner_accounts", {"domain": PARTNER_DOMAIN})
    assert status == 403

    status, body = await token_request(
        simulator,
        http,
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret="nope",
    )
    assert (status, body["error"]) == (401, "invalid_client")


# --------------------------------------------------------------------------- partner
async def test_412_until_registered_per_region(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    """Without registration every user call answers 412; registering fixes one region."""
    async with Simulator(partner_registered=False) as sim:
        user = Api(sim, http, sim.issue_tokens()["access_token"])
        status, body, _ = await user.get("products")
        assert status == 412
        assert body["error"] == "A condition has not been met to process the request"
        assert body["response"] is None

        partner = Api(sim, http, sim.issue_partner_token())
        status, body, _ = await partner.post(
            "partner_accounts", {"domain": PARTNER_DOMAIN}
        )
        assert status == 200, body
        answer = body["response"]
        assert answer["client_id"] == CLIENT_ID
        assert answer["domain"] == PARTNER_DOMAIN
        assert answer["ca"] is None
        assert answer["enterprise_tier"] == "free"
        assert answer["public_key"].startswith("04")
        assert len(answer["public_key"]) == 130

        status, body, _ = await user.get("products")
        assert status == 200
        eu_user = Api(sim, http, sim.issue_tokens(user=USER_EU)["access_token"], "eu")
        status, _, _ = await eu_user.get("products")
        assert status == 412
        eu_partner = Api(sim, http, partner.token, "eu")
        status, _, _ = await eu_partner.post(
            "partner_accounts", {"domain": PARTNER_DOMAIN}
        )
        assert status == 200
        status, _, _ = await eu_user.get("products")
        assert status == 200


async def test_partner_registration_rules(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """Domain rules, key download, curve check, ownership and key updates."""
    simulator.unregister_partner(CLIENT_ID)
    partner = Api(simulator, http, simulator.issue_partner_token())
    for domain in (
        "Powerwall.Example.org",
        "https://powerwall.example.org",
        "powerwall.example.org/keys",
        "mytesla.example.org",
        "not_a_host!",
        "localhost",
        "",
    ):
        status, body, _ = await partner.post("partner_accounts", {"domain": domain})
        assert status == 400, domain
        assert body["error"].startswith("invalid domain"), body
    status, _, _ = await partner.post("partner_accounts", {"nodomain": 1})
    assert status == 400

    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "keys.example.net"}
    )
    assert status == 424
    assert body["error"] == (
        "Public key download failed for "
        "https://keys.example.net/.well-known/appspecific/com.tesla.3p.public-key.pem"
    )

    simulator.publish_public_key(
        "rsa.example.net", pem_of(rsa.generate_private_key(65537, 2048))
    )
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "rsa.example.net"}
    )
    assert status == 400
    simulator.publish_public_key(
        "p384.example.net", pem_of(ec.generate_private_key(ec.SECP384R1()))
    )
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "p384.example.net"}
    )
    assert status == 400
    simulator.publish_public_key("garbage.example.net", "-----BEGIN nonsense")
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "garbage.example.net"}
    )
    assert status == 400

    key1 = ec.generate_private_key(ec.SECP256R1())
    simulator.publish_public_key("keys.example.net", pem_of(key1))
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "keys.example.net"}
    )
    assert status == 200
    assert body["response"]["public_key"] == point_hex(key1)
    created = body["response"]["created_at"]

    status, body, _ = await partner.get(
        "partner_accounts/public_key", domain="keys.example.net"
    )
    assert (status, body) == (200, {"response": {"public_key": point_hex(key1)}})
    status, _, _ = await partner.get(
        "partner_accounts/public_key", domain="other.example.net"
    )
    assert status == 404
    # registrations are per region
    eu = Api(simulator, http, partner.token, "eu")
    status, _, _ = await eu.get(
        "partner_accounts/public_key", domain="keys.example.net"
    )
    assert status == 404

    # one domain per application
    simulator.publish_public_key("second.example.net", pem_of(key1))
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "second.example.net"}
    )
    assert status == 400
    assert "one domain per application" in body["error"]

    # same domain again: the key is updated
    key2 = ec.generate_private_key(ec.SECP256R1())
    simulator.publish_public_key("keys.example.net", pem_of(key2))
    simulator.clock.advance(10)
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "keys.example.net"}
    )
    assert status == 200
    assert body["response"]["public_key"] == point_hex(key2)
    assert body["response"]["created_at"] == created
    assert body["response"]["updated_at"] != created

    # another application cannot take the domain
    simulator.oauth.clients["other-app"] = OAuthClient(
        "other-app", "other-secret", "Other"
    )
    other = Api(simulator, http, simulator.issue_partner_token(client_id="other-app"))
    status, body, _ = await other.post(
        "partner_accounts", {"domain": "keys.example.net"}
    )
    assert status == 400
    assert body["error"] == "domain already registered to another application"


async def test_partner_key_fetched_from_loopback_origin(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """resolve_domain makes registration download the PEM over HTTP from a loopback origin."""
    key = ec.generate_private_key(ec.SECP256R1())
    served = {"pem": pem_of(key)}

    async def well_known(_request: web.Request) -> web.Response:
        return web.Response(text=served["pem"])

    app = web.Application()
    app.router.add_get(
        "/.well-known/appspecific/com.tesla.3p.public-key.pem", well_known
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        with pytest.raises(ValueError):
            simulator.resolve_domain("ha.example.net", "http://192.0.2.1:8123")
        with pytest.raises(ValueError):
            simulator.resolve_domain("ha.example.net", "http://localhost:8123")
        simulator.resolve_domain("ha.example.net", f"http://127.0.0.1:{port}")
        simulator.unregister_partner(CLIENT_ID)
        partner = Api(simulator, http, simulator.issue_partner_token())
        status, body, _ = await partner.post(
            "partner_accounts", {"domain": "ha.example.net"}
        )
        assert status == 200, body
        assert body["response"]["public_key"] == point_hex(key)
    finally:
        await runner.cleanup()
    status, body, _ = await partner.post(
        "partner_accounts", {"domain": "ha.example.net"}
    )
    assert status == 424


# --------------------------------------------------------------------------- Fleet API basics
async def test_region_421_and_users_region(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """A user asking the wrong region gets 421 naming the right base URL."""
    eu_token = simulator.issue_tokens(user=USER_EU)["access_token"]
    wrong = Api(simulator, http, eu_token, "na")
    status, body, _ = await wrong.get("products")
    assert status == 421
    assert body["response"] is None
    assert body["error"] == (
        f"user out of region, use base URL: {simulator.base_url('eu')}"
    )
    status, body, _ = await wrong.get("users/region")
    assert status == 200
    assert body == {
        "response": {"region": "eu", "fleet_api_base_url": simulator.base_url("eu")}
    }
    right = Api(simulator, http, eu_token, "eu")
    status, body, _ = await right.get("products")
    assert status == 200
    assert [p["energy_site_id"] for p in body["response"]] == [SITE_EU]


async def test_missing_read_scope(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """Reads need energy_device_data."""
    token = simulator.issue_tokens(scopes=("openid", "offline_access", "energy_cmds"))
    api = Api(simulator, http, token["access_token"])
    status, body, _ = await api.get(f"energy_sites/{SITE_FULL}/live_status")
    assert status == 403
    assert body["error_description"] == "missing scopes: energy_device_data"
    status, _, _ = await api.post(
        f"energy_sites/{SITE_FULL}/backup", {"backup_reserve_percent": 30}
    )
    assert status == 200


async def test_products_shape(api: Api) -> None:
    """Products list energy sites (with quirks) and a vehicle."""
    status, body, _ = await api.get("products")
    assert status == 200
    products = body["response"]
    assert body["count"] == len(products) == 5
    vehicles = [p for p in products if "energy_site_id" not in p]
    assert len(vehicles) == 1
    assert "vin" in vehicles[0]
    sites = {p["energy_site_id"]: p for p in products if "energy_site_id" in p}
    assert set(sites) == {SITE_FULL, SITE_SOLAR_ONLY, SITE_PW3, SITE_DEAD}
    full = sites[SITE_FULL]
    assert full["resource_type"] == "battery"
    assert full["site_name"] == "Home"
    assert full["total_pack_energy"] == 27000
    assert full["battery_type"] == "ac_powerwall"
    assert full["storm_mode_enabled"] is True
    assert full["components"] == {
        "battery": True,
        "solar": True,
        "grid": True,
        "load_meter": True,
        "market_type": "residential",
        "battery_type": "ac_powerwall",
        "solar_type": "pv_panel",
        "wall_connectors": full["components"]["wall_connectors"],
    }
    for key in (
        "id",
        "asset_site_id",
        "energy_left",
        "percentage_charged",
        "backup_capable",
        "battery_power",
    ):
        assert key in full
    solar = sites[SITE_SOLAR_ONLY]
    assert solar["resource_type"] == "solar"
    assert "site_name" not in solar
    dead = sites[SITE_DEAD]
    assert not any(v for k, v in dead["components"].items() if k != "market_type")


async def test_live_status_and_site_info_shapes(api: Api) -> None:
    """Each site reports the fields (and quirks) the documentation lists."""
    live = await api.live(SITE_FULL)
    for key in (
        "solar_power",
        "battery_power",
        "load_power",
        "grid_power",
        "grid_services_power",
        "generator_power",
        "percentage_charged",
        "energy_left",
        "total_pack_energy",
        "grid_status",
        "island_status",
        "backup_capable",
        "grid_services_active",
        "storm_mode_active",
        "timestamp",
        "wall_connectors",
    ):
        assert key in live, key
    assert live["timestamp"] == "2026-06-21T05:00:00-07:00"
    assert live["wall_connectors"][0]["wall_connector_power"] == 0

    pw3 = await api.live(SITE_PW3)
    assert "energy_left" not in pw3
    assert "total_pack_energy" not in pw3
    assert pw3["timestamp"].endswith("-04:00")
    solar_only = await api.live(SITE_SOLAR_ONLY)
    assert solar_only["grid_status"] == "Unknown"
    assert solar_only["timestamp"].endswith("+00:00")

    info = await api.info(SITE_FULL)
    assert info["site_name"] == "Home"
    assert info["installation_time_zone"] == "America/Los_Angeles"
    assert info["version"] == "24.44.0 eb113390"
    assert info["battery_count"] == 2
    assert info["nameplate_power"] == 10000
    assert info["nameplate_energy"] == 27000
    assert info["backup_reserve_percent"] == 20
    assert info["default_real_mode"] == "self_consumption"
    assert info["user_settings"]["storm_mode_enabled"] is True
    comps = info["components"]
    assert comps["customer_preferred_export_rule"] == "pv_only"
    assert comps["non_export_configured"] is False
    assert "disallow_charge_from_grid_with_solar_installed" not in comps
    assert comps["gateways"][0]["part_name"] == "Gateway 2"
    assert {b["part_name"] for b in comps["batteries"]} == {"Powerwall 2"}
    assert len(comps["batteries"]) == 2
    assert comps["off_grid_vehicle_charging_reserve_supported"] is True
    assert info["tou_settings"]["optimization_strategy"] == "economics"
    assert "seasons" in info["tariff_content_v2"]
    for key in (
        "id",
        "installation_date",
        "max_site_meter_power_ac",
        "min_site_meter_power_ac",
        "vpp_backup_reserve_percent",
        "off_grid_vehicle_charging_reserve_percent",
    ):
        assert key in info, key

    solar_info = await api.info(SITE_SOLAR_ONLY)
    assert "site_name" not in solar_info
    assert solar_info["installation_time_zone"] == ""
    assert solar_info["components"]["battery"] is False
    pw3_info = await api.info(SITE_PW3)
    assert pw3_info["components"]["batteries"][0]["part_name"] == "Powerwall 3"
    assert pw3_info["installation_time_zone"] == "America/New_York"


async def test_not_found_and_dead_site(
    simulator: Simulator, api: Api, http: aiohttp.ClientSession
) -> None:
    """Foreign/unknown sites 404; the deactivated site fails like Tesla's."""
    status, body, _ = await api.get(f"energy_sites/{SITE_EU}/live_status")
    assert status == 404
    status, _, _ = await api.get("energy_sites/123/site_info")
    assert status == 404
    status, body, _ = await api.get(f"energy_sites/{SITE_DEAD}/live_status")
    assert status == 500
    assert body == {
        "response": None,
        "error": "upstream internal error",
        "error_description": "",
    }
    status, _, _ = await api.get(f"energy_sites/{SITE_DEAD}/site_info")
    assert status == 404
    status, _, _ = await api.get("energy_sites/abc/site_info")
    assert status == 404
    status, _, _ = await api.post(f"energy_sites/{SITE_FULL}/live_status", {})
    assert status == 405
    async with http.get(
        f"{simulator.url}/cn/api/1/products", headers=bearer(api.token)
    ) as resp:
        assert resp.status == 404


async def test_telemetry_history_and_backup_history(
    simulator: Simulator, api: Api
) -> None:
    """Charge history is minimal; backup history lists simulated outages."""
    status, body, _ = await api.get(
        f"energy_sites/{SITE_FULL}/telemetry_history", kind="charge"
    )
    assert (status, body) == (200, {"response": {"charge_history": []}})

    simulator.set_grid_outage(SITE_FULL, True)
    simulator.clock.advance(125.5)
    simulator.set_grid_outage(SITE_FULL, False)
    simulator.clock.advance(3600)
    status, body, _ = await api.get(
        f"energy_sites/{SITE_FULL}/calendar_history",
        kind="backup",
        period="day",
        end_date=simulator.clock.now().isoformat(),
    )
    assert status == 200
    assert body["response"] == {
        "events": [{"timestamp": "2026-06-21T05:00:00-07:00", "duration": 125500}],
        "total_events": 1,
    }


# --------------------------------------------------------------------------- writes
async def test_writes_change_site_info(simulator: Simulator, api: Api) -> None:
    """Every command answers its real-world variant and changes what reads report."""
    site = f"energy_sites/{SITE_FULL}"
    status, body, _ = await api.post(f"{site}/backup", {"backup_reserve_percent": 35})
    assert (status, body) == (
        200,
        {"response": {"Code": 200, "Message": "Backup reserve updated"}},
    )
    assert (await api.info())["backup_reserve_percent"] == 35
    for bad in (85, 101, -1, "40", 40.5, True, None):
        status, body, _ = await api.post(
            f"{site}/backup", {"backup_reserve_percent": bad}
        )
        assert status == 400, bad
        assert body["response"] is None
    assert (await api.info())["backup_reserve_percent"] == 35

    status, body, _ = await api.post(
        f"{site}/operation", {"default_real_mode": "backup"}
    )
    assert (status, body) == (200, {"response": {"code": 201, "message": "Updated"}})
    assert (await api.info())["default_real_mode"] == "backup"
    status, _, _ = await api.post(f"{site}/backup", {"backup_reserve_percent": 90})
    assert status == 200
    status, _, _ = await api.post(f"{site}/operation", {"default_real_mode": "turbo"})
    assert status == 400
    status, _, _ = await api.post(
        f"{site}/operation", {"default_real_mode": "autonomous"}
    )
    assert status == 200
    assert (await api.info())["default_real_mode"] == "autonomous"

    status, body, _ = await api.post(f"{site}/storm_mode", {"enabled": False})
    assert (status, body) == (200, {"response": {"result": True, "reason": ""}})
    assert (await api.info())["user_settings"]["storm_mode_enabled"] is False
    status, _, _ = await api.post(f"{site}/storm_mode", {"enabled": "yes"})
    assert status == 400

    status, body, _ = await api.post(
        f"{site}/grid_import_export",
        {"disallow_charge_from_grid_with_solar_installed": True},
    )
    assert (status, body) == (200, None)
    comps = (await api.info())["components"]
    assert comps["disallow_charge_from_grid_with_solar_installed"] is True
    assert comps["customer_preferred_export_rule"] == "pv_only"
    status, _, _ = await api.post(
        f"{site}/grid_import_export",
        {
            "disallow_charge_from_grid_with_solar_installed": False,
            "customer_preferred_export_rule": "never",
        },
    )
    assert status == 200
    comps = (await api.info())["components"]
    assert "disallow_charge_from_grid_with_solar_installed" not in comps
    assert comps["customer_preferred_export_rule"] == "never"
    assert comps["non_export_configured"] is True
    for bad_body in (
        {},
        {"customer_preferred_export_rule": "sometimes"},
        {"disallow_charge_from_grid_with_solar_installed": "no"},
    ):
        status, _, _ = await api.post(f"{site}/grid_import_export", bad_body)
        assert status == 400, bad_body

    status, body, _ = await api.post(
        f"{site}/off_grid_vehicle_charging_reserve",
        {"off_grid_vehicle_charging_reserve_percent": 40},
    )
    assert (status, body) == (200, {"response": {"result": True, "reason": ""}})
    assert (await api.info())["off_grid_vehicle_charging_reserve_percent"] == 40
    status, _, _ = await api.post(
        f"energy_sites/{SITE_PW3}/off_grid_vehicle_charging_reserve",
        {"off_grid_vehicle_charging_reserve_percent": 40},
    )
    assert status == 400
    status, _, _ = await api.post(
        f"{site}/off_grid_vehicle_charging_reserve",
        {"off_grid_vehicle_charging_reserve_percent": 140},
    )
    assert status == 400

    # malformed bodies
    async with api.http.post(
        f"{simulator.base_url('na')}/api/1/{site}/backup",
        data=b'{"backup_reserve_percent": 3',
        headers={**bearer(api.token), "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
    status, _, _ = await api.post(f"{site}/backup", [1, 2])
    assert status == 400

    state = simulator.site(SITE_FULL)
    assert state.backup_reserve_percent == 90
    assert state.default_real_mode == "autonomous"
    assert state.export_rule == "never"
    assert state.grid_charging is True


async def test_live_status_follows_writes(simulator: Simulator, api: Api) -> None:
    """Storm mode, outages and export rules show up in live_status."""
    site = f"energy_sites/{SITE_FULL}"
    simulator.set_storm_alert(SITE_FULL, True)
    assert (await api.live())["storm_mode_active"] is True
    status, _, _ = await api.post(f"{site}/storm_mode", {"enabled": False})
    assert status == 200
    assert (await api.live())["storm_mode_active"] is False
    await api.post(f"{site}/storm_mode", {"enabled": True})
    assert (await api.live())["storm_mode_active"] is True
    simulator.set_storm_alert(SITE_FULL, False)
    assert (await api.live())["storm_mode_active"] is False

    simulator.set_grid_outage(SITE_FULL, True)
    live = await api.live()
    assert live["grid_status"] == "Inactive"
    assert live["island_status"] == "off_grid_unintentional"
    assert live["grid_power"] == 0
    simulator.set_grid_outage(SITE_FULL, False)
    live = await api.live()
    assert live["grid_status"] == "Active"
    assert live["island_status"] == "on_grid"

    # midday, battery full, export never: nothing goes to the grid
    simulator.clock.set(datetime(2026, 6, 21, 19, 0, tzinfo=UTC))  # 12:00 local
    simulator.site(SITE_FULL).percentage_charged = 100
    before = await api.live()
    assert before["grid_power"] < 0  # exporting solar
    await api.post(
        f"{site}/grid_import_export", {"customer_preferred_export_rule": "never"}
    )
    after = await api.live()
    assert after["grid_power"] >= 0
    assert after["solar_power"] < before["solar_power"]


async def test_grid_import_export_needs_solar_for_export_rule(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    """A site without solar refuses an export rule but accepts the grid-charging flag."""
    scenario = default_scenario()
    battery_only = dataclasses.replace(
        scenario.sites[SITE_FULL], solar_w=0, initial_export_rule=None
    )
    scenario.sites[SITE_FULL] = battery_only
    async with Simulator(scenario=scenario) as sim:
        api = Api(sim, http, sim.issue_tokens()["access_token"])
        status, _, _ = await api.post(
            f"energy_sites/{SITE_FULL}/grid_import_export",
            {"customer_preferred_export_rule": "pv_only"},
        )
        assert status == 400
        status, _, _ = await api.post(
            f"energy_sites/{SITE_FULL}/grid_import_export",
            {"disallow_charge_from_grid_with_solar_installed": True},
        )
        assert status == 200
        comps = (await api.info())["components"]
        assert comps["solar"] is False
        assert "customer_preferred_export_rule" not in comps


async def test_time_of_use_settings(simulator: Simulator, api: Api) -> None:
    """Tariffs are stored and read back (zero period fields omitted); legacy quirks apply."""
    site = f"energy_sites/{SITE_FULL}"
    tariff = (await api.info())["tariff_content_v2"]
    tariff = json.loads(json.dumps(tariff))
    tariff["name"] = "My tariff"
    tariff["seasons"]["Summer"]["tou_periods"]["ON_PEAK"]["periods"] = [
        {
            "fromDayOfWeek": 0,
            "toDayOfWeek": 6,
            "fromHour": 17,
            "fromMinute": 0,
            "toHour": 20,
            "toMinute": 30,
        }
    ]
    # Tesla wants every day covered exactly once: move OFF_PEAK around it.
    tariff["seasons"]["Summer"]["tou_periods"]["OFF_PEAK"]["periods"] = [
        {"fromDayOfWeek": 0, "toDayOfWeek": 6, "fromHour": 0, "fromMinute": 0}
        | {"toHour": 17, "toMinute": 0},
        {"fromDayOfWeek": 0, "toDayOfWeek": 6, "fromHour": 20, "fromMinute": 30}
        | {"toHour": 0, "toMinute": 0},
    ]
    status, body, _ = await api.post(
        f"{site}/time_of_use_settings", {"tou_settings": {"tariff_content_v2": tariff}}
    )
    assert (status, body) == (200, {"response": {"code": 201, "message": "Updated"}})
    stored = (await api.info())["tariff_content_v2"]
    assert stored["name"] == "My tariff"
    assert stored["seasons"]["Summer"]["tou_periods"]["ON_PEAK"]["periods"] == [
        {"toDayOfWeek": 6, "fromHour": 17, "toHour": 20, "toMinute": 30}
    ]

    bad: dict[str, Any]
    for bad in (
        {},
        {"tou_settings": "x"},
        {"tou_settings": {"tariff_content_v2": []}},
        {"tou_settings": {"tariff_content_v2": {"seasons": {}}}},
    ):
        status, body, _ = await api.post(f"{site}/time_of_use_settings", bad)
        assert status == 400, bad
        assert body["error"].startswith("Must provide valid TOU settings") or bad == {}

    legacy = {
        "optimization_strategy": "balanced",
        "schedule": [
            {
                "target": "off_peak",
                "week_days": [6, 0],
                "start_seconds": 54000,
                "end_seconds": 62100,
            },
            {
                "target": "peak",
                "week_days": [6, 0],
                "start_seconds": 62100,
                "end_seconds": 67500,
            },
            {
                "target": "off_peak",
                "week_days": [6, 0],
                "start_seconds": 67500,
                "end_seconds": 72000,
            },
            {
                "target": "peak",
                "week_days": [6, 0],
                "start_seconds": 72000,
                "end_seconds": 54000,
            },
        ],
    }
    status, _, _ = await api.post(
        f"{site}/time_of_use_settings", {"tou_settings": legacy}
    )
    assert status == 200
    read_back = (await api.info())["tou_settings"]
    assert read_back["optimization_strategy"] == "balanced"
    assert read_back["schedule"] == legacy["schedule"][2:]

    refused = json.loads(json.dumps(legacy))
    refused["schedule"][0]["week_days"] = [0, 6]
    status, body, _ = await api.post(
        f"{site}/time_of_use_settings", {"tou_settings": refused}
    )
    assert status == 400
    assert body["error"].startswith("Must provide valid TOU settings")


# --------------------------------------------------------------------------- overrides
async def test_override_fields(simulator: Simulator, api: Api) -> None:
    """Overrides add, replace and remove fields until cleared."""
    simulator.override_fields(
        SITE_FULL,
        "live_status",
        set={"solar_power": "n/a", "extra": {"x": 1}},
        remove=["energy_left", "grid_status"],
    )
    simulator.override_fields(
        SITE_FULL, "site_info", set={"components.battery": False}, remove=["site_name"]
    )
    live = await api.live()
    assert live["solar_power"] == "n/a"
    assert live["extra"] == {"x": 1}
    assert "energy_left" not in live
    assert "grid_status" not in live
    info = await api.info()
    assert info["components"]["battery"] is False
    assert "site_name" not in info
    simulator.override_fields(SITE_FULL, "products", set={"site_name": None})
    _, products, _ = await api.get("products")
    entry = next(
        p for p in products["response"] if p.get("energy_site_id") == SITE_FULL
    )
    assert entry["site_name"] is None
    simulator.clear_overrides()
    live = await api.live()
    assert isinstance(live["solar_power"], int)
    assert "energy_left" in live
    assert (await api.info())["site_name"] == "Home"
    with pytest.raises(ValueError):
        simulator.override_fields(SITE_FULL, "nope", set={})


# --------------------------------------------------------------------------- faults
async def test_fault_status_headers_and_times(simulator: Simulator, api: Api) -> None:
    """A 429 fault with Retry-After applies the given number of times, before auth."""
    fault = simulator.add_fault(
        r"/live_status$", status=429, headers={"Retry-After": "3600"}, times=2
    )
    for _ in range(2):
        status, body, resp = await api.get(f"energy_sites/{SITE_FULL}/live_status")
        assert status == 429
        assert resp.headers["Retry-After"] == "3600"
        assert body == {
            "response": None,
            "error": "Too Many Requests",
            "error_description": "",
        }
    assert fault.hits == 2
    assert not fault.active
    await api.live()

    simulator.add_fault("site_info", status=503, times=None, method="GET")
    no_auth = Api(simulator, api.http, "garbage")
    for _ in range(3):
        status, _, _ = await no_auth.get(f"energy_sites/{SITE_FULL}/site_info")
        assert status == 503
    simulator.clear_faults()
    status, _, _ = await no_auth.get(f"energy_sites/{SITE_FULL}/site_info")
    assert status == 401

    simulator.add_fault("products", status=200, json={"response": "maintenance"})
    status, body, _ = await api.get("products")
    assert (status, body) == (200, {"response": "maintenance"})

    simulator.add_fault("products", status=200, body='{"response": {"solar_pow')
    async with api.http.get(
        f"{simulator.base_url('na')}/api/1/products", headers=bearer(api.token)
    ) as resp:
        assert resp.status == 200
        assert await resp.text() == '{"response": {"solar_pow'

    simulator.add_fault("/oauth2/v3/token", status=503, json={"error": "busy"})
    status, body = await token_request(simulator, api.http, grant_type="refresh_token")
    assert (status, body) == (503, {"error": "busy"})


async def test_fault_delay_and_drop(simulator: Simulator, api: Api) -> None:
    """Delays make clients time out; drops close the connection without an answer."""
    url = f"{simulator.base_url('na')}/api/1/energy_sites/{SITE_FULL}/live_status"
    simulator.add_fault("live_status", delay=5)
    with pytest.raises(TimeoutError):
        async with api.http.get(
            url, headers=bearer(api.token), timeout=aiohttp.ClientTimeout(total=0.2)
        ) as resp:
            await resp.read()
    await api.live()

    # aiohttp retries an idempotent request once after a disconnect: drop twice
    simulator.reset_counts()
    simulator.add_fault("live_status", drop=True, times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with api.http.get(url, headers=bearer(api.token)) as resp:
            await resp.read()
    assert [(r.status, r.fault) for r in simulator.requests] == [(0, True), (0, True)]
    assert simulator.count(billable=True) == 0
    await api.live()

    # a slow but successful answer
    simulator.add_fault("site_info", status=200, json={"response": {}}, delay=0.05)
    status, body, _ = await api.get(f"energy_sites/{SITE_FULL}/site_info")
    assert (status, body) == (200, {"response": {}})


async def test_pending_delay_does_not_block_stop(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    """Stopping the simulator ends pending delayed answers quickly."""
    import asyncio
    import time

    sim = Simulator()
    await sim.start()
    sim.add_fault("products", delay=30)
    token = sim.issue_tokens()["access_token"]
    task = asyncio.ensure_future(
        http.get(f"{sim.base_url('na')}/api/1/products", headers=bearer(token))
    )
    await asyncio.sleep(0.1)
    begin = time.monotonic()
    await sim.stop()
    assert time.monotonic() - begin < 5
    try:
        resp = await task
        resp.release()
    except aiohttp.ClientError:
        pass


# --------------------------------------------------------------------------- accounting
async def test_counts_and_billing(simulator: Simulator, api: Api) -> None:
    """Requests are recorded with endpoint, site, status and billing class."""
    simulator.reset_counts()
    await api.live()
    await api.live(SITE_PW3)
    await api.info()
    await api.get("products")
    await api.post(f"energy_sites/{SITE_FULL}/backup", {"backup_reserve_percent": 25})
    simulator.add_fault("live_status", status=500)
    status, _, _ = await api.get(f"energy_sites/{SITE_FULL}/live_status")
    assert status == 500
    await token_request(
        simulator,
        api.http,
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    partner = Api(simulator, api.http, simulator.issue_partner_token())
    await partner.get("partner_accounts/public_key", domain=PARTNER_DOMAIN)
    async with api.http.get(f"{simulator.url}/_sim/counts") as resp:
        control = await resp.json()

    assert simulator.count() == 8
    assert simulator.count("live_status") == 3
    assert simulator.count("live_status", site_id=SITE_FULL) == 2
    assert simulator.count("live_status", billable=True) == 2
    assert simulator.count("token") == 1
    assert simulator.count("token", billable=True) == 0
    assert simulator.count("partner_public_key", billable=False) == 1
    assert simulator.billable_counts() == {"data": 4, "commands": 1}
    assert control["billable"] == {"data": 4, "commands": 1}
    assert control["counts"]["live_status"] == 3

    record = next(r for r in simulator.requests if r.endpoint == "backup")
    assert record.method == "POST"
    assert record.site_id == SITE_FULL
    assert record.region == "na"
    assert record.json_body == {"backup_reserve_percent": 25}
    assert record.authorization is True
    assert record.content_type == "application/json"
    assert record.billable
    assert record.timestamp == simulator.clock.now()
    token_record = next(r for r in simulator.requests if r.endpoint == "token")
    assert token_record.authorization is False
    assert token_record.form is not None
    assert token_record.form["grant_type"] == "client_credentials"

    live_record = simulator.requests[0]
    assert live_record.path == f"/na/api/1/energy_sites/{SITE_FULL}/live_status"
    assert live_record.status == 200

    simulator.reset_counts()
    assert simulator.count() == 0
    assert simulator.billable_counts() == {"data": 0, "commands": 0}


async def test_control_endpoints(simulator: Simulator, api: Api) -> None:
    """The /_sim endpoints drive the simulator over HTTP and are never recorded."""
    root = f"{simulator.url}/_sim"
    http = api.http
    simulator.reset_counts()
    async with http.post(f"{root}/clock/advance", json={"seconds": 3600}) as resp:
        assert resp.status == 200
        assert (await resp.json())["now"] == "2026-06-21T13:00:00+00:00"
    async with http.get(f"{root}/clock") as resp:
        assert (await resp.json())["timestamp"] == simulator.clock.timestamp()
    async with http.post(
        f"{root}/faults",
        json={"path": "products", "status": 429, "headers": {"Retry-After": "5"}},
    ) as resp:
        assert resp.status == 200
    status, _, resp_products = await api.get("products")
    assert status == 429
    assert resp_products.headers["Retry-After"] == "5"
    async with http.post(
        f"{root}/faults", json={"path": "products", "bogus": 1}
    ) as resp:
        assert resp.status == 400
    async with http.post(
        f"{root}/faults", json={"path": "site_info", "times": None}
    ) as resp:
        assert resp.status == 200
    async with http.delete(f"{root}/faults") as resp:
        assert resp.status == 200
    assert simulator.faults == []
    async with http.post(
        f"{root}/grid_outage", json={"site_id": SITE_FULL, "active": True}
    ) as resp:
        assert resp.status == 200
    assert simulator.site(SITE_FULL).grid_outage is True
    async with http.post(
        f"{root}/storm_alert", json={"site_id": SITE_FULL, "active": True}
    ) as resp:
        assert resp.status == 200
    assert simulator.site(SITE_FULL).storm_mode_active is True
    async with http.post(
        f"{root}/overrides",
        json={
            "site_id": SITE_FULL,
            "endpoint": "live_status",
            "set": {"solar_power": None},
        },
    ) as resp:
        assert resp.status == 200
    assert (await api.live())["solar_power"] is None
    async with http.delete(f"{root}/overrides") as resp:
        assert resp.status == 200
    key = ec.generate_private_key(ec.SECP256R1())
    async with http.post(
        f"{root}/public_keys", json={"domain": "x.example.net", "pem": pem_of(key)}
    ) as resp:
        assert resp.status == 200
    assert "x.example.net" in simulator.public_keys
    async with http.post(
        f"{root}/site",
        json={"site_id": SITE_FULL, "set": {"default_real_mode": "backup"}},
    ) as resp:
        assert resp.status == 200
    assert simulator.site(SITE_FULL).mode == "backup"
    async with http.get(f"{root}/state") as resp:
        state = await resp.json()
    assert state["sites"][str(SITE_FULL)]["grid_outage"] is True
    assert state["sites"][str(SITE_FULL)]["default_real_mode"] == "backup"
    async with http.post(f"{root}/grid_outage", json={"site_id": 1}) as resp:
        assert resp.status == 400
    assert simulator.count() == 2  # products (429) and live_status; nothing from /_sim
    async with http.delete(f"{root}/counts") as resp:
        assert resp.status == 200
    assert simulator.count() == 0
    async with http.post(
        f"{root}/clock/set", json={"now": "2026-06-22T00:00:00+00:00"}
    ) as resp:
        assert resp.status == 200
    assert simulator.clock.now() == datetime(2026, 6, 22, tzinfo=UTC)
    async with http.post(f"{root}/tokens", json={"user": USER_EU}) as resp:
        tokens = await resp.json()
    assert decode_jwt_claims(tokens["access_token"])["sub"] == USER_EU
    async with http.post(f"{root}/revoke_user", json={"user": USER_EU}) as resp:
        assert resp.status == 200
    assert simulator.oauth.lookup_access(tokens["access_token"]) is None
    api.token = simulator.issue_tokens()["access_token"]  # the old one expired
    await api.live()
    async with http.get(f"{root}/requests", params={"limit": "1"}) as resp:
        recent = (await resp.json())["requests"]
    assert [r["endpoint"] for r in recent] == ["live_status"]
    async with http.get(f"{root}/nothing") as resp:
        assert resp.status == 404
    assert simulator.count() == 1


async def test_clock() -> None:
    """SimClock moves only forward."""
    clock = SimClock()
    assert clock.now() == datetime(2026, 6, 21, 12, tzinfo=UTC)
    clock.advance(90.5)
    assert clock.now() == datetime(2026, 6, 21, 12, 1, 30, 500000, tzinfo=UTC)
    clock.set(datetime(2026, 6, 22, tzinfo=UTC))
    assert clock.now() == datetime(2026, 6, 22, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 6, 21, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose
    live = SimClock(realtime=True)
    first = live.now()
    live.advance(3600)
    assert (live.now() - first).total_seconds() >= 3600
    assert live.realtime
