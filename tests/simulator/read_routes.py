"""HTTP side of the energy-site reads: live_status, site_info, calendar/telemetry history, products.

Owns the query checks of the read endpoints and which answer each one gives.  The
answers' shapes are in ``payloads.py``, history in ``history.py``, overrides in
``state.py``; the token, region and scope checks happen before, in ``server.py``.
Reads never change a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from typing import Any

from aiohttp import web

from .history import HistoryError, backup_history, energy_history
from .responses import error_response, json_response
from .site import SiteState
from .state import SimulatorState


class ReadRoutes:
    """Answers of the read endpoints from ``sim``'s sites."""

    def __init__(self, sim: SimulatorState) -> None:
        """Answer for ``sim``."""
        self.sim = sim

    def read(
        self, endpoint: str, site: SiteState, query: Mapping[str, str]
    ) -> web.Response:
        """GET live_status, site_info, calendar_history or telemetry_history of ``site``."""
        site_id = site.config.site_id
        if endpoint == "live_status":
            data = self.sim.apply_overrides(
                site_id, "live_status", self.sim.live_status_payload(site)
            )
            return json_response({"response": data})
        if endpoint == "site_info":
            data = self.sim.apply_overrides(
                site_id, "site_info", self.sim.site_info_payload(site)
            )
            return json_response({"response": data})
        if endpoint == "calendar_history":
            kind = query.get("kind")
            try:
                if kind == "energy":
                    return json_response(
                        {
                            "response": energy_history(
                                site, query, self.sim.bucket_faults
                            )
                        }
                    )
                if kind == "backup":
                    return json_response(
                        {
                            "response": backup_history(
                                site, query, self.sim.clock.timestamp()
                            )
                        }
                    )
            except HistoryError as err:
                return error_response(400, "invalid_field", str(err))
            return error_response(400, "invalid_field", "kind must be energy or backup")
        # telemetry_history
        if query.get("kind") != "charge":
            return error_response(400, "invalid_field", "kind must be charge")
        return json_response({"response": {"charge_history": []}})

    def products(self, user: str) -> web.Response:
        """GET products: ``user``'s vehicles, then their energy sites."""
        entries: list[dict[str, Any]] = [
            copy.deepcopy(v) for v in self.sim.scenario.vehicles.get(user, [])
        ]
        entries.extend(
            self.sim.product_entry(site)
            for site in self.sim.sites.values()
            if site.config.user == user
        )
        return json_response({"response": entries, "count": len(entries)})
