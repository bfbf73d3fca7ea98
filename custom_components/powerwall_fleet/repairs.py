"""Repair flows for the issues an owner can fix from the Repairs dashboard.

- ``missing_scopes_<entry_id>``: sign in again (starts the entry's reauth flow).
  This module is also the one place that raises and clears that issue, for
  the reads (coordinators) and the commands (commands.py) alike: it names
  every scope still missing. A working read proves every scope but
  ``energy_cmds``; only a working command proves ``energy_cmds``, so a read
  never closes an issue raised for a command (the token may still lack the
  scope, or Tesla may still refuse it). Confirming the fix flow closes the
  issue; a login that still lacks a scope raises it again on the next
  refusal.
- ``site_unavailable_<site_id>``: remove the site from the entry; the reload
  that follows removes its device. Raised here (rule: the coordinator has
  seen the site answer as gone for at least ``SITE_GONE_AFTER`` and
  ``SITE_GONE_POLLS`` polls, so a blip raises nothing), closed here when
  the site answers again.

``rate_limited_<entry_id>`` and ``partner_not_registered_<entry_id>`` only
explain what to do (lower the polling rate, reconfigure the entry) and have no
fix flow; the coordinators raise and clear them through this module. Nor has
``override_restore_<site_id>`` (override.py): the values an override could not
put back for over an hour, closed when the restore works or the owner cancels.
:func:`entry_issue_ids` lists every issue an entry can have (closed when the
entry is removed).

May import Home Assistant and const only: the coordinators and commands
below the platforms call it, so it imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_SITE_IDS, DOMAIN, LOGGER

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    from homeassistant.components.repairs import RepairsFlowResult
    import probatio as vol

    from .runtime import PowerwallFleetConfigEntry
else:
    import voluptuous as vol

type IssueData = dict[str, str | int | float | None] | None

# What reads need (named when Tesla's 403 names nothing) and what commands need.
READ_SCOPE = "energy_device_data"
COMMAND_SCOPE = "energy_cmds"


# ---------------------------------------------------------- site unavailable

# Offer to remove a site only when Tesla has called it gone for this long and
# this many polls in a row (a deploy at Tesla or a single 404 is not enough).
SITE_GONE_AFTER = timedelta(hours=1)
SITE_GONE_POLLS = 3


def site_unavailable_issue_id(site_id: int | str) -> str:
    """The id of the site-unavailable issue of one energy site."""
    return f"site_unavailable_{site_id}"


def site_gone_long_enough(since: datetime, polls: int, now: datetime) -> bool:
    """Whether a site gone since ``since``, for ``polls`` polls, is offered for removal."""
    return polls >= SITE_GONE_POLLS and now - since >= SITE_GONE_AFTER


@callback
def async_raise_site_unavailable(
    hass: HomeAssistant, entry: ConfigEntry, site_id: int
) -> None:
    """Raise the fixable issue: Tesla has called ``site_id`` gone for a sustained period."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        site_unavailable_issue_id(site_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="site_unavailable",
        translation_placeholders={"site_id": str(site_id), "title": entry.title},
        data={"entry_id": entry.entry_id, "site_id": str(site_id)},
    )


@callback
def async_clear_site_unavailable(hass: HomeAssistant, site_id: int) -> None:
    """The site answered: close its issue, if any."""
    ir.async_delete_issue(hass, DOMAIN, site_unavailable_issue_id(site_id))


# ---------------------------------------------------------- missing scopes


def missing_scopes_issue_id(entry_id: str) -> str:
    """The id of the missing-scopes issue of one config entry."""
    return f"missing_scopes_{entry_id}"


def _missing_scopes(hass: HomeAssistant, entry_id: str) -> list[str] | None:
    """The scopes the entry's open issue names; ``None`` without an issue."""
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, missing_scopes_issue_id(entry_id)
    )
    if issue is None:
        return None
    named = (issue.translation_placeholders or {}).get("scopes", "")
    return [scope for scope in named.split(", ") if scope]


def _create_missing_scopes(
    hass: HomeAssistant, entry: ConfigEntry, missing: list[str]
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        missing_scopes_issue_id(entry.entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="missing_scopes",
        translation_placeholders={
            "scopes": ", ".join(missing),
            "title": entry.title,
        },
        data={"entry_id": entry.entry_id},
    )


@callback
def async_raise_missing_scopes(
    hass: HomeAssistant, entry: ConfigEntry, scopes: Iterable[str]
) -> None:
    """Raise (or widen) the fixable issue: the login lacks ``scopes``.

    The issue names the scopes it already named, then the new ones.
    """
    named = _missing_scopes(hass, entry.entry_id) or []
    _create_missing_scopes(hass, entry, list(dict.fromkeys([*named, *scopes])))


@callback
def async_clear_missing_scopes(
    hass: HomeAssistant, entry: ConfigEntry, worked: Literal["read", "command"]
) -> None:
    """A read or a command of ``entry`` worked: drop the scopes it proves.

    A read proves every scope but ``energy_cmds``; a command proves
    ``energy_cmds``. The issue goes when no scope is left, else it names
    the rest.
    """
    named = _missing_scopes(hass, entry.entry_id)
    if named is None:
        return
    if worked == "read":
        left = [scope for scope in named if scope == COMMAND_SCOPE]
    else:
        left = [scope for scope in named if scope != COMMAND_SCOPE]
    if not left:
        ir.async_delete_issue(hass, DOMAIN, missing_scopes_issue_id(entry.entry_id))
    elif left != named:
        _create_missing_scopes(hass, entry, left)


# ------------------------------------- rate limit and partner registration


def rate_limited_issue_id(entry_id: str) -> str:
    """The id of the issue: Tesla has rate-limited the entry for a while."""
    return f"rate_limited_{entry_id}"


def partner_not_registered_issue_id(entry_id: str) -> str:
    """The id of the issue: Tesla does not know the application in this region."""
    return f"partner_not_registered_{entry_id}"


@callback
def async_raise_rate_limited(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise (or keep) the rate-limit warning of ``entry``."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        rate_limited_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="rate_limited",
        translation_placeholders={"title": entry.title},
    )


@callback
def async_clear_rate_limited(hass: HomeAssistant, entry_id: str) -> None:
    """No site of the entry is rate-limited any more: close the warning."""
    ir.async_delete_issue(hass, DOMAIN, rate_limited_issue_id(entry_id))


@callback
def async_raise_partner_not_registered(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise the partner-registration issue of ``entry``."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        partner_not_registered_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="partner_not_registered",
        translation_placeholders={"title": entry.title},
    )


@callback
def async_clear_partner_not_registered(hass: HomeAssistant, entry_id: str) -> None:
    """A read worked: the registration is fine again."""
    ir.async_delete_issue(hass, DOMAIN, partner_not_registered_issue_id(entry_id))


# ------------------------------------------------------- override restore


def override_restore_issue_id(site_id: int) -> str:
    """The id of the issue: an override's values could not be restored."""
    return f"override_restore_{site_id}"


def entry_issue_ids(entry_id: str, site_ids: Iterable[int | str]) -> list[str]:
    """Every issue an entry and its sites can have."""
    sites = list(site_ids)
    return [
        rate_limited_issue_id(entry_id),
        missing_scopes_issue_id(entry_id),
        partner_not_registered_issue_id(entry_id),
        *(site_unavailable_issue_id(site_id) for site_id in sites),
        *(override_restore_issue_id(int(site_id)) for site_id in sites),
    ]


@callback
def async_raise_override_restore(
    hass: HomeAssistant, entry: ConfigEntry, site_id: int, site: str, values: str
) -> None:
    """Raise (or update) the issue naming the values still not restored."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        override_restore_issue_id(site_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="override_restore",
        translation_placeholders={
            "site": site,
            "values": values,
            "title": entry.title,
        },
        data={"entry_id": entry.entry_id, "site_id": site_id},
    )


@callback
def async_clear_override_restore(hass: HomeAssistant, site_id: int) -> None:
    """The values were restored, or the owner cancelled: close the issue."""
    ir.async_delete_issue(hass, DOMAIN, override_restore_issue_id(site_id))


class _EntryRepairFlow(RepairsFlow):
    """A single confirm step for an issue about one config entry."""

    def __init__(self, data: IssueData) -> None:
        """Remember the issue's data (entry id, site id)."""
        self._issue_data: dict[str, Any] = dict(data or {})

    def _entry(self) -> PowerwallFleetConfigEntry | None:
        entry_id = self._issue_data.get("entry_id")
        if not isinstance(entry_id, str):
            return None
        entry: PowerwallFleetConfigEntry | None = (
            self.hass.config_entries.async_get_entry(entry_id)
        )
        if entry is None or entry.domain != DOMAIN:
            return None
        return entry

    def _placeholders(self) -> dict[str, str]:
        """The issue's placeholders, with the entry's current title."""
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        placeholders = {
            "title": "",
            "site_id": str(self._issue_data.get("site_id", "")),
            **((issue and issue.translation_placeholders) or {}),
        }
        if (entry := self._entry()) is not None:
            placeholders["title"] = entry.title
        return placeholders

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Go straight to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask first; fix on submit."""
        if user_input is not None:
            entry = self._entry()
            if entry is not None:
                # An entry that is gone has nothing left to fix: the issue
                # is simply closed.
                await self._async_fix(entry)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=self._placeholders(),
        )

    async def _async_fix(self, entry: PowerwallFleetConfigEntry) -> None:
        """Fix the issue for ``entry`` (each flow says how)."""


class MissingScopesRepairFlow(_EntryRepairFlow):
    """Sign in again and approve every permission."""

    async def _async_fix(self, entry: PowerwallFleetConfigEntry) -> None:
        entry.async_start_reauth(self.hass)


class SiteUnavailableRepairFlow(_EntryRepairFlow):
    """Remove a site Tesla no longer answers for."""

    async def _async_fix(self, entry: PowerwallFleetConfigEntry) -> None:
        site_id = str(self._issue_data.get("site_id", ""))
        site_ids = list(entry.data.get(CONF_SITE_IDS, []))
        remaining = [site for site in site_ids if str(site) != site_id]
        if remaining == site_ids:
            return
        LOGGER.info("Removing energy site %s from %s", site_id, entry.title)
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_SITE_IDS: remaining}
        )
        # Setup registers devices only for the sites left; the removed
        # site's device goes away with the reload.
        self.hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: IssueData
) -> RepairsFlow:
    """The fix flow for one of our fixable issues."""
    if issue_id.startswith("missing_scopes_"):
        return MissingScopesRepairFlow(data)
    if issue_id.startswith("site_unavailable_"):
        return SiteUnavailableRepairFlow(data)
    raise ValueError(f"{issue_id} has no fix flow")
