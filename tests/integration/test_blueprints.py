"""The automation blueprints in blueprints/automation/powerwall_fleet/.

Each one passes Home Assistant's blueprint validation, sets up as an automation with
inputs, is linked from the README ("Import blueprint"), and runs against the simulator:
the trigger entity's state and the time are driven here, and the simulated site's
settings change and come back (the override action does the waiting and restoring).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
import re
import shutil
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import setup_sites, tick
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3

ROOT = Path(__file__).parents[2]
BLUEPRINT_DIR = ROOT / "blueprints" / "automation" / DOMAIN
REPOSITORY = "https://github.com/powerwall-fleet/powerwall-fleet"
RAW = "https://raw.githubusercontent.com/powerwall-fleet/powerwall-fleet/main"
BLUEPRINTS = (
    "storm_prep",
    "cheap_rate_charging",
    "negative_price_export_stop",
    "export_when_price_high",
)

pytestmark = pytest.mark.usefixtures("no_retry_delay")


@pytest.fixture(autouse=True)
async def detach_automations(hass: HomeAssistant) -> AsyncIterator[None]:
    """Turn the automations off after each test, passed or failed.

    A template trigger on now() keeps a timer otherwise (a lingering timer fails the test).
    """
    yield
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all"}, blocking=True
        )
        await hass.async_block_till_done()


def _load(name: str) -> dict[str, Any]:
    data = yaml_util.load_yaml_dict(BLUEPRINT_DIR / f"{name}.yaml")
    return dict(data)


def _walk(node: Any) -> list[Any]:
    """Every dict and list inside ``node`` (depth first)."""
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


# ---------------------------------------------------------------- validation


def test_the_directory_holds_exactly_the_blueprints() -> None:
    """One YAML per blueprint, nothing else (a new one needs its tests)."""
    assert sorted(p.stem for p in BLUEPRINT_DIR.iterdir()) == sorted(BLUEPRINTS)
    assert all(p.suffix == ".yaml" for p in BLUEPRINT_DIR.iterdir())


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprint_passes_home_assistants_validation(name: str) -> None:
    """The automation blueprint schema accepts it; metadata and selectors are ours."""
    path = BLUEPRINT_DIR / f"{name}.yaml"
    blueprint = models.Blueprint(
        _load(name),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    meta = blueprint.metadata
    assert blueprint.domain == "automation"
    assert meta["name"].startswith("Powerwall")
    assert len(meta["description"]) > 200
    assert meta["source_url"] == (
        f"{REPOSITORY}/blob/main/blueprints/automation/{DOMAIN}/{name}.yaml"
    )
    # The sites are picked by one of their entities: unlike the device
    # picker, the entity picker marks a required input as required.
    sites = blueprint.inputs["powerwall"]
    assert "default" not in sites
    entities = sites["selector"]["entity"]
    assert entities["multiple"] is True
    assert [rule["integration"] for rule in entities["filter"]] == [DOMAIN]
    for key, spec in blueprint.inputs.items():
        assert spec.get("name"), key
        assert spec.get("description"), key
        assert "selector" in spec, key
    config = blueprint.data
    assert config["mode"] == "restart"
    actions = [
        node["action"]
        for node in _walk(config["actions"])
        if isinstance(node, dict) and "action" in node
    ]
    assert set(actions) <= {
        f"{DOMAIN}.override",
        f"{DOMAIN}.dispatch",
        f"{DOMAIN}.cancel_override",
    }
    # Charging and exporting go through dispatch (its verification), the rest
    # through override.
    starts = {f"{DOMAIN}.override", f"{DOMAIN}.dispatch"} & set(actions)
    assert starts == {
        f"{DOMAIN}.dispatch"
        if name in ("cheap_rate_charging", "export_when_price_high")
        else f"{DOMAIN}.override"
    }
    # the override's persisted end does the waiting: nothing a restart would lose
    for node in _walk(config):
        if isinstance(node, dict):
            assert not {"delay", "wait_template", "wait_for_trigger"} & set(node)


def _copy_blueprints(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints", "automation", DOMAIN))
    target.mkdir(parents=True, exist_ok=True)
    for name in BLUEPRINTS:
        shutil.copy(BLUEPRINT_DIR / f"{name}.yaml", target / f"{name}.yaml")


def _automation(name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "id": name,
        "alias": name,
        "use_blueprint": {"path": f"{DOMAIN}/{name}.yaml", "input": inputs},
    }


VALIDATION_INPUTS: dict[str, dict[str, Any]] = {
    "storm_prep": {
        "powerwall": ["abc123"],
        "alert_entities": ["binary_sensor.storm"],
    },
    "cheap_rate_charging": {
        "powerwall": ["abc123"],
        "price_entity": "sensor.price",
    },
    "negative_price_export_stop": {
        "powerwall": ["abc123"],
        "sell_price_entity": "sensor.sell_price",
    },
    "export_when_price_high": {
        "powerwall": ["abc123"],
        "sell_price_entity": "sensor.sell_price",
    },
}


async def test_automations_set_up_from_the_blueprints(hass: HomeAssistant) -> None:
    """Each blueprint with only its required inputs is a valid, enabled automation."""
    _copy_blueprints(hass)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                _automation(name, **inputs)
                for name, inputs in VALIDATION_INPUTS.items()
            ]
        },
    )
    await hass.async_block_till_done()
    for name in BLUEPRINTS:
        state = hass.states.get(f"automation.{name}")
        assert state is not None, name
        assert state.state == STATE_ON, (name, state.attributes)


async def test_a_missing_input_is_refused(hass: HomeAssistant) -> None:
    """Home Assistant's validation really runs: a required input left out fails."""
    _copy_blueprints(hass)
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": [_automation("storm_prep", powerwall=["abc123"])]},
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.storm_prep")
    assert state is not None
    assert state.state == "unavailable"


def test_readme_links_every_blueprint() -> None:
    """The README's Blueprints section has an Import link and a description for each."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Blueprints\n", 1)[1].split("\n## ", 1)[0]
    links = re.findall(
        r"\((https://my\.home-assistant\.io/redirect/blueprint_import/\?[^)\s]+)\)",
        section,
    )
    urls = [parse_qs(urlsplit(link).query)["blueprint_url"][0] for link in links]
    assert urls == [
        f"{RAW}/blueprints/automation/{DOMAIN}/{name}.yaml" for name in BLUEPRINTS
    ]
    for link, url in zip(links, urls, strict=True):
        assert link.endswith("blueprint_url=" + quote(url, safe=""))
    for name in BLUEPRINTS:
        assert _load(name)["blueprint"]["name"] in section


# ---------------------------------------------------------------- runs against the simulator


def _device(hass: HomeAssistant, site_id: int) -> str:
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, str(site_id)) in device.identifiers:
                return device.id
    raise AssertionError(f"no device for {site_id}")


# The entity that stands for a site in each blueprint's site input.
SITE_ENTITY = {
    "storm_prep": ("number", "backup_reserve"),
    "cheap_rate_charging": ("number", "backup_reserve"),
    "negative_price_export_stop": ("select", "export_rule"),
    "export_when_price_high": ("number", "backup_reserve"),
}


def _site_entity(hass: HomeAssistant, name: str, site_id: int) -> str:
    platform, key = SITE_ENTITY[name]
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{site_id}_{key}"
    )
    assert entity_id is not None
    return entity_id


async def _run_blueprint(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    name: str,
    *,
    saved_with_devices: bool = False,
    **inputs: Any,
) -> None:
    """The integration on the simulator, and one automation from blueprint ``name``.

    The sites are given by an entity each, as the site input picks them, or
    by their devices, as an automation saved from an earlier version holds them.
    """
    _copy_blueprints(hass)
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    for key, value in list(inputs.items()):
        if key == "powerwall":
            inputs[key] = [
                _device(hass, site_id)
                if saved_with_devices
                else _site_entity(hass, name, site_id)
                for site_id in value
            ]
    assert await async_setup_component(
        hass, "automation", {"automation": [_automation(name, **inputs)]}
    )
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{name}")
    assert state is not None
    assert state.state == STATE_ON, state.attributes


async def _set(hass: HomeAssistant, entity_id: str, state: str) -> None:
    hass.states.async_set(entity_id, state)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _override(hass: HomeAssistant, site_id: int, **data: Any) -> None:
    """An override started elsewhere (not by the blueprint under test)."""
    await hass.services.async_call(
        DOMAIN,
        "override",
        {"device_id": _device(hass, site_id), **data},
        blocking=True,
    )


def _settings(simulator: Simulator, site_id: int) -> tuple[Any, ...]:
    site = simulator.site(site_id)
    return (site.mode, site.reserve, site.export_rule, site.grid_charging)


@pytest.mark.parametrize(
    "saved_with_devices", [False, True], ids=["sites-by-entity", "saved-with-devices"]
)
async def test_storm_prep_holds_the_reserve_until_it_clears_plus_hours(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    saved_with_devices: bool,
) -> None:
    """An alert raises both sites' reserve to 100 %; N hours after it clears it comes back."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("binary_sensor.storm", "off")
    hass.states.async_set("sensor.weather_alerts", "0")
    await _run_blueprint(
        hass,
        config_entry,
        "storm_prep",
        saved_with_devices=saved_with_devices,
        powerwall=[SITE_FULL, SITE_PW3],
        alert_entities=["binary_sensor.storm", "sensor.weather_alerts"],
        hours_after=2,
        max_hours=24,
    )
    full, pw3 = _settings(simulator, SITE_FULL), _settings(simulator, SITE_PW3)
    assert (full[1], pw3[1]) == (20, 30)

    await _set(hass, "binary_sensor.storm", "on")
    assert simulator.site(SITE_FULL).reserve == 100
    assert simulator.site(SITE_PW3).reserve == 100
    await _set(hass, "sensor.weather_alerts", "2")  # a second alert in force
    await tick(hass, freezer, 10 * 3600)
    assert simulator.site(SITE_FULL).reserve == 100
    await _set(hass, "binary_sensor.storm", "unavailable")  # says nothing
    await _set(hass, "binary_sensor.storm", "off")  # the alert sensor still counts 2
    await tick(hass, freezer, 3 * 3600)
    assert simulator.site(SITE_FULL).reserve == 100

    await _set(hass, "sensor.weather_alerts", "0")  # all clear: 2 more hours
    await tick(hass, freezer, 2 * 3600 - 5)
    assert simulator.site(SITE_FULL).reserve == 100
    assert simulator.site(SITE_PW3).reserve == 100
    await tick(hass, freezer, 10)
    assert _settings(simulator, SITE_FULL) == full
    assert _settings(simulator, SITE_PW3) == pw3


async def test_storm_prep_from_a_calendar_and_the_longest_hold(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A calendar event starts it; with nothing clearing, the longest hold ends it."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("binary_sensor.storm", "off")
    hass.states.async_set("calendar.storms", "off")
    await _run_blueprint(
        hass,
        config_entry,
        "storm_prep",
        powerwall=[SITE_FULL],
        alert_entities=["binary_sensor.storm"],
        calendars=["calendar.storms"],
        hours_after=0,
        max_hours=6,
    )
    await _set(hass, "calendar.storms", "on")
    assert simulator.site(SITE_FULL).reserve == 100
    await _set(hass, "calendar.storms", "off")  # hours_after 0: restore at once
    assert simulator.site(SITE_FULL).reserve == 20

    await _set(hass, "calendar.storms", "on")
    assert simulator.site(SITE_FULL).reserve == 100
    await tick(hass, freezer, 6 * 3600 - 5)
    assert simulator.site(SITE_FULL).reserve == 100
    await tick(hass, freezer, 10)  # missed clearing: the longest hold ends it
    assert simulator.site(SITE_FULL).reserve == 20


async def test_storm_prep_clearing_leaves_a_cancelled_override_alone(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The owner cancelled the storm override: the alert clearing starts nothing."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("binary_sensor.storm", "off")
    await _run_blueprint(
        hass,
        config_entry,
        "storm_prep",
        powerwall=[SITE_FULL],
        alert_entities=["binary_sensor.storm"],
    )
    await _set(hass, "binary_sensor.storm", "on")
    assert simulator.site(SITE_FULL).reserve == 100
    await hass.services.async_call(
        DOMAIN,
        "cancel_override",
        {"device_id": _device(hass, SITE_FULL)},
        blocking=True,
    )
    assert simulator.site(SITE_FULL).reserve == 20
    posted = simulator.count("backup", site_id=SITE_FULL)
    await _set(hass, "binary_sensor.storm", "off")
    await tick(hass, freezer, 3 * 3600)
    assert simulator.site(SITE_FULL).reserve == 20
    assert simulator.count("backup", site_id=SITE_FULL) == posted


async def test_cheap_rate_charging_by_price(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Below the threshold the site charges from the grid; above it, it is restored."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("sensor.price", "0.31")
    simulator.set_apply_delay(600, site_id=SITE_FULL)  # Tesla acts 10 minutes late
    site = simulator.site(SITE_FULL)
    site.grid_charging = False  # the owner's usual setting: no grid charging
    await _run_blueprint(
        hass,
        config_entry,
        "cheap_rate_charging",
        powerwall=[SITE_FULL],
        price_entity="sensor.price",
        price_threshold=0.1,
        target_percent=95,
    )
    before = _settings(simulator, SITE_FULL)
    assert before == ("self_consumption", 20, "pv_only", False)

    await _set(hass, "sensor.price", "0.04")
    assert _settings(simulator, SITE_FULL) == ("autonomous", 100, "pv_only", True)
    assert site.live_powers()["grid_power"] < 4000  # the gateway has not acted yet
    simulator.clock.advance(600)
    powers = site.live_powers()
    assert powers["battery_power"] == -10000  # charging from the grid at full power
    assert powers["grid_power"] > 10000

    await _set(hass, "sensor.price", "0.08")  # still cheap: nothing changes
    await _set(hass, "sensor.price", "unavailable")
    assert site.reserve == 100
    await _set(hass, "sensor.price", "0.07")  # cheap again: the override goes on
    assert site.reserve == 100
    await _set(hass, "sensor.price", "0.10")  # at the threshold: cancelled
    assert _settings(simulator, SITE_FULL) == before

    # a price that only becomes known cancels nothing (here: a storm override)
    await _set(hass, "sensor.price", "unavailable")
    await _override(hass, SITE_FULL, preset="storm_prep", duration={"hours": 1})
    await _set(hass, "sensor.price", "0.30")
    assert site.reserve == 100


async def test_cheap_rate_charging_until_the_target(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The charge ends by itself at the target charge, the price still cheap."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("sensor.price", "0.31")
    await _run_blueprint(
        hass,
        config_entry,
        "cheap_rate_charging",
        powerwall=[SITE_FULL],
        price_entity="sensor.price",
        price_threshold=0.1,
        target_percent=90,
    )
    site = simulator.site(SITE_FULL)
    await _set(hass, "sensor.price", "0.02")
    assert (site.mode, site.reserve) == ("autonomous", 100)
    site.soc = 90.2
    await tick(hass, freezer, 31)
    await tick(hass, freezer, 31)
    assert (site.mode, site.reserve) == ("self_consumption", 20)


async def test_cheap_rate_charging_in_a_time_window(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without a price entity, a window across midnight charges and ends on time."""
    start = dt_util.now().replace(hour=23, minute=29, second=30, microsecond=0)
    freezer.move_to(start)
    await _run_blueprint(
        hass,
        config_entry,
        "cheap_rate_charging",
        powerwall=[SITE_FULL],
        start_time="23:30:00",
        end_time="01:00:00",
    )
    site = simulator.site(SITE_FULL)
    await tick(hass, freezer, 20)
    assert site.reserve == 20
    await tick(hass, freezer, 15)  # 23:30:05
    assert (site.mode, site.reserve) == ("autonomous", 100)
    await tick(hass, freezer, 90 * 60 - 10)  # 00:59:55
    assert site.reserve == 100
    await tick(hass, freezer, 10)  # 01:00:05: the window's end
    assert (site.mode, site.reserve) == ("self_consumption", 20)


async def test_negative_price_export_stop(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Export "never" while the sell price is below zero; back at zero it is restored."""
    freezer.move_to(dt_util.utcnow().replace(microsecond=0))
    hass.states.async_set("sensor.sell_price", "0.05")
    await _run_blueprint(
        hass,
        config_entry,
        "negative_price_export_stop",
        powerwall=[SITE_FULL, SITE_PW3],
        sell_price_entity="sensor.sell_price",
        max_hours=4,
    )
    assert simulator.site(SITE_FULL).export_rule == "pv_only"
    assert simulator.site(SITE_PW3).export_rule == "battery_ok"

    await _set(hass, "sensor.sell_price", "-0.01")
    assert simulator.site(SITE_FULL).export_rule == "never"
    assert simulator.site(SITE_PW3).export_rule == "never"
    await _set(hass, "sensor.sell_price", "-0.03")
    await _set(hass, "sensor.sell_price", "unknown")
    assert simulator.site(SITE_FULL).export_rule == "never"
    await _set(hass, "sensor.sell_price", "-0.02")
    await _set(hass, "sensor.sell_price", "0")
    assert simulator.site(SITE_FULL).export_rule == "pv_only"
    assert simulator.site(SITE_PW3).export_rule == "battery_ok"

    await _set(hass, "sensor.sell_price", "-0.2")  # the longest stop ends it
    assert simulator.site(SITE_PW3).export_rule == "never"
    await tick(hass, freezer, 4 * 3600 + 5)
    assert simulator.site(SITE_PW3).export_rule == "battery_ok"

    # a price that only becomes known cancels nothing (here: a storm override)
    await _set(hass, "sensor.sell_price", "unknown")
    await _override(hass, SITE_FULL, preset="storm_prep", duration={"hours": 1})
    await _set(hass, "sensor.sell_price", "0.02")
    assert simulator.site(SITE_FULL).reserve == 100


async def test_export_when_the_sell_price_is_high(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Above the threshold the battery exports down to the floor (seen acting); below, all back."""
    # Home Assistant's clock on the simulator's: the export window is theirs both.
    freezer.move_to(simulator.clock.now())
    hass.states.async_set("sensor.sell_price", "0.12")
    await _run_blueprint(
        hass,
        config_entry,
        "export_when_price_high",
        powerwall=[SITE_FULL],
        sell_price_entity="sensor.sell_price",
        price_threshold=0.3,
        floor_percent=30,
        max_hours=2,
    )
    site = simulator.site(SITE_FULL)
    before = _settings(simulator, SITE_FULL)
    tariff = site.tariff_content_v2
    await _set(hass, "sensor.sell_price", "0.45")
    assert _settings(simulator, SITE_FULL)[:3] == ("autonomous", 30, "battery_ok")
    assert site.tariff_content_v2 != tariff
    dispatch = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_FULL}_dispatch"
    )
    assert dispatch is not None
    for _ in range(3):
        simulator.clock.advance(31)
        await tick(hass, freezer, 31)
    state = hass.states.get(dispatch)
    assert state is not None
    assert state.state == "acting"
    assert state.attributes["mode"] == "export"
    assert site.live_powers()["battery_power"] > 1000
    await _set(hass, "sensor.sell_price", "0.31")  # still high: nothing changes
    assert site.reserve == 30
    await _set(hass, "sensor.sell_price", "0.2")  # at or below: restored, tariff too
    assert _settings(simulator, SITE_FULL) == before
    assert site.tariff_content_v2 == tariff
    state = hass.states.get(dispatch)
    assert state is not None
    assert state.state == "idle"
