"""A login that may not send commands raises the sign-in-again repair issue.

The refusal before any request (the token lacks ``energy_cmds``) and Tesla's
403 for a command both raise the same fixable ``missing_scopes`` issue as a
refused read; a command Tesla accepts clears it, a read does not (the issue's
rule lives in issues.py).
"""

from __future__ import annotations

from http import HTTPStatus

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.commands import async_set_backup_reserve
from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import (
    NO_COMMAND_SCOPES,
    new_entry,
    reauth_flows,
    setup_sites,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

pytestmark = pytest.mark.usefixtures("no_retry_delay")

MISSING_CMDS = {
    "response": None,
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_cmds",
}
MISSING_READS = {
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_device_data",
}


@pytest.fixture(autouse=True)
async def repairs(hass: HomeAssistant) -> None:
    """The Repairs dashboard's backend."""
    assert await async_setup_component(hass, "repairs", {})


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"missing_scopes_{entry.entry_id}"
    )


def _assert_issue(hass: HomeAssistant, entry: MockConfigEntry, scopes: str) -> None:
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "missing_scopes"
    assert issue.translation_placeholders == {"scopes": scopes, "title": entry.title}
    assert issue.data == {"entry_id": entry.entry_id}


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


async def test_token_without_command_scope_raises_repair(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Refused before any request, with the sign-in-again issue; reads keep it."""
    entry = await setup_sites(hass, new_entry(simulator, scopes=NO_COMMAND_SCOPES))
    assert _issue(hass, entry) is None  # reading needs no command scope
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await _set_reserve(hass, 45)
    assert err.value.translation_key == "missing_command_scope"
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


async def test_command_scope_fix_starts_reauth(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    credentials: None,
) -> None:
    """The issue raised by a command's refusal signs in again, like a read's."""
    entry = await setup_sites(hass, new_entry(simulator, scopes=NO_COMMAND_SCOPES))
    with pytest.raises(ServiceValidationError):
        await _set_reserve(hass, 45)
    issue_id = f"missing_scopes_{entry.entry_id}"
    assert not reauth_flows(hass, entry.entry_id)

    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == HTTPStatus.OK, await resp.text()
    result = await resp.json()
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "title": entry.title,
        "site_id": "",
        "scopes": "energy_cmds",
    }
    resp = await client.post(f"/api/repairs/issues/fix/{result['flow_id']}", json={})
    assert resp.status == HTTPStatus.OK, await resp.text()
    assert (await resp.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    assert _issue(hass, entry) is None
    assert len(reauth_flows(hass, entry.entry_id)) == 1
