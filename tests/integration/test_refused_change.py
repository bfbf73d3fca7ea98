"""A refused or failed change: the entity shows the site's real value again at once.

Issue 11, §4: after a refusal (before any request) or a failure (Tesla said
no, or did not answer), the control writes its state anew from what the site
holds, so whatever shows the rejected value is told the real one, without a
reload. Through the Home Assistant state machine, against the simulator.
"""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.commands import async_set_backup_reserve
from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import record_states, request_bodies, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

pytestmark = pytest.mark.usefixtures("no_retry_delay")


def _entity_id(hass: HomeAssistant, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{SITE_FULL}_{key}"
    )
    assert entity_id is not None
    return entity_id


async def test_refused_reserve_shows_the_old_value_at_once(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """85 % outside backup-only: refused, nothing sent, the entity reports 20 % again."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, "number", "backup_reserve")
    before = hass.states.get(entity_id)
    assert before is not None
    assert before.state == "20"
    reported = before.last_reported
    seen = record_states(hass, entity_id)
    called = dt_util.utcnow()
    info_reads = simulator.count("site_info", site_id=SITE_FULL)

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "number",
            "set_value",
            {ATTR_ENTITY_ID: entity_id, "value": 85},
            blocking=True,
        )

    assert err.value.translation_key == "reserve_needs_backup_mode"
    # Immediately after the call raised (no block_till_done): the entity has
    # written the site's value again, without a read (the value was known).
    after = hass.states.get(entity_id)
    assert after is not None
    assert after.state == "20"
    assert after.last_reported >= called > reported
    assert seen == []
    assert request_bodies(simulator, "backup") == []
    assert simulator.count("site_info", site_id=SITE_FULL) == info_reads


async def test_failed_mode_change_shows_the_old_option_at_once(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Tesla fails the mode change: the select reports the site's option again."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, "select", "operation_mode")
    before = hass.states.get(entity_id)
    assert before is not None
    called = dt_util.utcnow()
    simulator.add_fault(r"/operation$", method="POST", status=503)

    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "select",
            "select_option",
            {ATTR_ENTITY_ID: entity_id, "option": "autonomous"},
            blocking=True,
        )

    after = hass.states.get(entity_id)
    assert after is not None
    assert after.state == "self_consumption"
    assert after.last_reported >= called


async def test_bad_input_with_unknown_value_sends_nothing(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The last site_info read failed: bad input still sends nothing, not even a read."""
    await setup_sites(hass, config_entry)
    entity_id = _entity_id(hass, "number", "backup_reserve")
    site = config_entry.runtime_data.sites[SITE_FULL]
    simulator.add_fault(r"/site_info$", status=503, times=2)
    await site.info.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "unavailable"
    reads = site.usage.counts["site_info"]
    sent = simulator.count("site_info", site_id=SITE_FULL)

    with pytest.raises(ServiceValidationError):
        await async_set_backup_reserve(site, 85)

    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "unavailable"  # still not known: nothing was read
    assert site.usage.counts["site_info"] == reads
    assert simulator.count("site_info", site_id=SITE_FULL) == sent
    assert request_bodies(simulator, "backup") == []
