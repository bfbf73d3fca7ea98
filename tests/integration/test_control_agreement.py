"""Entity, command and override agree on which sites have a setting, on every site composition.

The simulator's sites cover the compositions Tesla serves: battery only
(storm-capable or not), solar only, solar and battery (storm-capable or not)
and neither. For each of them and each row of the control table
(commands.py), Tesla's facts (the simulator's site) decide whether the site
has the setting; then the entity exists, the command (through the entity or
the action) is sent and confirmed, and the override sets and restores it —
or, where the site lacks it, there is no entity and the command, the action
and the override refuse with the row's translated ServiceValidationError and
send nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.powerwall_fleet.commands import (
    CONTROLS,
    ChoiceControl,
    Control,
    PercentControl,
    SwitchControl,
    async_set,
)
from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.coordinator import SiteCoordinators
from custom_components.powerwall_fleet.fleet import SiteInfo
from tests.integration.entity_helpers import OFF_PEAK_ALL_DAY, new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SiteConfig, default_scenario

pytestmark = [
    pytest.mark.usefixtures("no_retry_delay", "credentials"),
    pytest.mark.platforms(Platform.NUMBER, Platform.SELECT, Platform.SWITCH),
]

# Tesla's facts: which sites have each setting (FLEET_API.md, site_info
# components), read from the simulator's description of the site.
HAS: dict[str, Callable[[SiteConfig], bool]] = {
    "operation_mode": lambda site: site.has_battery,
    "backup_reserve": lambda site: site.has_battery,
    "export_rule": lambda site: site.has_battery and site.has_solar,
    "grid_charging": lambda site: site.has_battery and site.has_solar,
    "storm_watch": lambda site: site.storm_capable,
    "off_grid_vehicle_charging_reserve": lambda site: site.ogvcr_supported,
    "time_of_use": lambda site: site.tou_capable,
}
# The simulator's name of each setting's command.
ENDPOINT = {
    "operation_mode": "operation",
    "backup_reserve": "backup",
    "export_rule": "grid_import_export",
    "grid_charging": "grid_import_export",
    "storm_watch": "storm_mode",
    "off_grid_vehicle_charging_reserve": "off_grid_vehicle_charging_reserve",
    "time_of_use": "time_of_use_settings",
}
HOUR = {"hours": 1}

_SCENARIO = default_scenario()
# Every live site an account in the simulator's default region reaches.
SITES = {
    site_id: site
    for site_id, site in _SCENARIO.sites.items()
    if not site.dead and _SCENARIO.users[site.user].region == "na"
}


def _platform(control: Control[Any]) -> str | None:
    if isinstance(control, PercentControl):
        return "number"
    if isinstance(control, ChoiceControl):
        return "select"
    if isinstance(control, SwitchControl):
        return "switch"
    return None


def _another(control: Control[Any], held: Any) -> Any:
    """A valid value other than ``held``."""
    if isinstance(control, ChoiceControl):
        return next(option for option in control.options if option != held)
    if isinstance(control, SwitchControl):
        return not held
    return 40 if held == 50 else 50


def _latest(site: SiteCoordinators) -> SiteInfo:
    info = site.info.latest
    assert info is not None
    return info


def _device_id(hass: HomeAssistant, site_id: int) -> str:
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, str(site_id)) in device.identifiers:
                return device.id
    raise AssertionError(f"no device for {site_id}")


async def _set_through_entity(
    hass: HomeAssistant, platform: str, entity_id: str, value: Any
) -> None:
    if platform == "switch":
        service = SERVICE_TURN_ON if value else SERVICE_TURN_OFF
        data: dict[str, Any] = {}
    elif platform == "select":
        service, data = "select_option", {"option": value}
    else:
        service, data = "set_value", {"value": value}
    await hass.services.async_call(
        platform, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


async def _override(
    hass: HomeAssistant, site_id: int, action: str, **data: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"device_id": _device_id(hass, site_id), **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    return sites[0]


def test_the_simulator_has_every_composition() -> None:
    """Battery only, solar only, both and neither; storm-capable or not."""
    kinds = {
        (site.has_battery, site.has_solar, site.storm_capable)
        for site in SITES.values()
    }
    assert kinds >= {
        (True, False, True),
        (True, False, False),
        (False, True, False),
        (True, True, True),
        (True, True, False),
        (False, False, False),
    }


def test_every_control_has_tesla_facts() -> None:
    """A new row of the table needs its fact here (and its command's endpoint)."""
    assert set(HAS) == set(ENDPOINT) == {control.key for control in CONTROLS}


async def _refused(
    hass: HomeAssistant,
    simulator: Simulator,
    site: SiteCoordinators,
    control: Control[Any],
) -> list[str]:
    """Every way to change the setting refuses, translated, with no request."""
    problems: list[str] = []
    value = _another(control, None)
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("command", lambda: async_set(site, control, value))
    ]
    if control.key == "backup_reserve":
        calls.append(
            (
                "action",
                lambda: hass.services.async_call(
                    DOMAIN,
                    "set_backup_reserve",
                    {"device_id": _device_id(hass, site.site_id), "percent": 50},
                    blocking=True,
                ),
            )
        )
    if control.key == "time_of_use":
        calls = [
            (
                "action",
                lambda: hass.services.async_call(
                    DOMAIN,
                    "set_time_of_use",
                    {"device_id": _device_id(hass, site.site_id), **OFF_PEAK_ALL_DAY},
                    blocking=True,
                    return_response=True,
                ),
            )
        ]
    if control.restore_order is not None:
        calls.append(
            (
                "override",
                lambda: _override(
                    hass,
                    site.site_id,
                    "override",
                    **{control.key: value, "duration": HOUR},
                ),
            )
        )
    for way, call in calls:
        before = simulator.count()
        try:
            await call()
        except ServiceValidationError as err:
            if (err.translation_domain, err.translation_key) != (
                DOMAIN,
                control.missing,
            ) or err.translation_placeholders != {"site": site.name}:
                problems.append(f"{control.key} {way}: refused with {err!r}")
        else:
            problems.append(f"{control.key} {way}: accepted on a site without it")
        if simulator.count() != before:
            problems.append(f"{control.key} {way}: sent requests")
    return problems


async def _accepted(
    hass: HomeAssistant,
    simulator: Simulator,
    site: SiteCoordinators,
    control: Control[Any],
) -> list[str]:
    """The command is sent and confirmed; the override sets and restores it."""
    problems: list[str] = []
    endpoint = ENDPOINT[control.key]
    sent = simulator.count(endpoint, site_id=site.site_id)
    info = _latest(site)
    if control.key == "time_of_use":
        await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"device_id": _device_id(hass, site.site_id), **OFF_PEAK_ALL_DAY},
            blocking=True,
            return_response=True,
        )
    else:
        platform = _platform(control)
        assert platform is not None
        entity_id = er.async_get(hass).async_get_entity_id(
            platform, DOMAIN, f"{site.site_id}_{control.key}"
        )
        assert entity_id is not None
        value = _another(control, control.read(info))
        await _set_through_entity(hass, platform, entity_id, value)
        if control.read(_latest(site)) != value:
            problems.append(f"{control.key} command: the site does not hold it")
    if simulator.count(endpoint, site_id=site.site_id) != sent + 1:
        problems.append(f"{control.key} command: not sent once")
    if control.restore_order is None:
        return problems
    held = control.read(_latest(site))
    value = _another(control, held)
    started = await _override(
        hass, site.site_id, "override", **{control.key: value, "duration": HOUR}
    )
    if started["changed"] != [control.key]:
        problems.append(f"{control.key} override: changed {started['changed']}")
    ended = await _override(hass, site.site_id, "cancel_override")
    if ended["restored"] != {control.key: held}:
        problems.append(f"{control.key} override: restored {ended['restored']}")
    return problems


@pytest.mark.parametrize(
    "site_id", list(SITES), ids=[str(site.site_name) for site in SITES.values()]
)
async def test_entity_command_and_override_agree(
    hass: HomeAssistant, simulator: Simulator, site_id: int
) -> None:
    """Every setting exists, is commanded and is overridden exactly where Tesla has it."""
    config = SITES[site_id]
    entry = await setup_sites(
        hass, new_entry(simulator, user=config.user), site_id, enable_all=True
    )
    site = entry.runtime_data.sites[site_id]
    info = site.info.latest
    assert info is not None
    registry = er.async_get(hass)
    problems: list[str] = []
    for control in CONTROLS:
        has = HAS[control.key](config)
        if control.exists(info) is not has:
            problems.append(f"{control.key}: the table says {not has}, Tesla {has}")
        entities = [
            platform
            for platform in ("number", "select", "switch")
            if registry.async_get_entity_id(
                platform, DOMAIN, f"{site_id}_{control.key}"
            )
        ]
        expected = [_platform(control)] if has and _platform(control) else []
        if entities != expected:
            problems.append(f"{control.key}: entities {entities}, not {expected}")
        if has:
            problems += await _accepted(hass, simulator, site, control)
        else:
            problems += await _refused(hass, simulator, site, control)
    assert not problems, "\n".join(problems)
