"""Every control, end to end, against the simulator: one table, the same checks for each.

The six entity controls (backup reserve, off-grid vehicle charging reserve,
operation mode, export rule, storm watch, grid charging) share how a command
is sent, shown, confirmed and refused (commands.py); each case here runs for
all of them. What is particular to one platform stays in its own test file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.commands import OPERATION_MODE, async_set
from custom_components.powerwall_fleet.const import DEFAULT_LIVE_INTERVAL, DOMAIN
from tests.integration.entity_helpers import (
    COMMAND_FAULTS,
    OFF_PEAK_ALL_DAY,
    reauth_started,
    record_states,
    request_bodies,
    setup_sites,
    state_of,
    tick,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, USER_MAIN

pytestmark = pytest.mark.usefixtures("no_retry_delay")


@dataclass(frozen=True)
class Control:
    """One control of the full site, and what setting it looks like at Tesla."""

    platform: str
    key: str
    endpoint: str  # the command's endpoint (simulator request name)
    attr: str  # the simulator site's attribute it changes
    before: Any  # the full site's value at the start
    after: Any  # the value the tests set
    body: dict[str, Any]  # the request body for ``after``
    body_back: dict[str, Any]  # the request body for ``before``
    what: str  # how errors and warnings name the command
    held: dict[str, Any]  # site_info fields that keep reporting ``before``

    def state(self, value: Any) -> str:
        """The entity state for a value."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return str(value)

    async def set(self, hass: HomeAssistant, value: Any) -> None:
        """Set ``value`` through the entity, as a user or automation would."""
        entity_id = self.entity_id(hass)
        if self.platform == "switch":
            service = SERVICE_TURN_ON if value else SERVICE_TURN_OFF
            data: dict[str, Any] = {}
        elif self.platform == "select":
            service, data = "select_option", {"option": value}
        else:
            service, data = "set_value", {"value": value}
        await hass.services.async_call(
            self.platform,
            service,
            {ATTR_ENTITY_ID: entity_id, **data},
            blocking=True,
        )

    def entity_id(self, hass: HomeAssistant) -> str:
        """The entity of the full site."""
        entity_id = er.async_get(hass).async_get_entity_id(
            self.platform, DOMAIN, f"{SITE_FULL}_{self.key}"
        )
        assert entity_id is not None, self.key
        return entity_id


CONTROLS = [
    pytest.param(control, id=control.key)
    for control in (
        Control(
            platform="number",
            key="backup_reserve",
            endpoint="backup",
            attr="reserve",
            before=20,
            after=45,
            body={"backup_reserve_percent": 45},
            body_back={"backup_reserve_percent": 20},
            what="the backup reserve of 45 % for Home",
            held={"backup_reserve_percent": 20},
        ),
        Control(
            platform="number",
            key="off_grid_vehicle_charging_reserve",
            endpoint="off_grid_vehicle_charging_reserve",
            attr="off_grid_vehicle_charging_reserve_percent",
            before=0,
            after=45,
            body={"off_grid_vehicle_charging_reserve_percent": 45},
            body_back={"off_grid_vehicle_charging_reserve_percent": 0},
            what="the off-grid vehicle charging reserve of 45 % for Home",
            held={"off_grid_vehicle_charging_reserve_percent": 0},
        ),
        Control(
            platform="select",
            key="operation_mode",
            endpoint="operation",
            attr="mode",
            before="self_consumption",
            after="autonomous",
            body={"default_real_mode": "autonomous"},
            body_back={"default_real_mode": "self_consumption"},
            what="the operation mode Time-based control for Home",
            held={"default_real_mode": "self_consumption"},
        ),
        Control(
            platform="select",
            key="export_rule",
            endpoint="grid_import_export",
            attr="export_rule",
            before="pv_only",
            after="battery_ok",
            body={"customer_preferred_export_rule": "battery_ok"},
            body_back={"customer_preferred_export_rule": "pv_only"},
            what="the export rule Solar and battery for Home",
            held={"components.customer_preferred_export_rule": "pv_only"},
        ),
        Control(
            platform="switch",
            key="storm_watch",
            endpoint="storm_mode",
            attr="storm_mode_enabled",
            before=True,
            after=False,
            body={"enabled": False},
            body_back={"enabled": True},
            what="storm watch off for Home",
            held={"user_settings.storm_mode_enabled": True},
        ),
        Control(
            platform="switch",
            key="grid_charging",
            endpoint="grid_import_export",
            attr="grid_charging",
            before=True,
            after=False,
            body={"disallow_charge_from_grid_with_solar_installed": True},
            body_back={"disallow_charge_from_grid_with_solar_installed": False},
            what="grid charging off for Home",
            held={"components.disallow_charge_from_grid_with_solar_installed": False},
        ),
    )
]


@pytest.mark.parametrize("control", CONTROLS)
async def test_set_shown_at_once_and_confirmed(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    control: Control,
) -> None:
    """Each change is sent, shown at once and confirmed by re-reading site_info."""
    await setup_sites(hass, config_entry)
    entity_id = control.entity_id(hass)
    assert state_of(hass, entity_id) == control.state(control.before)
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    live_reads = simulator.count("live_status", site_id=SITE_FULL)

    await control.set(hass, control.after)

    assert request_bodies(simulator, control.endpoint) == [control.body]
    assert getattr(simulator.site(SITE_FULL), control.attr) == control.after
    assert seen == [control.state(control.after)]
    assert state_of(hass, entity_id) == control.state(control.after)
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert simulator.count("live_status", site_id=SITE_FULL) == live_reads
    usage = config_entry.runtime_data.sites[SITE_FULL].usage
    assert usage.counts["commands"] == 1

    await control.set(hass, control.before)

    assert request_bodies(simulator, control.endpoint) == [
        control.body,
        control.body_back,
    ]
    assert getattr(simulator.site(SITE_FULL), control.attr) == control.before
    assert seen == [control.state(control.after), control.state(control.before)]


@pytest.mark.parametrize("control", CONTROLS)
async def test_command_rereads_only_site_info(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    control: Control,
) -> None:
    """Request discipline: the command and one site_info, no live_status.

    Every control's setting lives in site_info, so live_status is neither
    read nor rescheduled: its next poll comes when it was due anyway.
    """
    await setup_sites(hass, config_entry)
    elapsed = 10
    await tick(hass, freezer, elapsed)
    simulator.reset_counts()

    await control.set(hass, control.after)

    assert simulator.counts() == {control.endpoint: 1, "site_info": 1}
    # The live poll due since setup (Home Assistant spreads it within a
    # second or so of the interval) has not come yet...
    await tick(hass, freezer, DEFAULT_LIVE_INTERVAL - elapsed - 2)
    assert simulator.count("live_status") == 0
    # ...and comes on time, not a full interval after the command.
    await tick(hass, freezer, 4)
    assert simulator.count("live_status") == 1


@pytest.mark.parametrize(
    ("action", "data", "endpoint"),
    [
        pytest.param(
            "set_backup_reserve", {"percent": 45}, "backup", id="set_backup_reserve"
        ),
        pytest.param(
            "set_time_of_use",
            OFF_PEAK_ALL_DAY,
            "time_of_use_settings",
            id="set_time_of_use",
        ),
    ],
)
async def test_action_rereads_only_site_info(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    action: str,
    data: dict[str, Any],
    endpoint: str,
) -> None:
    """The actions that send a command keep the same discipline as the entities."""
    await setup_sites(hass, config_entry)
    simulator.reset_counts()

    await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": config_entry.entry_id, **data},
        blocking=True,
    )

    assert simulator.counts() == {endpoint: 1, "site_info": 1}


@pytest.mark.parametrize(("fault", "error_key"), COMMAND_FAULTS)
@pytest.mark.parametrize("control", CONTROLS)
async def test_command_failure_changes_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    error_key: str,
    control: Control,
) -> None:
    """Tesla's refusals and outages raise the translated error; the state stays."""
    await setup_sites(hass, config_entry)
    entity_id = control.entity_id(hass)
    seen = record_states(hass, entity_id)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)
    simulator.add_fault(rf"/{control.endpoint}$", method="POST", **fault)

    with pytest.raises(HomeAssistantError) as err:
        await control.set(hass, control.after)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == error_key
    assert not isinstance(err.value, ServiceValidationError)
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["what"] == control.what
    if error_key == "command_rate_limited":
        assert placeholders["seconds"] == "42"
    if error_key == "command_missing_scope":
        assert placeholders["scope"] == "Energy Product Commands"
    assert state_of(hass, entity_id) == control.state(control.before)
    assert seen == []
    assert getattr(simulator.site(SITE_FULL), control.attr) == control.before
    # The site was re-read after the failure too.
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1
    assert not reauth_started(hass)


@pytest.mark.parametrize("control", CONTROLS)
async def test_login_required_starts_reauth(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    control: Control,
) -> None:
    """A command whose login Tesla no longer accepts asks the owner to sign in."""
    await setup_sites(hass, config_entry)
    simulator.revoke_user(USER_MAIN)

    with pytest.raises(HomeAssistantError) as err:
        await control.set(hass, control.after)
    await hass.async_block_till_done()

    assert err.value.translation_key == "reauth_required"
    assert reauth_started(hass)
    assert getattr(simulator.site(SITE_FULL), control.attr) == control.before
    assert request_bodies(simulator, control.endpoint) == [control.body]


@pytest.mark.parametrize("control", CONTROLS)
async def test_site_reports_another_value(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    control: Control,
) -> None:
    """Tesla accepted, but the re-read disagrees: show the site's value, warn."""
    await setup_sites(hass, config_entry)
    entity_id = control.entity_id(hass)
    seen = record_states(hass, entity_id)
    simulator.override_fields(SITE_FULL, "site_info", set=control.held)

    await control.set(hass, control.after)

    assert getattr(simulator.site(SITE_FULL), control.attr) == control.after
    assert seen == [control.state(control.after), control.state(control.before)]
    assert state_of(hass, entity_id) == control.state(control.before)
    assert "the site still reports the previous setting" in caplog.text
    assert control.what in caplog.text


@pytest.mark.parametrize("control", CONTROLS)
async def test_failed_read_makes_control_unavailable(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    control: Control,
) -> None:
    """A failed site_info poll makes the control unavailable until the next one works."""
    await setup_sites(hass, config_entry)
    entity_id = control.entity_id(hass)
    info = config_entry.runtime_data.sites[SITE_FULL].info

    simulator.add_fault(r"/site_info$", status=503, times=2)
    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, entity_id) == STATE_UNAVAILABLE

    await info.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, entity_id) == control.state(control.before)


async def test_value_tesla_would_refuse_is_not_sent(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A value the client knows Tesla refuses: a translated refusal, nothing sent."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]

    with pytest.raises(ServiceValidationError) as err:
        await async_set(site, OPERATION_MODE, "off_grid")

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_value"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["what"] == "the operation mode off grid for Home"
    assert request_bodies(simulator, "operation") == []
    assert simulator.site(SITE_FULL).mode == "self_consumption"
