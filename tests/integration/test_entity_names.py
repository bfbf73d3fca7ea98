"""Entity names read well whatever the site is called (issue 11, §4).

The frontend shows an entity under its device with the device's name taken
off the front of the entity's name: on a site named "Home", "Home load" would
read "Load". No entity's own name may start with a name sites are commonly
given.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from tests.integration.entity_helpers import new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay", "credentials")

# What owners call their sites (Tesla's app suggests "My Home").
COMMON_SITE_NAMES = (
    "Home",
    "House",
    "My Home",
    "Cabin",
    "Cottage",
    "Office",
    "Garage",
    "Barn",
    "Farm",
    "Shop",
    "Powerwall",
    "Tesla",
)


def strips_prefix(name: str, prefix: str) -> bool:
    """Whether the frontend would take ``prefix`` off the front of ``name``.

    As the frontend's ``stripPrefixFromEntityName``: case-insensitive, the
    prefix followed by a space, ": " or " - ".
    """
    lowered, start = name.casefold(), prefix.casefold()
    return any(lowered.startswith(start + sep) for sep in (" ", ": ", " - "))


def test_strips_prefix_as_the_frontend() -> None:
    """The helper above takes off what the frontend takes off, nothing else."""
    assert strips_prefix("Home load", "Home")
    assert strips_prefix("home - load", "Home")
    assert not strips_prefix("Homestead load", "Home")
    assert not strips_prefix("Load power", "Home")


@pytest.mark.parametrize("site_name", COMMON_SITE_NAMES)
async def test_no_entity_name_starts_with_the_site_name(
    hass: HomeAssistant, simulator: Simulator, site_name: str
) -> None:
    """Every entity of every kind of site, on a site called ``site_name``."""
    for site_id in (SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY):
        simulator.override_fields(site_id, "site_info", set={"site_name": site_name})
        simulator.override_fields(site_id, "products", set={"site_name": site_name})
    entry = await setup_sites(
        hass,
        new_entry(simulator),
        SITE_FULL,
        SITE_PW3,
        SITE_SOLAR_ONLY,
        enable_all=True,
    )
    devices = dr.async_get(hass)
    checked = 0
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        device = devices.async_get(entity.device_id) if entity.device_id else None
        assert device is not None
        assert device.name
        friendly = str(state.attributes["friendly_name"])
        assert friendly.startswith(f"{device.name} ")
        own_name = friendly[len(device.name) + 1 :]
        assert not strips_prefix(own_name, device.name), (entity.entity_id, own_name)
        for common in COMMON_SITE_NAMES:
            assert not strips_prefix(own_name, common), (entity.entity_id, own_name)
        checked += 1
    assert checked > 60


async def test_renamed_entities_keep_their_ids(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """An install from before the renames keeps its entity ids (unique ids unchanged)."""
    registry = er.async_get(hass)
    old = {
        "load_power": "sensor.home_home_load",
        "home_energy_consumed": "sensor.home_home_energy_consumed",
    }
    for key, entity_id in old.items():
        registry.async_get_or_create(
            "sensor",
            "powerwall_fleet",
            f"{SITE_FULL}_{key}",
            suggested_object_id=entity_id.split(".", 1)[1],
        )

    await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)

    for key, entity_id in old.items():
        assert (
            registry.async_get_entity_id(
                "sensor", "powerwall_fleet", f"{SITE_FULL}_{key}"
            )
            == entity_id
        )
        state = hass.states.get(entity_id)
        assert state is not None
    load = hass.states.get(old["load_power"])
    assert load is not None
    assert load.attributes["friendly_name"] == "Home Load power"
