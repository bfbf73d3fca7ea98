"""Actions set_backup_reserve and refresh, targets of every action; every control without the command scope.

set_time_of_use and get_time_of_use: test_tou.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import validate_selector
from homeassistant.helpers.service import async_get_all_descriptions
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components import powerwall_fleet as integration_dir
from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import (
    NO_COMMAND_SCOPES,
    OFF_PEAK_ALL_DAY,
    new_entry,
    request_bodies,
    setup_sites,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")

ACTIONS = ("set_backup_reserve", "refresh", "set_time_of_use", "get_time_of_use")


def _device_id(hass: HomeAssistant, site_id: int) -> str:
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, str(site_id)) in device.identifiers:
                return device.id
    raise AssertionError(f"no device for {site_id}")


async def _call(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


def _reserve_state(hass: HomeAssistant, site_id: int) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "number", DOMAIN, f"{site_id}_backup_reserve"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _key(err: pytest.ExceptionInfo[HomeAssistantError]) -> str | None:
    assert err.value.translation_domain == DOMAIN
    return err.value.translation_key


# ---------------------------------------------------------- set_backup_reserve


async def test_actions_registered_without_entries(hass: HomeAssistant) -> None:
    """Actions exist as soon as the integration is set up, before any entry."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    for action in ACTIONS:
        assert hass.services.has_service(DOMAIN, action)


async def test_storm_automation_raise_and_restore(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Raise the reserve of a device before a storm, restore it after."""
    await setup_sites(hass, config_entry)
    device_id = _device_id(hass, SITE_FULL)
    info_reads = simulator.count("site_info", site_id=SITE_FULL)

    await _call(hass, "set_backup_reserve", device_id=device_id, percent=100)
    assert simulator.site(SITE_FULL).reserve == 100
    assert _reserve_state(hass, SITE_FULL) == "100"
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads + 1

    await _call(hass, "set_backup_reserve", device_id=[device_id], percent=0)
    assert simulator.site(SITE_FULL).reserve == 0
    assert _reserve_state(hass, SITE_FULL) == "0"
    assert request_bodies(simulator, "backup", SITE_FULL) == [
        {"backup_reserve_percent": 100},
        {"backup_reserve_percent": 0},
    ]


async def test_target_entry_sets_every_battery_site(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An entry target covers its battery sites; a solar-only site is left out."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY)

    await _call(
        hass,
        "set_backup_reserve",
        config_entry_id=config_entry.entry_id,
        device_id=_device_id(hass, SITE_FULL),
        percent="35",
    )

    assert simulator.site(SITE_FULL).reserve == 35
    assert simulator.site(SITE_PW3).reserve == 35
    assert request_bodies(simulator, "backup", SITE_FULL) == [
        {"backup_reserve_percent": 35}
    ]
    assert request_bodies(simulator, "backup", SITE_PW3) == [
        {"backup_reserve_percent": 35}
    ]
    assert request_bodies(simulator, "backup", SITE_SOLAR_ONLY) == []


async def test_current_charge_level(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """current: the battery's present level, rounded (what the CLI's 'current' did)."""
    await setup_sites(hass, config_entry)
    simulator.site(SITE_FULL).soc = 47.6
    site = config_entry.runtime_data.sites[SITE_FULL]
    await site.live.async_refresh()
    live = site.live.latest
    assert live is not None
    assert live.percentage_charged is not None
    expected = int(live.percentage_charged + 0.5)

    await _call(
        hass, "set_backup_reserve", device_id=_device_id(hass, SITE_FULL), current=True
    )

    assert expected in (47, 48)
    assert simulator.site(SITE_FULL).reserve == expected
    assert request_bodies(simulator, "backup", SITE_FULL) == [
        {"backup_reserve_percent": expected}
    ]


async def test_current_level_unknown(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """No level (missing field or failed poll): refused before any request."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    device_id = _device_id(hass, SITE_FULL)

    simulator.override_fields(SITE_FULL, "live_status", remove=["percentage_charged"])
    await site.live.async_refresh()
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_backup_reserve", device_id=device_id, current=True)
    assert _key(err) == "no_battery_level"
    assert err.value.translation_placeholders == {"site": "Home"}
    assert simulator.count() == before

    simulator.clear_overrides()
    simulator.add_fault(r"/live_status$", status=503, times=2)
    await site.live.async_refresh()
    assert not site.live.last_update_success
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_backup_reserve", device_id=device_id, current=True)
    assert _key(err) == "no_battery_level"
    assert simulator.count() == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="neither"),
        pytest.param({"current": False}, id="current-false-only"),
        pytest.param({"percent": 50, "current": True}, id="both"),
    ],
)
async def test_percent_or_current(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    data: dict[str, Any],
) -> None:
    """Exactly one of percent and current."""
    await setup_sites(hass, config_entry)
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "set_backup_reserve", device_id=_device_id(hass, SITE_FULL), **data
        )
    assert _key(err) == "percent_or_current"
    assert simulator.count() == before


async def test_percent_with_current_false(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """current: false next to a percentage is just the percentage."""
    await setup_sites(hass, config_entry)
    await _call(
        hass,
        "set_backup_reserve",
        device_id=_device_id(hass, SITE_FULL),
        percent=25,
        current=False,
    )
    assert simulator.site(SITE_FULL).reserve == 25


@pytest.mark.parametrize(
    ("percent", "key", "placeholders"),
    [
        (150, "reserve_out_of_range", {"percent": "150"}),
        (-1, "reserve_out_of_range", {"percent": "-1"}),
        (100.5, "reserve_out_of_range", {"percent": "100.5"}),
        (85, "reserve_needs_backup_mode", {"percent": "85"}),
        (80.6, "reserve_needs_backup_mode", {"percent": "81"}),
    ],
)
async def test_invalid_percent_refused_before_sending(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    percent: float,
    key: str,
    placeholders: dict[str, str],
) -> None:
    """The same validation as the number entity, before any request."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            config_entry_id=config_entry.entry_id,
            percent=percent,
        )
    assert _key(err) == key
    assert err.value.translation_placeholders == placeholders
    assert simulator.count() == before


async def test_one_site_invalid_sends_nothing(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """90 % is fine for a site in backup mode but not for the other: nothing sent."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    simulator.site(SITE_PW3).mode = "backup"
    await config_entry.runtime_data.sites[SITE_PW3].info.async_refresh()
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            config_entry_id=config_entry.entry_id,
            percent=90,
        )
    assert _key(err) == "reserve_needs_backup_mode"
    assert simulator.count() == before
    assert simulator.site(SITE_PW3).reserve == 30


async def test_solar_only_site(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A solar-only site has no reserve: refused as a device and as an entry's only site."""
    await setup_sites(hass, config_entry, SITE_SOLAR_ONLY)
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            device_id=_device_id(hass, SITE_SOLAR_ONLY),
            percent=50,
        )
    assert _key(err) == "no_battery"
    assert err.value.translation_placeholders == {
        "site": f"Energy site {SITE_SOLAR_ONLY}"
    }
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            config_entry_id=config_entry.entry_id,
            percent=50,
        )
    assert _key(err) == "no_battery"
    assert err.value.translation_placeholders == {"site": "Home"}
    assert simulator.count() == before


async def test_failure_on_one_site_still_sets_the_others(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One site refusing does not keep the other from its reserve; the error is raised."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    simulator.add_fault(rf"/{SITE_FULL}/backup$", method="POST", status=503)

    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            config_entry_id=config_entry.entry_id,
            percent=50,
        )

    assert _key(err) == "command_failed"
    assert simulator.site(SITE_FULL).reserve == 20
    assert simulator.site(SITE_PW3).reserve == 50
    assert _reserve_state(hass, SITE_FULL) == "20"
    assert _reserve_state(hass, SITE_PW3) == "50"

    # Both failing: the first is raised, the other logged.
    simulator.add_fault(r"/backup$", method="POST", status=400, times=2)
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            "set_backup_reserve",
            config_entry_id=config_entry.entry_id,
            percent=60,
        )
    assert _key(err) == "command_refused"
    assert "Setting the backup reserve failed" in caplog.text


async def test_tariff_failure_on_one_site_still_sets_the_others(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """set_time_of_use, like every action, tries every site before raising a failure."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    assert list(config_entry.runtime_data.sites) == [SITE_FULL, SITE_PW3]
    simulator.add_fault(
        rf"/{SITE_FULL}/time_of_use_settings$", method="POST", status=400
    )

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"config_entry_id": config_entry.entry_id, **OFF_PEAK_ALL_DAY},
            blocking=True,
        )

    assert _key(err) == "command_refused"
    assert len(request_bodies(simulator, "time_of_use_settings", SITE_FULL)) == 1
    sent = request_bodies(simulator, "time_of_use_settings", SITE_PW3)
    assert len(sent) == 1
    assert (
        simulator.sites[SITE_PW3].tariff_content_v2
        == sent[0]["tou_settings"]["tariff_content_v2"]
    )

    # Both failing: the first is raised, the other logged.
    simulator.add_fault(r"/time_of_use_settings$", method="POST", status=503, times=4)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_time_of_use",
            {"config_entry_id": config_entry.entry_id, **OFF_PEAK_ALL_DAY},
            blocking=True,
        )
    assert _key(err) == "command_failed"
    assert "Setting the time-of-use tariff failed" in caplog.text


# ------------------------------------------------------------------ targets


@pytest.mark.parametrize("service", ["set_backup_reserve", "refresh"])
async def test_targets_that_are_not_ours(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    service: str,
) -> None:
    """Foreign or unknown devices and entries, no target at all: refused."""
    await setup_sites(hass, config_entry)
    data = {"percent": 50} if service == "set_backup_reserve" else {}
    other = MockConfigEntry(domain="other_integration", title="Other")
    other.add_to_hass(hass)
    registry = dr.async_get(hass)
    foreign = registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other_integration", "x")}
    )
    # Our identifier, but registered by another integration's entry.
    impostor = registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={(DOMAIN, str(SITE_PW3))}
    )
    # Ours, but the site is no longer set up.
    stale = registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "12345")}
    )
    before = simulator.count()

    for target in (
        {"device_id": foreign.id},
        {"device_id": "no-such-device"},
        {"device_id": impostor.id},
        {"device_id": stale.id},
        {"config_entry_id": other.entry_id},
        {"config_entry_id": "no-such-entry"},
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, **target, **data)
        assert _key(err) == "not_our_target"
        assert err.value.translation_placeholders == {
            "target": next(iter(target.values()))
        }

    no_targets: list[dict[str, Any]] = [{}, {"device_id": []}]
    for target in no_targets:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, **target, **data)
        assert _key(err) == "no_target"
    assert simulator.count() == before


@pytest.mark.parametrize("service", ["set_backup_reserve", "refresh"])
async def test_unloaded_entry(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    service: str,
) -> None:
    """An entry that is not loaded (or its device) cannot be targeted."""
    await setup_sites(hass, config_entry)
    device_id = _device_id(hass, SITE_FULL)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    data = {"percent": 50} if service == "set_backup_reserve" else {}
    before = simulator.count()
    for target in (
        {"device_id": device_id},
        {"config_entry_id": config_entry.entry_id},
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, **target, **data)
        assert _key(err) == "entry_not_loaded"
        assert err.value.translation_placeholders == {"title": "Home"}
    assert simulator.count() == before


# ------------------------------------------------------------------ refresh


async def test_refresh_rate_limited_per_site(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refresh reads both endpoints now; again within 60 s is refused."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    device_id = _device_id(hass, SITE_FULL)
    simulator.reset_counts()

    await _call(hass, "refresh", device_id=device_id)
    assert simulator.counts() == {"site_info": 1, "live_status": 1}
    assert simulator.count("site_info", site_id=SITE_FULL) == 1

    freezer.tick(59)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "refresh", device_id=device_id)
    assert _key(err) == "refresh_too_soon"
    assert err.value.translation_placeholders == {"site": "Home", "seconds": "60"}
    # The entry includes the site refreshed a moment ago: refused as a whole.
    with pytest.raises(ServiceValidationError):
        await _call(hass, "refresh", config_entry_id=config_entry.entry_id)
    assert simulator.counts() == {"site_info": 1, "live_status": 1}

    freezer.tick(2)
    await _call(hass, "refresh", config_entry_id=config_entry.entry_id)
    assert simulator.count("site_info", site_id=SITE_FULL) == 2
    assert simulator.count("site_info", site_id=SITE_PW3) == 1
    assert simulator.count("live_status", site_id=SITE_PW3) == 1


async def test_refresh_shows_changes_made_elsewhere(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A change made in the Tesla app shows after a refresh, not 15 minutes later."""
    await setup_sites(hass, config_entry)
    simulator.site(SITE_FULL).reserve = 70
    await _call(hass, "refresh", config_entry_id=config_entry.entry_id)
    assert _reserve_state(hass, SITE_FULL) == "70"


async def test_refresh_failure_is_reported(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refresh that Tesla does not answer raises a translated error."""
    await setup_sites(hass, config_entry)
    simulator.add_fault(r"/live_status$", status=503, times=2)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "refresh", config_entry_id=config_entry.entry_id)
    assert _key(err) == "update_failed"
    assert err.value.translation_placeholders == {
        "endpoint": "the live status",
        "error": "Tesla's servers had a problem",
    }
    # The attempt counts: the next one waits its minute.
    with pytest.raises(ServiceValidationError):
        await _call(hass, "refresh", config_entry_id=config_entry.entry_id)
    freezer.tick(61)
    await _call(hass, "refresh", config_entry_id=config_entry.entry_id)


# ------------------------------------------------ without the command scope


async def test_no_command_scope_every_control_refuses(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A login without energy_cmds: every control and the action refuse, nothing sent."""
    entry = new_entry(simulator, scopes=NO_COMMAND_SCOPES)
    await setup_sites(hass, entry)
    registry = er.async_get(hass)

    def entity(platform: str, key: str) -> str:
        entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{SITE_FULL}_{key}")
        assert entity_id is not None
        return entity_id

    calls: list[tuple[str, str, dict[str, Any]]] = [
        (
            "number",
            "set_value",
            {"value": 30, ATTR_ENTITY_ID: entity("number", "backup_reserve")},
        ),
        (
            "number",
            "set_value",
            {
                "value": 30,
                ATTR_ENTITY_ID: entity("number", "off_grid_vehicle_charging_reserve"),
            },
        ),
        (
            "select",
            "select_option",
            {"option": "backup", ATTR_ENTITY_ID: entity("select", "operation_mode")},
        ),
        (
            "select",
            "select_option",
            {"option": "never", ATTR_ENTITY_ID: entity("select", "export_rule")},
        ),
        ("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: entity("switch", "storm_watch")}),
        (
            "switch",
            SERVICE_TURN_OFF,
            {ATTR_ENTITY_ID: entity("switch", "grid_charging")},
        ),
        (
            DOMAIN,
            "set_backup_reserve",
            {"config_entry_id": entry.entry_id, "percent": 30},
        ),
    ]
    before = simulator.count()
    for domain, service, data in calls:
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(domain, service, data, blocking=True)
        assert _key(err) == "missing_command_scope"
        assert err.value.translation_placeholders == {
            "scope": "Energy Product Commands"
        }
    assert simulator.count() == before
    assert entry.runtime_data.sites[SITE_FULL].usage.counts["commands"] == 0


async def test_action_descriptions(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """services.yaml loads, its selectors are valid and every field is translated."""
    await setup_sites(hass, config_entry)
    descriptions = await async_get_all_descriptions(hass)
    ours = {
        name: description
        for name, description in descriptions[DOMAIN].items()
        if name in ACTIONS
    }
    assert len(ours) == 4
    assert set(ours["set_backup_reserve"]["fields"]) == {
        "percent",
        "current",
        "device_id",
        "config_entry_id",
    }
    assert set(ours["refresh"]["fields"]) == {"device_id", "config_entry_id"}
    assert set(ours["get_time_of_use"]["fields"]) == {"device_id", "config_entry_id"}
    assert set(ours["set_time_of_use"]["fields"]) == {
        "tariff",
        "name",
        "utility",
        "currency",
        "code",
        "seasons",
        "schedule",
        "prices",
        "device_id",
        "config_entry_id",
    }
    strings = json.loads(
        (Path(integration_dir.__file__).parent / "translations" / "en.json").read_text()
    )["services"]
    for name, service in ours.items():
        assert strings[name]["name"]
        assert strings[name]["description"]
        for field_name, field in service["fields"].items():
            validate_selector(field["selector"])
            assert strings[name]["fields"][field_name]["name"]
            assert strings[name]["fields"][field_name]["description"]


async def test_device_target_uses_nothing_deprecated(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device target reads no registry field Home Assistant reports as deprecated.

    Home Assistant logs (once per line of code) a custom integration reading
    ``DeviceEntry.config_entries``, which "will stop working" in 2027.10
    (issue 23); any such report here fails the test.
    """
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    device_id = _device_id(hass, SITE_FULL)

    await _call(hass, "set_backup_reserve", device_id=device_id, percent=40)
    response = await hass.services.async_call(
        DOMAIN,
        "get_time_of_use",
        {"device_id": [device_id]},
        blocking=True,
        return_response=True,
    )

    assert simulator.site(SITE_FULL).reserve == 40
    assert simulator.site(SITE_PW3).reserve == 30
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    assert [site["device_id"] for site in sites] == [device_id]
    reports = [
        record.getMessage()
        for record in caplog.records
        if record.name == "homeassistant.helpers.frame"
        or "will stop working" in record.getMessage()
    ]
    assert reports == []
