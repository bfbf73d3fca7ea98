"""The Fleet API + OAuth simulator: an aiohttp application playing Tesla's servers."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
import contextlib
import copy
from datetime import UTC, datetime
import json
import re
from typing import Any, Self, TypeIs
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .auth import OAuthServer, TokenError
from .clock import SimClock
from .faults import DEFAULT, Fault, RequestRecord, tesla_error
from .history import HistoryError, backup_history, energy_history
from .partner import (
    PUBLIC_KEY_PATH,
    PartnerAccount,
    PartnerError,
    check_loopback_origin,
    domain_problem,
    public_key_hex,
)
from .scenario import (
    CLIENT_ID,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    PARTNER_KEY_SECRET,
    USER_MAIN,
    Scenario,
    default_scenario,
)
from .site import EXPORT_RULES, MODES, SiteState, local_iso
from .tariff import (
    legacy_read_back,
    tariff_read_back,
    tesla_stores,
    validate_legacy_tou,
    validate_tariff,
)

REGIONS = ("na", "eu")
SIM_PREFIX = "/_sim"
OAUTH_PREFIX = "/oauth2/v3"

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
OVERRIDE_ENDPOINTS = ("live_status", "site_info", "products")

_FLEET_PATH = re.compile(r"^/(?P<region>[a-z]{2})/api/1/(?P<rest>.*)$")
_SITE_PATH = re.compile(r"^energy_sites/(?P<site>\d+)/(?P<what>[a-z_]+)$")
_SIMPLE_API = {
    "users/region": ("users_region", "GET"),
    "products": ("products", "GET"),
    "partner_accounts": ("partner_accounts", "POST"),
    "partner_accounts/public_key": ("partner_public_key", "GET"),
}

_EMPTY = b""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error(
    status: int, error: str | None = None, description: str = ""
) -> web.Response:
    return _json_response(tesla_error(status, error, description), status)


def _is_int(value: Any) -> TypeIs[int]:
    return isinstance(value, int) and not isinstance(value, bool)


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


class Simulator:
    """Offline stand-in for Tesla's OAuth server and Fleet API (energy sites).

    ``app`` is a plain :class:`aiohttp.web.Application` (usable with aiohttp's TestServer);
    :meth:`start` serves it on a free loopback port and sets :attr:`url`.
    """

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        partner_registered: bool = True,
        access_token_lifetime: int = 28800,
        physics_step: int = 60,
        scenario: Scenario | None = None,
        history_days: int = 400,
    ) -> None:
        """Build the world; nothing listens until :meth:`start`."""
        self.clock = clock or SimClock()
        self.scenario = scenario or default_scenario()
        self.physics_step = physics_step
        self._url = ""
        self.oauth = OAuthServer(
            self.scenario,
            self.clock,
            access_token_lifetime=access_token_lifetime,
            url=self._root_url,
        )
        self.sites: dict[int, SiteState] = {
            site_id: SiteState(
                config, self.clock, physics_step=physics_step, history_days=history_days
            )
            for site_id, config in self.scenario.sites.items()
        }
        self.requests: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.public_keys: dict[str, str] = {}
        self.resolved_domains: dict[str, str] = {}
        self.partners: dict[tuple[str, str], PartnerAccount] = {}  # (region, client_id)
        self._overrides: dict[tuple[int, str], tuple[dict[str, Any], set[str]]] = {}
        self._txid = 0
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        private = ec.derive_private_key(PARTNER_KEY_SECRET, ec.SECP256R1())
        self.partner_public_key_pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode()
        )
        self.publish_public_key(PARTNER_DOMAIN, self.partner_public_key_pem)
        if partner_registered:
            for region in REGIONS:
                self.register_partner(
                    CLIENT_ID, region, PARTNER_DOMAIN, self.partner_public_key_pem
                )
        self.app = self._build_app()

    # ================================================================== URLs & lifecycle
    def _root_url(self) -> str:
        return self._url or "http://127.0.0.1"

    @property
    def url(self) -> str:
        """Root URL of the running simulator (``http://127.0.0.1:<port>``)."""
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value.rstrip("/")

    def base_url(self, region: str) -> str:
        """Fleet API base URL of ``region`` ("na" or "eu")."""
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}")
        return f"{self._root_url()}/{region}"

    @property
    def authorize_url(self) -> str:
        """OAuth authorize endpoint."""
        return f"{self._root_url()}{OAUTH_PREFIX}/authorize"

    @property
    def token_url(self) -> str:
        """OAuth token endpoint."""
        return f"{self._root_url()}{OAUTH_PREFIX}/token"

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

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.on_shutdown.append(self._on_shutdown)
        control: list[tuple[str, str, Handler]] = [
            ("POST", "/faults", self._ctl_add_fault),
            ("DELETE", "/faults", self._ctl_clear_faults),
            ("GET", "/clock", self._ctl_clock),
            ("POST", "/clock/advance", self._ctl_clock_advance),
            ("POST", "/clock/set", self._ctl_clock_set),
            ("GET", "/counts", self._ctl_counts),
            ("DELETE", "/counts", self._ctl_reset_counts),
            ("GET", "/requests", self._ctl_requests),
            ("POST", "/public_keys", self._ctl_public_key),
            ("POST", "/grid_outage", self._ctl_grid_outage),
            ("POST", "/storm_alert", self._ctl_storm_alert),
            ("POST", "/overrides", self._ctl_overrides),
            ("DELETE", "/overrides", self._ctl_clear_overrides),
            ("GET", "/state", self._ctl_state),
            ("POST", "/site", self._ctl_site),
            ("POST", "/revoke_user", self._ctl_revoke_user),
            ("POST", "/tokens", self._ctl_tokens),
        ]
        for method, path, handler in control:
            app.router.add_route(method, SIM_PREFIX + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    # ================================================================== accounts & tokens
    def issue_code(
        self,
        *,
        user: str = USER_MAIN,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        client_id: str = CLIENT_ID,
        redirect_uri: str = "http://127.0.0.1/callback",
        state: str | None = None,
    ) -> str:
        """An authorization code as if ``user`` had approved in the browser."""
        return self.oauth.issue_code(
            user=user,
            scopes=tuple(scopes),
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
        )

    def issue_tokens(
        self,
        *,
        user: str = USER_MAIN,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        client_id: str = CLIENT_ID,
    ) -> dict[str, Any]:
        """Tokens (the token endpoint's answer) for ``user`` without going through the browser."""
        return self.oauth.issue_tokens(
            user=user, scopes=tuple(scopes), client_id=client_id
        )

    def issue_partner_token(
        self, *, client_id: str = CLIENT_ID, scopes: Sequence[str] | None = None
    ) -> str:
        """A partner (client_credentials) access token."""
        form = {"grant_type": "client_credentials", "client_id": client_id}
        form["client_secret"] = self.oauth.clients[client_id].client_secret
        if scopes is not None:
            form["scope"] = " ".join(scopes)
        token: str = self.oauth.grant(form)["access_token"]
        return token

    def revoke_user(self, user: str) -> None:
        """Password change: all tokens of ``user`` die; refresh answers 401 login_required."""
        self.oauth.revoke_user(user)

    @property
    def refresh_token_grace(self) -> float:
        """Seconds a rotated refresh token may still be used (default 0: single use)."""
        return self.oauth.refresh_token_grace

    @refresh_token_grace.setter
    def refresh_token_grace(self, value: float) -> None:
        self.oauth.refresh_token_grace = value

    # ================================================================== partner keys
    def publish_public_key(self, domain: str, pem: str) -> None:
        """Host ``pem`` as https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem."""
        self.public_keys[domain] = pem

    def unpublish_public_key(self, domain: str) -> None:
        """Take a published key down again."""
        self.public_keys.pop(domain, None)
        self.resolved_domains.pop(domain, None)

    def resolve_domain(self, domain: str, origin: str) -> None:
        """Fetch the key of ``domain`` from ``origin`` (a loopback URL) at registration time."""
        self.resolved_domains[domain] = check_loopback_origin(origin)

    def register_partner(
        self, client_id: str, region: str, domain: str, pem: str
    ) -> None:
        """Register ``client_id`` in ``region`` directly (no HTTP, no checks except the key)."""
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}")
        key_hex = public_key_hex(pem)
        now = self.clock.timestamp()
        existing = self.partners.get((region, client_id))
        created = existing.created_at if existing else now
        self.partners[(region, client_id)] = PartnerAccount(
            client_id, region, domain, key_hex, created, now
        )

    def unregister_partner(self, client_id: str, region: str | None = None) -> None:
        """Forget a registration (all regions by default)."""
        for reg in [region] if region else list(REGIONS):
            self.partners.pop((reg, client_id), None)

    # ================================================================== state control
    def site(self, site_id: int) -> SiteState:
        """The live state object of a site."""
        try:
            return self.sites[site_id]
        except KeyError:
            raise KeyError(f"unknown site {site_id}") from None

    def set_grid_outage(self, site_id: int, active: bool) -> None:
        """Start or end a grid outage at the site (now)."""
        self.site(site_id).grid_outage = active

    def set_storm_alert(self, site_id: int, active: bool) -> None:
        """Issue or lift a storm alert (storm watch activates when storm mode is enabled)."""
        self.site(site_id).storm_alert = active

    def override_fields(
        self,
        site_id: int,
        endpoint: str,
        *,
        set: Mapping[str, Any] | None = None,  # noqa: A002 - public API name
        remove: Iterable[str] = (),
    ) -> None:
        """Force fields in ``endpoint``'s answer ("live_status" | "site_info" | "products").

        Keys may be dotted paths ("components.battery").  Persistent until clear_overrides().
        """
        if endpoint not in OVERRIDE_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {OVERRIDE_ENDPOINTS}")
        self.site(site_id)
        sets, removes = self._overrides.setdefault(
            (site_id, endpoint), ({}, builtins.set())
        )
        for key in remove:
            sets.pop(key, None)
            removes.add(key)
        for key, value in (set or {}).items():
            removes.discard(key)
            sets[key] = copy.deepcopy(value)

    def clear_overrides(self) -> None:
        """Drop every field override."""
        self._overrides.clear()

    def _apply_overrides(
        self, site_id: int, endpoint: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        override = self._overrides.get((site_id, endpoint))
        if override is None:
            return data
        sets, removes = override
        for key in removes:
            *parents, leaf = key.split(".")
            holder: Any = data
            for part in parents:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if isinstance(holder, dict):
                holder.pop(leaf, None)
        for key, value in sets.items():
            *parents, leaf = key.split(".")
            holder = data
            for part in parents:
                nxt = holder.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    holder[part] = nxt
                holder = nxt
            holder[leaf] = copy.deepcopy(value)
        return data

    # ================================================================== faults
    def add_fault(
        self,
        path: str,
        *,
        method: str | None = None,
        status: int = 500,
        json: Any = DEFAULT,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        drop: bool = False,
    ) -> Fault:
        """Misbehave for requests whose path (incl. region prefix) matches the regex ``path``."""
        fault = Fault(
            path=path,
            method=method,
            status=status,
            json=json,
            body=body,
            headers=dict(headers) if headers else None,
            delay=delay,
            times=times,
            drop=drop,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    # ================================================================== accounting
    def count(
        self,
        endpoint: str | None = None,
        *,
        site_id: int | None = None,
        billable: bool | None = None,
    ) -> int:
        """Number of recorded requests matching the filters."""
        return sum(
            1
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (site_id is None or r.site_id == site_id)
            and (billable is None or r.billable == billable)
        )

    def billable_counts(self) -> dict[str, int]:
        """Billable requests by class: {"data": n, "commands": n}."""
        counts = {"data": 0, "commands": 0}
        for r in self.requests:
            if r.billable and r.billing:
                counts[r.billing] += 1
        return counts

    def counts(self) -> dict[str, int]:
        """Requests per endpoint name."""
        result: dict[str, int] = {}
        for r in self.requests:
            result[r.endpoint] = result.get(r.endpoint, 0) + 1
        return result

    def reset_counts(self) -> None:
        """Forget recorded requests."""
        self.requests.clear()

    # ================================================================== energy ground truth
    def energy_buckets(
        self, site_id: int, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """The exact 5-minute buckets (as calendar_history reports them) starting in [start, end)."""
        return self.site(site_id).buckets(start.timestamp(), end.timestamp())

    def energy_totals(
        self, site_id: int, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Per-field sums of :meth:`energy_buckets`."""
        return self.site(site_id).totals(start.timestamp(), end.timestamp())

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
            return _json_response({"error": f"no control route {method} {path}"}, 404)
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
            return await self._authorize(request, form)
        if ctx.endpoint == "token":
            return self._token(raw, json_body, form)
        if not ctx.api or ctx.endpoint == "unknown":
            return _error(
                404, "not_found", f"no route for {request.method} {request.path}"
            )
        if ctx.region not in REGIONS:
            return _error(404, "not_found", f"unknown region {ctx.region}")
        if request.method != ctx.want_method:
            return _error(405, "method not allowed", f"use {ctx.want_method}")
        return await self._fleet(request, ctx, raw, json_body)

    # ================================================================== OAuth
    async def _authorize(
        self, request: web.Request, form: dict[str, str] | None
    ) -> web.StreamResponse:
        if request.method == "GET":
            params = dict(request.query)
        elif request.method == "POST":
            params = (
                form
                if form is not None
                else {k: str(v) for k, v in (await request.post()).items()}
            )
        else:
            return web.Response(status=405, text="method not allowed")
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id not in self.oauth.clients:
            return self._html(
                400, self.oauth.error_page(f"Unknown client_id {client_id!r}.")
            )
        client = self.oauth.clients[client_id]
        parts = urlsplit(redirect_uri)
        if (
            not redirect_uri
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            return self._html(
                400, self.oauth.error_page("A valid redirect_uri is required.")
            )
        if client.redirect_uris and redirect_uri not in client.redirect_uris:
            return self._html(
                400,
                self.oauth.error_page(
                    "redirect_uri is not registered for this client."
                ),
            )
        state = params.get("state")
        if params.get("response_type", "code") != "code":
            return self._redirect(
                redirect_uri, {"error": "unsupported_response_type", "state": state}
            )
        if request.method == "GET":
            return self._html(
                200, self.oauth.authorize_page(params, f"{OAUTH_PREFIX}/authorize")
            )
        # aiohttp caches the parsed form; getall() sees the multi-valued "grant"
        post = await request.post()
        decision = params.get("decision", "approve")
        if decision != "approve":
            return self._redirect(
                redirect_uri, {"error": "access_denied", "state": state}
            )
        user = params.get("user") or USER_MAIN
        if user not in self.scenario.users:
            return self._html(400, self.oauth.error_page(f"Unknown user {user!r}."))
        requested = self.oauth.parse_scopes(params.get("scope") or "")
        if params.get("grant_form"):
            granted_list = {str(v) for v in post.getall("grant", [])} | {"openid"}
            scopes = tuple(s for s in requested if s in granted_list)
        else:
            scopes = requested
        code = self.oauth.issue_code(
            user=user,
            scopes=scopes,
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
        query = {
            "locale": "en-US",
            "code": code,
            "state": state,
            "issuer": self.oauth.issuer,
        }
        return self._redirect(redirect_uri, query)

    @staticmethod
    def _html(status: int, text: str) -> web.Response:
        return web.Response(status=status, text=text, content_type="text/html")

    @staticmethod
    def _redirect(uri: str, params: Mapping[str, str | None]) -> web.Response:
        parts = urlsplit(uri)
        extra = urlencode({k: v for k, v in params.items() if v is not None})
        query = f"{parts.query}&{extra}" if parts.query else extra
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return web.Response(status=302, headers={"Location": location})

    def _token(
        self, raw: bytes, json_body: Any, form: dict[str, str] | None
    ) -> web.Response:
        if form is None:
            if isinstance(json_body, dict):
                form = {
                    k: v if isinstance(v, str) else json.dumps(v)
                    for k, v in json_body.items()
                }
            elif raw:
                return _json_response(
                    {
                        "error": "invalid_request",
                        "error_description": "unreadable body",
                    },
                    400,
                )
            else:
                form = {}
        try:
            answer = self.oauth.grant(form)
        except TokenError as err:
            return _json_response(err.body(), err.status)
        except ValueError as err:
            return _json_response(
                {"error": "invalid_request", "error_description": str(err)}, 400
            )
        return _json_response(answer)

    # ================================================================== Fleet API
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
                return _error(
                    403,
                    "Unauthorized: this endpoint requires a partner authentication token",
                )
            if ctx.endpoint == "partner_accounts":
                return await self._partner_register(region, token.client_id, json_body)
            return self._partner_public_key(region, request.query.get("domain"))
        if token.partner:
            return _error(
                403, "Unauthorized: partner tokens cannot access customer data"
            )
        user = self.scenario.users.get(token.subject)
        if user is None:
            return web.Response(status=401)
        if ctx.endpoint != "users_region" and user.region != region:
            return _error(
                421, f"user out of region, use base URL: {self.base_url(user.region)}"
            )
        if (region, token.client_id) not in self.partners:
            return _error(
                412,
                "A condition has not been met to process the request",
                f"application {token.client_id} is not registered in region {region}; "
                "call POST /api/1/partner_accounts with a partner token first",
            )
        if ctx.endpoint != "users_region":
            needed = "energy_device_data" if request.method == "GET" else "energy_cmds"
            if needed not in token.scopes:
                return _error(
                    403, "Unauthorized missing scopes", f"missing scopes: {needed}"
                )
        if ctx.endpoint == "users_region":
            return _json_response(
                {
                    "response": {
                        "region": user.region,
                        "fleet_api_base_url": self.base_url(user.region),
                    }
                }
            )
        if ctx.endpoint == "products":
            return self._products(user.user_id)
        site_id = ctx.site_id
        assert site_id is not None
        site = self.sites.get(site_id)
        if site is None or site.config.user != user.user_id:
            return _error(404, "not_found", f"energy site {site_id} not found")
        if site.config.dead:
            if ctx.endpoint == "site_info":
                return _error(404, "not_found", f"energy site {site_id} not found")
            return _error(500, "upstream internal error")
        if request.method == "GET":
            return self._site_read(ctx.endpoint, site, request.query)
        if raw and json_body is None:
            return _error(400, "invalid_field", "request body must be JSON")
        if not isinstance(json_body, dict):
            return _error(400, "invalid_field", "request body must be a JSON object")
        return self._site_write(ctx.endpoint, site, json_body)

    # ------------------------------------------------------------------ reads
    def _site_read(
        self, endpoint: str, site: SiteState, query: Mapping[str, str]
    ) -> web.Response:
        site_id = site.config.site_id
        if endpoint == "live_status":
            data = self._apply_overrides(
                site_id, "live_status", self.live_status_payload(site)
            )
            return _json_response({"response": data})
        if endpoint == "site_info":
            data = self._apply_overrides(
                site_id, "site_info", self.site_info_payload(site)
            )
            return _json_response({"response": data})
        if endpoint == "calendar_history":
            kind = query.get("kind")
            try:
                if kind == "energy":
                    return _json_response({"response": energy_history(site, query)})
                if kind == "backup":
                    return _json_response(
                        {
                            "response": backup_history(
                                site, query, self.clock.timestamp()
                            )
                        }
                    )
            except HistoryError as err:
                return _error(400, "invalid_field", str(err))
            return _error(400, "invalid_field", "kind must be energy or backup")
        # telemetry_history
        if query.get("kind") != "charge":
            return _error(400, "invalid_field", "kind must be charge")
        return _json_response({"response": {"charge_history": []}})

    def live_status_payload(self, site: SiteState) -> dict[str, Any]:
        """The live_status ``response`` of ``site`` right now (before overrides)."""
        cfg = site.config
        powers = site.live_powers()
        now = self.clock.timestamp()
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
                    {
                        "din": wc["din"],
                        "wall_connector_state": 2,
                        "wall_connector_fault_state": 2,
                        "wall_connector_power": 0,
                    }
                    for wc in cfg.wall_connectors
                ],
            }
        )
        return data

    def site_info_payload(self, site: SiteState) -> dict[str, Any]:
        """The site_info ``response`` of ``site`` (before overrides)."""
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
        data["components"] = self._components_full(site)
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
            "country": "US" if self.scenario.users[cfg.user].region == "na" else "DE",
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

    def _components_full(self, site: SiteState) -> dict[str, Any]:
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
            comps["customer_preferred_export_rule"] = (
                site.customer_preferred_export_rule
            )
            comps["net_meter_mode"] = "battery_ok"
            comps["non_export_configured"] = (
                site.customer_preferred_export_rule == "never"
            )
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

    def product_entry(self, site: SiteState) -> dict[str, Any]:
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
        return self._apply_overrides(cfg.site_id, "products", entry)

    def _products(self, user: str) -> web.Response:
        entries: list[dict[str, Any]] = [
            copy.deepcopy(v) for v in self.scenario.vehicles.get(user, [])
        ]
        entries.extend(
            self.product_entry(site)
            for site in self.sites.values()
            if site.config.user == user
        )
        return _json_response({"response": entries, "count": len(entries)})

    # ------------------------------------------------------------------ writes
    def _next_txid(self) -> str:
        self._txid += 1
        return f"{self._txid:032x}"

    def _site_write(
        self, endpoint: str, site: SiteState, body: dict[str, Any]
    ) -> web.Response:
        cfg = site.config
        bad = _error
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
                return bad(
                    400,
                    "invalid_field",
                    "backup_reserve_percent must be 0-80 or 100 outside backup mode",
                )
            site.backup_reserve_percent = value
            return _json_response(
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
            site.default_real_mode = mode
            return _json_response({"response": {"code": 201, "message": "Updated"}})
        if endpoint == "storm_mode":
            enabled = body.get("enabled")
            if not isinstance(enabled, bool):
                return bad(400, "invalid_field", "enabled must be a boolean")
            if not cfg.storm_capable:
                return bad(400, "invalid_field", "site is not storm watch capable")
            site.storm_mode_enabled = enabled
            return _json_response({"response": {"result": True, "reason": ""}})
        if endpoint == "grid_import_export":
            return self._write_grid_import_export(site, body)
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
            return _json_response({"response": {"result": True, "reason": ""}})
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
            problems = validate_tariff(tariff)
            if problems:
                return bad(400, invalid, "; ".join(problems))
            site.tariff_content_v2 = tesla_stores(tariff)
        else:
            problems = validate_legacy_tou(settings)
            if problems:
                return bad(400, invalid, "; ".join(problems))
            site.tou_settings = copy.deepcopy(settings)
            site.tou_settings_legacy_written = True
        return _json_response({"response": {"code": 201, "message": "Updated"}})

    def _write_grid_import_export(
        self, site: SiteState, body: dict[str, Any]
    ) -> web.Response:
        key_charge = "disallow_charge_from_grid_with_solar_installed"
        key_rule = "customer_preferred_export_rule"
        if key_charge not in body and key_rule not in body:
            return _error(
                400, "invalid_field", f"one of {key_charge}, {key_rule} is required"
            )
        disallow = body.get(key_charge)
        rule = body.get(key_rule)
        if key_charge in body and not isinstance(disallow, bool):
            return _error(400, "invalid_field", f"{key_charge} must be a boolean")
        if key_rule in body:
            if rule not in EXPORT_RULES:
                return _error(
                    400,
                    "invalid_field",
                    f"{key_rule} must be one of {', '.join(EXPORT_RULES)}",
                )
            if not site.config.has_solar:
                return _error(400, "invalid_field", "export rule requires solar")
        if key_charge in body:
            site.disallow_charge_from_grid_with_solar_installed = bool(disallow)
        if key_rule in body:
            site.customer_preferred_export_rule = rule
        return web.Response(status=200)

    # ------------------------------------------------------------------ partner
    async def _partner_register(
        self, region: str, client_id: str, body: Any
    ) -> web.Response:
        domain = body.get("domain") if isinstance(body, dict) else None
        problem = domain_problem(domain)
        if problem is not None:
            return _error(400, problem)
        assert isinstance(domain, str)
        for (reg, other_client), account in self.partners.items():
            if reg == region and account.domain == domain and other_client != client_id:
                return _error(400, "domain already registered to another application")
        mine = self.partners.get((region, client_id))
        if mine is not None and mine.domain != domain:
            return _error(
                400,
                f"one domain per application: already registered with {mine.domain}",
            )
        try:
            pem = await self._fetch_public_key(domain)
            try:
                key_hex = public_key_hex(pem)
            except ValueError as err:
                raise PartnerError(
                    400, f"invalid public key for {domain}: {err}"
                ) from err
        except PartnerError as err:
            return _error(err.status, err.error, err.description)
        now = self.clock.timestamp()
        account = PartnerAccount(
            client_id, region, domain, key_hex, mine.created_at if mine else now, now
        )
        self.partners[(region, client_id)] = account
        return _json_response(
            {
                "response": {
                    "client_id": client_id,
                    "domain": domain,
                    "public_key": key_hex,
                    "ca": None,
                    "created_at": self._iso_utc(account.created_at),
                    "updated_at": self._iso_utc(account.updated_at),
                    "enterprise_tier": "free",
                    "issuer": None,
                    "csr": None,
                    "csr_updated_at": None,
                }
            }
        )

    @staticmethod
    def _iso_utc(ts: float) -> str:
        return (
            datetime.fromtimestamp(ts, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    async def _fetch_public_key(self, domain: str) -> str:
        failed = PartnerError(
            424, f"Public key download failed for https://{domain}{PUBLIC_KEY_PATH}"
        )
        origin = self.resolved_domains.get(domain)
        if origin is not None:
            timeout = aiohttp.ClientTimeout(total=5)
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.get(
                        f"{origin}{PUBLIC_KEY_PATH}", allow_redirects=False
                    ) as resp,
                ):
                    if resp.status != 200:
                        raise failed
                    return await resp.text()
            except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as err:
                raise failed from err
        pem = self.public_keys.get(domain)
        if pem is None:
            raise failed
        return pem

    def _partner_public_key(self, region: str, domain: str | None) -> web.Response:
        if not domain:
            return _error(400, "invalid_field", "domain is required")
        for (reg, _client), account in self.partners.items():
            if reg == region and account.domain == domain:
                return _json_response(
                    {"response": {"public_key": account.public_key_hex}}
                )
        return _error(
            404,
            "not_found",
            f"no public key registered for {domain} in region {region}",
        )

    # ================================================================== /_sim control
    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body must be JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    def _site_from(self, data: Mapping[str, Any]) -> int:
        try:
            site_id = int(data["site_id"])
            self.site(site_id)
        except KeyError, TypeError, ValueError:
            raise web.HTTPBadRequest(text="site_id missing or unknown") from None
        return site_id

    async def _ctl_add_fault(self, request: web.Request) -> web.Response:
        data = await self._body(request)
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
            return _json_response(
                {"error": f"path required; unknown keys {sorted(unknown)}"}, 400
            )
        kwargs = dict(data)
        path = kwargs.pop("path")
        try:
            fault = self.add_fault(path, **kwargs)
        except (re.error, TypeError) as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response(
            {"ok": True, "index": len(self.faults) - 1, "path": fault.path}
        )

    async def _ctl_clear_faults(self, _request: web.Request) -> web.Response:
        self.clear_faults()
        return _json_response({"ok": True})

    def _clock_state(self) -> dict[str, Any]:
        return {
            "now": self.clock.now().isoformat(),
            "timestamp": self.clock.timestamp(),
            "realtime": self.clock.realtime,
        }

    async def _ctl_clock(self, _request: web.Request) -> web.Response:
        return _json_response(self._clock_state())

    async def _ctl_clock_advance(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        try:
            self.clock.advance(float(data.get("seconds", 0)))
        except (TypeError, ValueError) as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response(self._clock_state())

    async def _ctl_clock_set(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        try:
            self.clock.set(datetime.fromisoformat(str(data["now"])))
        except (KeyError, TypeError, ValueError) as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response(self._clock_state())

    async def _ctl_counts(self, _request: web.Request) -> web.Response:
        return _json_response(
            {
                "counts": self.counts(),
                "billable": self.billable_counts(),
                "total": len(self.requests),
            }
        )

    async def _ctl_reset_counts(self, _request: web.Request) -> web.Response:
        self.reset_counts()
        return _json_response({"ok": True})

    async def _ctl_requests(self, request: web.Request) -> web.Response:
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
            for r in self.requests[-limit:]
        ]
        return _json_response({"requests": items})

    async def _ctl_public_key(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        domain, pem = data.get("domain"), data.get("pem")
        if not isinstance(domain, str) or not isinstance(pem, str):
            return _json_response({"error": "domain and pem are required"}, 400)
        self.publish_public_key(domain, pem)
        return _json_response({"ok": True})

    async def _ctl_grid_outage(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self.set_grid_outage(self._site_from(data), bool(data.get("active", True)))
        return _json_response({"ok": True})

    async def _ctl_storm_alert(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self.set_storm_alert(self._site_from(data), bool(data.get("active", True)))
        return _json_response({"ok": True})

    async def _ctl_overrides(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        site_id = self._site_from(data)
        try:
            self.override_fields(
                site_id,
                str(data.get("endpoint")),
                set=data.get("set") or {},
                remove=data.get("remove") or (),
            )
        except ValueError as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response({"ok": True})

    async def _ctl_clear_overrides(self, _request: web.Request) -> web.Response:
        self.clear_overrides()
        return _json_response({"ok": True})

    async def _ctl_state(self, _request: web.Request) -> web.Response:
        return _json_response(
            {
                "clock": self._clock_state(),
                "sites": {
                    str(site_id): site.snapshot()
                    for site_id, site in self.sites.items()
                },
                "partners": [
                    {"region": a.region, "client_id": a.client_id, "domain": a.domain}
                    for a in self.partners.values()
                ],
            }
        )

    async def _ctl_site(self, request: web.Request) -> web.Response:
        """Set state attributes directly: {"site_id", "set": {"default_real_mode": "backup", ...}}."""
        data = await self._body(request)
        site = self.site(self._site_from(data))
        changes = data.get("set") or {}
        unknown = [k for k in changes if k.startswith("_") or not hasattr(site, k)]
        if unknown:
            return _json_response({"error": f"unknown attributes {unknown}"}, 400)
        try:
            for key, value in changes.items():
                setattr(site, key, value)
        except (ValueError, AttributeError, TypeError) as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response({"ok": True, "state": site.snapshot()})

    async def _ctl_revoke_user(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self.revoke_user(str(data.get("user", USER_MAIN)))
        return _json_response({"ok": True})

    async def _ctl_tokens(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        try:
            tokens = self.issue_tokens(
                user=str(data.get("user", USER_MAIN)),
                scopes=tuple(data.get("scopes", DEFAULT_SCOPES)),
            )
        except ValueError as err:
            return _json_response({"error": str(err)}, 400)
        return _json_response(tokens)
