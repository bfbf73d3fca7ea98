"""Switches: storm watch and grid charging, against the simulator.

Sending, confirming and refusing a turn are checked for every control in
test_commands.py; here what only a switch has.
"""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import setup_sites, state_of
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")


SWITCH_DOMAIN = "switch"


def _entity_id(hass: HomeAssistant, site_id: int, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        SWITCH_DOMAIN, DOMAIN, f"{site_id}_{key}"
    )


async def test_switches_only_where_the_site_has_them(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Storm watch where capable, grid charging with battery and solar."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY)
    storm = _entity_id(hass, SITE_FULL, "storm_watch")
    grid = _entity_id(hass, SITE_FULL, "grid_charging")
    assert storm == "switch.home_storm_watch"
    assert grid == "switch.home_grid_charging"
    assert state_of(hass, storm) == STATE_ON
    assert state_of(hass, grid) == STATE_ON
    registry = er.async_get(hass)
    grid_entry = registry.async_get(grid)
    assert grid_entry is not None
    assert grid_entry.entity_category == "config"

    pw3_storm = _entity_id(hass, SITE_PW3, "storm_watch")
    assert pw3_storm is not None
    assert state_of(hass, pw3_storm) == STATE_OFF
    assert _entity_id(hass, SITE_PW3, "grid_charging") is not None

    assert _entity_id(hass, SITE_SOLAR_ONLY, "storm_watch") is None
    assert _entity_id(hass, SITE_SOLAR_ONLY, "grid_charging") is None


async def test_unavailable_when_value_missing(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A missing field makes the switch unavailable (a failed poll: test_commands.py)."""
    await setup_sites(hass, config_entry)
    info = config_entry.runtime_data.sites[SITE_FULL].info
    storm = _entity_id(hass, SITE_FULL, "storm_watch")
    grid = _entity_id(hass, SITE_FULL, "grid_charging")
    assert storm is not None
    assert grid is not None

    simulator.override_fields(SITE_FULL, "site_info", remove=["user_settings"])
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, storm) == STATE_UNAVAILABLE
    # A missing "disallow" flag means charging from the grid is allowed.
    assert state_of(hass, grid) == STATE_ON

    simulator.clear_overrides()
    simulator.override_fields(SITE_FULL, "site_info", remove=["components"])
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, grid) == STATE_UNAVAILABLE

    simulator.clear_overrides()
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, storm) == STATE_ON
    assert state_of(hass, grid) == STATE_ON
