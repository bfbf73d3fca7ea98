"""Sensors and binary sensors: which exist per site, their values and availability."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from custom_components.powerwall_fleet.energy.ledger import FLOWS
from tests.integration.entity_helpers import new_entry, setup_sites, summarise
from tests.simulator import Simulator
from tests.simulator.scenario import (
    SITE_EU,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
)

pytestmark = pytest.mark.platforms(Platform.BINARY_SENSOR, Platform.SENSOR)


@pytest.fixture
def midday(simulator: Simulator, freezer: FrozenDateTimeFactory) -> None:
    """20:00 UTC: early afternoon in California, late afternoon in New York.

    Home Assistant's clock too: the time-of-use sensors follow it.
    """
    simulator.clock.advance(8 * 3600)
    freezer.move_to(simulator.clock.now())


@pytest.mark.parametrize(
    "site_ids",
    [[SITE_FULL], [SITE_SOLAR_ONLY], [SITE_PW3], [SITE_FULL, SITE_PW3]],
    ids=["full_site", "solar_only", "powerwall_3", "two_sites"],
)
@pytest.mark.usefixtures("midday")
async def test_entities_snapshot(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    snapshot: SnapshotAssertion,
    site_ids: list[int],
) -> None:
    """Every read entity of each kind of site, with its state."""
    entry = await setup_sites(hass, new_entry(simulator), *site_ids, enable_all=True)
    assert summarise(hass, entry) == snapshot.use_extension(JSONSnapshotExtension)


def _keys(summary: dict[str, dict[str, Any]], site_id: int) -> set[str]:
    prefix = f"{site_id}_"
    return {uid.removeprefix(prefix) for uid in summary if uid.startswith(prefix)}


async def test_entities_follow_components(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """No dead entities: each site gets what its components report."""
    entry = await setup_sites(
        hass,
        new_entry(simulator),
        SITE_FULL,
        SITE_SOLAR_ONLY,
        SITE_PW3,
        enable_all=True,
    )
    summary = summarise(hass, entry)
    full = _keys(summary, SITE_FULL)
    solar = _keys(summary, SITE_SOLAR_ONLY)
    pw3 = _keys(summary, SITE_PW3)
    assert {"solar_power", "battery_power", "grid_power", "load_power"} <= full
    assert {"energy_left", "total_pack_energy", "storm_mode_active"} <= full
    assert "battery_power" not in solar
    assert "percentage_charged" not in solar
    assert "grid_status" not in solar  # Tesla reports "Unknown" there
    assert {"solar_power", "load_power", "api_requests"} <= solar
    assert "version" not in solar  # Tesla reports no firmware for it
    assert "energy_left" not in pw3
    assert "total_pack_energy" not in pw3
    assert "percentage_charged" in pw3


@pytest.mark.usefixtures("midday")
async def test_power_in_kw_and_balanced(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Power shows in kW; solar + battery + grid = load."""
    await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    registry = er.async_get(hass)
    values = {}
    for key in ("solar_power", "battery_power", "grid_power", "load_power"):
        entity_id = registry.async_get_entity_id(
            "sensor", "powerwall_fleet", f"{SITE_FULL}_{key}"
        )
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["unit_of_measurement"] == "kW"
        values[key] = float(state.state)
    assert values["solar_power"] > 0  # early afternoon in California
    assert (
        abs(
            values["solar_power"]
            + values["battery_power"]
            + values["grid_power"]
            - values["load_power"]
        )
        < 0.01
    )


async def test_malformed_field_only_that_entity_unavailable(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A wrong-typed field makes its entity unavailable; the rest keep working."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    simulator.override_fields(
        SITE_FULL, "live_status", set={"solar_power": "lots", "grid_status": None}
    )
    await entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    await hass.async_block_till_done()
    registry = er.async_get(hass)

    def state_of(platform: str, key: str) -> str:
        entity_id = registry.async_get_entity_id(
            platform, "powerwall_fleet", f"{SITE_FULL}_{key}"
        )
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        return state.state

    assert state_of("sensor", "solar_power") == STATE_UNAVAILABLE
    assert state_of("binary_sensor", "grid_status") == STATE_UNAVAILABLE
    assert state_of("sensor", "load_power") != STATE_UNAVAILABLE
    assert state_of("sensor", "percentage_charged") != STATE_UNAVAILABLE


async def test_grid_outage(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """An outage turns the grid sensor off and island status to off-grid."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    registry = er.async_get(hass)
    grid = registry.async_get_entity_id(
        "binary_sensor", "powerwall_fleet", f"{SITE_FULL}_grid_status"
    )
    island = registry.async_get_entity_id(
        "sensor", "powerwall_fleet", f"{SITE_FULL}_island_status"
    )
    assert grid is not None
    assert island is not None
    assert hass.states.get(grid).state == "on"  # type: ignore[union-attr]
    simulator.set_grid_outage(SITE_FULL, True)
    simulator.clock.advance(60)
    await entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(grid).state == "off"  # type: ignore[union-attr]
    assert hass.states.get(island).state == "off_grid_unintentional"  # type: ignore[union-attr]


async def test_request_counter(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """The counter shows what this site cost, per endpoint."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    registry = er.async_get(hass)
    counter = registry.async_get_entity_id(
        "sensor", "powerwall_fleet", f"{SITE_FULL}_api_requests"
    )
    assert counter is not None
    counter_entry = registry.async_get(counter)
    assert counter_entry is not None
    assert counter_entry.disabled_by is None  # enabled by the helper
    state = hass.states.get(counter)
    assert state is not None
    assert state.state == "2"  # one site_info + one live_status at setup
    assert state.attributes["live_status"] == 1
    assert state.attributes["site_info"] == 1
    await entry.runtime_data.sites[SITE_FULL].live.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(counter).state == "3"  # type: ignore[union-attr]
    assert simulator.count("live_status", site_id=SITE_FULL) == 2


async def test_disabled_by_default(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Rarely useful entities start disabled."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL)
    registry = er.async_get(hass)
    disabled = {
        e.unique_id.removeprefix(f"{SITE_FULL}_")
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is not None
    }
    assert disabled == {
        "api_requests",
        "generator_power",
        "grid_services_power",
        "grid_services_active",
    } | {flow.key for flow in FLOWS if not flow.main}  # energy breakdowns


async def test_site_entities_added_once_info_arrives(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A site whose site_info failed at start gets its entities when it recovers."""
    simulator.add_fault(r"/site_info$", status=503, times=2)
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    registry = er.async_get(hass)
    assert not er.async_entries_for_config_entry(registry, entry.entry_id)
    await entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    await hass.async_block_till_done()
    keys = {
        e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    assert f"{SITE_FULL}_solar_power" in keys


async def test_eu_account(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A second account in another region gets its own entities."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_EU), SITE_EU, enable_all=True
    )
    assert f"{SITE_EU}_percentage_charged" in summarise(hass, entry)
