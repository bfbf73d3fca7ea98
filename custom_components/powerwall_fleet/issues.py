"""Every repair issue the integration raises, from one table, and raising and clearing them.

Owns :data:`ISSUES`: per issue its translation key, whose it is (a config
entry's or an energy site's; the id is ``<translation key>_<entry or site
id>``, built by :meth:`RepairIssue.issue_id` alone), severity, whether the
Repairs dashboard offers a fix flow (``repairs.py``), its learn-more link and
the placeholders its texts name. :func:`async_raise_issue` and
:func:`async_clear_issue` raise and close any of them; :func:`entry_issue_ids`
lists every issue an entry and its sites can have (closed when the entry is
removed).

Also the rules of when three of them open and close:

- a site is offered for removal when Tesla has called it gone for at least
  ``SITE_GONE_AFTER`` and ``SITE_GONE_POLLS`` polls (a blip raises nothing);
- ``missing_scopes`` names every permission still missing, in the developer
  portal's words. A working read proves every scope but ``energy_cmds``;
  only a working command proves ``energy_cmds``, so a read never closes an
  issue raised for a command. A new token (not the one in use when the issue
  was raised) that carries a missing scope proves it too, so signing in again
  with the permission closes the issue; submitting the fix flow proves
  nothing;
- ``tariff_currency_mismatch`` is open while the Tesla tariff prices a
  site's money statistics in another currency than Home Assistant's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Literal

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .fleet import token_scopes

type Owner = Literal["entry", "site"]


@dataclass(frozen=True, kw_only=True)
class RepairIssue:
    """One repair issue: a row of :data:`ISSUES`."""

    translation_key: str
    # Whose issue it is: the id ends in the entry's id or the site's id.
    owner: Owner
    severity: ir.IssueSeverity
    # Fixable issues have a fix flow in repairs.py; the others only explain.
    is_fixable: bool
    # Every placeholder the issue's texts (and its fix flow's) name.
    placeholders: tuple[str, ...]
    learn_more_url: str | None = None

    def issue_id(self, owner_id: str | int) -> str:
        """The issue's id for one entry (entry id) or one site (site id)."""
        return f"{self.translation_key}_{owner_id}"


# Tesla has rate-limited the entry for over an hour (coordinator/base.py).
RATE_LIMITED = RepairIssue(
    translation_key="rate_limited",
    owner="entry",
    severity=ir.IssueSeverity.WARNING,
    is_fixable=False,
    placeholders=("title",),
)
# The login lacks scopes; the fix flow signs in again.
MISSING_SCOPES = RepairIssue(
    translation_key="missing_scopes",
    owner="entry",
    severity=ir.IssueSeverity.ERROR,
    is_fixable=True,
    placeholders=("scopes", "title"),
)
# Tesla does not know the application in the entry's region: reconfigure.
PARTNER_NOT_REGISTERED = RepairIssue(
    translation_key="partner_not_registered",
    owner="entry",
    severity=ir.IssueSeverity.ERROR,
    is_fixable=False,
    placeholders=("title",),
)
# Tesla calls the site gone; the fix flow removes it from the entry.
SITE_UNAVAILABLE = RepairIssue(
    translation_key="site_unavailable",
    owner="site",
    severity=ir.IssueSeverity.ERROR,
    is_fixable=True,
    placeholders=("site_id", "title"),
)
# An override's values could not be put back for over an hour, or when the
# owner cancelled (overrides/engine.py); the fix flow offers to keep what the
# site holds instead.
OVERRIDE_RESTORE = RepairIssue(
    translation_key="override_restore",
    owner="site",
    severity=ir.IssueSeverity.ERROR,
    is_fixable=True,
    placeholders=("site", "values", "title"),
)

# The Tesla tariff prices the site's money in another currency than Home
# Assistant's: no cost or compensation is counted until they match.
TARIFF_CURRENCY_MISMATCH = RepairIssue(
    translation_key="tariff_currency_mismatch",
    owner="site",
    severity=ir.IssueSeverity.WARNING,
    is_fixable=False,
    placeholders=("site", "tariff_currency", "home_currency", "title"),
)

# A dispatch's battery did not act after every strategy of its ladder; the
# dispatch ended and restored (overrides/engine.py). Closes when a later
# dispatch of the site acts.
DISPATCH_NOT_ACTING = RepairIssue(
    translation_key="dispatch_not_acting",
    owner="site",
    severity=ir.IssueSeverity.WARNING,
    is_fixable=False,
    placeholders=("site", "mode", "strategies", "powers", "title"),
)

# Price sync's forecast has been unusable for over an hour (prices/sync.py):
# the site holds its own tariff until the forecast is back.
PRICE_SYNC_STALE = RepairIssue(
    translation_key="price_sync_stale",
    owner="site",
    severity=ir.IssueSeverity.WARNING,
    is_fixable=False,
    placeholders=("site", "entity", "title"),
)

# Price sync was switched off but the site's own tariff could not be put back
# yet (prices/sync.py retries every interval); closes when it is back.
PRICE_SYNC_RESTORE = RepairIssue(
    translation_key="price_sync_restore",
    owner="site",
    severity=ir.IssueSeverity.ERROR,
    is_fixable=False,
    placeholders=("site", "title"),
)

ISSUES: tuple[RepairIssue, ...] = (
    RATE_LIMITED,
    MISSING_SCOPES,
    PARTNER_NOT_REGISTERED,
    SITE_UNAVAILABLE,
    OVERRIDE_RESTORE,
    TARIFF_CURRENCY_MISMATCH,
    DISPATCH_NOT_ACTING,
    PRICE_SYNC_STALE,
    PRICE_SYNC_RESTORE,
)


def issue_of(issue_id: str) -> RepairIssue | None:
    """The row an issue id was built from; ``None`` for an id not ours."""
    for issue in ISSUES:
        if issue_id.startswith(issue.issue_id("")):
            return issue
    return None


def entry_issue_ids(entry_id: str, site_ids: Iterable[int | str]) -> list[str]:
    """Every issue an entry and its sites can have."""
    sites = list(site_ids)
    return [
        issue.issue_id(owner)
        for issue in ISSUES
        for owner in ([entry_id] if issue.owner == "entry" else sites)
    ]


@callback
def async_raise_issue(
    hass: HomeAssistant,
    issue: RepairIssue,
    entry: ConfigEntry,
    site_id: int | None = None,
    **placeholders: str,
) -> None:
    """Raise (or update) ``issue`` of ``entry``, or of its site ``site_id``.

    The entry's title fills ``title`` and the site's id ``site_id``; the
    caller passes the issue's other placeholders.
    """
    _async_raise(hass, issue, entry, site_id, placeholders=placeholders, kept={})


@callback
def _async_raise(
    hass: HomeAssistant,
    issue: RepairIssue,
    entry: ConfigEntry,
    site_id: int | None,
    *,
    placeholders: Mapping[str, str],
    kept: Mapping[str, str],
) -> None:
    """Raise ``issue``; ``kept``: what its data holds besides the entry and site."""
    if (issue.owner == "site") != (site_id is not None):
        raise ValueError(f"{issue.translation_key}: the site is {site_id}")
    known = {"title": entry.title}
    data: dict[str, str | int | float | None] = {**kept, "entry_id": entry.entry_id}
    owner: str | int = entry.entry_id
    if site_id is not None:
        known["site_id"] = data["site_id"] = str(site_id)
        owner = site_id
    texts = {
        **{name: value for name, value in known.items() if name in issue.placeholders},
        **placeholders,
    }
    if sorted(texts) != sorted(issue.placeholders):
        raise ValueError(
            f"{issue.translation_key} names {sorted(issue.placeholders)},"
            f" given {sorted(texts)}"
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue.issue_id(owner),
        is_fixable=issue.is_fixable,
        severity=issue.severity,
        translation_key=issue.translation_key,
        translation_placeholders=texts,
        learn_more_url=issue.learn_more_url,
        data=data,
    )


@callback
def async_clear_issue(
    hass: HomeAssistant, issue: RepairIssue, owner_id: str | int
) -> None:
    """Close ``issue`` of an entry (its id) or a site (its id), if open."""
    ir.async_delete_issue(hass, DOMAIN, issue.issue_id(owner_id))


@callback
def async_clear_entry_issues(
    hass: HomeAssistant, entry_id: str, site_ids: Iterable[int | str]
) -> None:
    """Close every issue of an entry and its sites (the entry is removed)."""
    for issue_id in entry_issue_ids(entry_id, site_ids):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


# ---------------------------------------------------------- site unavailable

# Offer to remove a site only when Tesla has called it gone for this long and
# this many polls in a row (a deploy at Tesla or a single 404 is not enough).
SITE_GONE_AFTER = timedelta(hours=1)
SITE_GONE_POLLS = 3


def site_gone_long_enough(since: datetime, polls: int, now: datetime) -> bool:
    """Whether a site gone since ``since``, for ``polls`` polls, is offered for removal."""
    return polls >= SITE_GONE_POLLS and now - since >= SITE_GONE_AFTER


# ---------------------------------------------------------- missing scopes

# What reads need (named when Tesla's 403 names nothing) and what commands need.
READ_SCOPE = "energy_device_data"
COMMAND_SCOPE = "energy_cmds"
# Each scope as the Tesla developer portal names it, which is what the owner
# ticks there and approves when signing in.
PERMISSION_NAMES: Mapping[str, str] = {
    "openid": "Sign in with Tesla",
    "offline_access": "Refresh Tokens",
    "user_data": "Profile Information",
    READ_SCOPE: "Energy Product Information",
    COMMAND_SCOPE: "Energy Product Commands",
}


def permission_names(scopes: Iterable[str]) -> str:
    """Scopes in plain words: "Energy Product Information, Energy Product Commands".

    A scope the portal's list does not have keeps Tesla's name for it.
    """
    return ", ".join(PERMISSION_NAMES.get(scope, scope) for scope in scopes)


def _access_token(entry: ConfigEntry) -> str:
    """The entry's access token ("" when it has none)."""
    token = entry.data.get("token")
    access = token.get("access_token") if isinstance(token, Mapping) else None
    return access if isinstance(access, str) else ""


def _fingerprint(access_token: str) -> str:
    """Tells one access token from another without keeping it (issue data is not secret)."""
    return sha256(access_token.encode()).hexdigest()[:16]


def _issue_scopes(hass: HomeAssistant, entry_id: str) -> tuple[list[str], str] | None:
    """The scopes the entry's open issue names, and the token it was raised with.

    ``None`` without an issue.
    """
    found = ir.async_get(hass).async_get_issue(
        DOMAIN, MISSING_SCOPES.issue_id(entry_id)
    )
    if found is None:
        return None
    data = found.data or {}
    return str(data.get("scopes") or "").split(), str(
        data.get("token_fingerprint") or ""
    )


@callback
def _async_name_scopes(
    hass: HomeAssistant, entry: ConfigEntry, scopes: list[str], token: str
) -> None:
    """Raise the issue naming ``scopes``, found missing with the token ``token``."""
    _async_raise(
        hass,
        MISSING_SCOPES,
        entry,
        None,
        placeholders={"scopes": permission_names(scopes)},
        kept={"scopes": " ".join(scopes), "token_fingerprint": token},
    )


@callback
def async_scopes_missing(
    hass: HomeAssistant, entry: ConfigEntry, scopes: Iterable[str]
) -> None:
    """Raise (or widen) the missing-scopes issue: the login lacks ``scopes``.

    The issue names the scopes it already named, then the new ones, and
    remembers the token in use (by its fingerprint).
    """
    named = (_issue_scopes(hass, entry.entry_id) or ([], ""))[0]
    missing = list(dict.fromkeys([*named, *scopes]))
    _async_name_scopes(hass, entry, missing, _fingerprint(_access_token(entry)))


@callback
def async_scopes_proven(
    hass: HomeAssistant, entry: ConfigEntry, worked: Literal["read", "command"]
) -> None:
    """A read or a command of ``entry`` worked: drop the scopes it proves.

    A read proves the read scopes, a command the command scope. A new token
    (not the one in use when the issue was raised: a new sign-in) proves the
    missing scopes it carries. The issue goes when no scope is left, else it
    names the rest.
    """
    found = _issue_scopes(hass, entry.entry_id)
    if found is None:
        return
    named, token = found
    if worked == "read":
        left = [scope for scope in named if scope == COMMAND_SCOPE]
    else:
        left = [scope for scope in named if scope != COMMAND_SCOPE]
    access = _access_token(entry)
    if access and _fingerprint(access) != token:
        carried = token_scopes(access)
        left = [scope for scope in left if scope not in carried]
    if not left:
        async_clear_issue(hass, MISSING_SCOPES, entry.entry_id)
    elif left != named:
        _async_name_scopes(hass, entry, left, token)


# ------------------------------------------------- tariff currency mismatch


@callback
def async_tariff_currency(
    hass: HomeAssistant,
    entry: ConfigEntry,
    site_id: int,
    site: str,
    tariff_currency: str | None,
) -> None:
    """Raise the mismatch issue while ``tariff_currency`` is not Home Assistant's.

    ``tariff_currency``: the currency of the tariff pricing a money statistic
    of the site, ``None`` when the tariff prices none (no tariff, or price
    entities for both directions). Closed when they match again.
    """
    home = hass.config.currency
    if tariff_currency is None or tariff_currency == home:
        async_clear_issue(hass, TARIFF_CURRENCY_MISMATCH, site_id)
        return
    async_raise_issue(
        hass,
        TARIFF_CURRENCY_MISMATCH,
        entry,
        site_id,
        site=site,
        tariff_currency=tariff_currency,
        home_currency=home,
    )
