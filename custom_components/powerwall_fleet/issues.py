"""Every repair issue the integration raises, from one table, and raising and clearing them.

Owns :data:`ISSUES`: per issue its translation key, whose it is (a config
entry's or an energy site's; the id is ``<translation key>_<entry or site
id>``, built by :meth:`RepairIssue.issue_id` alone), severity, whether the
Repairs dashboard offers a fix flow (``repairs.py``), its learn-more link and
the placeholders its texts name. :func:`async_raise_issue` and
:func:`async_clear_issue` raise and close any of them; :func:`entry_issue_ids`
lists every issue an entry and its sites can have (closed when the entry is
removed).

Also the rules of when two of them open and close:

- a site is offered for removal when Tesla has called it gone for at least
  ``SITE_GONE_AFTER`` and ``SITE_GONE_POLLS`` polls (a blip raises nothing);
- ``missing_scopes`` names every scope still missing. A working read proves
  every scope but ``energy_cmds``; only a working command proves
  ``energy_cmds``, so a read never closes an issue raised for a command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

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

ISSUES: tuple[RepairIssue, ...] = (
    RATE_LIMITED,
    MISSING_SCOPES,
    PARTNER_NOT_REGISTERED,
    SITE_UNAVAILABLE,
    OVERRIDE_RESTORE,
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
    if (issue.owner == "site") != (site_id is not None):
        raise ValueError(f"{issue.translation_key}: the site is {site_id}")
    known = {"title": entry.title}
    data: dict[str, str | int | float | None] = {"entry_id": entry.entry_id}
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


def _named_scopes(hass: HomeAssistant, entry_id: str) -> list[str] | None:
    """The scopes the entry's open issue names; ``None`` without an issue."""
    found = ir.async_get(hass).async_get_issue(
        DOMAIN, MISSING_SCOPES.issue_id(entry_id)
    )
    if found is None:
        return None
    named = (found.translation_placeholders or {}).get("scopes", "")
    return [scope for scope in named.split(", ") if scope]


@callback
def async_scopes_missing(
    hass: HomeAssistant, entry: ConfigEntry, scopes: Iterable[str]
) -> None:
    """Raise (or widen) the missing-scopes issue: the login lacks ``scopes``.

    The issue names the scopes it already named, then the new ones.
    """
    named = _named_scopes(hass, entry.entry_id) or []
    missing = dict.fromkeys([*named, *scopes])
    async_raise_issue(hass, MISSING_SCOPES, entry, scopes=", ".join(missing))


@callback
def async_scopes_proven(
    hass: HomeAssistant, entry: ConfigEntry, worked: Literal["read", "command"]
) -> None:
    """A read or a command of ``entry`` worked: drop the scopes it proves.

    The issue goes when no scope is left, else it names the rest.
    """
    named = _named_scopes(hass, entry.entry_id)
    if named is None:
        return
    if worked == "read":
        left = [scope for scope in named if scope == COMMAND_SCOPE]
    else:
        left = [scope for scope in named if scope != COMMAND_SCOPE]
    if not left:
        async_clear_issue(hass, MISSING_SCOPES, entry.entry_id)
    elif left != named:
        async_raise_issue(hass, MISSING_SCOPES, entry, scopes=", ".join(left))
