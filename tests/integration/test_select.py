"""Selects: operation mode and energy export rule, against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
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
    state_of,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY, USER_MAIN

# key, endpoint, simulator attribute, value before, value to choose
pytestmark = pytest.mark.usefixtures("no_retry_delay")


SELECTS = [
    pytest.param(
        "operation_mode",
        "operation",
        "mode",
        "self_consumption",
        "autonomous",
        id="operation_mode",
    ),
    pytest.param(
        "export_rule",
        "grid_import_export",
        "export_rule",
        "pv_only",
        "battery_ok",
        id="export_rule",
    ),
]


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


@pytest.mark.parametrize(("key", "endpoint", "attr", "before", "after"), SELECTS)
async def test_select_option(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    key: str,
    endpoint: str,
    attr: str,
    before: str,
    after: str,
) -> None:
    """The choice is sent, shown at once and confirmed by re-reading the site."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    assert state_of(hass, entity_id) == before
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    live_reads = simulator.count("live_status", site_id=SITE_FULL)

    await _select(hass, entity_id, after)

    body_key = (
        "default_real_mode"
        if key == "operation_mode"
        else "customer_preferred_export_rule"
    )
    assert request_bodies(simulator, endpoint) == [{body_key: after}]
    assert getattr(simulator.site(SITE_FULL), attr) == after
    assert seen == [after]
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert simulator.count("live_status", site_id=SITE_FULL) == live_reads + 1


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
    """An export rule needs solar: refused before any request."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, "export_rule")
    assert entity_id is not None
    simulator.override_fields(SITE_FULL, "site_info", set={"components.solar": False})
    await config_entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await _select(hass, entity_id, "never")

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "no_export_without_solar"
    assert err.value.translation_placeholders == {"site": "Home"}
    assert simulator.count() == before
    assert simulator.site(SITE_FULL).export_rule == "pv_only"


@pytest.mark.parametrize(("fault", "error_key"), COMMAND_FAULTS)
@pytest.mark.parametrize(("key", "endpoint", "attr", "before", "after"), SELECTS)
async def test_command_failure_changes_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    error_key: str,
    key: str,
    endpoint: str,
    attr: str,
    before: str,
    after: str,
) -> None:
    """Tesla's refusals and outages raise the translated error; the state stays."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    simulator.add_fault(rf"/{endpoint}$", method="POST", **fault)

    with pytest.raises(HomeAssistantError) as err:
        await _select(hass, entity_id, after)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == error_key
    placeholders = err.value.translation_placeholders or {}
    assert after in placeholders["what"]
    assert state_of(hass, entity_id) == before
    assert seen == []
    assert getattr(simulator.site(SITE_FULL), attr) == before
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1


@pytest.mark.parametrize(("key", "endpoint", "attr", "before", "after"), SELECTS)
async def test_login_required_starts_reauth(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    key: str,
    endpoint: str,
    attr: str,
    before: str,
    after: str,
) -> None:
    """A command whose login Tesla no longer accepts asks the owner to sign in."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    simulator.revoke_user(USER_MAIN)

    with pytest.raises(HomeAssistantError) as err:
        await _select(hass, entity_id, after)
    await hass.async_block_till_done()

    assert err.value.translation_key == "reauth_required"
    assert reauth_started(hass)
    assert getattr(simulator.site(SITE_FULL), attr) == before


@pytest.mark.parametrize(("key", "endpoint", "attr", "before", "after"), SELECTS)
async def test_site_reports_another_value(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    key: str,
    endpoint: str,
    attr: str,
    before: str,
    after: str,
) -> None:
    """Tesla accepted, but the re-read disagrees: show the site's value, warn."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, SITE_FULL, key)
    assert entity_id is not None
    seen = record_states(hass, entity_id)
    field = (
        "default_real_mode"
        if key == "operation_mode"
        else "components.customer_preferred_export_rule"
    )
    simulator.override_fields(SITE_FULL, "site_info", set={field: before})

    await _select(hass, entity_id, after)

    assert getattr(simulator.site(SITE_FULL), attr) == after
    assert seen == [after, before]
    assert state_of(hass, entity_id) == before
    assert "the site still reports the previous setting" in caplog.text


async def test_unavailable_when_value_missing_or_unknown(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A missing field or a value we do not know makes the select unavailable."""
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
    simulator.add_fault(r"/site_info$", status=503, times=2)
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, mode) == STATE_UNAVAILABLE

    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, mode) == "self_consumption"
    assert state_of(hass, rule) == "pv_only"
