"""The simulator's state and the test-facing API over it (no aiohttp, no HTTP routes).

Owns: the accounts and token store (through ``auth.OAuthServer``), the sites' live state,
partner registrations and published keys, field overrides, injected faults, the request
log and its counts, and the URLs the simulator answers on.  The HTTP side (``server.py``
and the ``*_routes.py`` modules) reads and changes this state; nothing here answers a
request.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
import copy
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import payloads
from .auth import OAuthServer
from .clock import SimClock
from .faults import DEFAULT, BucketFault, Fault, RequestRecord
from .partner import PartnerAccount, check_loopback_origin, public_key_hex
from .scenario import (
    CLIENT_ID,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    PARTNER_KEY_SECRET,
    USER_MAIN,
    Scenario,
    default_scenario,
)
from .site import SiteState

REGIONS = ("na", "eu")
OAUTH_PREFIX = "/oauth2/v3"
OVERRIDE_ENDPOINTS = ("live_status", "site_info", "products")


class SimulatorState:
    """Everything the simulated Tesla knows, and the calls tests use to inspect or change it."""

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
        """Build the sites, accounts and registrations of ``scenario`` (default scenario if None)."""
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
        # Late-published and revised energy buckets (``history.py`` applies them).
        self.bucket_faults: list[BucketFault] = []
        self.public_keys: dict[str, str] = {}
        self.resolved_domains: dict[str, str] = {}
        self.partners: dict[tuple[str, str], PartnerAccount] = {}  # (region, client_id)
        self._overrides: dict[tuple[int, str], tuple[dict[str, Any], set[str]]] = {}
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

    # ================================================================== URLs
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

    def set_apply_delay(
        self,
        seconds: float,
        *,
        site_id: int | None = None,
        settings: Sequence[str] | None = None,
    ) -> None:
        """Tesla's lag between accepting a command and the gateway acting on it.

        site_info shows an accepted value at once; the physics (grid charging, export,
        the reserve held) follow it ``seconds`` later.  ``site_id``: one site (default
        all); ``settings``: Tesla's names, e.g. ``["default_real_mode"]`` (default all
        of ``site.DELAYED_SETTINGS``).  0 (the default) acts at once.
        """
        sites = [self.site(site_id)] if site_id is not None else self.sites.values()
        for site in sites:
            site.set_apply_delay(seconds, None if settings is None else list(settings))

    def install_years_ago(
        self, site_id: int, years: float = 3.0, *, tariff_changed_days_ago: int = 400
    ) -> datetime:
        """The site was installed ``years`` ago (local midnight plus 10 hours); returns when.

        Its history has a bucket for every 5 minutes since (``SitePhysics.set_past``:
        every day, changes to and from summer time included) and site_info's
        ``installation_date`` says when. Tesla keeps the history since the
        installation date (FLEET_API.md, calendar_history; issue 20).

        The site's tariff changed ``tariff_changed_days_ago``: before that its
        prices were half of today's (``past_tariffs``). Tesla reports only the
        tariff in force now (site_info.tariff_content_v2 has no history), so an
        importer cannot know the older prices.
        """
        site = self.site(site_id)
        zone = site.environment.zone
        now = self.clock.now().astimezone(zone)
        day = (now - timedelta(days=round(365.25 * years))).date()
        installed = datetime.combine(day, time(10), zone)
        site.set_past(installed.timestamp())
        site.config = replace(
            site.config, installation_date=installed.isoformat(timespec="seconds")
        )
        older = copy.deepcopy(site.tariff_content_v2)
        for season in older.get("energy_charges", {}).values():
            rates = season.get("rates", {}) if isinstance(season, dict) else {}
            for period, price in list(rates.items()):
                rates[period] = round(price / 2, 4)
        changed = (now - timedelta(days=tariff_changed_days_ago)).timestamp()
        site.past_tariffs = [(installed.timestamp(), older), (changed, None)]
        return installed

    def history_requests(self, site_id: int) -> int:
        """Energy history requests answered for the site (calendar_history kind=energy)."""
        return sum(
            1
            for record in self.requests
            if record.endpoint == "calendar_history"
            and record.site_id == site_id
            and record.query.get("kind") == "energy"
        )

    def set_reserve_81_99(self, behaviour: str, *, site_id: int | None = None) -> None:
        """``"refuse"`` (default) or ``"snap"`` a reserve of 81-99 % outside backup-only mode.

        See ``SiteState.reserve_81_99``; ``site_id``: one site (default all).
        """
        sites = [self.site(site_id)] if site_id is not None else self.sites.values()
        for site in sites:
            site.reserve_81_99 = behaviour

    def set_quirks(self, *, site_id: int | None = None, **changes: Any) -> None:
        """Switch owners' reported quirks on or off (``controller.Quirks`` field names).

        E.g. ``set_quirks(site_id=SITE_PW3, act_delay=True, late_discharge=True)``;
        ``site_id``: one site (default all).  Takes effect now (history stays exact).
        """
        sites = [self.site(site_id)] if site_id is not None else self.sites.values()
        for site in sites:
            site.set_quirks(**changes)

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

    def apply_overrides(
        self, site_id: int, endpoint: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """``data`` (an answer of ``endpoint`` for the site) with the field overrides applied."""
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

    # ================================================================== read payloads
    def live_status_payload(self, site: SiteState) -> dict[str, Any]:
        """The live_status ``response`` of ``site`` right now (before overrides)."""
        return payloads.live_status(site)

    def site_info_payload(self, site: SiteState) -> dict[str, Any]:
        """The site_info ``response`` of ``site`` (before overrides)."""
        return payloads.site_info(site, self.scenario.users[site.config.user].region)

    def product_entry(self, site: SiteState) -> dict[str, Any]:
        """The products entry of an energy site (overrides applied)."""
        return self.apply_overrides(
            site.config.site_id, "products", payloads.product_entry(site)
        )

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
