"""Errors raised by the Fleet API client.

Every error is a :class:`FleetError` with the HTTP status, Tesla's ``error``
key and ``retry_after``. Messages hold only what the server said, with the
credentials sent scrubbed, so they are safe to log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import math
import re
from typing import Any

# Longest server text kept in a message; Tesla's descriptions are short, an
# HTML error page is not.
_MAX_TEXT = 200
_BASE_URL_RE = re.compile(r"use base URL:\s*(https?://[^\s\"',;]+)", re.IGNORECASE)
_SCOPE_NAME = re.compile(r"^(openid|[a-z]+(?:_[a-z]+)+)$")
_SCOPES_RE = re.compile(r"missing scopes?:?\s*([a-z_ ,]+)", re.IGNORECASE)
# Retry-After values of many hours have been seen; we still cap what we honour.
MAX_RETRY_AFTER = 24 * 3600.0


class FleetError(Exception):
    """Base class of every error the client raises."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Store the details of a failed request."""
        self.status = status
        self.error = error
        self.description = description
        self.retry_after = retry_after
        super().__init__(message or self._default_message())

    def _default_message(self) -> str:
        parts = [type(self).__name__]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error:
            parts.append(self.error)
        if self.description and self.description != self.error:
            parts.append(self.description)
        return ": ".join(parts)


class TokenExpired(FleetError):
    """401: the access token is expired or invalid; refresh and retry."""


class LoginRequired(FleetError):
    """The refresh token is no longer accepted; the user must sign in again."""


class InvalidClient(FleetError):
    """The token endpoint refused the application's client id or secret."""


class MissingScopes(FleetError):
    """403: the token lacks a scope the request needs."""

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        """Remember which scopes the server named, when it did."""
        super().__init__(message, **kwargs)
        self.scopes: tuple[str, ...] = _scopes_from(self.error, self.description)


class PaymentRequired(FleetError):
    """402: the developer account is over its billing limit."""


class NotFound(FleetError):
    """404: the energy site (or resource) does not exist for this account."""


class DeviceOffline(FleetError):
    """408: the gateway did not answer the cloud."""


class PartnerNotRegistered(FleetError):
    """412: the application is not registered as a partner in this region."""


class WrongRegion(FleetError):
    """421: the account lives in another region; ``base_url`` says where."""

    def __init__(
        self, message: str = "", *, base_url: str | None = None, **kwargs: Any
    ) -> None:
        """Remember the base URL the server pointed at."""
        super().__init__(message, **kwargs)
        self.base_url = base_url or _base_url_from(self.error, self.description)


class RateLimited(FleetError):
    """429: too many requests; wait ``retry_after`` seconds."""


class InvalidRequest(FleetError):
    """400/406/422/423: the server refused the request as invalid."""


class InvalidArgument(InvalidRequest, ValueError):
    """The caller passed a value the API would refuse; nothing was sent."""


class ServerError(FleetError):
    """5xx or 540: Tesla's side failed; usually transient."""

    @property
    def site_unavailable(self) -> bool:
        """Whether Tesla reported the site itself as gone (stale site)."""
        text = f"{self.error or ''} {self.description or ''}".lower()
        return "upstream internal error" in text


class InvalidResponse(FleetError):
    """The answer was not JSON or not the expected shape."""


class CannotConnect(FleetError):
    """Network error or timeout before an HTTP answer arrived."""


def site_is_unavailable(err: FleetError) -> bool:
    """Return whether an error means the energy site itself is gone."""
    if isinstance(err, NotFound):
        return True
    return isinstance(err, ServerError) and err.site_unavailable


# What each error means, in words an owner reads (toasts, repair texts, log
# lines): the one table, so no message shows a class name.
_PLAIN_WORDS: tuple[tuple[type[FleetError], str], ...] = (
    (TokenExpired, "the login has expired"),
    (LoginRequired, "Tesla no longer accepts the login"),
    (InvalidClient, "Tesla refused the application's credentials"),
    (MissingScopes, "the login lacks a permission"),
    (PaymentRequired, "the developer account is over its billing limit"),
    (NotFound, "Tesla does not know the energy site"),
    (DeviceOffline, "the Powerwall is offline"),
    (PartnerNotRegistered, "the application is not registered in this region"),
    (WrongRegion, "the account belongs to another region"),
    (RateLimited, "too many requests"),
    (InvalidRequest, "Tesla refused the request"),
    (InvalidResponse, "Tesla's answer could not be read"),
    (CannotConnect, "no connection to Tesla"),
)


def plain_words(err: FleetError) -> str:
    """What ``err`` means, in plain words (never its class name)."""
    if isinstance(err, ServerError):
        if err.site_unavailable:
            return "Tesla reports the energy site as unavailable"
        return "Tesla's servers had a problem"
    for cls, words in _PLAIN_WORDS:
        if isinstance(err, cls):
            return words
    return "an unexpected error"


_ERROR_KEYS: tuple[tuple[str, type[FleetError]], ...] = (
    ("login_required", LoginRequired),
    ("invalid_grant", LoginRequired),
    ("missing scopes", MissingScopes),
    ("missing scope", MissingScopes),
    ("a condition has not been met", PartnerNotRegistered),
    ("must be registered", PartnerNotRegistered),
    ("use base url", WrongRegion),
    ("out of region", WrongRegion),
    ("rate limit", RateLimited),
    ("too many requests", RateLimited),
    ("upstream internal error", ServerError),
    ("device offline", DeviceOffline),
    ("vehicle unavailable", DeviceOffline),
    ("token expired", TokenExpired),
    ("invalid bearer token", TokenExpired),
    ("invalid_token", TokenExpired),
)

_STATUS_CLASSES: dict[int, type[FleetError]] = {
    400: InvalidRequest,
    401: TokenExpired,
    402: PaymentRequired,
    403: MissingScopes,
    404: NotFound,
    406: InvalidRequest,
    408: DeviceOffline,
    412: PartnerNotRegistered,
    421: WrongRegion,
    422: InvalidRequest,
    423: InvalidRequest,
    424: ServerError,
    429: RateLimited,
}


def error_class(status: int, error: str | None) -> type[FleetError]:
    """Pick the error class from Tesla's error key first, then the status."""
    if error:
        key = error.lower()
        for needle, cls in _ERROR_KEYS:
            if needle in key:
                # A 401 with login_required at the Fleet API (not the token
                # endpoint) still means the session is over.
                return cls
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequest
    return InvalidResponse


def error_from_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> FleetError:
    """Build the right :class:`FleetError` for an HTTP error answer.

    ``body`` is the decoded JSON (or raw text, or None); ``secrets`` are strings
    that must never appear in the resulting message.
    """
    error: str | None = None
    description: str | None = None
    if isinstance(body, Mapping):
        raw_error = body.get("error")
        raw_description = body.get("error_description")
        if isinstance(raw_error, str) and raw_error:
            error = raw_error
        if isinstance(raw_description, str) and raw_description:
            description = raw_description
    elif isinstance(body, str) and body.strip() and not body.lstrip().startswith("<"):
        description = body.strip()
    error = _clean(error, secrets)
    description = _clean(description, secrets)
    retry_after = parse_retry_after(headers or {}, now=now)
    cls = error_class(status, error)
    return cls(
        status=status, error=error, description=description, retry_after=retry_after
    )


def parse_retry_after(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``RateLimit-Reset``."""
    for name in ("Retry-After", "RateLimit-Reset", "X-RateLimit-Reset"):
        value = _header(headers, name)
        if value is None:
            continue
        value = value.strip()
        seconds: float | None
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
            if name == "Retry-After":
                try:
                    when = parsedate_to_datetime(value)
                except (TypeError, ValueError, IndexError):
                    when = None
                if when is not None:
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=UTC)
                    seconds = (when - (now or datetime.now(UTC))).total_seconds()
        if seconds is None or math.isnan(seconds):
            continue
        return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def _clean(text: str | None, secrets: Iterable[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 8 and secret in text:
            text = text.replace(secret, "**REDACTED**")
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    return text


def _base_url_from(*texts: str | None) -> str | None:
    for text in texts:
        if text and (match := _BASE_URL_RE.search(text)):
            return match.group(1).rstrip("./")
    return None


def _scopes_from(*texts: str | None) -> tuple[str, ...]:
    for text in texts:
        if text and (match := _SCOPES_RE.search(text)):
            found = tuple(
                scope
                for scope in re.split(r"[\s,]+", match.group(1).strip())
                if _SCOPE_NAME.match(scope)
            )
            if found:
                return found
    return ()
