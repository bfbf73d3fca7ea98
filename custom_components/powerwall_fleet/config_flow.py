"""Config flow for Tesla Powerwall (Fleet API).

Steps: application credentials (Home Assistant's picker) → server (developer
mode only: Tesla or a custom Fleet-API-compatible server) → partner
registration (skipped when Tesla already holds our key) → Tesla sign-in →
energy sites. Reauth and reconfigure reuse the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import os
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_ALL_SITES,
    CONF_AUTHORIZE_URL,
    CONF_BASE_URL,
    CONF_CUSTOM_AUTH_URL,
    CONF_CUSTOM_BASE_URL,
    CONF_DOMAIN_NAME,
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    CONF_PARTNER_DOMAIN,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    CONF_SITES,
    CONF_TOKEN_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_HISTORY_INTERVAL,
    DEFAULT_INFO_INTERVAL,
    DEFAULT_LIVE_INTERVAL,
    DEFAULT_TOKEN_URL,
    DEVELOPER_ENV,
    DOMAIN,
    MAX_HISTORY_INTERVAL,
    MAX_INFO_INTERVAL,
    MAX_LIVE_INTERVAL,
    MIN_HISTORY_INTERVAL,
    MIN_INFO_INTERVAL,
    MIN_LIVE_INTERVAL,
    OAUTH_SCOPES,
    PARTNER_REGIONS,
    SERVER_CUSTOM,
    SERVER_TESLA,
    requests_per_day,
)
from .fleet import (
    PUBLIC_KEY_PATH,
    REGION_BASE_URLS,
    CannotConnect,
    FleetClient,
    FleetError,
    InvalidArgument,
    InvalidClient,
    LoginRequired,
    MissingScopes,
    PartnerNotRegistered,
    Product,
    RateLimited,
    WrongRegion,
    discover_region,
    keys,
    normalize_domain,
    partner_public_key,
    partner_token,
    register_partner,
    site_is_unavailable,
    token_scopes,
    token_subject,
)
from .http import async_register_public_key_view
from .keys_store import async_get_private_key
from .oauth import TeslaFleetImplementation

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol
else:
    import voluptuous as vol

_LOGGER = logging.getLogger(__name__)


class PartnerSetupError(Exception):
    """Partner registration failed; ``reason`` is a translation key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        """Remember the reason and Tesla's words (never secrets)."""
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class PowerwallFleetFlowHandler(
    config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain=DOMAIN
):
    """Set up a Tesla account's Powerwall sites."""

    DOMAIN = DOMAIN
    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        super().__init__()
        self._server: dict[str, str] | None = None
        self._partner_domain: str | None = None
        self._partner_ready = False
        self._partner_token: str | None = None
        self._registered_bases: set[str] = set()
        self._entry_data: dict[str, Any] = {}
        self._sites: dict[int, Product] = {}

    @property
    def logger(self) -> logging.Logger:
        """Logger for the OAuth helper."""
        return _LOGGER

    @property
    def _server_config(self) -> dict[str, str]:
        if self._server is None:  # pragma: no cover - the steps set it first
            raise RuntimeError("server not chosen yet")
        return self._server

    @property
    def _impl(self) -> TeslaFleetImplementation:
        return cast(TeslaFleetImplementation, self.flow_impl)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Poll intervals."""
        return PowerwallFleetOptionsFlow()

    # ------------------------------------------------------------ routing

    async def async_step_auth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the server and register the partner before signing in."""
        if user_input is None:
            if self._server is None:
                if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
                    self._partner_domain = self._entry().data.get(CONF_PARTNER_DOMAIN)
                if self.source == SOURCE_REAUTH:
                    # Same account, same server: only the login changes.
                    self._server = _server_from_entry(self._entry().data)
                    self._partner_ready = True
                elif developer_mode():
                    return await self.async_step_server()
                elif self.source == SOURCE_RECONFIGURE:
                    self._server = _server_from_entry(self._entry().data)
                else:
                    self._server = _tesla_server()
            if not self._partner_ready:
                return await self.async_step_partner()
            self.flow_impl = self._impl.for_server(
                authorize_url=self._server_config[CONF_AUTHORIZE_URL],
                token_url=self._server_config[CONF_TOKEN_URL],
                audience=self._server_config[CONF_BASE_URL],
            )
        return await super().async_step_auth(user_input)

    # ------------------------------------------------------------- server

    async def async_step_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tesla, or (advanced) a custom Fleet-API-compatible server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_SERVER] == SERVER_TESLA:
                self._server = _tesla_server()
                return await self.async_step_auth()
            base = user_input.get(CONF_CUSTOM_BASE_URL, "").strip().rstrip("/")
            auth = user_input.get(CONF_CUSTOM_AUTH_URL, "").strip().rstrip("/")
            if not _is_http_url(base):
                errors[CONF_CUSTOM_BASE_URL] = "invalid_url"
            if not _is_http_url(auth):
                errors[CONF_CUSTOM_AUTH_URL] = "invalid_url"
            if not errors:
                self._server = {
                    CONF_SERVER: SERVER_CUSTOM,
                    CONF_BASE_URL: base,
                    CONF_AUTHORIZE_URL: f"{auth}/oauth2/v3/authorize",
                    CONF_TOKEN_URL: f"{auth}/oauth2/v3/token",
                }
                return await self.async_step_auth()
        suggested = user_input or {}
        return self.async_show_form(
            step_id="server",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_SERVER, default=suggested.get(CONF_SERVER, SERVER_TESLA)
                    ): SelectSelector(
                        SelectSelectorConfig(
                            options=[SERVER_TESLA, SERVER_CUSTOM],
                            translation_key="server",
                            mode=SelectSelectorMode.LIST,
                        )
                    ),
                    vol.Optional(
                        CONF_CUSTOM_BASE_URL,
                        default=suggested.get(CONF_CUSTOM_BASE_URL, ""),
                    ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
                    vol.Optional(
                        CONF_CUSTOM_AUTH_URL,
                        default=suggested.get(CONF_CUSTOM_AUTH_URL, ""),
                    ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
                }
            ),
            errors=errors,
        )

    # ------------------------------------------------------------ partner

    async def async_step_partner(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register the application's domain and key with Tesla."""
        async_register_public_key_view(self.hass)
        key = await async_get_private_key(self.hass)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"detail": ""}
        domain = self._partner_domain or self._known_partner_domain()

        if user_input is None and domain is not None:
            # Already registered with our key in every region? Skip the form.
            try:
                if await self._partner_holds_key(domain, key):
                    self._partner_domain = domain
                    self._partner_ready = True
                    return await self.async_step_auth()
            except PartnerSetupError:
                pass  # show the form; submitting it reports the problem

        if user_input is not None:
            try:
                domain = normalize_domain(user_input[CONF_DOMAIN_NAME])
            except InvalidArgument as err:
                errors[CONF_DOMAIN_NAME] = err.error or "invalid_domain"
                domain = user_input[CONF_DOMAIN_NAME]
            else:
                try:
                    await self._register(domain, key)
                except PartnerSetupError as err:
                    errors["base"] = err.reason
                    placeholders["detail"] = err.detail
                else:
                    self._partner_domain = domain
                    self._partner_ready = True
                    return await self.async_step_auth()

        shown_domain = domain or self._suggested_domain() or ""
        placeholders.update(
            {
                "public_key": keys.public_key_pem(key),
                "key_url": f"https://{shown_domain or '<your domain>'}{PUBLIC_KEY_PATH}",
                "local_key_url": self._local_key_url(),
            }
        )
        return self.async_show_form(
            step_id="partner",
            data_schema=vol.Schema(
                {vol.Required(CONF_DOMAIN_NAME, default=shown_domain): str}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _partner_bases(self) -> list[str]:
        if self._server_config[CONF_SERVER] == SERVER_CUSTOM:
            return [self._server_config[CONF_BASE_URL]]
        return [REGION_BASE_URLS[region] for region in PARTNER_REGIONS]

    async def _get_partner_token(self) -> str:
        if self._partner_token is None:
            try:
                tokens = await partner_token(
                    async_get_clientsession(self.hass),
                    client_id=self._impl.client_id,
                    client_secret=self._impl.client_secret,
                    audience=self._server_config[CONF_BASE_URL],
                    token_url=self._server_config[CONF_TOKEN_URL],
                )
            except InvalidClient as err:
                raise PartnerSetupError("invalid_client") from err
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except FleetError as err:
                raise PartnerSetupError("partner_token_failed", _detail(err)) from err
            self._partner_token = tokens.access_token
        return self._partner_token

    async def _partner_holds_key(
        self,
        domain: str,
        key: ec.EllipticCurvePrivateKey,
        bases: list[str] | None = None,
    ) -> bool:
        """Whether every region already holds our key for ``domain``."""
        token = await self._get_partner_token()
        session = async_get_clientsession(self.hass)
        for base in bases or self._partner_bases():
            try:
                reported = await partner_public_key(
                    session, partner_token=token, base_url=base, domain=domain
                )
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except FleetError as err:
                raise PartnerSetupError("registration_failed", _detail(err)) from err
            if not keys.same_public_key(key, reported):
                return False
            self._registered_bases.add(base)
        return True

    async def _register(
        self,
        domain: str,
        key: ec.EllipticCurvePrivateKey,
        bases: list[str] | None = None,
    ) -> None:
        """Register ``domain`` in each region and check Tesla holds our key."""
        token = await self._get_partner_token()
        session = async_get_clientsession(self.hass)
        for base in bases or self._partner_bases():
            try:
                await register_partner(
                    session, partner_token=token, base_url=base, domain=domain
                )
                reported = await partner_public_key(
                    session, partner_token=token, base_url=base, domain=domain
                )
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except WrongRegion as err:
                raise PartnerSetupError("wrong_region", _detail(err)) from err
            except FleetError as err:
                raise PartnerSetupError(
                    _registration_reason(err), _detail(err)
                ) from err
            if not keys.same_public_key(key, reported):
                raise PartnerSetupError("key_mismatch")
            self._registered_bases.add(base)

    def _known_partner_domain(self) -> str | None:
        """A domain an existing entry registered with these credentials."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get("auth_implementation") == self._impl.domain and (
                domain := entry.data.get(CONF_PARTNER_DOMAIN)
            ):
                return cast(str, domain)
        return None

    def _suggested_domain(self) -> str | None:
        try:
            url = get_url(self.hass, allow_internal=False, allow_ip=False)
        except NoURLAvailableError:
            return None
        return urlsplit(url).hostname

    def _local_key_url(self) -> str:
        try:
            base = get_url(self.hass, prefer_external=True)
        except NoURLAvailableError:
            return PUBLIC_KEY_PATH
        return f"{base}{PUBLIC_KEY_PATH}"

    # ------------------------------------------------------- after sign-in

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Check the account, find its region and sites."""
        access_token: str = data["token"]["access_token"]
        subject = token_subject(access_token)
        if subject is None:
            return self.async_abort(reason="invalid_token")
        granted = token_scopes(access_token)
        if granted and (missing := [s for s in OAUTH_SCOPES if s not in granted]):
            return self.async_abort(
                reason="missing_scopes",
                description_placeholders={"scopes": ", ".join(missing)},
            )
        await self.async_set_unique_id(subject)
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            entry = self._get_reauth_entry()
            return self.async_update_reload_and_abort(
                entry, data_updates={"token": data["token"]}
            )
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
        else:
            self._abort_if_unique_id_configured()

        session = async_get_clientsession(self.hass)
        try:
            region = await discover_region(
                session,
                access_token=access_token,
                base_url=self._server_config[CONF_BASE_URL],
            )
            base_url = _trusted_base(self._server_config, region.fleet_api_base_url)
            if base_url not in self._registered_bases and self._partner_domain:
                # The account lives in a region we did not register in yet.
                key = await async_get_private_key(self.hass)
                if not await self._partner_holds_key(
                    self._partner_domain, key, [base_url]
                ):
                    await self._register(self._partner_domain, key, [base_url])

            async def token() -> str:
                return access_token

            client = FleetClient(session, token, base_url)
            sites = [
                site for site in await client.energy_sites() if site.has_components
            ]
        except PartnerSetupError as err:
            return self.async_abort(
                reason=err.reason, description_placeholders={"detail": err.detail}
            )
        except FleetError as err:
            return self._abort_for(err)

        if not sites:
            return self.async_abort(reason="no_sites")
        self._sites = {cast(int, site.energy_site_id): site for site in sites}
        self._entry_data = {
            **data,
            CONF_SERVER: self._server_config[CONF_SERVER],
            CONF_AUTHORIZE_URL: self._server_config[CONF_AUTHORIZE_URL],
            CONF_TOKEN_URL: self._server_config[CONF_TOKEN_URL],
            CONF_BASE_URL: base_url,
            CONF_REGION: region.region or "",
            CONF_PARTNER_DOMAIN: self._partner_domain,
        }
        if len(self._sites) == 1:
            return await self._async_finish(list(self._sites))
        return await self.async_step_sites()

    async def async_step_sites(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the energy sites to add (default: all)."""
        errors: dict[str, str] = {}
        placeholders = {"detail": ""}
        if user_input is not None:
            chosen = [int(site_id) for site_id in user_input[CONF_SITES]]
            if not chosen:
                errors[CONF_SITES] = "no_site_selected"
            else:
                try:
                    return await self._async_finish(chosen)
                except _SiteCheckFailed as err:
                    errors["base"] = err.reason
                    placeholders["detail"] = err.site_name
        default = (
            [
                str(site_id)
                for site_id in self._entry().data.get(CONF_SITE_IDS, [])
                if site_id in self._sites
            ]
            if self.source == SOURCE_RECONFIGURE
            else [str(site_id) for site_id in self._sites]
        )
        return self.async_show_form(
            step_id="sites",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SITES, default=default): SelectSelector(
                        SelectSelectorConfig(
                            options=[
                                SelectOptionDict(
                                    value=str(site_id), label=_site_label(site)
                                )
                                for site_id, site in self._sites.items()
                            ],
                            multiple=True,
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_finish(self, site_ids: list[int]) -> ConfigFlowResult:
        """Prove the token works on every chosen site, then create or update."""
        try:
            await self._check_sites(site_ids)
        except _SiteCheckFailed as err:
            if len(self._sites) > 1:
                raise
            return self.async_abort(
                reason=err.reason,
                description_placeholders={
                    "detail": err.site_name,
                    "scopes": err.scopes,
                },
            )
        data = {
            **self._entry_data,
            CONF_SITE_IDS: site_ids,
            # Chose every site: sites added to the account later follow.
            CONF_ALL_SITES: set(site_ids) == set(self._sites),
        }
        title = _title([self._sites[site_id] for site_id in site_ids])
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), data=data, title=title
            )
        return self.async_create_entry(title=title, data=data)

    async def _check_sites(self, site_ids: list[int]) -> None:
        access_token = self._entry_data["token"]["access_token"]

        async def token() -> str:
            return cast(str, access_token)

        client = FleetClient(
            async_get_clientsession(self.hass), token, self._entry_data[CONF_BASE_URL]
        )
        for site_id in site_ids:
            try:
                await client.site_info(site_id)
            except FleetError as err:
                name = _site_label(self._sites[site_id])
                if site_is_unavailable(err):
                    raise _SiteCheckFailed("site_unavailable", name) from err
                if isinstance(err, MissingScopes):
                    raise _SiteCheckFailed(
                        "missing_scopes", name, ", ".join(err.scopes) or "?"
                    ) from err
                raise _SiteCheckFailed("cannot_connect", name) from err

    def _abort_for(self, err: FleetError) -> ConfigFlowResult:
        if isinstance(err, PartnerNotRegistered):
            return self.async_abort(reason="partner_not_registered")
        if isinstance(err, MissingScopes):
            return self.async_abort(
                reason="missing_scopes",
                description_placeholders={"scopes": ", ".join(err.scopes) or "?"},
            )
        if isinstance(err, LoginRequired):
            return self.async_abort(reason="oauth_unauthorized")
        if isinstance(err, RateLimited):
            return self.async_abort(reason="rate_limited")
        if isinstance(err, WrongRegion):
            return self.async_abort(
                reason="wrong_region", description_placeholders={"detail": _detail(err)}
            )
        if isinstance(err, CannotConnect):
            return self.async_abort(reason="cannot_connect")
        return self.async_abort(
            reason="api_error", description_placeholders={"detail": _detail(err)}
        )

    # ------------------------------------------------- reauth, reconfigure

    def _entry(self) -> ConfigEntry:
        if self.source == SOURCE_REAUTH:
            return self._get_reauth_entry()
        return self._get_reconfigure_entry()

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Tesla no longer accepts the stored login."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before sending the user to Tesla."""
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_confirm",
                description_placeholders={"title": self._get_reauth_entry().title},
            )
        return await self.async_step_user()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose sites again (signing in once more shows the account's sites)."""
        if user_input is None:
            return self.async_show_form(
                step_id="reconfigure",
                description_placeholders={"title": self._get_reconfigure_entry().title},
            )
        return await self.async_step_user()


class _SiteCheckFailed(Exception):
    def __init__(self, reason: str, site_name: str, scopes: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.site_name = site_name
        self.scopes = scopes


class PowerwallFleetOptionsFlow(OptionsFlowWithReload):
    """Poll intervals, with the request budget they cost."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._chosen: dict[str, int] = {}

    def _estimate(self, live: float, info: float, history: float) -> dict[str, str]:
        sites = max(1, len(self.config_entry.data.get(CONF_SITE_IDS, [])))
        per_day = requests_per_day(live, info, history) * sites
        default = (
            requests_per_day(
                DEFAULT_LIVE_INTERVAL, DEFAULT_INFO_INTERVAL, DEFAULT_HISTORY_INTERVAL
            )
            * sites
        )
        return {
            "sites": str(sites),
            "per_day": f"{per_day:,}",
            "per_month": f"{per_day * 30:,}",
            "default_per_day": f"{default:,}",
        }

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The three intervals, with what the current ones cost."""
        if user_input is not None:
            self._chosen = {key: int(value) for key, value in user_input.items()}
            return await self.async_step_confirm()
        options = self.config_entry.options
        live = options.get(CONF_LIVE_INTERVAL, DEFAULT_LIVE_INTERVAL)
        info = options.get(CONF_INFO_INTERVAL, DEFAULT_INFO_INTERVAL)
        history = options.get(CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL)
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_LIVE_INTERVAL, default=live): _number(
                        MIN_LIVE_INTERVAL, MAX_LIVE_INTERVAL, "s"
                    ),
                    vol.Required(CONF_INFO_INTERVAL, default=info): _number(
                        MIN_INFO_INTERVAL, MAX_INFO_INTERVAL, "min"
                    ),
                    vol.Required(CONF_HISTORY_INTERVAL, default=history): _number(
                        MIN_HISTORY_INTERVAL, MAX_HISTORY_INTERVAL, "min"
                    ),
                }
            ),
            description_placeholders=self._estimate(live, info, history),
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the chosen intervals cost before saving them."""
        if user_input is not None:
            return self.async_create_entry(data=self._chosen)
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                **self._estimate(
                    self._chosen[CONF_LIVE_INTERVAL],
                    self._chosen[CONF_INFO_INTERVAL],
                    self._chosen[CONF_HISTORY_INTERVAL],
                ),
                "live": str(self._chosen[CONF_LIVE_INTERVAL]),
                "info": str(self._chosen[CONF_INFO_INTERVAL]),
                "history": str(self._chosen[CONF_HISTORY_INTERVAL]),
            },
        )


def _number(minimum: int, maximum: int, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def developer_mode() -> bool:
    """Whether custom (non-Tesla) servers may be chosen.

    Home Assistant 2026.10 dropped "advanced mode" for flows, so the choice of
    a Fleet-API-compatible server (the simulator) hides behind an explicit
    switch that only developers set: ``POWERWALL_FLEET_DEVELOPER=1``.
    """
    return os.environ.get(DEVELOPER_ENV) == "1"


def _tesla_server() -> dict[str, str]:
    return {
        CONF_SERVER: SERVER_TESLA,
        CONF_BASE_URL: REGION_BASE_URLS["na"],
        CONF_AUTHORIZE_URL: DEFAULT_AUTHORIZE_URL,
        CONF_TOKEN_URL: DEFAULT_TOKEN_URL,
    }


def _server_from_entry(data: Mapping[str, Any]) -> dict[str, str]:
    return {
        CONF_SERVER: data.get(CONF_SERVER, SERVER_TESLA),
        CONF_BASE_URL: data.get(CONF_BASE_URL, REGION_BASE_URLS["na"]),
        CONF_AUTHORIZE_URL: data.get(CONF_AUTHORIZE_URL, DEFAULT_AUTHORIZE_URL),
        CONF_TOKEN_URL: data.get(CONF_TOKEN_URL, DEFAULT_TOKEN_URL),
    }


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _trusted_base(server: Mapping[str, str], reported: str | None) -> str:
    """The region's base URL, if it belongs to the chosen server."""
    current = server[CONF_BASE_URL]
    if not reported:
        return current
    reported = reported.rstrip("/")
    new, old = urlsplit(reported), urlsplit(current)
    if server[CONF_SERVER] == SERVER_TESLA:
        if new.scheme == "https" and (new.hostname or "").endswith(
            (".tesla.com", ".tesla.cn")
        ):
            return reported
        raise WrongRegion(
            f"Untrusted region URL {reported}", base_url=reported, description=reported
        )
    if (new.scheme, new.hostname) == (old.scheme, old.hostname):
        return reported
    raise WrongRegion(
        f"Untrusted region URL {reported}", base_url=reported, description=reported
    )


def _registration_reason(err: FleetError) -> str:
    text = f"{err.error or ''} {err.description or ''}".lower()
    if "already" in text or "another" in text:
        return "domain_taken"
    if "public key" in text or err.status == 424:
        return "key_not_reachable"
    if "tesla" in text:
        return "domain_contains_tesla"
    if "domain" in text:
        return "invalid_domain"
    if isinstance(err, PartnerNotRegistered):
        return "partner_not_registered"
    return "registration_failed"


def _detail(err: FleetError) -> str:
    return err.error or err.description or type(err).__name__


def _site_label(site: Product) -> str:
    name = site.site_name or "Energy site"
    return f"{name} ({site.energy_site_id})"


def _title(sites: list[Product]) -> str:
    names = [site.site_name or f"Energy site {site.energy_site_id}" for site in sites]
    if len(names) <= 2:
        return " & ".join(names)
    return f"{names[0]} & {len(names) - 1} more sites"
