"""Config flow: the steps the owner sees, reauth, reconfigure and the options.

Steps: application credentials → server (developer mode only) → partner
registration (skipped when Tesla already holds our key) → Tesla sign-in →
energy sites; reauth and reconfigure reuse them. Owns the forms, the order of
the steps and what each answer becomes in the config entry; the work behind
the steps is in setup/.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import TYPE_CHECKING, Any, cast

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
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
    CONF_PARTNER_DOMAIN,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    CONF_SITES,
    CONF_TOKEN_URL,
    DOMAIN,
    OAUTH_SCOPES,
    SERVER_CUSTOM,
    SERVER_TESLA,
)
from .fleet import (
    FleetClient,
    FleetError,
    Product,
    discover_region,
    token_scopes,
    token_subject,
)
from .issues import permission_names
from .setup.account import (
    SiteCheckFailed,
    async_check_sites,
    fleet_client,
    sign_in_failure,
)
from .setup.oauth import TeslaFleetImplementation
from .setup.options import PowerwallFleetOptionsFlow
from .setup.partner import (
    PartnerRegistration,
    PartnerSetupError,
    async_get_private_key,
    async_register_public_key_view,
    clean_domain,
    key_placeholders,
    suggested_domain,
)
from .setup.server import (
    custom_server,
    developer_mode,
    is_http_url,
    server_from_entry,
    tesla_server,
    trusted_base,
)
from .site import entry_title, site_label

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol
else:
    import voluptuous as vol

_LOGGER = logging.getLogger(__name__)


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
        self._registration: PartnerRegistration | None = None
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
                    self._server = server_from_entry(self._entry().data)
                    self._partner_ready = True
                elif developer_mode():
                    return await self.async_step_server()
                elif self.source == SOURCE_RECONFIGURE:
                    self._server = server_from_entry(self._entry().data)
                else:
                    self._server = tesla_server()
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
                self._server = tesla_server()
                return await self.async_step_auth()
            base = user_input.get(CONF_CUSTOM_BASE_URL, "").strip().rstrip("/")
            auth = user_input.get(CONF_CUSTOM_AUTH_URL, "").strip().rstrip("/")
            if not is_http_url(base):
                errors[CONF_CUSTOM_BASE_URL] = "invalid_url"
            if not is_http_url(auth):
                errors[CONF_CUSTOM_AUTH_URL] = "invalid_url"
            if not errors:
                self._server = custom_server(base, auth)
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

    @property
    def _partner(self) -> PartnerRegistration:
        if self._registration is None:
            self._registration = PartnerRegistration(
                self.hass,
                client_id=self._impl.client_id,
                client_secret=self._impl.client_secret,
                server=self._server_config,
            )
        return self._registration

    async def async_step_partner(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register the application's domain and key with Tesla."""
        async_register_public_key_view(self.hass)
        key = await async_get_private_key(self.hass)
        errors: dict[str, str] = {}
        detail = ""
        domain = self._partner_domain or self._known_partner_domain()

        if user_input is None and domain is not None:
            # Already registered with our key in every region? Skip the form.
            try:
                if await self._partner.holds_key(domain, key):
                    return await self._partner_registered(domain)
            except PartnerSetupError:
                pass  # show the form; submitting it reports the problem

        if user_input is not None:
            domain = user_input[CONF_DOMAIN_NAME]
            try:
                domain = clean_domain(domain)
                await self._partner.register(domain, key)
            except PartnerSetupError as err:
                errors[err.field] = err.reason
                detail = err.detail
            else:
                return await self._partner_registered(domain)

        shown_domain = domain or suggested_domain(self.hass) or ""
        return self.async_show_form(
            step_id="partner",
            data_schema=vol.Schema(
                {vol.Required(CONF_DOMAIN_NAME, default=shown_domain): str}
            ),
            errors=errors,
            description_placeholders={
                "detail": detail,
                **key_placeholders(self.hass, key, shown_domain),
            },
        )

    async def _partner_registered(self, domain: str) -> ConfigFlowResult:
        self._partner_domain = domain
        self._partner_ready = True
        return await self.async_step_auth()

    def _known_partner_domain(self) -> str | None:
        """A domain an existing entry registered with these credentials."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get("auth_implementation") == self._impl.domain and (
                domain := entry.data.get(CONF_PARTNER_DOMAIN)
            ):
                return cast(str, domain)
        return None

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
                description_placeholders={"scopes": permission_names(missing)},
            )
        await self.async_set_unique_id(subject)
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(
                self._get_reauth_entry(), data_updates={"token": data["token"]}
            )
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
        else:
            self._abort_if_unique_id_configured()

        try:
            region = await discover_region(
                async_get_clientsession(self.hass),
                access_token=access_token,
                base_url=self._server_config[CONF_BASE_URL],
            )
            base_url = trusted_base(self._server_config, region.fleet_api_base_url)
            if self._partner_domain:
                # The account may live in a region we did not register in yet.
                await self._partner.register_in(self._partner_domain, base_url)
            sites = await self._client(access_token, base_url).energy_sites()
        except PartnerSetupError as err:
            return self.async_abort(
                reason=err.reason, description_placeholders={"detail": err.detail}
            )
        except FleetError as err:
            return self._abort_for(err)

        self._sites = {
            cast(int, site.energy_site_id): site
            for site in sites
            if site.has_components
        }
        if not self._sites:
            return self.async_abort(reason="no_sites")
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
                except SiteCheckFailed as err:
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
                                    value=str(site_id), label=site_label(site)
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
        except SiteCheckFailed as err:
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
        title = entry_title([self._sites[site_id] for site_id in site_ids])
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), data=data, title=title
            )
        return self.async_create_entry(title=title, data=data)

    def _client(self, access_token: str, base_url: str) -> FleetClient:
        return fleet_client(self.hass, access_token, base_url)

    async def _check_sites(self, site_ids: list[int]) -> None:
        await async_check_sites(
            self._client(
                self._entry_data["token"]["access_token"],
                self._entry_data[CONF_BASE_URL],
            ),
            {site_id: self._sites[site_id] for site_id in site_ids},
        )

    def _abort_for(self, err: FleetError) -> ConfigFlowResult:
        failure = sign_in_failure(err)
        return self.async_abort(
            reason=failure.reason, description_placeholders=failure.placeholders
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
