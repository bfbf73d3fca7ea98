"""Simulator field overrides, faults, request accounting, /_sim control routes and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from tests.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    PARTNER_DOMAIN,
    SITE_FULL,
    SITE_PW3,
    USER_EU,
    SimClock,
    Simulator,
)
from tests.simulator.auth import decode_jwt_claims
from tests.simulator_tests.helpers import Api, bearer, pem_of, token_request


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
