"""The override action's presets, and every refusal: translated, before any request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import setup_sites
from tests.integration.test_override import active, device_id, override
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")

HOUR = {"hours": 1}


async def _level(
    simulator: Simulator, entry: MockConfigEntry, site_id: int, soc: float
) -> None:
    simulator.site(site_id).soc = soc
    await entry.runtime_data.sites[site_id].live.async_refresh()


@pytest.mark.parametrize(
    ("soc", "data", "expected"),
    [
        pytest.param(
            62.5,
            {"preset": "charge_from_grid"},
            {
                "operation_mode": "autonomous",
                "backup_reserve": 100,
                "grid_charging": True,
            },
            id="charge_from_grid",
        ),
        pytest.param(
            47.5, {"preset": "preserve_battery"}, {"backup_reserve": 48}, id="preserve"
        ),
        pytest.param(
            91.0,
            {"preset": "preserve_battery"},
            {"backup_reserve": 80},
            id="preserve-91-is-80",
        ),
        pytest.param(
            91.0,
            {"preset": "preserve_battery", "operation_mode": "backup"},
            {"backup_reserve": 91, "operation_mode": "backup"},
            id="preserve-91-backup-only",
        ),
        pytest.param(
            62.5, {"preset": "storm_prep"}, {"backup_reserve": 100}, id="storm_prep"
        ),
        pytest.param(
            62.5,
            {"preset": "storm_prep", "backup_reserve": 60, "storm_watch": False},
            {"backup_reserve": 60, "storm_watch": False},
            id="explicit-fields-win",
        ),
        pytest.param(
            62.5,
            {"backup_reserve": "current"},
            {"backup_reserve": 63},
            id="reserve-current",
        ),
    ],
)
async def test_presets(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    soc: float,
    data: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    """Each preset sets its documented values; explicit fields override them."""
    await setup_sites(hass, config_entry)
    await _level(simulator, config_entry, SITE_FULL, soc)

    result = await override(hass, SITE_FULL, duration=HOUR, **data)

    assert result["values"] == expected
    sim = simulator.site(SITE_FULL)
    held = {
        "operation_mode": sim.mode,
        "backup_reserve": sim.reserve,
        "grid_charging": sim.grid_charging,
        "storm_watch": sim.storm_mode_enabled,
    }
    assert {name: held[name] for name in expected} == expected
    assert active(hass, SITE_FULL)[1]["overridden"] == expected


async def test_charge_from_grid_without_solar_leaves_grid_charging_alone(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Tesla's grid-charging flag only matters with solar: the preset leaves it out there."""
    simulator.override_fields(SITE_FULL, "site_info", set={"components.solar": False})
    await setup_sites(hass, config_entry)
    result = await override(hass, SITE_FULL, preset="charge_from_grid", duration=HOUR)
    assert result["values"] == {"operation_mode": "autonomous", "backup_reserve": 100}


async def test_entry_target_leaves_out_sites_without_the_setting(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Through the entry, a solar-only site is left out of a reserve override."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_SOLAR_ONLY)
    response = await hass.services.async_call(
        DOMAIN,
        "override",
        {
            "config_entry_id": config_entry.entry_id,
            "backup_reserve": 100,
            "duration": HOUR,
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    assert [site["site_id"] for site in sites] == [SITE_FULL]
    assert [r.site_id for r in simulator.requests if r.method == "POST"] == [SITE_FULL]


# (setup of the simulator before loading, call data, translation key, placeholders)
REFUSALS = [
    pytest.param({}, {"duration": HOUR}, "override_nothing", None, id="nothing"),
    pytest.param({}, {"backup_reserve": 100}, "override_needs_end", None, id="no-end"),
    pytest.param(
        {},
        {"backup_reserve": 100, "duration": HOUR, "until": "2099-01-01 00:00:00"},
        "override_one_end",
        None,
        id="duration-and-until",
    ),
    pytest.param(
        {},
        {"backup_reserve": 100, "until": "2001-01-01 00:00:00"},
        "override_until_past",
        None,
        id="until-past",
    ),
    pytest.param(
        {},
        {"backup_reserve": 100, "until": "half past six"},
        "until_invalid",
        {"value": "half past six"},
        id="until-not-a-time",
    ),
    pytest.param(
        {},
        {"backup_reserve": 100, "duration": "00:00:00"},
        "override_until_past",
        None,
        id="zero-duration",
    ),
    pytest.param(
        {},
        {"backup_reserve": 90, "duration": HOUR},
        "reserve_needs_backup_mode",
        {"percent": "90"},
        id="reserve-90-self-powered",
    ),
    pytest.param(
        {},
        {"backup_reserve": 85, "operation_mode": "autonomous", "duration": HOUR},
        "reserve_needs_backup_mode",
        {"percent": "85"},
        id="reserve-85-time-based",
    ),
    pytest.param(
        {"mode": "backup", "reserve": 90},
        {"operation_mode": "self_consumption", "duration": HOUR},
        "reserve_needs_backup_mode",
        {"percent": "90"},
        id="leaving-backup-with-90",
    ),
    pytest.param(
        {},
        {"backup_reserve": 101, "duration": HOUR},
        "reserve_out_of_range",
        {"percent": "101"},
        id="reserve-101",
    ),
    pytest.param(
        {},
        {"backup_reserve": 100, "target_percent": 120},
        "reserve_out_of_range",
        {"percent": "120"},
        id="target-120",
    ),
    pytest.param(
        {"site_info": {"components.solar": False}},
        {"export_rule": "never", "duration": HOUR},
        "no_export_rule",
        {"site": "Home"},
        id="export-without-solar",
    ),
    pytest.param(
        {"site_info": {"components.storm_mode_capable": False}},
        {"storm_watch": True, "duration": HOUR},
        "no_storm_watch",
        {"site": "Home"},
        id="no-storm-watch",
    ),
    pytest.param(
        {"live_remove": "percentage_charged"},
        {"backup_reserve": "current", "duration": HOUR},
        "override_no_battery_level",
        {"site": "Home"},
        id="current-level-unknown",
    ),
    pytest.param(
        {"live_remove": "percentage_charged"},
        {"preset": "preserve_battery", "duration": HOUR},
        "override_no_battery_level",
        {"site": "Home"},
        id="preserve-level-unknown",
    ),
    pytest.param(
        {"live_remove": "percentage_charged"},
        {"backup_reserve": 100, "target_percent": 90},
        "override_no_battery_level",
        {"site": "Home"},
        id="target-level-unknown",
    ),
    pytest.param(
        {"soc": 70.0},
        {"backup_reserve": 100, "target_percent": 70},
        "override_target_reached",
        {"site": "Home", "percent": "70"},
        id="target-reached",
    ),
    pytest.param(
        {"site_info_remove": "default_real_mode"},
        {"operation_mode": "backup", "duration": HOUR},
        "override_value_unknown",
        {"site": "Home", "settings": "operation mode"},
        id="value-unknown",
    ),
]


@pytest.mark.parametrize(("world", "data", "key", "placeholders"), REFUSALS)
async def test_refused_before_any_request(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    world: dict[str, Any],
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
) -> None:
    """Every refusal is a translated ServiceValidationError and sends nothing."""
    sim = simulator.site(SITE_FULL)
    if "mode" in world:
        sim.mode = world["mode"]
        sim.reserve = world["reserve"]
    if "soc" in world:
        sim.soc = world["soc"]
    if "site_info" in world:
        simulator.override_fields(SITE_FULL, "site_info", set=world["site_info"])
    if "site_info_remove" in world:
        simulator.override_fields(
            SITE_FULL, "site_info", remove=[world["site_info_remove"]]
        )
    if "live_remove" in world:
        simulator.override_fields(
            SITE_FULL, "live_status", remove=[world["live_remove"]]
        )
    await setup_sites(hass, config_entry)
    before = simulator.count()

    with pytest.raises(ServiceValidationError) as err:
        await override(hass, SITE_FULL, **data)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == placeholders
    assert simulator.count() == before
    assert active(hass, SITE_FULL)[0] == "off"


async def test_site_without_battery_refused(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A solar-only site named as a device: no reserve, mode, export rule or target.

    Each setting is refused with the refusal its control has (commands.py),
    the same one its entity command gives; a target charge level needs a
    battery whatever the settings (here a storm-capable site without one).
    """
    simulator.override_fields(
        SITE_SOLAR_ONLY, "site_info", set={"components.storm_mode_capable": True}
    )
    await setup_sites(hass, config_entry, SITE_SOLAR_ONLY)
    before = simulator.count()
    for data, key in (
        ({"backup_reserve": 100, "duration": HOUR}, "no_battery"),
        ({"operation_mode": "backup", "duration": HOUR}, "no_operation_mode"),
        ({"export_rule": "never", "target_percent": 50}, "no_export_rule"),
        ({"grid_charging": True, "duration": HOUR}, "no_grid_charging"),
        ({"storm_watch": True, "target_percent": 50}, "override_needs_battery"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await override(hass, SITE_SOLAR_ONLY, **data)
        assert err.value.translation_key == key, data
    assert simulator.count() == before


async def test_one_bad_site_refuses_the_whole_call(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Two devices, one of which cannot take the value: nothing is sent to either."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_SOLAR_ONLY)
    before = simulator.count()
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "override",
            {
                "device_id": [
                    device_id(hass, SITE_FULL),
                    device_id(hass, SITE_SOLAR_ONLY),
                ],
                "backup_reserve": 100,
                "duration": HOUR,
            },
            blocking=True,
        )
    assert simulator.count() == before


async def test_until_and_naive_times(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Until takes Home Assistant's zone when it has none; the response gives UTC."""
    await setup_sites(hass, config_entry, SITE_PW3)
    when = (dt_util.now() + timedelta(hours=3)).replace(microsecond=0)
    result = await override(
        hass,
        SITE_PW3,
        backup_reserve=50,
        until=when.replace(tzinfo=None).isoformat(),
    )
    assert result["ends_at"] == dt_util.as_utc(when).isoformat()


# Home Assistant's zone in these tests; daylight saving starts on 2027-03-14.
ZONE = "America/Los_Angeles"


@pytest.mark.parametrize(
    ("now", "until", "ends_at"),
    [
        pytest.param(
            "2027-03-10 05:00", "06:30:00", "2027-03-10T14:30:00+00:00", id="today"
        ),
        pytest.param(
            "2027-03-10 07:00", "06:30", "2027-03-11T14:30:00+00:00", id="tomorrow"
        ),
        pytest.param(
            "2027-03-10 06:30",
            "06:30",
            "2027-03-11T14:30:00+00:00",
            id="now-is-not-next",
        ),
        pytest.param(
            "2027-03-13 23:00",
            "04:00",
            "2027-03-14T11:00:00+00:00",
            id="across-daylight-saving",
        ),
        pytest.param(
            "2027-03-10 05:00",
            "2027-03-12 06:30",
            "2027-03-12T14:30:00+00:00",
            id="date-and-time",
        ),
    ],
)
async def test_until_time_of_day(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    now: str,
    until: str,
    ends_at: str,
) -> None:
    """A time of day is the next such time on Home Assistant's clock (README's example).

    Issue 23 (3): ``until: "06:30:00"`` was refused as an invalid datetime.
    """
    await hass.config.async_set_time_zone(ZONE)
    local = dt_util.parse_datetime(now)
    assert local is not None
    freezer.move_to(local.replace(tzinfo=dt_util.get_time_zone(ZONE)))
    await setup_sites(hass, config_entry, SITE_PW3)

    result = await override(hass, SITE_PW3, backup_reserve=50, until=until)

    assert result["ends_at"] == ends_at
