"""OAuth user tokens for the Fleet API.

Owns the authorize URL, the token endpoint (code exchange, refresh with
rotation), token sets (their secrets hidden from ``repr``), what an access
token's claims say (scopes, subject) and :class:`TokenManager`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
import json
import logging
import time
from typing import Any, Final, TypeAlias
from urllib.parse import urlencode

import aiohttp

from .errors import (
    FleetError,
    InvalidClient,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    RateLimited,
    ServerError,
    error_from_response,
)
from .json_request import DEFAULT_TIMEOUT, fetch, json_or_none

_LOGGER = logging.getLogger(__name__)

AUTHORIZE_URL: Final = "https://auth.tesla.com/oauth2/v3/authorize"
AUTHORIZE_URL_CN: Final = "https://auth.tesla.cn/oauth2/v3/authorize"
TOKEN_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"  # noqa: S105
SCOPES: Final = ("openid", "offline_access", "energy_device_data", "energy_cmds")
# Each scope under the name Tesla's developer portal and consent page give it:
# what people read, never the key.
PERMISSION_NAMES: Final[Mapping[str, str]] = {
    "openid": "Sign in with Tesla",
    "offline_access": "Refresh Tokens",
    "user_data": "Profile Information",
    "energy_device_data": "Energy Product Information",
    "energy_cmds": "Energy Product Commands",
    "vehicle_device_data": "Vehicle Information",
    "vehicle_location": "Vehicle Location",
    "vehicle_cmds": "Vehicle Commands",
    "vehicle_charging_cmds": "Vehicle Charging Management",
}


def permission_name(scope: str) -> str:
    """The permission ``scope`` grants, as Tesla's developer portal names it."""
    return PERMISSION_NAMES.get(scope, "another permission")


# Refresh this long before the access token's expiry.
REFRESH_MARGIN: Final = 300.0


@dataclass(frozen=True, kw_only=True)
class TokenSet:
    """Tokens from the token endpoint; secrets are kept out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int | None = None
    expires_at: float | None = None
    scope: tuple[str, ...] = ()

    @classmethod
    def from_response(cls, data: Any, *, now: float | None = None) -> TokenSet:
        """Build from a token endpoint answer; raises InvalidResponse if unusable."""
        if not isinstance(data, Mapping):
            raise InvalidResponse("The token endpoint did not answer a JSON object")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise InvalidResponse("The token endpoint answered without an access token")
        refresh = data.get("refresh_token")
        id_token = data.get("id_token")
        expires_in = data.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = None
        scope_raw = data.get("scope")
        scopes: tuple[str, ...]
        if isinstance(scope_raw, str):
            scopes = tuple(scope_raw.split())
        else:
            scopes = token_scopes(access)
        issued = time.time() if now is None else now
        expires_at: float | None
        if expires_in is not None:
            expires_at = issued + float(expires_in)
        else:
            exp = decode_jwt_claims(access).get("exp")
            expires_at = float(exp) if isinstance(exp, int | float) else None
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            id_token=id_token if isinstance(id_token, str) and id_token else None,
            token_type=str(data.get("token_type") or "Bearer"),
            expires_in=int(expires_in) if expires_in is not None else None,
            expires_at=expires_at,
            scope=scopes,
        )

    def as_dict(self) -> dict[str, Any]:
        """The shape Home Assistant stores for OAuth tokens."""
        data: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
        }
        if self.refresh_token is not None:
            data["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            data["id_token"] = self.id_token
        if self.expires_in is not None:
            data["expires_in"] = self.expires_in
        if self.expires_at is not None:
            data["expires_at"] = self.expires_at
        if self.scope:
            data["scope"] = " ".join(self.scope)
        return data

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """Whether the access token expires within ``seconds`` (unknown = no)."""
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) <= seconds


# ------------------------------------------------------------------ tokens


def build_authorize_url(
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str] = SCOPES,
    authorize_url: str = AUTHORIZE_URL,
    prompt: str | None = None,
    locale: str | None = None,
    login_hint: str | None = None,
) -> str:
    """URL that sends the user to Tesla to approve our access."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
    }
    if prompt:
        query["prompt"] = prompt
    if locale:
        query["locale"] = locale
    if login_hint:
        query["login_hint"] = login_hint
    separator = "&" if "?" in authorize_url else "?"
    return f"{authorize_url}{separator}{urlencode(query)}"


async def exchange_code(
    session: aiohttp.ClientSession,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    audience: str,
    token_url: str = TOKEN_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Trade an authorization code for tokens."""
    return await token_request(
        session,
        token_url,
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "audience": audience,
            "redirect_uri": redirect_uri,
        },
        secrets=(client_secret, code),
        timeout=timeout,
    )


async def refresh_tokens(
    session: aiohttp.ClientSession,
    *,
    client_id: str,
    refresh_token: str,
    token_url: str = TOKEN_URL,
    client_secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Refresh the access token.

    Tesla rotates refresh tokens: the answer carries a new one that replaces
    ``refresh_token`` and must be saved before the new access token is used.
    If an answer ever lacks one, the old refresh token is kept.
    Raises :class:`LoginRequired` only when Tesla refuses the refresh token.
    """
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "refresh_token": refresh_token,
    }
    if client_secret:
        form["client_secret"] = client_secret
    tokens = await token_request(
        session,
        token_url,
        form,
        secrets=(refresh_token, client_secret or ""),
        timeout=timeout,
    )
    if tokens.refresh_token is None:
        tokens = replace(tokens, refresh_token=refresh_token)
    return tokens


async def token_request(
    session: aiohttp.ClientSession,
    token_url: str,
    form: Mapping[str, str],
    *,
    secrets: Sequence[str],
    timeout: float,
) -> TokenSet:
    """POST ``form`` to the token endpoint; ``secrets`` never reach an error."""
    status, headers, raw = await fetch(
        session,
        "POST",
        token_url,
        what="the token endpoint",
        timeout=timeout,
        headers={"Accept": "application/json"},
        data=form,
    )
    body = json_or_none(raw)
    if status >= 400:
        raise _token_error(status, body, headers, secrets)
    return TokenSet.from_response(body)


def _token_error(
    status: int, body: Any, headers: Mapping[str, str], secrets: Sequence[str]
) -> FleetError:
    generic = error_from_response(status, body, headers, secrets=secrets)
    key = (generic.error or "").lower()
    kwargs: dict[str, Any] = {
        "status": status,
        "error": generic.error,
        "description": generic.description,
        "retry_after": generic.retry_after,
    }
    if key in ("login_required", "invalid_grant") or "login_required" in key:
        return LoginRequired(**kwargs)
    if key in ("invalid_client", "unauthorized_client"):
        return InvalidClient(**kwargs)
    if status == 429:
        return RateLimited(**kwargs)
    if status >= 500:
        return ServerError(**kwargs)
    return InvalidRequest(**kwargs)


# ------------------------------------------------------------ token claims


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only ever a hint); {} when not a JWT."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError, TypeError, AttributeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_scopes(token: str) -> tuple[str, ...]:
    """Scopes listed in an access token's ``scp`` claim."""
    scp = decode_jwt_claims(token).get("scp")
    if isinstance(scp, str):
        return tuple(scp.split())
    if isinstance(scp, list):
        return tuple(item for item in scp if isinstance(item, str))
    return ()


def token_subject(token: str) -> str | None:
    """The account id (``sub``) an access token belongs to."""
    sub = decode_jwt_claims(token).get("sub")
    return sub if isinstance(sub, str) and sub else None


# ----------------------------------------------------------- token manager

RotationListener: TypeAlias = Callable[[TokenSet], Awaitable[None] | None]


class TokenManager:
    """Keeps an access token valid for a :class:`FleetClient`.

    Refreshes proactively ``margin`` seconds before expiry and after a 401,
    with one refresh at a time: callers waiting on a refresh share its result,
    so the single-use refresh token is never spent twice. The rotated tokens
    go to ``on_rotate`` (to be persisted) before anyone gets the new token.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        client_id: str,
        tokens: TokenSet,
        token_url: str = TOKEN_URL,
        client_secret: str | None = None,
        on_rotate: RotationListener | None = None,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Start from stored tokens."""
        self._session = session
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._tokens = tokens
        self._on_rotate = on_rotate
        self._margin = margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    @property
    def tokens(self) -> TokenSet:
        """The current tokens."""
        return self._tokens

    async def access_token(self) -> str:
        """A valid access token, refreshing first when it is about to expire."""
        if not self._tokens.expires_within(self._margin, now=self._clock()):
            return self._tokens.access_token
        return await self._refresh(stale=self._tokens.access_token)

    async def token_rejected(self, rejected: str) -> str:
        """A fresh token after the server refused ``rejected`` (for 401s)."""
        return await self._refresh(stale=rejected)

    async def _refresh(self, *, stale: str) -> str:
        async with self._lock:
            current = self._tokens
            if current.access_token != stale and not current.expires_within(
                self._margin, now=self._clock()
            ):
                # Someone refreshed while we waited.
                return current.access_token
            if current.refresh_token is None:
                raise LoginRequired("No refresh token stored; sign in again")
            new = await refresh_tokens(
                self._session,
                client_id=self._client_id,
                refresh_token=current.refresh_token,
                token_url=self._token_url,
                client_secret=self._client_secret,
            )
            self.refresh_count += 1
            if new.expires_in is not None:
                # Expiry on our clock, not on the moment the answer was parsed.
                new = replace(new, expires_at=self._clock() + new.expires_in)
            if self._on_rotate is not None:
                result = self._on_rotate(new)
                if result is not None:
                    await result
            self._tokens = new
            _LOGGER.debug("Access token refreshed")
            return new.access_token
