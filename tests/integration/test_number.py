"""Numbers: backup reserve and off-grid vehicle charging reserve, against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
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
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY, USER_MAIN

pytestmark = pytest.mark.usefixtures("no_retry_delay")


NUMBER_DOMAIN = "number"
SERVICE_SET_VALUE = "set_value"
ATTR_VALUE = "value"


# (fault arguments, translation key of the error the control raises)
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


async def test_set_backup_reserve(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The reserve is sent, shown at once and confirmed by re-reading the site."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    live_reads = simulator.count("live_status", site_id=SITE_FULL)

    await _set(hass, entity_id, 45)

    assert request_bodies(simulator, "backup") == [{"backup_reserve_percent": 45}]
    assert simulator.site(SITE_FULL).reserve == 45
    assert seen == ["45"]
    assert _value(hass, entity_id) == 45
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert simulator.count("live_status", site_id=SITE_FULL) == live_reads + 1
    usage = config_entry.runtime_data.sites[SITE_FULL].usage
    assert usage.counts["commands"] == 1


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


@pytest.mark.parametrize(("fault", "key"), COMMAND_FAULTS)
@pytest.mark.parametrize(
    ("key_name", "endpoint", "attr"),
    [
        ("backup_reserve", "backup", "reserve"),
        (
            "off_grid_vehicle_charging_reserve",
            "off_grid_vehicle_charging_reserve",
            "off_grid_vehicle_charging_reserve_percent",
        ),
    ],
)
async def test_command_failure_changes_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    key: str,
    key_name: str,
    endpoint: str,
    attr: str,
) -> None:
    """Tesla's refusals and outages raise the translated error; the state stays."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key_name)
    assert entity_id is not None
    before = _value(hass, entity_id)
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    simulator.add_fault(rf"/{endpoint}$", method="POST", **fault)

    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, entity_id, 55)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    placeholders = err.value.translation_placeholders or {}
    assert "55 %" in placeholders["what"]
    assert "Home" in placeholders["what"]
    if key == "command_rate_limited":
        assert placeholders["seconds"] == "42"
    if key == "command_missing_scope":
        assert placeholders["scope"] == "energy_cmds"
    assert not isinstance(err.value, ServiceValidationError)
    assert _value(hass, entity_id) == before
    assert seen == []
    assert getattr(simulator.site(SITE_FULL), attr) == before
    # The site was re-read after the failure too.
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert not reauth_started(hass)


async def test_login_required_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A command whose login Tesla no longer accepts asks the owner to sign in."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    simulator.revoke_user(USER_MAIN)

    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, entity_id, 40)
    await hass.async_block_till_done()

    assert err.value.translation_key == "reauth_required"
    assert reauth_started(hass)
    assert simulator.site(SITE_FULL).reserve == 20
    assert request_bodies(simulator, "backup") == [{"backup_reserve_percent": 40}]


async def test_site_reports_another_value(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tesla accepted, but the re-read disagrees: show the site's value, warn."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "backup_reserve")
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    simulator.override_fields(
        SITE_FULL, "site_info", set={"backup_reserve_percent": 20}
    )

    await _set(hass, entity_id, 60)

    assert simulator.site(SITE_FULL).reserve == 60
    assert seen == ["60", "20"]
    assert _value(hass, entity_id) == 20
    assert "the site still reports the previous setting" in caplog.text
    assert "the backup reserve of 60 % for Home" in caplog.text


async def test_set_off_grid_vehicle_charging_reserve(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The EV reserve is sent with its own field and confirmed."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "off_grid_vehicle_charging_reserve")
    assert entity_id is not None
    info_reads = simulator.count("site_info", site_id=SITE_FULL)

    await _set(hass, entity_id, 35)

    assert request_bodies(simulator, "off_grid_vehicle_charging_reserve") == [
        {"off_grid_vehicle_charging_reserve_percent": 35}
    ]
    assert simulator.site(SITE_FULL).off_grid_vehicle_charging_reserve_percent == 35
    assert _value(hass, entity_id) == 35
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    # No backup-mode rule for this reserve.
    await _set(hass, entity_id, 90)
    assert _value(hass, entity_id) == 90

    simulator.override_fields(
        SITE_FULL, "site_info", set={"off_grid_vehicle_charging_reserve_percent": 90}
    )
    await _set(hass, entity_id, 10)
    assert _value(hass, entity_id) == 90
    assert "off-grid vehicle charging reserve of 10 %" in caplog.text


async def test_unavailable_when_value_missing_or_read_failed(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A payload without the field, or a failed poll, makes the number unavailable."""
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
    simulator.add_fault(r"/site_info$", status=503, times=2)
    await info.async_refresh()
    await hass.async_block_till_done()
    assert _value(hass, reserve) == STATE_UNAVAILABLE
    assert _value(hass, ev_reserve) == STATE_UNAVAILABLE

    await info.async_refresh()
    await hass.async_block_till_done()
    assert _value(hass, reserve) == 20
