"""OAuth and partner-registration helpers for the Fleet API.

Nothing here logs or raises with a token, client secret or key in the text.
Token sets hide their secrets from ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
import json
import logging
import re
import time
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp

from .errors import (
    CannotConnect,
    FleetError,
    InvalidArgument,
    InvalidClient,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    NotFound,
    RateLimited,
    ServerError,
    error_from_response,
)
from .models import PartnerAccount, Region

_LOGGER = logging.getLogger(__name__)

AUTHORIZE_URL: Final = "https://auth.tesla.com/oauth2/v3/authorize"
AUTHORIZE_URL_CN: Final = "https://auth.tesla.cn/oauth2/v3/authorize"
TOKEN_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"  # noqa: S105
REGION_BASE_URLS: Final[Mapping[str, str]] = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}
SCOPES: Final = ("openid", "offline_access", "energy_device_data", "energy_cmds")
PARTNER_SCOPES: Final = ("openid", "energy_device_data", "energy_cmds")
PUBLIC_KEY_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
DEFAULT_TIMEOUT: Final = 30.0
# Refresh this long before the access token's expiry.
REFRESH_MARGIN: Final = 300.0

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


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
    return await _token_request(
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
    tokens = await _token_request(
        session,
        token_url,
        form,
        secrets=(refresh_token, client_secret or ""),
        timeout=timeout,
    )
    if tokens.refresh_token is None:
        tokens = replace(tokens, refresh_token=refresh_token)
    return tokens


async def partner_token(
    session: aiohttp.ClientSession,
    *,
    client_id: str,
    client_secret: str,
    audience: str,
    scopes: Sequence[str] = PARTNER_SCOPES,
    token_url: str = TOKEN_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Client-credentials token for partner endpoints (lives ~8 h, free)."""
    return await _token_request(
        session,
        token_url,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
            "scope": " ".join(scopes),
        },
        secrets=(client_secret,),
        timeout=timeout,
    )


async def _token_request(
    session: aiohttp.ClientSession,
    token_url: str,
    form: Mapping[str, str],
    *,
    secrets: Sequence[str],
    timeout: float,
) -> TokenSet:
    try:
        async with session.post(
            token_url,
            data=dict(form),
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            status = resp.status
            headers = dict(resp.headers)
            raw = await resp.read()
    except TimeoutError as err:
        raise CannotConnect("Timed out talking to the token endpoint") from err
    except aiohttp.ClientError as err:
        raise CannotConnect(
            f"Cannot reach the token endpoint: {type(err).__name__}"
        ) from err
    body = _json_or_none(raw)
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


# -------------------------------------------------------- partner accounts


def normalize_domain(domain: str) -> str:
    """Validate a partner domain as Tesla wants it: lowercase host, no scheme.

    Strips a scheme, path and trailing dot; raises :class:`InvalidArgument`
    (``error`` says why: ``invalid_domain`` or ``domain_contains_tesla``).
    """
    if not isinstance(domain, str):
        raise InvalidArgument("The domain must be text", error="invalid_domain")
    host = domain.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].rstrip(".")
    if ":" in host or "@" in host:
        raise InvalidArgument(
            "The domain must be a host name without port or user",
            error="invalid_domain",
        )
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
    ):
        raise InvalidArgument(
            f"{domain!r} is not a valid domain name", error="invalid_domain"
        )
    if "tesla" in host:
        raise InvalidArgument(
            "Tesla refuses partner domains that contain 'tesla'",
            error="domain_contains_tesla",
        )
    return host


def public_key_url(domain: str) -> str:
    """Where Tesla downloads the partner public key from."""
    return f"https://{normalize_domain(domain)}{PUBLIC_KEY_PATH}"


async def register_partner(
    session: aiohttp.ClientSession,
    *,
    partner_token: str,
    base_url: str,
    domain: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> PartnerAccount:
    """Register the application's domain (and so its public key) in a region."""
    host = normalize_domain(domain)
    body = await _partner_request(
        session,
        "POST",
        f"{base_url.rstrip('/')}/api/1/partner_accounts",
        partner_token,
        timeout=timeout,
        json_body={"domain": host},
    )
    response = body.get("response") if isinstance(body, Mapping) else None
    return PartnerAccount.from_dict(response)


async def partner_public_key(
    session: aiohttp.ClientSession,
    *,
    partner_token: str,
    base_url: str,
    domain: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> str | None:
    """Hex of the public key Tesla holds for ``domain`` in a region, or None."""
    host = normalize_domain(domain)
    try:
        body = await _partner_request(
            session,
            "GET",
            f"{base_url.rstrip('/')}/api/1/partner_accounts/public_key",
            partner_token,
            timeout=timeout,
            params={"domain": host},
        )
    except NotFound:
        return None
    response = body.get("response") if isinstance(body, Mapping) else None
    if not isinstance(response, Mapping):
        raise InvalidResponse("The public_key answer has no response object")
    key = response.get("public_key")
    if key is None or key == "":
        return None
    if not isinstance(key, str):
        raise InvalidResponse("The public_key answer is not text")
    return key.lower()


async def _partner_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str,
    *,
    timeout: float,
    json_body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
) -> Any:
    try:
        async with session.request(
            method,
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            json=json_body,
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            status = resp.status
            headers = dict(resp.headers)
            raw = await resp.read()
    except TimeoutError as err:
        raise CannotConnect("Timed out talking to the Fleet API") from err
    except aiohttp.ClientError as err:
        raise CannotConnect(
            f"Cannot reach the Fleet API: {type(err).__name__}"
        ) from err
    body = _json_or_none(raw)
    if status >= 400:
        raise error_from_response(status, body, headers, secrets=(token,))
    if not isinstance(body, Mapping):
        raise InvalidResponse(
            "The Fleet API did not answer a JSON object", status=status
        )
    return body


# ------------------------------------------------------------------ region


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only ever a hint); {} when not a JWT."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except IndexError, ValueError, TypeError, AttributeError:
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


def region_from_token(token: str) -> str | None:
    """Region hint from the token's ``ou_code`` (``na``/``eu``/``cn``)."""
    code = decode_jwt_claims(token).get("ou_code")
    if isinstance(code, str) and code.lower() in REGION_BASE_URLS:
        return code.lower()
    return None


async def discover_region(
    session: aiohttp.ClientSession,
    *,
    access_token: str,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Region:
    """Ask ``users/region`` which region and base URL the account uses.

    ``base_url`` defaults to the region named in the token (``ou_code``), else
    North America; ``users/region`` answers from any region.
    """
    if base_url is None:
        base_url = REGION_BASE_URLS[region_from_token(access_token) or "na"]
    body = await _partner_request(
        session,
        "GET",
        f"{base_url.rstrip('/')}/api/1/users/region",
        access_token,
        timeout=timeout,
    )
    response = body.get("response")
    if not isinstance(response, Mapping):
        raise InvalidResponse("users/region answered without a response object")
    region = Region.from_dict(response)
    if not region.fleet_api_base_url:
        raise InvalidResponse("users/region answered without a base URL")
    return region


# ----------------------------------------------------------- token manager

type RotationListener = Callable[[TokenSet], Awaitable[None] | None]


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


def _json_or_none(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
