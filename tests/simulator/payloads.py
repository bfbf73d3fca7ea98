"""JSON answers of the energy-site read endpoints, built from a site's state.

Owns the shapes of live_status, site_info (with its components) and a products entry.
Functions of a :class:`~.site.SiteState` and plain values: no HTTP, no overrides
(``state.py`` applies them); they read the site and never change a setting.
"""

from __future__ import annotations

from typing import Any

from .site import SiteState, local_iso
from .tariff import legacy_read_back, tariff_read_back


def live_status(site: SiteState) -> dict[str, Any]:
    """The live_status ``response`` of ``site`` right now (before overrides)."""
    cfg = site.config
    powers = site.live_powers()
    now = site.clock.timestamp()
    data: dict[str, Any] = {"solar_power": powers["solar_power"]}
    if cfg.has_battery:
        if cfg.report_energy_left:
            data["energy_left"] = site.energy_left
            data["total_pack_energy"] = cfg.capacity_wh
        data["percentage_charged"] = site.percentage_charged
    else:
        data["percentage_charged"] = 0
    outage = site.grid_outage
    if cfg.has_battery:
        grid_status = "Inactive" if outage else "Active"
        island = "off_grid_unintentional" if outage else "on_grid"
    else:
        grid_status = "Unknown"
        island = "island_status_unknown"
    data.update(
        {
            "backup_capable": cfg.backup and cfg.has_battery,
            "battery_power": powers["battery_power"],
            "load_power": powers["load_power"],
            "grid_status": grid_status,
            "grid_services_active": False,
            "grid_power": powers["grid_power"],
            "grid_services_power": 0,
            "generator_power": 0,
            "island_status": island,
            "storm_mode_active": site.storm_mode_active,
            "timestamp": local_iso(now, site.report_zone),
            "wall_connectors": [
                _wall_connector(site, wc["din"], powers["load_power"])
                for wc in cfg.wall_connectors
            ],
        }
    )
    return data


def _wall_connector(site: SiteState, din: str, load_power: int) -> dict[str, Any]:
    """One connector in live_status: idle and unplugged unless the scenario says otherwise.

    A charging car's power is part of the home load; with the house dark (an
    outage without a battery to carry it) it draws nothing.
    """
    data: dict[str, Any] = {
        "din": din,
        "wall_connector_state": 2,
        "wall_connector_fault_state": 2,
        "wall_connector_power": 0,
    }
    data.update(site.config.wall_connector_live.get(din, {}))
    data["wall_connector_power"] = min(data["wall_connector_power"], max(load_power, 0))
    return data


def site_info(site: SiteState, region: str) -> dict[str, Any]:
    """The site_info ``response`` of ``site`` whose owner lives in ``region`` (before overrides)."""
    cfg = site.config
    data: dict[str, Any] = {"id": cfg.gateway_id}
    if site.site_name is not None:
        data["site_name"] = site.site_name
    if cfg.has_battery:
        data["backup_reserve_percent"] = site.backup_reserve_percent
        data["default_real_mode"] = site.default_real_mode
    data["installation_date"] = cfg.installation_date
    data["user_settings"] = {
        "go_off_grid_test_banner_enabled": False,
        "storm_mode_enabled": site.storm_mode_enabled,
        "powerwall_onboarding_settings_set": True,
        "powerwall_tesla_electric_interested_in": False,
        "vpp_tour_enabled": True,
        "sync_grid_alert_enabled": True,
        "breaker_alert_enabled": False,
    }
    data["components"] = _components(site)
    if cfg.version:
        data["version"] = cfg.version
    data["battery_count"] = cfg.battery_count
    if cfg.has_battery:
        data["tou_settings"] = legacy_read_back(site.tou_settings)
        data["nameplate_power"] = cfg.battery_max_w
        data["nameplate_energy"] = cfg.capacity_wh
    data["installation_time_zone"] = cfg.time_zone
    if cfg.has_battery:
        data["off_grid_vehicle_charging_reserve_percent"] = (
            site.off_grid_vehicle_charging_reserve_percent
        )
    data["max_site_meter_power_ac"] = 1000000000
    data["min_site_meter_power_ac"] = -1000000000
    data["geolocation"] = {
        "latitude": cfg.latitude,
        "longitude": cfg.longitude,
        "source": "Site Address Preference",
    }
    data["address"] = {
        "address_line1": f"{cfg.site_id % 1000} Simulated Way",
        "city": "Simville",
        "zip": "00000",
        "country": "US" if region == "na" else "DE",
    }
    if cfg.has_battery:
        data["vpp_backup_reserve_percent"] = 0
    data["utility"] = (
        site.tariff_content_v2.get("utility", "")
        if isinstance(site.tariff_content_v2, dict)
        else ""
    )
    if cfg.tou_capable:
        data["tariff_content_v2"] = tariff_read_back(site.tariff_content_v2)
    return data


def _components(site: SiteState) -> dict[str, Any]:
    """site_info's ``components``: capabilities, settings and the devices."""
    cfg = site.config
    comps: dict[str, Any] = {
        "solar": cfg.has_solar,
        "battery": cfg.has_battery,
        "grid": cfg.grid,
        "backup": cfg.backup and cfg.has_battery,
        "load_meter": cfg.load_meter,
        "tou_capable": cfg.tou_capable,
        "storm_mode_capable": cfg.storm_capable,
        "flex_energy_request_capable": False,
        "car_charging_data_supported": False,
        "off_grid_vehicle_charging_reserve_supported": cfg.ogvcr_supported,
        "vehicle_charging_performance_view_enabled": False,
        "vehicle_charging_solar_offset_view_enabled": False,
        "battery_solar_offset_view_enabled": cfg.has_battery and cfg.has_solar,
        "solar_value_enabled": cfg.has_solar,
        "set_islanding_mode_enabled": cfg.has_battery,
        "wifi_commissioning_enabled": cfg.has_battery,
        "backup_time_remaining_enabled": cfg.has_battery,
        "configurable": cfg.has_battery,
        "grid_services_enabled": False,
        "edge_to_edge_enabled": False,
        "system_alerts_enabled": True,
    }
    if cfg.has_solar:
        comps["solar_type"] = "pv_panel"
    if cfg.has_battery:
        comps["gateway"] = "teg"
        comps["battery_type"] = cfg.battery_type
    if site.customer_preferred_export_rule is not None:
        comps["customer_preferred_export_rule"] = site.customer_preferred_export_rule
        comps["net_meter_mode"] = "battery_ok"
        comps["non_export_configured"] = site.customer_preferred_export_rule == "never"
    if site.disallow_charge_from_grid_with_solar_installed:
        comps["disallow_charge_from_grid_with_solar_installed"] = True
    gateways = []
    if cfg.gateway_part_name:
        gateways.append(
            {
                "device_id": f"{cfg.asset_site_id[:-4]}g001",
                "din": cfg.gateway_id,
                "serial_number": cfg.gateway_serial,
                "part_number": cfg.gateway_part_number,
                "part_type": 10,
                "part_name": cfg.gateway_part_name,
                "is_active": True,
                "site_id": cfg.asset_site_id,
                "firmware_version": cfg.version,
                "updated_datetime": "2025-11-02T09:12:44.123Z",
            }
        )
    comps["gateways"] = gateways
    comps["batteries"] = [
        {
            "device_id": f"{cfg.asset_site_id[:-4]}b{index:03d}",
            "din": f"{cfg.battery_part_number}--TG12{cfg.seed}{index:07d}",
            "serial_number": f"TG12{cfg.seed}{index:07d}",
            "part_number": cfg.battery_part_number,
            "part_type": 2,
            "part_name": cfg.battery_part_name,
            "nameplate_max_charge_power": cfg.battery_power_w,
            "nameplate_max_discharge_power": cfg.battery_power_w,
            "nameplate_energy": cfg.battery_energy_wh,
        }
        for index in range(1, cfg.battery_count + 1)
    ]
    comps["wall_connectors"] = [dict(wc) for wc in cfg.wall_connectors]
    return comps


def product_entry(site: SiteState) -> dict[str, Any]:
    """The products entry of an energy site (before overrides)."""
    cfg = site.config
    if cfg.dead:
        components: dict[str, Any] = {
            "battery": False,
            "solar": False,
            "grid": False,
            "load_meter": False,
            "market_type": cfg.market_type,
        }
    else:
        components = {
            "battery": cfg.has_battery,
            "solar": cfg.has_solar,
            "grid": cfg.grid,
            "load_meter": cfg.load_meter,
            "market_type": cfg.market_type,
        }
        if cfg.has_battery:
            components["battery_type"] = cfg.battery_type
        if cfg.has_solar:
            components["solar_type"] = "pv_panel"
        if cfg.wall_connectors:
            components["wall_connectors"] = [
                {
                    "device_id": f"{cfg.asset_site_id[:-4]}w001",
                    "din": wc["din"],
                    "is_active": wc["is_active"],
                }
                for wc in cfg.wall_connectors
            ]
    entry: dict[str, Any] = {
        "energy_site_id": cfg.site_id,
        "resource_type": cfg.resource_type,
    }
    if site.site_name is not None:
        entry["site_name"] = site.site_name
    entry["id"] = cfg.gateway_id
    entry["gateway_id"] = cfg.gateway_id
    entry["asset_site_id"] = cfg.asset_site_id
    if cfg.resource_type == "battery":
        dead = cfg.dead
        powers = {"battery_power": 0} if dead else site.live_powers()
        entry["warp_site_number"] = cfg.gateway_id
        entry["energy_left"] = 0 if dead else site.energy_left
        entry["total_pack_energy"] = cfg.capacity_wh
        entry["percentage_charged"] = 0 if dead else site.percentage_charged
        entry["battery_type"] = cfg.battery_type or "ac_powerwall"
        entry["backup_capable"] = cfg.backup
        entry["battery_power"] = powers["battery_power"]
        entry["go_off_grid_test_banner_enabled"] = None
        entry["storm_mode_enabled"] = site.storm_mode_enabled
        entry["powerwall_onboarding_settings_set"] = True
        entry["powerwall_tesla_electric_interested_in"] = None
        entry["vpp_tour_enabled"] = None
    else:
        entry["solar_power"] = site.live_powers()["solar_power"]
        entry["solar_type"] = "pv_panel"
    entry["sync_grid_alert_enabled"] = True
    entry["breaker_alert_enabled"] = False
    entry["components"] = components
    entry["features"] = {"rate_plan_manager_no_pricing_constraint": True}
    return entry
