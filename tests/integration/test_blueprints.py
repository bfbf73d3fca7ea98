"""The automation blueprints in blueprints/automation/powerwall_fleet/.

Each one passes Home Assistant's blueprint validation, sets up as an automation with
inputs, is linked from the README ("Import blueprint"), and runs against the simulator:
the trigger entity's state and the time are driven here, and the simulated site's
settings change and come back (the override action does the waiting and restoring).
"""

from __future__ import annotations

from pathlib import Path
import re
import shutil
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest

from custom_components.powerwall_fleet.const import DOMAIN

ROOT = Path(__file__).parents[2]
BLUEPRINT_DIR = ROOT / "blueprints" / "automation" / DOMAIN
REPOSITORY = "https://github.com/powerwall-fleet/powerwall-fleet"
RAW = "https://raw.githubusercontent.com/powerwall-fleet/powerwall-fleet/main"
BLUEPRINTS = ("storm_prep", "cheap_rate_charging", "negative_price_export_stop")

pytestmark = pytest.mark.usefixtures("no_retry_delay")


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
    devices = blueprint.inputs["powerwall"]["selector"]["device"]
    assert devices["integration"] == DOMAIN
    assert devices["multiple"] is True
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
    assert set(actions) <= {f"{DOMAIN}.override", f"{DOMAIN}.cancel_override"}
    assert f"{DOMAIN}.override" in actions
    # the override's persisted end does the waiting: nothing a restart would lose
    for node in _walk(config):
        if isinstance(node, dict):
            assert not {"delay", "wait_template", "wait_for_trigger"} & set(node)


def _copy_blueprints(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints", "automation", DOMAIN))
    target.mkdir(parents=True, exist_ok=True)
    for name in BLUEPRINTS:
        shutil.copy(BLUEPRINT_DIR / f"{name}.yaml", target / f"{name}.yaml")


async def _turn_off_automations(hass: HomeAssistant) -> None:
    """Detach the triggers (a template trigger on now() keeps a timer otherwise)."""
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all"}, blocking=True
    )
    await hass.async_block_till_done()


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
    await _turn_off_automations(hass)


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
