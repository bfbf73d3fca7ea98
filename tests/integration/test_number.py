"""Numbers: backup reserve and off-grid vehicle charging reserve, against the simulator.

Sending, confirming and refusing a value are checked for every control in
test_commands.py; here what only a number has (rounding, the reserve rules).
"""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import request_bodies, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")


NUMBER_DOMAIN = "number"
SERVICE_SET_VALUE = "set_value"
ATTR_VALUE = "value"


def _entity_id(hass: HomeAssistant, site_id: int, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        NUMBER_DOMAIN, DOMAIN, f"{site_id}_{key}"
    )


def _value(hass: HomeAssistant, entity_id: str) -> float | str:
    state = hass.states.get(entity_id)
    assert state is not None
    try:
        return float(state.state)
    except ValueError:
        return state.state


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def test_numbers_only_where_the_site_has_them(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Full site: both; Powerwall 3 without EV reserve support: reserve only; solar only: none."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY)
    reserve = _entity_id(hass, SITE_FULL, "backup_reserve")
    ev_reserve = _entity_id(hass, SITE_FULL, "off_grid_vehicle_charging_reserve")
    assert reserve == "number.home_backup_reserve"
    assert ev_reserve == "number.home_off_grid_vehicle_charging_reserve"
    assert _value(hass, reserve) == 20
    assert _value(hass, ev_reserve) == 0
    state = hass.states.get(reserve)
    assert state is not None
    assert state.attributes["min"] == 0
    assert state.attributes["max"] == 100
    assert state.attributes["step"] == 1
    assert state.attributes["mode"] == "box"
    assert state.attributes["unit_of_measurement"] == "%"
    assert state.attributes["friendly_name"] == "Home Backup reserve"

    pw3 = _entity_id(hass, SITE_PW3, "backup_reserve")
    assert pw3 is not None
    assert _value(hass, pw3) == 30
    assert _entity_id(hass, SITE_PW3, "off_grid_vehicle_charging_reserve") is None

    assert _entity_id(hass, SITE_SOLAR_ONLY, "backup_reserve") is None
    assert (
        _entity_id(hass, SITE_SOLAR_ONLY, "off_grid_vehicle_charging_reserve") is None
    )


async def test_reserve_rounded_to_whole_percent(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A script's 33.5 becomes 34 (half up); Tesla takes whole percent only."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    await _set(hass, entity_id, 33.5)
    assert request_bodies(simulator, "backup") == [{"backup_reserve_percent": 34}]
    assert _value(hass, entity_id) == 34


@pytest.mark.parametrize("percent", [81, 90, 99])
async def test_reserve_81_to_99_needs_backup_mode(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    percent: int,
) -> None:
    """Outside backup-only mode 81-99 % is refused before any request."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, entity_id, percent)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "reserve_needs_backup_mode"
    assert err.value.translation_placeholders == {"percent": str(percent)}
    assert simulator.count() == before
    assert _value(hass, entity_id) == 20
    assert simulator.site(SITE_FULL).reserve == 20


async def test_reserve_81_to_99_in_backup_mode_and_100_anywhere(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """100 % is fine in any mode; 81-99 % once the site is in backup-only mode."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    await _set(hass, entity_id, 100)
    assert simulator.site(SITE_FULL).reserve == 100
    assert _value(hass, entity_id) == 100

    simulator.site(SITE_FULL).mode = "backup"
    await config_entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    await _set(hass, entity_id, 90)
    assert simulator.site(SITE_FULL).reserve == 90
    assert _value(hass, entity_id) == 90


async def test_reserve_refused_once_the_site_lost_its_battery(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A reserve needs a battery: refused before any request."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    simulator.override_fields(SITE_FULL, "site_info", set={"components.battery": False})
    await config_entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, entity_id, 40)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "no_battery"
    assert err.value.translation_placeholders == {"site": "Home"}
    assert simulator.count() == before
    assert simulator.site(SITE_FULL).reserve == 20


async def test_reserve_outside_range_refused_by_home_assistant(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The entity's 0-100 range: nothing is sent for 101 or -1."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    before = simulator.count()
    for value in (101, -1):
        with pytest.raises(ServiceValidationError):
            await _set(hass, entity_id, value)
    assert simulator.count() == before


async def test_off_grid_vehicle_charging_reserve_has_no_backup_mode_rule(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """81-99 % is fine for the EV reserve in any mode (rounded like the other)."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "off_grid_vehicle_charging_reserve")
    assert entity_id is not None

    await _set(hass, entity_id, 89.5)

    assert request_bodies(simulator, "off_grid_vehicle_charging_reserve") == [
        {"off_grid_vehicle_charging_reserve_percent": 90}
    ]
    assert simulator.site(SITE_FULL).off_grid_vehicle_charging_reserve_percent == 90
    assert _value(hass, entity_id) == 90


async def test_unavailable_when_value_missing(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A payload without the field makes the number unavailable (a failed poll: test_commands.py)."""
    await setup_sites(hass, config_entry)
    entry = config_entry
    info = entry.runtime_data.sites[SITE_FULL].info
    reserve = _entity_id(hass, SITE_FULL, "backup_reserve")
    ev_reserve = _entity_id(hass, SITE_FULL, "off_grid_vehicle_charging_reserve")
    assert reserve is not None
    assert ev_reserve is not None

    simulator.override_fields(SITE_FULL, "site_info", remove=["backup_reserve_percent"])
    await info.async_refresh()
    await hass.async_block_till_done()
    assert _value(hass, reserve) == STATE_UNAVAILABLE
    assert _value(hass, ev_reserve) == 0

    simulator.clear_overrides()
    await info.async_refresh()
    await hass.async_block_till_done()
    assert _value(hass, reserve) == 20
