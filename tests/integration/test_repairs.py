"""Repair issues raised from the table, and their flows: sign in again, remove a dead site."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import CONF_SITE_IDS, DOMAIN
from custom_components.powerwall_fleet.issues import (
    ISSUES,
    MISSING_SCOPES,
    OVERRIDE_RESTORE,
    RATE_LIMITED,
    SITE_UNAVAILABLE,
    RepairIssue,
    async_clear_issue,
    async_raise_issue,
)
from custom_components.powerwall_fleet.repairs import HAND_OVER, async_create_fix_flow
from tests.integration.entity_helpers import device_sites, reauth_flows, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_FULL

SCOPES_REFUSED = {
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_device_data",
}


pytestmark = [pytest.mark.platforms(), pytest.mark.usefixtures("repairs")]


async def _start_fix(
    hass_client: ClientSessionGenerator, issue_id: str
) -> tuple[Any, dict[str, Any]]:
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == HTTPStatus.OK, await resp.text()
    return client, await resp.json()


async def _confirm(client: Any, flow_id: str) -> dict[str, Any]:
    resp = await client.post(f"/api/repairs/issues/fix/{flow_id}", json={})
    assert resp.status == HTTPStatus.OK, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


@pytest.mark.skipif(
    not HAND_OVER, reason="this Home Assistant's fix flows cannot hand over"
)
async def test_missing_scopes_fix_hands_over_to_sign_in(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """The fix flow starts signing in and hands the dialog over; the issue stays.

    The issue names the permission as the developer portal does. No
    "Authentication expired" issue of Home Assistant's joins it.
    """
    await setup_sites(hass, config_entry)
    simulator.add_fault(r"/live_status$", status=403, json=SCOPES_REFUSED)
    await config_entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    issue_id = f"missing_scopes_{config_entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "scopes": "Energy Product Information",
        "title": config_entry.title,
    }
    assert not reauth_flows(hass, config_entry.entry_id)

    _, result = await _start_fix(hass_client, issue_id)
    await hass.async_block_till_done()
    assert result["type"] == "abort"
    assert result["reason"] == "sign_in_started"
    (flow,) = reauth_flows(hass, config_entry.entry_id)
    assert result["next_flow"] == ["config_flow", flow["flow_id"]]
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert [key for key in ir.async_get(hass).issues if key[0] != DOMAIN] == []


async def test_missing_scopes_fix_without_hand_over(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """A Home Assistant whose fix flows cannot hand over: confirm, then sign-in starts.

    The dialog says signing in has started and where; the issue stays.
    """
    await setup_sites(hass, config_entry)
    simulator.add_fault(r"/live_status$", status=403, json=SCOPES_REFUSED)
    await config_entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    issue_id = f"missing_scopes_{config_entry.entry_id}"

    with patch("custom_components.powerwall_fleet.repairs.HAND_OVER", False):
        client, result = await _start_fix(hass_client, issue_id)
        assert result["type"] == "form"
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"]["title"] == config_entry.title
        assert (
            result["description_placeholders"]["scopes"] == "Energy Product Information"
        )
        result = await _confirm(client, result["flow_id"])
    await hass.async_block_till_done()
    assert result["type"] == "abort"
    assert result["reason"] == "sign_in_started"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert len(reauth_flows(hass, config_entry.entry_id)) == 1


async def test_site_unavailable_fix_removes_site_and_device(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """Confirming drops the dead site from the entry; its device goes on reload."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_DEAD)
    assert device_sites(hass, config_entry) == {str(SITE_FULL), str(SITE_DEAD)}
    issue_id = f"site_unavailable_{SITE_DEAD}"
    # As after an hour of the site answering "gone" (when: test_coordinator).
    async_raise_issue(hass, SITE_UNAVAILABLE, config_entry, SITE_DEAD)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    client, result = await _start_fix(hass_client, issue_id)
    assert result["type"] == "form"
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "title": config_entry.title,
        "site_id": str(SITE_DEAD),
    }
    # A renamed entry shows its current title.
    hass.config_entries.async_update_entry(config_entry, title="Renamed")
    _, again = await _start_fix(hass_client, issue_id)
    assert again["description_placeholders"]["title"] == "Renamed"
    simulator.reset_counts()

    result = await _confirm(client, result["flow_id"])
    await hass.async_block_till_done()

    assert result["type"] == "create_entry"
    assert config_entry.data[CONF_SITE_IDS] == [SITE_FULL]
    assert config_entry.state is ConfigEntryState.LOADED
    assert set(config_entry.runtime_data.sites) == {SITE_FULL}
    assert simulator.count("products") == 1  # reloaded
    assert simulator.count(site_id=SITE_DEAD) == 0
    assert device_sites(hass, config_entry) == {str(SITE_FULL)}
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_site_already_removed_only_closes_issue(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """The site is no longer in the entry: nothing to change, no reload."""
    await setup_sites(hass, config_entry)
    issue_id = f"site_unavailable_{SITE_DEAD}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="site_unavailable",
        translation_placeholders={"site_id": str(SITE_DEAD), "title": "Home"},
        data={"entry_id": config_entry.entry_id, "site_id": str(SITE_DEAD)},
    )
    simulator.reset_counts()

    client, result = await _start_fix(hass_client, issue_id)
    result = await _confirm(client, result["flow_id"])
    await hass.async_block_till_done()

    assert result["type"] == "create_entry"
    assert config_entry.data[CONF_SITE_IDS] == [SITE_FULL]
    assert simulator.count("products") == 0
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize(
    ("issue_id", "translation_key", "data"),
    [
        ("missing_scopes_gone", "missing_scopes", {"entry_id": "gone"}),
        (
            f"site_unavailable_{SITE_DEAD}",
            "site_unavailable",
            {"entry_id": "gone", "site_id": str(SITE_DEAD)},
        ),
        ("missing_scopes_nodata", "missing_scopes", None),
    ],
)
async def test_fix_for_missing_entry_closes_issue(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    issue_id: str,
    translation_key: str,
    data: dict[str, str | int | float | None] | None,
) -> None:
    """An issue left over from a removed entry is simply closed."""
    assert await async_setup_component(hass, DOMAIN, {})
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=translation_key,
        translation_placeholders={"site_id": "1", "title": "Old", "scopes": "x"},
        data=data,
    )
    client, result = await _start_fix(hass_client, issue_id)
    assert result["description_placeholders"]["title"] == "Old"
    result = await _confirm(client, result["flow_id"])
    assert result["type"] == "create_entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert not hass.config_entries.flow.async_progress()


async def test_fix_ignores_entries_of_other_integrations(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """An entry id that belongs to another integration is never touched."""
    assert await async_setup_component(hass, DOMAIN, {})
    other = MockConfigEntry(domain="other_integration", data={CONF_SITE_IDS: [1]})
    other.add_to_hass(hass)
    issue_id = "site_unavailable_1"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="site_unavailable",
        translation_placeholders={"site_id": "1", "title": "Other"},
        data={"entry_id": other.entry_id, "site_id": "1"},
    )
    client, result = await _start_fix(hass_client, issue_id)
    result = await _confirm(client, result["flow_id"])
    assert result["type"] == "create_entry"
    assert other.data == {CONF_SITE_IDS: [1]}


async def test_explanatory_issues_have_no_fix_flow(hass: HomeAssistant) -> None:
    """Rate limiting and partner registration only explain what to do."""
    for issue_id in ("rate_limited_abc", "partner_not_registered_abc"):
        with pytest.raises(ValueError, match="no fix flow"):
            await async_create_fix_flow(hass, issue_id, None)


def _raise(
    hass: HomeAssistant, issue: RepairIssue, entry: MockConfigEntry, site_id: int
) -> None:
    """Raise ``issue`` of the entry (or of its site) with made-up texts."""
    given = {
        name: f"<{name}>"
        for name in issue.placeholders
        if name not in {"title", "site_id"}
    }
    site = site_id if issue.owner == "site" else None
    async_raise_issue(hass, issue, entry, site, **given)


@pytest.mark.parametrize("issue", ISSUES, ids=lambda issue: issue.translation_key)
async def test_every_issue_is_raised_and_cleared_from_its_row(
    hass: HomeAssistant, issue: RepairIssue
) -> None:
    """The row gives the id, severity, fixability, texts and the fix flow's data."""
    entry = MockConfigEntry(domain=DOMAIN, title="Home", entry_id="entry1")
    entry.add_to_hass(hass)
    _raise(hass, issue, entry, SITE_DEAD)
    owner: str | int = SITE_DEAD if issue.owner == "site" else "entry1"
    found = ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id(owner))
    assert found is not None
    assert found.translation_key == issue.translation_key
    assert found.severity is issue.severity
    assert found.is_fixable is issue.is_fixable
    assert found.learn_more_url == issue.learn_more_url
    placeholders = found.translation_placeholders or {}
    assert sorted(placeholders) == sorted(issue.placeholders)
    assert placeholders["title"] == "Home"
    if "site_id" in placeholders:
        assert placeholders["site_id"] == str(SITE_DEAD)
    expected_data: dict[str, str] = {"entry_id": "entry1"}
    if issue.owner == "site":
        expected_data["site_id"] = str(SITE_DEAD)
    assert found.data == expected_data

    async_clear_issue(hass, issue, owner)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id(owner)) is None


async def test_an_issue_raised_with_the_wrong_texts_is_refused(
    hass: HomeAssistant,
) -> None:
    """A missing or unknown placeholder, or a site issue without its site, raises nothing."""
    entry = MockConfigEntry(domain=DOMAIN, title="Home")
    entry.add_to_hass(hass)
    with pytest.raises(ValueError, match="scopes"):
        async_raise_issue(hass, MISSING_SCOPES, entry)
    with pytest.raises(ValueError, match="values"):
        async_raise_issue(hass, OVERRIDE_RESTORE, entry, SITE_DEAD, site="Cabin")
    with pytest.raises(ValueError, match="extra"):
        async_raise_issue(hass, RATE_LIMITED, entry, extra="x")
    with pytest.raises(ValueError, match="site"):
        async_raise_issue(hass, SITE_UNAVAILABLE, entry)
    with pytest.raises(ValueError, match="site"):
        async_raise_issue(hass, RATE_LIMITED, entry, SITE_DEAD)
    assert not ir.async_get(hass).issues


async def test_removing_an_entry_closes_every_issue_it_can_have(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Each issue of the table, of the entry or of either site, goes with the entry."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_DEAD)
    other = MockConfigEntry(domain=DOMAIN, title="Other", entry_id="other")
    other.add_to_hass(hass)
    for issue in ISSUES:
        for site_id in (SITE_FULL, SITE_DEAD):
            _raise(hass, issue, config_entry, site_id)
    _raise(hass, RATE_LIMITED, other, SITE_FULL)
    registry = ir.async_get(hass)
    entry_rows = [issue for issue in ISSUES if issue.owner == "entry"]
    expected = len(entry_rows) + 2 * (len(ISSUES) - len(entry_rows)) + 1
    assert len([key for key in registry.issues if key[0] == DOMAIN]) == expected

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert {issue_id for domain, issue_id in registry.issues if domain == DOMAIN} == {
        "rate_limited_other"
    }
