"""Selects: operation mode and energy export rule, against the simulator.

Sending, confirming and refusing a choice are checked for every control in
test_commands.py; here what only a select has.
"""

from __future__ import annotations

from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import setup_sites, state_of
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY


def _entity_id(hass: HomeAssistant, site_id: int, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        SELECT_DOMAIN, DOMAIN, f"{site_id}_{key}"
    )


async def _select(hass: HomeAssistant, entity_id: str, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


async def test_selects_only_where_the_site_has_them(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Battery sites get the mode; solar + battery the export rule; solar only neither."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY)
    mode = _entity_id(hass, SITE_FULL, "operation_mode")
    rule = _entity_id(hass, SITE_FULL, "export_rule")
    assert mode == "select.home_operation_mode"
    assert rule == "select.home_energy_exports"
    assert state_of(hass, mode) == "self_consumption"
    assert state_of(hass, rule) == "pv_only"
    state = hass.states.get(mode)
    assert state is not None
    assert state.attributes["options"] == ["self_consumption", "autonomous", "backup"]
    state = hass.states.get(rule)
    assert state is not None
    assert state.attributes["options"] == ["battery_ok", "pv_only", "never"]
    entry = er.async_get(hass).async_get(rule)
    assert entry is not None
    assert entry.entity_category == "config"

    pw3_mode = _entity_id(hass, SITE_PW3, "operation_mode")
    pw3_rule = _entity_id(hass, SITE_PW3, "export_rule")
    assert pw3_mode is not None
    assert pw3_rule is not None
    assert state_of(hass, pw3_mode) == "autonomous"
    assert state_of(hass, pw3_rule) == "battery_ok"

    assert _entity_id(hass, SITE_SOLAR_ONLY, "operation_mode") is None
    assert _entity_id(hass, SITE_SOLAR_ONLY, "export_rule") is None


async def test_export_never_and_back(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The rule "never" is shown from the re-read and undone again."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "export_rule")
    assert entity_id is not None
    await _select(hass, entity_id, "never")
    assert simulator.site(SITE_FULL).export_rule == "never"
    assert state_of(hass, entity_id) == "never"
    await _select(hass, entity_id, "pv_only")
    assert state_of(hass, entity_id) == "pv_only"


async def test_unknown_option_refused_before_sending(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Home Assistant refuses an option the select does not offer."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "operation_mode")
    assert entity_id is not None
    before = simulator.count()
    with pytest.raises(ServiceValidationError):
        await _select(hass, entity_id, "off_grid")
    assert simulator.count() == before


async def test_export_rule_refused_once_the_site_lost_its_solar(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An export rule needs solar and a battery: refused before any request."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "export_rule")
    assert entity_id is not None
    simulator.override_fields(SITE_FULL, "site_info", set={"components.solar": False})
    await config_entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await _select(hass, entity_id, "never")

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "no_export_rule"
    assert err.value.translation_placeholders == {"site": "Home"}
    assert simulator.count() == before
    assert simulator.site(SITE_FULL).export_rule == "pv_only"


async def test_unavailable_when_value_missing_or_unknown(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A missing field or a value we do not know makes the select unavailable.

    (A failed poll: test_commands.py, for every control.)
    """
    await setup_sites(hass, config_entry)
    info = config_entry.runtime_data.sites[SITE_FULL].info
    mode = _entity_id(hass, SITE_FULL, "operation_mode")
    rule = _entity_id(hass, SITE_FULL, "export_rule")
    assert mode is not None
    assert rule is not None

    simulator.override_fields(
        SITE_FULL,
        "site_info",
        set={"default_real_mode": "something_new"},
        remove=[
            "components.customer_preferred_export_rule",
            "components.non_export_configured",
        ],
    )
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, mode) == STATE_UNAVAILABLE
    assert state_of(hass, rule) == STATE_UNAVAILABLE

    simulator.clear_overrides()
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, mode) == "self_consumption"
    assert state_of(hass, rule) == "pv_only"
