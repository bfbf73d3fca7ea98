"""Simulator partner accounts over HTTP: 412 until registered, registration rules, key download."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
import pytest

from tests.simulator import CLIENT_ID, PARTNER_DOMAIN, USER_EU, Simulator
from tests.simulator.auth import OAuthClient
from tests.simulator_tests.helpers import Api, pem_of, point_hex


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
