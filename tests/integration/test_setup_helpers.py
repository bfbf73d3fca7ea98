"""The shared test setup: the platforms and recorder marks, ``setup_sites``."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet import PLATFORMS
from custom_components.powerwall_fleet.const import CONF_SITE_IDS, DOMAIN
from tests.integration.entity_helpers import setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3


def _domains(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """The entity platforms the entry has entities on."""
    registry = er.async_get(hass)
    return {
        e.domain for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }


async def test_without_the_mark_every_platform_loads(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """No ``platforms`` mark: the integration's own list."""
    await setup_sites(hass, config_entry)
    assert _domains(hass, config_entry) == {str(platform) for platform in PLATFORMS}


@pytest.mark.platforms(Platform.SENSOR)
async def test_the_mark_names_the_platforms_for_the_whole_test(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Only the marked platforms, on the first setup and on a reload."""
    await setup_sites(hass, config_entry)
    assert _domains(hass, config_entry) == {"sensor"}
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _domains(hass, config_entry) == {"sensor"}


@pytest.mark.platforms
async def test_an_empty_mark_loads_no_platform(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The coordinators run without any entity."""
    await setup_sites(hass, config_entry)
    assert _domains(hass, config_entry) == set()
    assert config_entry.runtime_data.sites[SITE_FULL].info.data is not None


@pytest.mark.recorder
async def test_the_recorder_mark_sets_the_recorder_up(hass: HomeAssistant) -> None:
    """Marked: the recorder runs; unmarked tests (the others here) have none."""
    assert "recorder" in hass.config.components


async def test_no_recorder_without_the_mark(hass: HomeAssistant) -> None:
    """Home Assistant without the recorder."""
    assert "recorder" not in hass.config.components


@pytest.mark.platforms
async def test_setup_sites_replaces_the_sites(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The sites named replace the entry's."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    assert config_entry.data[CONF_SITE_IDS] == [SITE_FULL, SITE_PW3]
    assert set(config_entry.runtime_data.sites) == {SITE_FULL, SITE_PW3}


@pytest.mark.platforms(Platform.SENSOR)
@pytest.mark.parametrize("enable_all", [True, False])
async def test_setup_sites_enable_all(
    hass: HomeAssistant, config_entry: MockConfigEntry, enable_all: bool
) -> None:
    """``enable_all``: the entities disabled by default are enabled too."""
    await setup_sites(hass, config_entry, enable_all=enable_all)
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_FULL}_api_requests"
    )
    assert entity_id is not None
    entity = registry.async_get(entity_id)
    assert entity is not None
    assert entity.disabled is not enable_all


async def test_setup_sites_checks_the_state_it_is_told(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A setup expected to fail: no assertion error when it does, one when it does not."""
    simulator.add_fault(r"/products$", status=503)
    await setup_sites(hass, config_entry, expect=ConfigEntryState.SETUP_RETRY)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(AssertionError):
        await setup_sites(hass, config_entry, expect=ConfigEntryState.SETUP_RETRY)
    assert config_entry.state is ConfigEntryState.LOADED
