"""Fix flows for the repair issues an owner can fix from the Repairs dashboard.

- ``missing_scopes``: goes straight into signing in again: starts the
  entry's reauth flow and hands the dialog over to it (``next_flow``; a Home
  Assistant without it gets a confirm step that starts the reauth flow and
  says where it is). The issue stays until a login with the missing
  permissions arrives (``issues.py``).
- ``site_unavailable``: remove the site from the entry; the reload that
  follows removes its device.
- ``override_restore``: a choice between keeping on restoring (the issue
  stays) and keeping what the site holds now (the restore obligation ends).

Which issues exist, when they are raised and closed: ``issues.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir

from .const import CONF_SITE_IDS, DOMAIN, LOGGER
from .issues import (
    MISSING_SCOPES,
    OVERRIDE_RESTORE,
    SITE_UNAVAILABLE,
    RepairIssue,
    issue_of,
)

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    from homeassistant.components.repairs import RepairsFlowResult
    import probatio as vol

    from .runtime import PowerwallFleetConfigEntry
else:
    import voluptuous as vol

try:
    from homeassistant.components.repairs import FlowType
except ImportError:  # an older Home Assistant: a fix flow cannot hand over
    HAND_OVER = False
else:
    HAND_OVER = True

type IssueData = dict[str, str | int | float | None] | None


class _IssueRepairFlow(RepairsFlow):
    """A fix flow for an issue of one config entry or of one of its sites."""

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


class _EntryRepairFlow(_IssueRepairFlow):
    """A single confirm step for an issue about one config entry."""

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
    """Sign in again and approve every permission; the issue stays until then."""

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Hand over to the entry's reauth flow at once, where Home Assistant can."""
        entry = self._entry()
        if HAND_OVER and entry is not None:
            flow_id = await self._async_reauth_flow(entry)
            if flow_id is not None:
                # Aborting keeps the issue; the dialog continues with signing in.
                return self.async_abort(
                    reason="sign_in_started",
                    description_placeholders=self._placeholders(),
                    next_flow=(FlowType.CONFIG_FLOW, flow_id),
                )
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Without a hand-over: start the reauth flow on submit, keep the issue."""
        entry = self._entry()
        if user_input is None or entry is None:
            return await super().async_step_confirm(user_input)
        entry.async_start_reauth(self.hass)
        return self.async_abort(
            reason="sign_in_started", description_placeholders=self._placeholders()
        )

    async def _async_reauth_flow(self, entry: PowerwallFleetConfigEntry) -> str | None:
        """The entry's reauth flow in progress, else a new one; None if none starts.

        Started through the flow manager rather than ``async_start_reauth``:
        that also raises Home Assistant's own "Authentication expired" issue,
        a second card for the same sign-in.
        """
        for flow in entry.async_get_active_flows(self.hass, {SOURCE_REAUTH}):
            return flow["flow_id"]
        result = await self.hass.config_entries.flow.async_init(
            DOMAIN,
            context={
                "source": SOURCE_REAUTH,
                "entry_id": entry.entry_id,
                "title_placeholders": {"name": entry.title},
                "unique_id": entry.unique_id,
            },
            data=dict(entry.data),
        )
        if result["type"] in (FlowResultType.ABORT, FlowResultType.CREATE_ENTRY):
            return None
        return result["flow_id"]


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


class OverrideRestoreRepairFlow(_IssueRepairFlow):
    """Keep trying to restore, or keep what the site holds now."""

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """The choice; nothing changes until the owner makes it."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["keep_trying", "keep_site_values"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_keep_trying(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Nothing changes: the retries go on and the issue stays."""
        return self.async_abort(
            reason="keep_trying", description_placeholders=self._placeholders()
        )

    async def async_step_keep_site_values(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """End the restore obligation; closing the flow closes the issue."""
        entry = self._entry()
        if entry is not None:
            if entry.state is not ConfigEntryState.LOADED:
                # The override lives in the loaded entry: nothing to end now.
                return self.async_abort(
                    reason="not_loaded", description_placeholders=self._placeholders()
                )
            site_id = int(str(self._issue_data.get("site_id", 0)))
            await entry.runtime_data.overrides.async_keep_site_values(site_id)
        return self.async_create_entry(data={})


# The fix flow of each fixable issue of the table.
FIX_FLOWS: dict[RepairIssue, type[_IssueRepairFlow]] = {
    MISSING_SCOPES: MissingScopesRepairFlow,
    SITE_UNAVAILABLE: SiteUnavailableRepairFlow,
    OVERRIDE_RESTORE: OverrideRestoreRepairFlow,
}


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: IssueData
) -> RepairsFlow:
    """The fix flow for one of our fixable issues."""
    issue = issue_of(issue_id)
    flow = FIX_FLOWS.get(issue) if issue is not None else None
    if flow is None:
        raise ValueError(f"{issue_id} has no fix flow")
    return flow(data)
