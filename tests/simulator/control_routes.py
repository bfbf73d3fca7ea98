"""The ``/_sim/...`` control routes: drive the simulator over HTTP (faults, clock, counts, state).

Owns the control paths, their JSON bodies and answers, for a developer's simulator
(``python -m tests.simulator``) or a test that only has its URL.  Each route calls the
test-facing API of ``state.SimulatorState``; nothing here is part of Tesla's API, and
control requests are never recorded or counted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
import re
from typing import Any

from aiohttp import web

from .responses import json_response
from .scenario import DEFAULT_SCOPES, USER_MAIN
from .state import SimulatorState

SIM_PREFIX = "/_sim"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlRoutes:
    """Handlers of the control routes over ``sim``."""

    def __init__(self, sim: SimulatorState) -> None:
        """Control ``sim``."""
        self.sim = sim

    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, path, handler) of every control route."""
        table: list[tuple[str, str, Handler]] = [
            ("POST", "/faults", self._add_fault),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/clock", self._clock),
            ("POST", "/clock/advance", self._clock_advance),
            ("POST", "/clock/set", self._clock_set),
            ("GET", "/counts", self._counts),
            ("DELETE", "/counts", self._reset_counts),
            ("GET", "/requests", self._requests),
            ("POST", "/public_keys", self._public_key),
            ("POST", "/grid_outage", self._grid_outage),
            ("POST", "/storm_alert", self._storm_alert),
            ("POST", "/apply_delay", self._apply_delay),
            ("POST", "/overrides", self._overrides),
            ("DELETE", "/overrides", self._clear_overrides),
            ("GET", "/state", self._state),
            ("POST", "/site", self._site),
            ("POST", "/revoke_user", self._revoke_user),
            ("POST", "/tokens", self._tokens),
        ]
        return [(method, SIM_PREFIX + path, handler) for method, path, handler in table]

    def _site_from(self, data: Mapping[str, Any]) -> int:
        """The known ``site_id`` of a control body; 400 otherwise."""
        try:
            site_id = int(data["site_id"])
            self.sim.site(site_id)
        except KeyError, TypeError, ValueError:
            raise web.HTTPBadRequest(text="site_id missing or unknown") from None
        return site_id

    async def _add_fault(self, request: web.Request) -> web.Response:
        data = await _body(request)
        allowed = {
            "path",
            "method",
            "status",
            "json",
            "body",
            "headers",
            "delay",
            "times",
            "drop",
        }
        unknown = set(data) - allowed
        if unknown or "path" not in data:
            return json_response(
                {"error": f"path required; unknown keys {sorted(unknown)}"}, 400
            )
        kwargs = dict(data)
        path = kwargs.pop("path")
        try:
            fault = self.sim.add_fault(path, **kwargs)
        except (re.error, TypeError) as err:
            return json_response({"error": str(err)}, 400)
        return json_response(
            {"ok": True, "index": len(self.sim.faults) - 1, "path": fault.path}
        )

    async def _clear_faults(self, _request: web.Request) -> web.Response:
        self.sim.clear_faults()
        return json_response({"ok": True})

    def _clock_state(self) -> dict[str, Any]:
        """The clock as the control routes report it."""
        return {
            "now": self.sim.clock.now().isoformat(),
            "timestamp": self.sim.clock.timestamp(),
            "realtime": self.sim.clock.realtime,
        }

    async def _clock(self, _request: web.Request) -> web.Response:
        return json_response(self._clock_state())

    async def _clock_advance(self, request: web.Request) -> web.Response:
        data = await _body(request)
        try:
            self.sim.clock.advance(float(data.get("seconds", 0)))
        except (TypeError, ValueError) as err:
            return json_response({"error": str(err)}, 400)
        return json_response(self._clock_state())

    async def _clock_set(self, request: web.Request) -> web.Response:
        data = await _body(request)
        try:
            self.sim.clock.set(datetime.fromisoformat(str(data["now"])))
        except (KeyError, TypeError, ValueError) as err:
            return json_response({"error": str(err)}, 400)
        return json_response(self._clock_state())

    async def _counts(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "counts": self.sim.counts(),
                "billable": self.sim.billable_counts(),
                "total": len(self.sim.requests),
            }
        )

    async def _reset_counts(self, _request: web.Request) -> web.Response:
        self.sim.reset_counts()
        return json_response({"ok": True})

    async def _requests(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "100"))
        items = [
            {
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "endpoint": r.endpoint,
                "site_id": r.site_id,
                "status": r.status,
                "billable": r.billable,
                "timestamp": r.timestamp.isoformat(),
            }
            for r in self.sim.requests[-limit:]
        ]
        return json_response({"requests": items})

    async def _public_key(self, request: web.Request) -> web.Response:
        data = await _body(request)
        domain, pem = data.get("domain"), data.get("pem")
        if not isinstance(domain, str) or not isinstance(pem, str):
            return json_response({"error": "domain and pem are required"}, 400)
        self.sim.publish_public_key(domain, pem)
        return json_response({"ok": True})

    async def _grid_outage(self, request: web.Request) -> web.Response:
        data = await _body(request)
        self.sim.set_grid_outage(self._site_from(data), bool(data.get("active", True)))
        return json_response({"ok": True})

    async def _storm_alert(self, request: web.Request) -> web.Response:
        data = await _body(request)
        self.sim.set_storm_alert(self._site_from(data), bool(data.get("active", True)))
        return json_response({"ok": True})

    async def _apply_delay(self, request: web.Request) -> web.Response:
        """{"seconds": 600, "site_id": optional, "settings": optional list of Tesla's names}."""
        data = await _body(request)
        site_id = self._site_from(data) if "site_id" in data else None
        settings = data.get("settings")
        if settings is not None and not isinstance(settings, list):
            return json_response(
                {"error": "settings must be a list of setting names"}, 400
            )
        try:
            self.sim.set_apply_delay(
                float(data["seconds"]), site_id=site_id, settings=settings
            )
        except (KeyError, TypeError, ValueError) as err:
            return json_response({"error": f"seconds required: {err}"}, 400)
        return json_response({"ok": True})

    async def _overrides(self, request: web.Request) -> web.Response:
        data = await _body(request)
        site_id = self._site_from(data)
        try:
            self.sim.override_fields(
                site_id,
                str(data.get("endpoint")),
                set=data.get("set") or {},
                remove=data.get("remove") or (),
            )
        except ValueError as err:
            return json_response({"error": str(err)}, 400)
        return json_response({"ok": True})

    async def _clear_overrides(self, _request: web.Request) -> web.Response:
        self.sim.clear_overrides()
        return json_response({"ok": True})

    async def _state(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "clock": self._clock_state(),
                "sites": {
                    str(site_id): site.snapshot()
                    for site_id, site in self.sim.sites.items()
                },
                "partners": [
                    {"region": a.region, "client_id": a.client_id, "domain": a.domain}
                    for a in self.sim.partners.values()
                ],
            }
        )

    async def _site(self, request: web.Request) -> web.Response:
        """Set state attributes directly: {"site_id", "set": {"default_real_mode": "backup", ...}}."""
        data = await _body(request)
        site = self.sim.site(self._site_from(data))
        changes = data.get("set") or {}
        unknown = [k for k in changes if k.startswith("_") or not hasattr(site, k)]
        if unknown:
            return json_response({"error": f"unknown attributes {unknown}"}, 400)
        try:
            for key, value in changes.items():
                setattr(site, key, value)
        except (ValueError, AttributeError, TypeError) as err:
            return json_response({"error": str(err)}, 400)
        return json_response({"ok": True, "state": site.snapshot()})

    async def _revoke_user(self, request: web.Request) -> web.Response:
        data = await _body(request)
        self.sim.revoke_user(str(data.get("user", USER_MAIN)))
        return json_response({"ok": True})

    async def _tokens(self, request: web.Request) -> web.Response:
        data = await _body(request)
        try:
            tokens = self.sim.issue_tokens(
                user=str(data.get("user", USER_MAIN)),
                scopes=tuple(data.get("scopes", DEFAULT_SCOPES)),
            )
        except ValueError as err:
            return json_response({"error": str(err)}, 400)
        return json_response(tokens)


async def _body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} without a body); 400 otherwise."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data
