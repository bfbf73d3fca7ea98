"""Switches: storm watch and grid charging, against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import (
    COMMAND_FAULTS,
    reauth_started,
    record_states,
    request_bodies,
    setup_sites,
    state_of,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY, USER_MAIN

pytestmark = pytest.mark.usefixtures("no_retry_delay")


SWITCH_DOMAIN = "switch"

# key, endpoint, simulator attribute, state before (full site), request body to turn it off
SWITCHES = [
    pytest.param(
        "storm_watch",
        "storm_mode",
        "storm_mode_enabled",
        {"enabled": False},
        id="storm_watch",
    ),
    pytest.param(
        "grid_charging",
        "grid_import_export",
        "grid_charging",
        {"disallow_charge_from_grid_with_solar_installed": True},
        id="grid_charging",
    ),
]


def _entity_id(hass: HomeAssistant, site_id: int, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        SWITCH_DOMAIN, DOMAIN, f"{site_id}_{key}"
    )


async def _turn(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
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


@pytest.mark.parametrize(("key", "endpoint", "attr", "off_body"), SWITCHES)
async def test_turn_off_and_on(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    key: str,
    endpoint: str,
    attr: str,
    off_body: dict[str, Any],
) -> None:
    """Each turn is sent, shown at once and confirmed by re-reading the site."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    live_reads = simulator.count("live_status", site_id=SITE_FULL)

    await _turn(hass, entity_id, False)

    assert request_bodies(simulator, endpoint) == [off_body]
    assert getattr(simulator.site(SITE_FULL), attr) is False
    assert seen == [STATE_OFF]
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert simulator.count("live_status", site_id=SITE_FULL) == live_reads + 1

    await _turn(hass, entity_id, True)

    on_body = {name: not value for name, value in off_body.items()}
    assert request_bodies(simulator, endpoint) == [off_body, on_body]
    assert getattr(simulator.site(SITE_FULL), attr) is True
    assert seen == [STATE_OFF, STATE_ON]


@pytest.mark.parametrize(("fault", "error_key"), COMMAND_FAULTS)
@pytest.mark.parametrize(("key", "endpoint", "attr", "off_body"), SWITCHES)
async def test_command_failure_changes_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    error_key: str,
    key: str,
    endpoint: str,
    attr: str,
    off_body: dict[str, Any],
) -> None:
    """Tesla's refusals and outages raise the translated error; the state stays."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    simulator.add_fault(rf"/{endpoint}$", method="POST", **fault)

    with pytest.raises(HomeAssistantError) as err:
        await _turn(hass, entity_id, False)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == error_key
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["what"].endswith(" off for Home")
    assert state_of(hass, entity_id) == STATE_ON
    assert seen == []
    assert getattr(simulator.site(SITE_FULL), attr) is True
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1


@pytest.mark.parametrize(("key", "endpoint", "attr", "off_body"), SWITCHES)
async def test_login_required_starts_reauth(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    key: str,
    endpoint: str,
    attr: str,
    off_body: dict[str, Any],
) -> None:
    """A command whose login Tesla no longer accepts asks the owner to sign in."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    simulator.revoke_user(USER_MAIN)

    with pytest.raises(HomeAssistantError) as err:
        await _turn(hass, entity_id, False)
    await hass.async_block_till_done()

    assert err.value.translation_key == "reauth_required"
    assert reauth_started(hass)
    assert getattr(simulator.site(SITE_FULL), attr) is True


@pytest.mark.parametrize(("key", "endpoint", "attr", "off_body"), SWITCHES)
async def test_site_reports_another_value(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    key: str,
    endpoint: str,
    attr: str,
    off_body: dict[str, Any],
) -> None:
    """Tesla accepted, but the re-read disagrees: show the site's value, warn."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    # The site keeps reporting "on".
    still_on = (
        {"user_settings.storm_mode_enabled": True}
        if key == "storm_watch"
        else {"components.disallow_charge_from_grid_with_solar_installed": False}
    )
    simulator.override_fields(SITE_FULL, "site_info", set=still_on)

    await _turn(hass, entity_id, False)

    assert getattr(simulator.site(SITE_FULL), attr) is False
    assert seen == [STATE_OFF, STATE_ON]
    assert state_of(hass, entity_id) == STATE_ON
    assert "the site still reports the previous setting" in caplog.text


async def test_unavailable_when_value_missing_or_read_failed(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A missing field or a failed poll makes the switch unavailable."""
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
    simulator.add_fault(r"/site_info$", status=503, times=2)
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, storm) == STATE_UNAVAILABLE

    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, storm) == STATE_ON
    assert state_of(hass, grid) == STATE_ON
