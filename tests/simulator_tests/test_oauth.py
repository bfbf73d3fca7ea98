"""Simulator OAuth over HTTP: authorize page, codes, refresh rotation, token expiry, partner tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    SITE_EU,
    SITE_FULL,
    USER_EU,
    USER_MAIN,
    Simulator,
)
from tests.simulator.auth import decode_jwt_claims
from tests.simulator_tests.helpers import REDIRECT, Api, token_request


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
