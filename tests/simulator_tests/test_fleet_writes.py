"""Simulator Fleet API commands over HTTP: settings writes, their read-back, TOU settings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp

from tests.simulator import SITE_FULL, SITE_PW3, Simulator, default_scenario
from tests.simulator_tests.helpers import Api, bearer


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
