"""The simulator's aiohttp application: lifecycle, dispatch, faults, accounting, the Fleet API gate.

Owns the HTTP surface in Tesla's check order: every request is classified and recorded
(counts, billing), an injected fault answers first, then OAuth routes, then the Fleet
API gate (bearer token, partner-only endpoints, region, partner registration, scope,
site ownership) hands the request to ``partner_routes``, ``read_routes`` or
``write_routes``.  ``/_sim`` control routes are in ``control_routes``; state and the
test-facing API in ``state.SimulatorState``, which :class:`Simulator` extends.  Answers
nothing itself beyond faults, the gate's refusals and users/region; no site settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import cached_property
import json
import re
from typing import Any, Self

from aiohttp import web

from .control_routes import SIM_PREFIX, ControlRoutes
from .faults import RequestRecord
from .oauth_routes import OAuthRoutes
from .partner_routes import PartnerRoutes
from .read_routes import ReadRoutes
from .responses import error_response, json_response
from .state import OAUTH_PREFIX, REGIONS, SimulatorState
from .write_routes import WriteRoutes

PARTNER_ENDPOINTS = frozenset({"partner_accounts", "partner_public_key"})
READ_SITE_ENDPOINTS = (
    "live_status",
    "site_info",
    "calendar_history",
    "telemetry_history",
)
WRITE_SITE_ENDPOINTS = (
    "backup",
    "operation",
    "storm_mode",
    "grid_import_export",
    "off_grid_vehicle_charging_reserve",
    "time_of_use_settings",
)

_FLEET_PATH = re.compile(r"^/(?P<region>[a-z]{2})/api/1/(?P<rest>.*)$")
_SITE_PATH = re.compile(r"^energy_sites/(?P<site>\d+)/(?P<what>[a-z_]+)$")
_SIMPLE_API = {
    "users/region": ("users_region", "GET"),
    "products": ("products", "GET"),
    "partner_accounts": ("partner_accounts", "POST"),
    "partner_accounts/public_key": ("partner_public_key", "GET"),
}

_EMPTY = b""


class _Context:
    """What the dispatcher learnt about a request."""

    __slots__ = ("api", "endpoint", "region", "rest", "site_id", "want_method")

    def __init__(self) -> None:
        self.endpoint = "unknown"
        self.region: str | None = None
        self.site_id: int | None = None
        self.api = False
        self.rest = ""
        self.want_method: str | None = None


class Simulator(SimulatorState):
    """Offline stand-in for Tesla's OAuth server and Fleet API (energy sites).

    Takes the options of :class:`~.state.SimulatorState`; nothing listens until :meth:`start`.
    ``app`` is a plain :class:`aiohttp.web.Application` (usable with aiohttp's TestServer);
    :meth:`start` serves it on a free loopback port and sets :attr:`url`.
    """

    _runner: web.AppRunner | None = None
    # Set when stopping: pending fault delays end at once.
    _stopping: asyncio.Event | None = None

    @cached_property
    def app(self) -> web.Application:
        """The aiohttp application (built on first use; :meth:`start` serves it)."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.on_shutdown.append(self._on_shutdown)
        for method, path, handler in ControlRoutes(self).routes():
            app.router.add_route(method, path, handler)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    @cached_property
    def _oauth_routes(self) -> OAuthRoutes:
        return OAuthRoutes(self)

    @cached_property
    def _partner_routes(self) -> PartnerRoutes:
        return PartnerRoutes(self)

    @cached_property
    def _read_routes(self) -> ReadRoutes:
        return ReadRoutes(self)

    @cached_property
    def _write_routes(self) -> WriteRoutes:
        return WriteRoutes()

    # ================================================================== lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the app on ``host:port`` (0 = a free port) and set :attr:`url`."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        self._stopping = asyncio.Event()
        try:
            runner = web.AppRunner(
                self.app,
                access_log=None,
                handler_cancellation=True,
                shutdown_timeout=2.0,
            )
        except TypeError:  # older aiohttp
            runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        actual_host = host if ":" not in host else f"[{host}]"
        self.url = f"http://{actual_host}:{address[1]}"

    async def stop(self) -> None:
        """Stop serving (pending delayed faults end at once)."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    async def _on_shutdown(self, _app: web.Application) -> None:
        if self._stopping is not None:
            self._stopping.set()

    # ================================================================== dispatch
    def _classify(self, method: str, path: str) -> _Context:
        ctx = _Context()
        if path.startswith(OAUTH_PREFIX + "/"):
            name = path[len(OAUTH_PREFIX) + 1 :]
            if name in ("authorize", "token"):
                ctx.endpoint = name
            return ctx
        match = _FLEET_PATH.match(path)
        if match is None:
            return ctx
        ctx.api = True
        ctx.region = match["region"]
        rest = match["rest"].rstrip("/")
        ctx.rest = rest
        simple = _SIMPLE_API.get(rest)
        if simple is not None:
            ctx.endpoint, ctx.want_method = simple
            return ctx
        site_match = _SITE_PATH.match(rest)
        if site_match is not None:
            what = site_match["what"]
            if what in READ_SITE_ENDPOINTS:
                ctx.endpoint, ctx.want_method = what, "GET"
            elif what in WRITE_SITE_ENDPOINTS:
                ctx.endpoint, ctx.want_method = what, "POST"
            else:
                return ctx
            ctx.site_id = int(site_match["site"])
        return ctx

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._url:
            self._url = f"{request.scheme}://{request.host}"
        method = request.method
        path = request.path
        if path.startswith(SIM_PREFIX + "/"):  # unknown control route: never recorded
            return json_response({"error": f"no control route {method} {path}"}, 404)
        ctx = self._classify(method, path)
        raw = await request.read() if request.can_read_body else _EMPTY
        content_type = request.headers.get("Content-Type")
        json_body: Any = None
        form: dict[str, str] | None = None
        if raw:
            if content_type and content_type.startswith(
                "application/x-www-form-urlencoded"
            ):
                form = {
                    k: v
                    for k, v in (await request.post()).items()
                    if isinstance(v, str)
                }
            else:
                with contextlib.suppress(ValueError, UnicodeDecodeError):
                    json_body = json.loads(raw)
        billing: str | None = None
        if ctx.api and ctx.endpoint not in PARTNER_ENDPOINTS:
            billing = "data" if method == "GET" else "commands"
        record = RequestRecord(
            method=method,
            path=path,
            query=dict(request.query),
            endpoint=ctx.endpoint,
            region=ctx.region,
            site_id=ctx.site_id,
            status=0,
            billable=False,
            billing=billing,
            content_type=content_type,
            authorization=request.headers.get("Authorization", "")
            .lower()
            .startswith("bearer "),
            json_body=json_body,
            ts=self.clock.timestamp(),
            form=form,
        )
        self.requests.append(record)
        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            fault.consume()
            record.fault = True
            if fault.delay > 0:
                await self._sleep(fault.delay)
            if fault.drop:
                self._drop(request)
                return web.Response(status=500)  # never reaches the client
            headers = dict(fault.headers or {})
            if not any(key.lower() == "content-type" for key in headers):
                headers["Content-Type"] = "application/json"
            response: web.StreamResponse = web.Response(
                status=fault.status, body=fault.payload(), headers=headers
            )
        else:
            try:
                response = await self._route(request, ctx, raw, json_body, form)
            except web.HTTPException as err:
                response = err
        record.status = response.status
        record.billable = billing is not None and 0 < response.status < 500
        return response

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()

    async def _sleep(self, delay: float) -> None:
        if self._stopping is None:
            self._stopping = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def _route(
        self,
        request: web.Request,
        ctx: _Context,
        raw: bytes,
        json_body: Any,
        form: dict[str, str] | None,
    ) -> web.StreamResponse:
        if ctx.endpoint == "authorize":
            return await self._oauth_routes.authorize(request, form)
        if ctx.endpoint == "token":
            return self._oauth_routes.token(raw, json_body, form)
        if not ctx.api or ctx.endpoint == "unknown":
            return error_response(
                404, "not_found", f"no route for {request.method} {request.path}"
            )
        if ctx.region not in REGIONS:
            return error_response(404, "not_found", f"unknown region {ctx.region}")
        if request.method != ctx.want_method:
            return error_response(405, "method not allowed", f"use {ctx.want_method}")
        return await self._fleet(request, ctx, raw, json_body)

    # ================================================================== Fleet API gate
    async def _fleet(
        self, request: web.Request, ctx: _Context, raw: bytes, json_body: Any
    ) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return web.Response(status=401)
        token = self.oauth.lookup_access(auth[7:].strip())
        if token is None or token.expires_at <= self.clock.timestamp():
            return web.Response(status=401)
        region = ctx.region
        assert region is not None
        if ctx.endpoint in PARTNER_ENDPOINTS:
            if not token.partner:
                return error_response(
                    403,
                    "Unauthorized: this endpoint requires a partner authentication token",
                )
            if ctx.endpoint == "partner_accounts":
                return await self._partner_routes.register(
                    region, token.client_id, json_body
                )
            return self._partner_routes.public_key(region, request.query.get("domain"))
        if token.partner:
            return error_response(
                403, "Unauthorized: partner tokens cannot access customer data"
            )
        user = self.scenario.users.get(token.subject)
        if user is None:
            return web.Response(status=401)
        if ctx.endpoint != "users_region" and user.region != region:
            return error_response(
                421, f"user out of region, use base URL: {self.base_url(user.region)}"
            )
        if (region, token.client_id) not in self.partners:
            return error_response(
                412,
                "A condition has not been met to process the request",
                f"application {token.client_id} is not registered in region {region}; "
                "call POST /api/1/partner_accounts with a partner token first",
            )
        if ctx.endpoint != "users_region":
            needed = "energy_device_data" if request.method == "GET" else "energy_cmds"
            if needed not in token.scopes:
                return error_response(
                    403, "Unauthorized missing scopes", f"missing scopes: {needed}"
                )
        if ctx.endpoint == "users_region":
            return json_response(
                {
                    "response": {
                        "region": user.region,
                        "fleet_api_base_url": self.base_url(user.region),
                    }
                }
            )
        if ctx.endpoint == "products":
            return self._read_routes.products(user.user_id)
        site_id = ctx.site_id
        assert site_id is not None
        site = self.sites.get(site_id)
        if site is None or site.config.user != user.user_id:
            return error_response(404, "not_found", f"energy site {site_id} not found")
        if site.config.dead:
            if ctx.endpoint == "site_info":
                return error_response(
                    404, "not_found", f"energy site {site_id} not found"
                )
            return error_response(500, "upstream internal error")
        if request.method == "GET":
            return self._read_routes.read(ctx.endpoint, site, request.query)
        if raw and json_body is None:
            return error_response(400, "invalid_field", "request body must be JSON")
        if not isinstance(json_body, dict):
            return error_response(
                400, "invalid_field", "request body must be a JSON object"
            )
        return self._write_routes.write(ctx.endpoint, site, json_body)
