"""HTTP side of the energy-site commands (the POST endpoints under ``energy_sites/<id>``).

backup, operation, storm_mode, grid_import_export, off_grid_vehicle_charging_reserve and
time_of_use_settings: owns each command's validation (Tesla's status and error text, in
Tesla's order; the refusals owners meet: no battery, no solar, reserve 81-99 % outside
backup-only mode (refused, or with ``SiteState.reserve_81_99 = "snap"`` taken as 80 %,
also when the mode leaves backup-only), not storm-watch / time-of-use /
off-grid-reserve capable) and its
effect on the site (``SiteState.accept``, ``push_tariff``: shown at once, acted on after
the site's apply delay).  Tariff rules are in ``tariff.py``; token, region and scope checks happen
before, in ``server.py``.  Touches only the one site it is given: no tokens, no other
sites, no request log.
"""

from __future__ import annotations

from typing import Any, TypeIs

from aiohttp import web

from .responses import error_response, json_response
from .site import EXPORT_RULES, MODES, SiteState
from .tariff import (
    tesla_stores,
    validate_legacy_tou,
    validate_strategy,
    validate_tariff,
)


class WriteRoutes:
    """Commands to a site; counts the transaction ids Tesla quotes in some errors."""

    def __init__(self) -> None:
        """Start the transaction ids at 1."""
        self._txid = 0

    def _next_txid(self) -> str:
        """A fresh transaction id, as Tesla quotes in some error messages."""
        self._txid += 1
        return f"{self._txid:032x}"

    def write(
        self, endpoint: str, site: SiteState, body: dict[str, Any]
    ) -> web.Response:
        """POST a command to ``site``: validate ``body`` like Tesla, then apply it."""
        cfg = site.config
        bad = error_response
        if endpoint == "backup":
            value = body.get("backup_reserve_percent")
            if not cfg.has_battery:
                return bad(400, "invalid_field", "site has no battery")
            if not _is_int(value) or not 0 <= value <= 100:
                return bad(
                    400,
                    f"Unable to get backup reserve capacity from payload for txid `{self._next_txid()}`",
                    "backup_reserve_percent must be an integer between 0 and 100",
                )
            if 80 < value < 100 and site.default_real_mode != "backup":
                if site.reserve_81_99 == "refuse":
                    return bad(
                        400,
                        "invalid_field",
                        "backup_reserve_percent must be 0-80 or 100 outside backup mode",
                    )
                value = 80  # the other firmware: accepted, stored as 80
            site.accept("backup_reserve_percent", value)
            return json_response(
                {"response": {"Code": 200, "Message": "Backup reserve updated"}}
            )
        if endpoint == "operation":
            mode = body.get("default_real_mode")
            if not cfg.has_battery:
                return bad(400, "invalid_field", "site has no battery")
            if mode not in MODES:
                return bad(
                    400,
                    "invalid_field",
                    f"default_real_mode must be one of {', '.join(MODES)}",
                )
            held = site.backup_reserve_percent
            if mode != "backup" and 80 < held < 100 and site.reserve_81_99 == "snap":
                site.accept("backup_reserve_percent", 80)
            site.accept("default_real_mode", mode)
            return json_response({"response": {"code": 201, "message": "Updated"}})
        if endpoint == "storm_mode":
            enabled = body.get("enabled")
            if not isinstance(enabled, bool):
                return bad(400, "invalid_field", "enabled must be a boolean")
            if not cfg.storm_capable:
                return bad(400, "invalid_field", "site is not storm watch capable")
            site.accept("storm_mode_enabled", enabled)
            return json_response({"response": {"result": True, "reason": ""}})
        if endpoint == "grid_import_export":
            return self._grid_import_export(site, body)
        if endpoint == "off_grid_vehicle_charging_reserve":
            value = body.get("off_grid_vehicle_charging_reserve_percent")
            if not cfg.ogvcr_supported:
                return bad(
                    400,
                    "invalid_field",
                    "off-grid vehicle charging reserve is not supported on this site",
                )
            if not _is_int(value) or not 0 <= value <= 100:
                return bad(
                    400,
                    "invalid_field",
                    "off_grid_vehicle_charging_reserve_percent must be 0-100",
                )
            site.off_grid_vehicle_charging_reserve_percent = value
            return json_response({"response": {"result": True, "reason": ""}})
        # time_of_use_settings
        settings = body.get("tou_settings")
        if not cfg.tou_capable:
            return bad(400, "invalid_field", "site is not time-of-use capable")
        invalid = (
            f"Must provide valid TOU settings in request for txid `{self._next_txid()}`"
        )
        if not isinstance(settings, dict):
            return bad(400, invalid, "tou_settings must be an object")
        if "tariff_content_v2" in settings:
            tariff = settings["tariff_content_v2"]
            strategy = settings.get("optimization_strategy")
            problems = validate_tariff(tariff) + validate_strategy(strategy)
            if problems:
                return bad(400, invalid, "; ".join(problems))
            site.push_tariff(tesla_stores(tariff), strategy)
        else:
            problems = validate_legacy_tou(settings)
            if problems:
                return bad(400, invalid, "; ".join(problems))
            site.push_legacy_tou(settings)
        return json_response({"response": {"code": 201, "message": "Updated"}})

    def _grid_import_export(
        self, site: SiteState, body: dict[str, Any]
    ) -> web.Response:
        """grid_import_export: grid charging and/or the export rule (export rule needs solar)."""
        key_charge = "disallow_charge_from_grid_with_solar_installed"
        key_rule = "customer_preferred_export_rule"
        if key_charge not in body and key_rule not in body:
            return error_response(
                400, "invalid_field", f"one of {key_charge}, {key_rule} is required"
            )
        disallow = body.get(key_charge)
        rule = body.get(key_rule)
        if key_charge in body and not isinstance(disallow, bool):
            return error_response(
                400, "invalid_field", f"{key_charge} must be a boolean"
            )
        if key_charge in body and not site.config.has_battery:
            return error_response(400, "invalid_field", "site has no battery")
        if key_rule in body:
            if rule not in EXPORT_RULES:
                return error_response(
                    400,
                    "invalid_field",
                    f"{key_rule} must be one of {', '.join(EXPORT_RULES)}",
                )
            if not site.config.has_solar:
                return error_response(
                    400, "invalid_field", "export rule requires solar"
                )
        if key_charge in body:
            site.accept(key_charge, bool(disallow))
        if key_rule in body:
            site.accept(key_rule, rule)
        return web.Response(status=200)


def _is_int(value: Any) -> TypeIs[int]:
    """A JSON integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)
