"""Application credentials platform: Tesla's authorize and token URLs.

Owns what Home Assistant's credentials dialog shows (the redirect URI to
register with Tesla) and the OAuth implementation built from a client id and
secret.
"""

from __future__ import annotations

from homeassistant.components.application_credentials import (
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .const import (
    AUTH_CALLBACK_PATH,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_URL,
    DEVELOPER_PORTAL_URL,
)
from .setup.oauth import TeslaFleetImplementation


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
        "redirect_uri": _redirect_uri(hass),
    }


def _redirect_uri(hass: HomeAssistant) -> str:
    """The redirect URI, also when asked over the websocket.

    Home Assistant's helper needs the HTTP request that started a flow (or the
    My integration); the credentials dialog asks over the websocket, where
    there is none, so fall back to this instance's own URL.
    """
    try:
        return config_entry_oauth2_flow.async_get_redirect_uri(hass)
    except RuntimeError:
        pass
    try:
        base = get_url(hass, prefer_external=True)
    except NoURLAvailableError:
        base = "https://<your Home Assistant address>"
    return f"{base}{AUTH_CALLBACK_PATH}"
