"""Simulator Fleet API reads over HTTP: region, scopes, products, live_status, site_info, history."""

from __future__ import annotations

import aiohttp

from tests.simulator import (
    SITE_DEAD,
    SITE_EU,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
    Simulator,
)
from tests.simulator_tests.helpers import Api, bearer


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
