"""Application credentials platform for Tesla Powerwall (Fleet API)."""

from __future__ import annotations

from homeassistant.components.application_credentials import (
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_entry_oauth2_flow

from .const import DEFAULT_AUTHORIZE_URL, DEFAULT_TOKEN_URL, DEVELOPER_PORTAL_URL
from .oauth import TeslaFleetImplementation


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Tesla's authorization server."""
    return AuthorizationServer(
        authorize_url=DEFAULT_AUTHORIZE_URL, token_url=DEFAULT_TOKEN_URL
    )


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> config_entry_oauth2_flow.AbstractOAuth2Implementation:
    """Implementation with Tesla's scopes, audience and refresh rules."""
    return TeslaFleetImplementation(hass, auth_domain, credential)


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Tell the user where to get credentials and which redirect URI to register."""
    return {
        "developer_url": DEVELOPER_PORTAL_URL,
        "redirect_uri": config_entry_oauth2_flow.async_get_redirect_uri(hass),
    }
