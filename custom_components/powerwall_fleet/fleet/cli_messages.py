"""What the ``fleetapi`` tool says when something fails: what happened and what to do.

Owns the one table from a :class:`FleetError` to plain words (used for the
one-line failure message of every command and for ``doctor``'s verdicts),
the words for operation modes and permissions, and the line shown for
anything unexpected. Never an exception's class name; the caller redacts
the config's secrets from the line. No Home Assistant import.
"""

from __future__ import annotations

from typing import Final

from .auth import permission_name
from .errors import (
    CannotConnect,
    DeviceOffline,
    FleetError,
    InvalidClient,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    MissingScopes,
    NotFound,
    PartnerNotRegistered,
    PaymentRequired,
    RateLimited,
    ServerError,
    TokenExpired,
    WrongRegion,
)

# The operation modes as Tesla's app names them.
MODE_WORDS: Final = {
    "self_consumption": "self-powered",
    "autonomous": "time-based control",
    "backup": "backup-only",
}

SIGN_IN_AGAIN: Final = "sign in again with 'fleetapi setup'"
UNEXPECTED: Final = (
    "something unexpected went wrong; run the command again with --debug to see"
    " where, and please report it"
)


def mode_words(mode: str | None) -> str:
    """An operation mode in the app's words (``self-powered``), never Tesla's key."""
    if mode is None:
        return "an unknown"
    return MODE_WORDS.get(mode, "another")


def duration(seconds: float | None) -> str:
    """A wait for people: ``45 s``, ``2 min``, ``3 h`` (``a while`` when unknown)."""
    if seconds is None:
        return "a while"
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def explain(err: FleetError, *, config: str = "the config file") -> tuple[str, str]:
    """What happened and what to do about ``err``, each in plain words.

    ``config`` names the config file (where the URLs and tokens are).
    """
    http = f" (HTTP {err.status})" if err.status else ""
    if isinstance(err, RateLimited):
        return (
            f"Tesla says there were too many requests{http}",
            f"wait {duration(err.retry_after)} and try again",
        )
    if isinstance(err, NotFound):
        return (
            f"Tesla does not know this energy site{http}",
            "run 'fleetapi sites' to see the account's sites",
        )
    if isinstance(err, ServerError):
        if err.site_unavailable:
            return (
                f"Tesla no longer reaches this site{http}",
                "check it in the Tesla app; if it was removed, run 'fleetapi sites'",
            )
        return (
            f"Tesla's servers had a problem{http}",
            "try again in a few minutes",
        )
    if isinstance(err, TokenExpired):
        return (
            f"Tesla refused the login{http}, also after renewing it",
            SIGN_IN_AGAIN,
        )
    if isinstance(err, LoginRequired):
        return "Tesla no longer accepts the saved login", SIGN_IN_AGAIN
    if isinstance(err, InvalidClient):
        return (
            "Tesla refused the application's client id or secret",
            "check them in the Tesla developer portal, then run 'fleetapi setup' again",
        )
    if isinstance(err, MissingScopes):
        return _missing_permission(err)
    if isinstance(err, PaymentRequired):
        return (
            f"the developer account is over its billing limit{http}",
            "raise the limit or add credit in the Tesla developer portal, then try again",
        )
    if isinstance(err, DeviceOffline):
        return (
            f"the Powerwall is not answering Tesla{http}",
            "check the gateway's internet connection, then try again in a few minutes",
        )
    if isinstance(err, PartnerNotRegistered):
        return (
            f"the application is not registered in this region{http}",
            "run 'fleetapi setup' (it registers the application)",
        )
    if isinstance(err, WrongRegion):
        where = (
            f", or set base_url to {err.base_url} in {config}" if err.base_url else ""
        )
        return (
            f"the account belongs to another region{http}",
            f"run 'fleetapi setup' again{where}",
        )
    if isinstance(err, InvalidRequest):
        said = err.description or err.error
        detail = f" (HTTP {err.status}: {said})" if said else http
        return (
            f"Tesla refused the request{detail}",
            (
                "check the value you gave; if it is right, try again later"
                " (--debug shows the request)"
            ),
        )
    if isinstance(err, InvalidResponse):
        return (
            "Tesla's answer could not be read",
            "try again later (--debug shows more)",
        )
    if isinstance(err, CannotConnect):
        text = str(err)
        return (
            text[:1].lower() + text[1:],
            (
                f"check the network connection (and the URLs in {config} if you"
                " changed them), then try again"
            ),
        )
    return str(err), "try again later"


def _missing_permission(err: MissingScopes) -> tuple[str, str]:
    names = [f'"{permission_name(scope)}"' for scope in err.scopes]
    if names:
        plural = "s" if len(names) > 1 else ""
        what = f"the login lacks the {' and '.join(names)} permission{plural}"
    else:
        what = "the login lacks a permission this needs"
    return (
        what,
        (
            "make sure the application has it in the Tesla developer portal, then"
            " run 'fleetapi setup' again and keep every permission ticked"
        ),
    )


def failure_line(err: FleetError, *, config: str = "the config file") -> str:
    """The one line for a failed command (without the ``fleetapi:`` prefix)."""
    what, advice = explain(err, config=config)
    return f"{what}; {advice}"


def os_error_line(err: OSError) -> str:
    """A file or system error, in words (without the ``fleetapi:`` prefix)."""
    words = (err.strerror or "the operating system refused").lower()
    where = f": {err.filename}" if err.filename else ""
    return f"{words}{where}; check the path and its permissions"
