"""Diagnostics: useful for a bug report, nothing secret or identifying in it."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.issues import SITE_UNAVAILABLE, async_raise_issue
from tests.integration.entity_helpers import entry_data, new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    CLIENT_SECRET,
    PARTNER_DOMAIN,
    SITE_DEAD,
    SITE_FULL,
    USER_MAIN,
)

# Values that are times of this run; the snapshot shows them as "<time>".
TIMES = frozenset({"expires_at", "since", "last_success", "throttled_until"})
SITE_NAME = "Maple Street Cottage"


# Entities are not part of the diagnostics.
pytestmark = pytest.mark.platforms()


async def _loaded_entry(hass: HomeAssistant, simulator: Simulator) -> MockConfigEntry:
    """The main account with its full site and a dead one."""
    simulator.site(SITE_FULL).site_name = SITE_NAME
    entry = new_entry(
        simulator,
        title=SITE_NAME,
        options={"live_interval": 30, "info_interval": 15, "history_interval": 5},
        site_ids=[SITE_FULL, SITE_DEAD],
    )
    await setup_sites(hass, entry)
    # As after an hour of the dead site answering "gone" (when: test_coordinator).
    async_raise_issue(hass, SITE_UNAVAILABLE, entry, SITE_DEAD)
    return entry


def _secrets(simulator: Simulator, entry: MockConfigEntry) -> list[str]:
    """Strings that must never appear in diagnostics."""
    token = entry.data["token"]
    full = simulator.site(SITE_FULL).config
    dead = simulator.site(SITE_DEAD).config
    site_info = entry.runtime_data.sites[SITE_FULL].info.data.raw
    batteries = site_info["components"]["batteries"]
    return [
        token["access_token"],
        token["refresh_token"],
        token["id_token"],
        CLIENT_ID,
        CLIENT_SECRET,
        PARTNER_DOMAIN,
        USER_MAIN,
        SITE_NAME,
        str(SITE_FULL),
        str(SITE_DEAD),
        full.gateway_id,
        full.gateway_serial,
        full.asset_site_id,
        dead.gateway_id,
        dead.asset_site_id,
        full.installation_date,
        str(full.latitude),
        str(full.longitude),
        "Simulated Way",
        *(battery["din"] for battery in batteries),
        *(battery["serial_number"] for battery in batteries),
        *(connector["din"] for connector in full.wall_connectors),
        *(
            name
            for name in (dead.site_name,)
            if name is not None  # dead sites may have no name
        ),
    ]


async def test_diagnostics_redact_secrets_and_identities(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    credentials: None,
) -> None:
    """No token, secret, partner domain, name, id, DIN or place in the text."""
    entry = await _loaded_entry(hass, simulator)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)

    for secret in _secrets(simulator, entry):
        assert secret not in text, secret

    data: Any = diagnostics
    assert data["entry"]["title"] == REDACTED
    assert data["entry"]["data"]["token"]["access_token"] == REDACTED
    assert data["entry"]["data"]["partner_domain"] == REDACTED
    assert data["entry"]["granted_scopes"] == [
        "energy_cmds",
        "energy_device_data",
        "offline_access",
        "openid",
    ]
    assert data["client"]["base_url"] == simulator.base_url("na")
    assert data["client"]["region"] == "na"
    full, dead = data["sites"]
    assert full["site_info"]["site_name"] == REDACTED
    assert full["site_info"]["components"]["batteries"][0]["din"] == REDACTED
    assert full["live_status"]["load_power"] is not None
    assert full["coordinators"]["live_status"]["last_update_success"] is True
    assert full["requests"]["by_endpoint"] == {"live_status": 1, "site_info": 1}
    assert dead["site_info"] is None
    assert dead["coordinators"]["site_info"]["last_error"] == "NotFound"
    assert [issue["translation_key"] for issue in data["issues"]] == [
        "site_unavailable"
    ]


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    credentials: None,
    snapshot: SnapshotAssertion,
) -> None:
    """The whole picture, stable across runs (times and simulator URL masked)."""
    entry = await _loaded_entry(hass, simulator)
    # Issues of other entries and sites are left out.
    for issue_id in ("rate_limited_someotherentry", "site_unavailable_1234"):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="rate_limited",
            translation_placeholders={"title": "Other"},
        )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    masked = json.loads(
        json.dumps(diagnostics).replace(simulator.url, "http://simulator")
    )
    # JSON snapshots read the same with every syrupy version we test with.
    assert _mask_times(masked) == snapshot.use_extension(JSONSnapshotExtension)


def _mask_times(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: "<time>" if key in TIMES and value is not None else _mask_times(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_mask_times(value) for value in data]
    return data


@pytest.mark.parametrize("token", [{"access_token": 42}, "not a token", {}])
async def test_diagnostics_of_an_entry_not_loaded(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    credentials: None,
    token: Any,
) -> None:
    """An entry that failed to load still gives its (redacted) configuration."""
    assert await async_setup_component(hass, DOMAIN, {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Somewhere",
        data={**entry_data(simulator), "token": token},
    )
    entry.add_to_hass(hass)
    diagnostics: Any = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"] == {
        "title": REDACTED,
        "state": "not_loaded",
        "data": {**diagnostics["entry"]["data"], "site_ids": REDACTED},
        "options": {},
        "granted_scopes": None,
    }
    assert "sites" not in diagnostics
    assert "client" not in diagnostics
    assert PARTNER_DOMAIN not in json.dumps(diagnostics)
