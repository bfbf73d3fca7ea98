"""The override and cancel_override actions against the simulator: set, end, restore.

Restarts, retries and the repair issue: test_override_restore.py; every
refusal: test_override_validation.py.
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import validate_selector
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components import powerwall_fleet as integration_dir
from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import (
    NO_COMMAND_SCOPES,
    new_entry,
    request_bodies,
    setup_sites,
    tick,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")

HOUR = {"hours": 1}


def device_id(hass: HomeAssistant, site_id: int) -> str:
    """The device of an energy site."""
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, str(site_id)) in device.identifiers:
                return device.id
    raise AssertionError(f"no device for {site_id}")


async def override(hass: HomeAssistant, site_id: int, **data: Any) -> dict[str, Any]:
    """Call powerwall_fleet.override for one site; the site's part of the response."""
    response = await hass.services.async_call(
        DOMAIN,
        "override",
        {"device_id": device_id(hass, site_id), **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    assert len(sites) == 1
    return sites[0]


async def cancel(hass: HomeAssistant, site_id: int) -> dict[str, Any]:
    """Call powerwall_fleet.cancel_override for one site."""
    response = await hass.services.async_call(
        DOMAIN,
        "cancel_override",
        {"device_id": device_id(hass, site_id)},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    return sites[0]


def entity(hass: HomeAssistant, platform: str, site_id: int, key: str) -> str:
    """The entity id of one of a site's entities."""
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{site_id}_{key}"
    )
    assert entity_id is not None, key
    return entity_id


def active(hass: HomeAssistant, site_id: int) -> tuple[str, dict[str, Any]]:
    """The "Override active" state and attributes."""
    state = hass.states.get(entity(hass, "binary_sensor", site_id, "override_active"))
    assert state is not None
    return state.state, dict(state.attributes)


def ends(hass: HomeAssistant, site_id: int) -> str:
    """The "Override ends" state."""
    state = hass.states.get(entity(hass, "sensor", site_id, "override_ends"))
    assert state is not None
    return state.state


async def test_override_ends_and_restores(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Values are set, shown, and at the end exactly the replaced ones come back."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    assert (sim.reserve, sim.mode, sim.export_rule) == (
        20,
        "self_consumption",
        "pv_only",
    )
    assert active(hass, SITE_FULL)[0] == "off"
    assert ends(hass, SITE_FULL) == "unknown"
    start = dt_util.utcnow().replace(microsecond=0)
    freezer.move_to(start)

    result = await override(
        hass,
        SITE_FULL,
        backup_reserve=100,
        export_rule="never",
        duration={"hours": 2},
    )

    assert (sim.reserve, sim.export_rule) == (100, "never")
    ends_at = start + timedelta(hours=2)
    assert result == {
        "site_id": SITE_FULL,
        "device_id": device_id(hass, SITE_FULL),
        "name": "Home",
        "values": {"backup_reserve": 100, "export_rule": "never"},
        "changed": ["backup_reserve", "export_rule"],
        "previous": {"backup_reserve": 20, "export_rule": "pv_only"},
        "restore": {"backup_reserve": 20, "export_rule": "pv_only"},
        "ends_at": ends_at.isoformat(),
        "target_percent": None,
    }
    state, attributes = active(hass, SITE_FULL)
    assert state == "on"
    assert attributes["overridden"] == {"backup_reserve": 100, "export_rule": "never"}
    assert attributes["restore"] == {"backup_reserve": 20, "export_rule": "pv_only"}
    assert dt_util.parse_datetime(ends(hass, SITE_FULL)) == ends_at

    await tick(hass, freezer, 7199)
    assert sim.reserve == 100
    await tick(hass, freezer, 2)

    assert (sim.reserve, sim.export_rule) == (20, "pv_only")
    assert request_bodies(simulator, "backup", SITE_FULL) == [
        {"backup_reserve_percent": 100},
        {"backup_reserve_percent": 20},
    ]
    assert request_bodies(simulator, "grid_import_export", SITE_FULL) == [
        {"customer_preferred_export_rule": "never"},
        {"customer_preferred_export_rule": "pv_only"},
    ]
    assert active(hass, SITE_FULL)[0] == "off"
    assert ends(hass, SITE_FULL) == "unknown"


async def test_cancel_restores_at_once(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """cancel_override restores now; a second cancel (no override) sends nothing."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(
        hass, SITE_FULL, operation_mode="backup", backup_reserve=90, duration="01:00:00"
    )
    assert (sim.mode, sim.reserve) == ("backup", 90)
    # Backup-only first, then 90 %.
    assert [r.endpoint for r in simulator.requests if r.method == "POST"] == [
        "operation",
        "backup",
    ]

    result = await cancel(hass, SITE_FULL)

    assert (sim.mode, sim.reserve) == ("self_consumption", 20)
    assert result["restored"] == {
        "backup_reserve": 20,
        "operation_mode": "self_consumption",
    }
    # 20 % first (valid in backup-only), then the mode.
    assert [r.endpoint for r in simulator.requests if r.method == "POST"] == [
        "operation",
        "backup",
        "backup",
        "operation",
    ]
    assert active(hass, SITE_FULL)[0] == "off"
    before = simulator.count()
    result = await cancel(hass, SITE_FULL)
    assert result["was_active"] is False
    assert simulator.count() == before


async def test_cancel_button(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The site's "Cancel override" button restores too."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(hass, SITE_FULL, storm_watch=False, duration={"minutes": 30})
    assert sim.storm_mode_enabled is False

    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity(hass, "button", SITE_FULL, "cancel_override")},
        blocking=True,
    )

    assert sim.storm_mode_enabled is True
    assert active(hass, SITE_FULL)[0] == "off"


async def test_action_descriptions(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """services.yaml describes both actions with valid selectors; every field is translated."""
    await setup_sites(hass, config_entry)
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions["override"]["fields"]) == {
        "operation_mode",
        "backup_reserve",
        "export_rule",
        "grid_charging",
        "storm_watch",
        "duration",
        "until",
        "target_percent",
        "preset",
        "device_id",
        "config_entry_id",
    }
    assert set(descriptions["cancel_override"]["fields"]) == {
        "device_id",
        "config_entry_id",
    }
    strings = json.loads(
        (Path(integration_dir.__file__).parent / "translations" / "en.json").read_text()
    )
    for name in ("override", "cancel_override"):
        assert strings["services"][name]["name"]
        assert "MERGES" not in strings["services"][name]["description"]
        for field_name, field in descriptions[name]["fields"].items():
            validate_selector(field["selector"])
            text = strings["services"][name]["fields"][field_name]["description"]
            assert text
            # The form shows the options' labels: no raw keys beside them.
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), (field_name, text)
            options = field["selector"].get("select", {})
            if "translation_key" in options:
                translated = strings["selector"][options["translation_key"]]["options"]
                assert set(translated) == set(options["options"])
    assert "merges into it" in strings["services"]["override"]["description"]
    # A time of day or a date and time: a text box takes both.
    assert set(descriptions["override"]["fields"]["until"]["selector"]) == {"text"}


async def test_no_command_scope_refused(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A login without energy_cmds: refused before any request."""
    entry = new_entry(simulator, scopes=NO_COMMAND_SCOPES)
    await setup_sites(hass, entry)
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await override(hass, SITE_FULL, backup_reserve=100, duration={"hours": 1})
    assert err.value.translation_key == "missing_command_scope"
    assert simulator.count() == before


async def test_refused_change_while_starting(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Tesla refuses the second change: the first stays overridden and is restored at the end."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    simulator.add_fault(r"/grid_import_export$", method="POST", status=400)
    with pytest.raises(HomeAssistantError) as err:
        await override(
            hass,
            SITE_FULL,
            backup_reserve=100,
            export_rule="never",
            duration="01:00:00",
        )
    assert err.value.translation_key == "command_refused"
    assert sim.reserve == 100
    assert active(hass, SITE_FULL)[1]["overridden"] == {"backup_reserve": 100}
    await tick(hass, freezer, 3601)
    assert (sim.reserve, sim.export_rule) == (20, "pv_only")
    assert active(hass, SITE_FULL)[0] == "off"


async def test_entities_where_a_setting_can_be_overridden(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The override entities exist where the control table offers a setting to override.

    A solar-only site has none (its export rule needs a battery too, as its
    select and its command do): no override entities, and an override of it
    is refused before any request. A Powerwall site gets them and is
    overridden.
    """
    await setup_sites(hass, config_entry, SITE_SOLAR_ONLY, SITE_PW3)
    registry = er.async_get(hass)
    for platform, key in (
        ("binary_sensor", "override_active"),
        ("sensor", "override_ends"),
        ("button", "cancel_override"),
    ):
        unique_id = f"{SITE_SOLAR_ONLY}_{key}"
        assert registry.async_get_entity_id(platform, DOMAIN, unique_id) is None
        entity(hass, platform, SITE_PW3, key)
    state, attributes = active(hass, SITE_PW3)
    assert state == "off"
    assert (attributes["overridden"], attributes["restore"]) == ({}, {})
    assert ends(hass, SITE_PW3) == "unknown"
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await override(hass, SITE_SOLAR_ONLY, export_rule="never", duration=HOUR)
    assert err.value.translation_key == "no_export_rule"
    assert simulator.count() == before
    assert simulator.site(SITE_SOLAR_ONLY).export_rule == "pv_only"
    result = await override(hass, SITE_PW3, export_rule="never", duration=HOUR)
    assert result["previous"] == {"export_rule": "battery_ok"}
    assert simulator.site(SITE_PW3).export_rule == "never"


async def test_cancel_button_only_pressable_with_an_override(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Without an override the button is unavailable; with one (or its restore), it is not."""
    await setup_sites(hass, config_entry)
    button = entity(hass, "button", SITE_FULL, "cancel_override")

    def button_state() -> str:
        state = hass.states.get(button)
        assert state is not None
        return state.state

    assert button_state() == "unavailable"
    await override(hass, SITE_FULL, backup_reserve=100, duration=HOUR)
    assert button_state() == "unknown"  # a button that was never pressed
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: button}, blocking=True
    )
    assert simulator.site(SITE_FULL).reserve == 20
    assert button_state() == "unavailable"
