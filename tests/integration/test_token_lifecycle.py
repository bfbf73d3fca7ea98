"""Token lifecycle: proactive refresh, rotation saved first, one refresh at a time.

These run Home Assistant against the simulator, whose refresh tokens are
strictly single-use: a refresh with a rotated-out token answers
``login_required``, so any lost or doubly-spent refresh token shows up as a
failed test.
"""

from __future__ import annotations

import asyncio
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.integration.entity_helpers import new_entry, reauth_started, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, USER_MAIN


def _expire(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Make the stored access token look expired to Home Assistant."""
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            "token": {**entry.data["token"], "expires_at": time.time() - 1},
        },
    )


async def test_proactive_refresh_saves_rotation_and_survives_restart(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An about-to-expire token is refreshed first; the rotated one is stored.

    After a restart (unload + setup from the stored entry) a second refresh
    must work: it can only if the rotated refresh token was persisted.
    """
    original_refresh = config_entry.data["token"]["refresh_token"]
    config_entry.add_to_hass(hass)
    _expire(hass, config_entry)
    await setup_sites(hass, config_entry)
    assert simulator.count("token") == 1
    rotated = config_entry.data["token"]["refresh_token"]
    assert rotated != original_refresh
    assert config_entry.data["token"]["expires_at"] > time.time() + 3600

    # Restart Home Assistant's view of the entry, then force another refresh.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    _expire(hass, config_entry)
    await setup_sites(hass, config_entry)
    assert simulator.count("token") == 2
    assert config_entry.data["token"]["refresh_token"] not in (
        original_refresh,
        rotated,
    )
    assert not reauth_started(hass)


async def test_valid_token_is_not_refreshed(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A token with hours left is used as it is."""
    await setup_sites(hass, config_entry)
    assert simulator.count("token") == 0
    assert simulator.count("products") == 1


async def test_concurrent_callers_share_one_refresh(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Two (here: six) entities asking at once after expiry → exactly one refresh."""
    await setup_sites(hass, config_entry)
    client = config_entry.runtime_data.client
    _expire(hass, config_entry)
    simulator.reset_counts()
    results = await asyncio.gather(*(client.live_status(SITE_FULL) for _ in range(6)))
    assert all(result.load_power is not None for result in results)
    assert simulator.count("token") == 1
    assert simulator.count("live_status") == 6


async def test_rejected_token_refreshes_once_and_retries(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A 401 on a token Home Assistant thought valid: one refresh, one retry."""
    await setup_sites(hass, config_entry)
    client = config_entry.runtime_data.client
    before = config_entry.data["token"]["access_token"]
    simulator.add_fault(r"/live_status$", status=401, body="")
    simulator.reset_counts()
    live = await client.live_status(SITE_FULL)
    assert live.load_power is not None
    assert simulator.count("token") == 1
    assert simulator.count("live_status") == 2
    assert config_entry.data["token"]["access_token"] != before

    # Several requests rejected together still cost one refresh.
    simulator.add_fault(r"/live_status$", status=401, body="", times=4)
    simulator.reset_counts()
    await asyncio.gather(*(client.live_status(SITE_FULL) for _ in range(4)))
    assert simulator.count("token") == 1


async def test_login_required_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Only Tesla refusing the refresh token asks the owner to sign in again."""
    simulator.revoke_user(USER_MAIN)
    config_entry.add_to_hass(hass)
    _expire(hass, config_entry)
    await setup_sites(hass, config_entry, expect=ConfigEntryState.SETUP_ERROR)
    assert reauth_started(hass)


async def test_transient_refresh_failures_never_cost_a_login(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """5xx, 429, garbage and dropped connections at the token endpoint retry later."""
    config_entry.add_to_hass(hass)
    for fault in (
        {"status": 503},
        {"status": 429, "headers": {"Retry-After": "30"}},
        {"status": 200, "body": "<html>maintenance</html>"},
        {"drop": True, "times": None},
        {"status": 400, "json": {"error": "invalid_request"}},
    ):
        simulator.clear_faults()
        simulator.add_fault(r"/oauth2/v3/token$", **fault)
        _expire(hass, config_entry)
        assert not await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        assert config_entry.state is ConfigEntryState.SETUP_RETRY, fault
        assert not reauth_started(hass), fault
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()

    # Once Tesla answers again the same refresh token still works.
    simulator.clear_faults()
    await setup_sites(hass, config_entry)


async def test_wrong_region_is_followed_and_persisted(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A 421 moves the entry to the account's region for good."""
    from tests.simulator.scenario import SITE_EU, USER_EU

    entry = new_entry(simulator, user=USER_EU, title="EU", site_ids=[SITE_EU])
    await setup_sites(hass, entry)
    assert entry.data["base_url"] == simulator.base_url("eu")
    assert entry.runtime_data.client.base_url == simulator.base_url("eu")
    assert SITE_EU in entry.runtime_data.sites
