"""Sites added to or removed from the Tesla account follow without user action."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.powerwall_fleet.const import CONF_SITE_IDS
from tests.integration.entity_helpers import device_sites, new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY


async def test_new_site_follows_when_all_sites_chosen(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """An owner who chose every site gets new ones (with components) on setup."""
    entry = await setup_sites(hass, new_entry(simulator, all_sites=True), SITE_FULL)
    assert entry.data[CONF_SITE_IDS] == sorted([SITE_FULL, SITE_SOLAR_ONLY, SITE_PW3])
    assert SITE_DEAD not in entry.data[CONF_SITE_IDS]
    assert device_sites(hass, entry) == {
        str(SITE_FULL),
        str(SITE_SOLAR_ONLY),
        str(SITE_PW3),
    }


async def test_chosen_sites_stay_chosen(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """An owner who left sites out does not get them back."""
    entry = await setup_sites(hass, new_entry(simulator, all_sites=False), SITE_FULL)
    assert entry.data[CONF_SITE_IDS] == [SITE_FULL]
    assert device_sites(hass, entry) == {str(SITE_FULL)}


async def test_daily_check_removes_gone_site(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
) -> None:
    """Once a day the site list is checked; a site gone from the account goes."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, SITE_PW3)
    assert device_sites(hass, entry) == {str(SITE_FULL), str(SITE_PW3)}
    products = [
        product.raw
        for product in await entry.runtime_data.client.products()
        if product.energy_site_id != SITE_PW3
    ]
    simulator.add_fault(
        r"/products$",
        status=200,
        json={"response": products, "count": len(products)},
        times=None,
    )
    simulator.reset_counts()
    start = dt_util.utcnow()
    async_fire_time_changed(hass, start + timedelta(hours=12))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.count("products") == 0  # not before a day has passed
    async_fire_time_changed(hass, start + timedelta(days=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert device_sites(hass, entry) == {str(SITE_FULL)}
    assert set(entry.runtime_data.sites) == {SITE_FULL}


async def test_daily_check_quiet_when_nothing_changed(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
) -> None:
    """No change in the account: one request a day, no reload."""
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL)
    runtime = entry.runtime_data
    simulator.reset_counts()
    start = dt_util.utcnow()
    async_fire_time_changed(hass, start + timedelta(days=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.count("products") == 1
    assert entry.runtime_data is runtime
    simulator.add_fault(r"/products$", status=503, times=None)
    async_fire_time_changed(hass, start + timedelta(days=2, seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data is runtime
    assert entry.state is ConfigEntryState.LOADED
