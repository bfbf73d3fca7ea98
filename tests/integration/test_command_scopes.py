"""A login that may not send commands raises the sign-in-again repair issue.

The refusal before any request (the token lacks ``energy_cmds``) and Tesla's
403 for a command both raise the same fixable ``missing_scopes`` issue as a
refused read; a command Tesla accepts clears it, a read does not, and so does
a new login whose token carries the missing scope (the issue's rule lives in
issues.py). Permissions are named as Tesla's developer portal names them.
"""

from __future__ import annotations

from http import HTTPStatus
import time
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.commands import async_set_backup_reserve
from custom_components.powerwall_fleet.const import DOMAIN, OAUTH_SCOPES
from custom_components.powerwall_fleet.repairs import HAND_OVER
from tests.integration.conftest import Approve
from tests.integration.entity_helpers import entry_data, reauth_flows, setup_sites
from tests.integration.test_config_flow import (
    _approve_granting,
    _deliver,
    _finish_oauth,
)
from tests.simulator import DEFAULT_SCOPES, Simulator
from tests.simulator.scenario import SITE_FULL, USER_MAIN

pytestmark = pytest.mark.usefixtures("no_retry_delay", "repairs")

MISSING_CMDS = {
    "response": None,
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_cmds",
}
MISSING_READS = {
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_device_data",
}


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"missing_scopes_{entry.entry_id}"
    )


# Tesla's scope names and the developer portal's.
PORTAL = {
    "energy_cmds": "Energy Product Commands",
    "energy_device_data": "Energy Product Information",
}


def _assert_issue(hass: HomeAssistant, entry: MockConfigEntry, scopes: str) -> None:
    """The issue names ``scopes`` (Tesla's names) in the portal's words."""
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "missing_scopes"
    named = ", ".join(PORTAL[scope] for scope in scopes.split(", "))
    assert issue.translation_placeholders == {"scopes": named, "title": entry.title}
    assert issue.data is not None
    assert issue.data["entry_id"] == entry.entry_id
    assert issue.data["scopes"] == scopes.replace(", ", " ")


def _reserve_entity(hass: HomeAssistant) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "number", DOMAIN, f"{SITE_FULL}_backup_reserve"
    )
    assert entity_id is not None
    return entity_id


async def _set_reserve(hass: HomeAssistant, percent: int) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: _reserve_entity(hass), "value": percent},
        blocking=True,
    )


def _entry_without_commands(simulator: Simulator) -> MockConfigEntry:
    tokens = simulator.issue_tokens(
        user=USER_MAIN,
        scopes=[scope for scope in DEFAULT_SCOPES if scope != "energy_cmds"],
    )
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=USER_MAIN,
        data=entry_data(
            simulator,
            token={**tokens, "expires_at": time.time() + tokens["expires_in"]},
        ),
    )


async def test_token_without_command_scope_raises_repair(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Refused before any request, with the sign-in-again issue; reads keep it."""
    entry = await setup_sites(hass, _entry_without_commands(simulator))
    assert _issue(hass, entry) is None  # reading needs no command scope
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await _set_reserve(hass, 45)
    assert err.value.translation_key == "missing_command_scope"
    assert err.value.translation_placeholders == {"scope": "Energy Product Commands"}
    assert simulator.count() == before
    _assert_issue(hass, entry, "energy_cmds")

    # The action refuses the same way and keeps the one issue.
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "set_backup_reserve",
            {"config_entry_id": entry.entry_id, "percent": 30},
            blocking=True,
        )
    assert simulator.count() == before
    _assert_issue(hass, entry, "energy_cmds")

    # Working reads do not prove the command scope: the issue stays.
    site = entry.runtime_data.sites[SITE_FULL]
    await site.live.async_refresh()
    await site.info.async_refresh()
    assert site.live.last_update_success
    _assert_issue(hass, entry, "energy_cmds")


async def test_command_refused_for_scope_raises_repair_until_a_command_works(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Tesla's 403 on a command raises the issue; the next accepted command clears it."""
    await setup_sites(hass, config_entry)
    simulator.add_fault(r"/backup$", method="POST", status=403, json=MISSING_CMDS)

    with pytest.raises(HomeAssistantError) as err:
        await _set_reserve(hass, 45)
    assert err.value.translation_key == "command_missing_scope"
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["scope"] == "Energy Product Commands"
    assert simulator.count("backup") == 1
    _assert_issue(hass, config_entry, "energy_cmds")

    # A read that works (the re-read after the refusal did) leaves it open.
    site = config_entry.runtime_data.sites[SITE_FULL]
    await site.live.async_refresh()
    assert site.live.last_update_success
    _assert_issue(hass, config_entry, "energy_cmds")

    await _set_reserve(hass, 45)
    assert simulator.site(SITE_FULL).reserve == 45
    assert _issue(hass, config_entry) is None


async def test_a_new_token_with_the_scope_clears_the_issue(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A new token with the scope (a new sign-in) clears the issue; reads do not.

    Tesla refused a command although the token names the scope: a read with
    that token proves nothing, a new token that carries the scope does.
    """
    await setup_sites(hass, config_entry)
    simulator.add_fault(r"/backup$", method="POST", status=403, json=MISSING_CMDS)
    with pytest.raises(HomeAssistantError):
        await _set_reserve(hass, 45)
    site = config_entry.runtime_data.sites[SITE_FULL]
    await site.live.async_refresh()
    _assert_issue(hass, config_entry, "energy_cmds")

    tokens = simulator.issue_tokens(user=USER_MAIN, scopes=list(DEFAULT_SCOPES))
    hass.config_entries.async_update_entry(
        config_entry,
        data={
            **config_entry.data,
            "token": {**tokens, "expires_at": time.time() + tokens["expires_in"]},
        },
    )
    await site.live.async_refresh()
    assert _issue(hass, config_entry) is None


async def test_read_and_command_scopes_are_named_and_cleared_each_by_its_own(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """One issue names both; a read clears the read scope, a command the command scope."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    simulator.add_fault(r"/live_status$", status=403, json=MISSING_READS)
    await site.live.async_refresh()
    _assert_issue(hass, config_entry, "energy_device_data")

    # site_info stays refused: the re-reads after each command fail too.
    simulator.add_fault(
        r"/site_info$", method="GET", status=403, json=MISSING_READS, times=None
    )
    simulator.add_fault(r"/backup$", method="POST", status=403, json=MISSING_CMDS)
    with pytest.raises(HomeAssistantError):
        await _set_reserve(hass, 45)
    _assert_issue(hass, config_entry, "energy_device_data, energy_cmds")

    # An accepted command proves energy_cmds only. (The entity is unavailable
    # while site_info is refused; the command itself is still sent.)
    await async_set_backup_reserve(site, 45)
    assert simulator.site(SITE_FULL).reserve == 45
    _assert_issue(hass, config_entry, "energy_device_data")

    # A working read proves the rest.
    simulator.clear_faults()
    await site.live.async_refresh()
    assert site.live.last_update_success
    assert _issue(hass, config_entry) is None


async def _start_fix(
    hass_client: ClientSessionGenerator, issue_id: str
) -> dict[str, Any]:
    """Press the issue on the Repairs dashboard: what the dialog gets."""
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == HTTPStatus.OK, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


def _home_assistant_reauth_issues(hass: HomeAssistant) -> list[str]:
    """Home Assistant's own "Authentication expired" issues."""
    return [
        issue_id
        for domain, issue_id in ir.async_get(hass).issues
        if domain == HOMEASSISTANT_DOMAIN and issue_id.startswith("config_entry_reauth")
    ]


@pytest.mark.skipif(
    not HAND_OVER, reason="this Home Assistant's fix flows cannot hand over"
)
@pytest.mark.usefixtures("current_request_with_host")
async def test_command_scope_fix_goes_straight_to_sign_in(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    simulator: Simulator,
    credentials: None,
) -> None:
    """The fix flow hands over to signing in; the issue stays until the scope arrives.

    No "The issue is repaired!" before any sign-in, no second "Authentication
    expired" issue beside it; a login that again lacks the permission leaves
    the issue open; one with it closes it, and commands work.
    """
    entry = await setup_sites(hass, _entry_without_commands(simulator))
    with pytest.raises(ServiceValidationError):
        await _set_reserve(hass, 45)
    issue_id = f"missing_scopes_{entry.entry_id}"
    _assert_issue(hass, entry, "energy_cmds")

    result = await _start_fix(hass_client, issue_id)
    assert result["type"] == "abort"
    assert result["reason"] == "sign_in_started"
    flows = reauth_flows(hass, entry.entry_id)
    assert len(flows) == 1
    assert result["next_flow"] == ["config_flow", flows[0]["flow_id"]]
    assert flows[0]["step_id"] == "reauth_confirm"
    _assert_issue(hass, entry, "energy_cmds")
    assert not _home_assistant_reauth_issues(hass)

    # Pressed again while signing in: the same sign-in, not a second one.
    again = await _start_fix(hass_client, issue_id)
    assert again["next_flow"] == result["next_flow"]
    assert len(reauth_flows(hass, entry.entry_id)) == 1

    # Signing in without the permission again: refused, the issue stays.
    flow_id = flows[0]["flow_id"]
    step = await hass.config_entries.flow.async_configure(flow_id, {})
    redirect = await _approve_granting(
        step["url"], [scope for scope in OAUTH_SCOPES if scope != "energy_cmds"]
    )
    step = await _deliver(hass, hass_client_no_auth, step, redirect)
    assert step["type"] is FlowResultType.ABORT
    assert step["reason"] == "missing_scopes"
    assert step["description_placeholders"] == {"scopes": "Energy Product Commands"}
    await hass.async_block_till_done()
    _assert_issue(hass, entry, "energy_cmds")

    # Signing in with it: the new token carries it, the issue goes.
    result = await _start_fix(hass_client, issue_id)
    (flow,) = reauth_flows(hass, entry.entry_id)
    assert result["next_flow"] == ["config_flow", flow["flow_id"]]
    step = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    step = await _finish_oauth(hass, hass_client_no_auth, approve, step)
    assert step["type"] is FlowResultType.ABORT
    assert step["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None
    assert not _home_assistant_reauth_issues(hass)
    await _set_reserve(hass, 45)
    assert simulator.site(SITE_FULL).reserve == 45


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_new_login_that_still_lacks_the_scope_keeps_the_issue(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Another token without the scope (a refresh, say) proves nothing."""
    entry = await setup_sites(hass, _entry_without_commands(simulator))
    with pytest.raises(ServiceValidationError):
        await _set_reserve(hass, 45)
    tokens = simulator.issue_tokens(
        user=USER_MAIN,
        scopes=[scope for scope in DEFAULT_SCOPES if scope != "energy_cmds"],
    )
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            "token": {**tokens, "expires_at": time.time() + tokens["expires_in"]},
        },
    )
    await entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    _assert_issue(hass, entry, "energy_cmds")
