"""OAuth for Tesla's Fleet API: the implementation and the entry's token manager.

Tesla means a lost login only with ``login_required``/``invalid_grant`` (or a
refused client); any other token-endpoint failure is retried later. A rotated
refresh token is stored in the entry before it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from aiohttp import ClientError, RequestInfo
from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    OAuth2TokenRequestError,
    OAuth2TokenRequestReauthError,
    OAuth2TokenRequestTransientError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ..const import (
    CONF_AUTHORIZE_URL,
    CONF_BASE_URL,
    CONF_TOKEN_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    DOMAIN,
    OAUTH_SCOPES,
)
from ..fleet import (
    CannotConnect,
    FleetError,
    InvalidClient,
    LoginRequired,
    ServerError,
    plain_words,
    refresh_tokens,
)


class TeslaFleetImplementation(AuthImplementation):
    """Application-credentials implementation that knows Tesla's token rules."""

    def __init__(
        self,
        hass: HomeAssistant,
        auth_domain: str,
        credential: ClientCredential,
        authorization_server: AuthorizationServer | None = None,
        *,
        audience: str = DEFAULT_BASE_URL,
    ) -> None:
        """Create the implementation for one set of credentials."""
        super().__init__(
            hass,
            auth_domain,
            credential,
            authorization_server
            or AuthorizationServer(
                authorize_url=DEFAULT_AUTHORIZE_URL, token_url=DEFAULT_TOKEN_URL
            ),
        )
        self._credential = credential
        self.audience = audience

    def for_server(
        self, *, authorize_url: str, token_url: str, audience: str
    ) -> TeslaFleetImplementation:
        """The same credentials pointed at another server (custom servers)."""
        return TeslaFleetImplementation(
            self.hass,
            self.domain,
            self._credential,
            AuthorizationServer(authorize_url=authorize_url, token_url=token_url),
            audience=audience,
        )

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """Scopes Tesla needs for reads, commands and a refresh token."""
        return {"scope": " ".join(OAUTH_SCOPES)}

    @property
    def extra_token_resolve_data(self) -> dict[str, Any]:
        """Tesla wants the Fleet API audience with the code exchange."""
        return {"audience": self.audience}

    async def _async_refresh_token(self, token: dict[str, Any]) -> dict[str, Any]:
        """Refresh with rotation; only a refused login asks for reauth."""
        session = async_get_clientsession(self.hass)
        try:
            new = await refresh_tokens(
                session,
                client_id=self.client_id,
                refresh_token=token["refresh_token"],
                token_url=self.token_url,
            )
        except (LoginRequired, InvalidClient) as err:
            raise OAuth2TokenRequestReauthError(
                domain=DOMAIN,
                request_info=_request_info(self.token_url),
                status=err.status or 401,
                message=err.error or "login_required",
            ) from err
        except FleetError as err:
            raise OAuth2TokenRequestTransientError(
                domain=DOMAIN,
                request_info=_request_info(self.token_url),
                status=err.status or 503,
                message=plain_words(err),
            ) from err
        return {**token, **new.as_dict()}


def _request_info(url: str) -> RequestInfo:
    headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
    return RequestInfo(URL(url), "POST", headers, URL(url))


def implementation_for_entry(
    implementation: Any, data: Mapping[str, Any]
) -> TeslaFleetImplementation:
    """Point the registered implementation at the entry's server."""
    impl = cast(TeslaFleetImplementation, implementation)
    return impl.for_server(
        authorize_url=data.get(CONF_AUTHORIZE_URL, DEFAULT_AUTHORIZE_URL),
        token_url=data.get(CONF_TOKEN_URL, DEFAULT_TOKEN_URL),
        audience=data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )


class EntryTokens:
    """Access tokens for a FleetClient, kept in the config entry.

    ``access_token`` refreshes shortly before expiry; ``token_rejected`` forces
    one refresh after a 401. Both go through OAuth2Session's lock, so
    concurrent callers share a single refresh and never spend the single-use
    refresh token twice. The rotated token is written to the entry before any
    caller gets the new access token.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, session: OAuth2Session
    ) -> None:
        """Wrap an OAuth2Session."""
        self._hass = hass
        self._entry = entry
        self._session = session

    async def access_token(self) -> str:
        """A valid access token.

        Token failures come out as the client's own errors, the same on every
        Home Assistant version: :class:`LoginRequired` when Tesla refused the
        login (reauth), otherwise a transient :class:`ServerError` or
        :class:`CannotConnect` (retry later, no reauth).
        """
        try:
            await self._session.async_ensure_token_valid()
        except OAuth2TokenRequestReauthError as err:
            raise LoginRequired(
                "Tesla refused the refresh token", status=err.status
            ) from err
        except OAuth2TokenRequestError as err:
            raise ServerError(
                "The token refresh failed; retrying later", status=err.status
            ) from err
        except (ClientError, TimeoutError) as err:
            raise CannotConnect("The token refresh did not get an answer") from err
        return cast(str, self._session.token["access_token"])

    async def token_rejected(self, rejected: str) -> str:
        """A fresh access token after the server refused ``rejected``."""
        current = self._session.token
        if current.get("access_token") == rejected:
            # Mark it expired so the session refreshes (once, under its lock).
            self._hass.config_entries.async_update_entry(
                self._entry,
                data={**self._entry.data, "token": {**current, "expires_at": 0}},
            )
        return await self.access_token()
