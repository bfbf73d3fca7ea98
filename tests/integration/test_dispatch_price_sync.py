"""Dispatch and price sync on one site, against the simulator (issue 19 item 2, issue 22 item 5).

An export dispatch's temporary tariff takes precedence: price sync pushes
nothing while it holds the tariff (state ``pending``). At the dispatch's end
(its end time, ``cancel_override`` or giving up) the synced tariff it found is
put back exactly, then sync resumes by itself and pushes the current prices,
without ``fallback``. Sync switched off during an export waits for the
dispatch and then puts back the owner's own tariff, the last push. A charge
or hold dispatch holds no tariff and does not pause sync.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import (
    CONF_PRICE_SYNC,
    CONF_PRICE_SYNC_BUY,
    CONF_PRICE_SYNC_ENABLED,
    CONF_PRICE_SYNC_INTERVAL,
    DOMAIN,
)
from custom_components.powerwall_fleet.fleet.tariff import differences, parse_tariff
from tests.integration.entity_helpers import (
    new_entry,
    record_states,
    request_bodies,
    setup_sites,
)
from tests.integration.test_dispatch import at, dispatch, sensor, tick, until_state
from tests.integration.test_override import device_id
from tests.integration.test_price_sync import (
    DAY,
    ENTITY,
    PUSH,
    TODAY,
    TOMORROW,
    hourly,
    show,
    sync_state,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_PW3

pytestmark = pytest.mark.usefixtures("credentials", "no_retry_delay")

SOURCE = "generic"
# 20:30 at the Cabin (New York): after sunset, prices known to the next evening.
START = DAY + timedelta(hours=20, minutes=30)
PRICES = hourly(DAY, TODAY) + hourly(DAY + timedelta(days=1), TOMORROW)
# The prices change while the dispatch runs (another order of the hours).
CHANGED = [(s, e, p * 2 + (0.3 if s.hour == 3 else 0)) for s, e, p in PRICES]


def both_entry(simulator: Simulator) -> MockConfigEntry:
    """Price sync on (30-minute interval); live polls at the default pace."""
    return new_entry(
        simulator,
        options={
            CONF_PRICE_SYNC: {
                CONF_PRICE_SYNC_ENABLED: True,
                CONF_PRICE_SYNC_BUY: ENTITY[SOURCE],
                CONF_PRICE_SYNC_INTERVAL: 30,
            }
        },
    )


def sync_sensor(hass: HomeAssistant) -> str:
    """The price_sync sensor's entity id."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_PW3}_price_sync"
    )
    assert entity_id is not None
    return entity_id


def pushes(simulator: Simulator) -> list[dict[str, Any]]:
    """Every tariff pushed to the Cabin, in order (tou_settings)."""
    return [body["tou_settings"] for body in request_bodies(simulator, PUSH, SITE_PW3)]


def same(expected: dict[str, Any], held: dict[str, Any]) -> None:
    """The tariffs mean the same and carry the same prices and seasons."""
    assert not differences(parse_tariff(expected), parse_tariff(held))
    assert held["energy_charges"] == expected["energy_charges"]
    assert held["seasons"] == expected["seasons"]
    assert (
        held["sell_tariff"]["energy_charges"]
        == expected["sell_tariff"]["energy_charges"]
    )


async def synced_site(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> tuple[MockConfigEntry, dict[str, Any]]:
    """The Cabin at 20:30, 90 % charged, its tariff synced; (entry, own tariff)."""
    await at(hass, simulator, freezer, START)
    simulator.site(SITE_PW3).percentage_charged = 90
    own = simulator.site(SITE_PW3).tariff_content_v2
    show(hass, SOURCE, PRICES)
    entry = await setup_sites(hass, both_entry(simulator), SITE_PW3)
    await tick(hass, simulator, freezer, 1)
    assert sync_state(hass)[0] == "synced"
    assert differences(
        parse_tariff(own), parse_tariff(simulator.site(SITE_PW3).tariff_content_v2)
    )
    return entry, own


async def end_dispatch(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    how: str,
) -> None:
    """End the running dispatch as ``how`` says."""
    if how == "cancel":
        await hass.services.async_call(
            DOMAIN,
            "cancel_override",
            {"device_id": device_id(hass, SITE_PW3)},
            blocking=True,
        )
        await hass.async_block_till_done(wait_background_tasks=True)
    elif how == "end":
        waited = await until_state(
            hass, simulator, freezer, ("idle",), limit=3600, site_id=SITE_PW3
        )
        assert waited is not None, sensor(hass, SITE_PW3)
    else:  # not_acting: the last strategy gave up
        waited = await until_state(
            hass, simulator, freezer, ("not_acting",), limit=3600, site_id=SITE_PW3
        )
        assert waited is not None


@pytest.mark.parametrize("how", ["end", "cancel", "not_acting"])
async def test_export_dispatch_pauses_sync_restores_the_synced_tariff_and_sync_resumes(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    how: str,
) -> None:
    """The dispatch's tariff wins; at its end the synced tariff, then the new prices."""
    if how == "not_acting":
        simulator.set_quirks(site_id=SITE_PW3, battery_export_forbidden=True)
    entry, _ = await synced_site(hass, simulator, freezer)
    states = record_states(hass, sync_sensor(hass))
    synced = simulator.site(SITE_PW3).tariff_content_v2
    before = len(pushes(simulator))

    # 40 minutes: the battery (11.5 kW out) does not reach its reserve.
    await dispatch(hass, SITE_PW3, mode="export", duration="00:40:00")
    overrides = entry.runtime_data.overrides
    assert overrides.holds_tariff(SITE_PW3)
    # The dispatch keeps the synced tariff to restore.
    kept = overrides.overrides[SITE_PW3].restore["time_of_use"]
    assert not differences(parse_tariff(synced), parse_tariff(kept))
    if how != "not_acting":
        waited = await until_state(
            hass, simulator, freezer, ("acting",), limit=600, site_id=SITE_PW3
        )
        assert waited is not None
    # New prices arrive; more than an interval passes: sync pushes nothing.
    show(hass, SOURCE, CHANGED)
    for _ in range(2 * 35 if how != "not_acting" else 20):
        await tick(hass, simulator, freezer, 30)
    during = pushes(simulator)[before:]
    assert all(
        differences(parse_tariff(synced), parse_tariff(p["tariff_content_v2"]))
        for p in during
    )  # only the dispatch's own tariffs
    state, attributes = sync_state(hass)
    assert state == "pending"
    assert attributes["problem"]
    assert overrides.holds_tariff(SITE_PW3)
    dispatch_pushes = len(pushes(simulator))

    await end_dispatch(hass, simulator, freezer, how)
    assert not overrides.holds_tariff(SITE_PW3)
    after = pushes(simulator)[dispatch_pushes:]
    # First the dispatch's restore: exactly the synced tariff it found.
    assert len(after) == 2, [
        (
            differences(parse_tariff(synced), parse_tariff(p["tariff_content_v2"])),
            [r.path for r in simulator.requests if r.method == "POST"][-6:],
        )
        for p in after
    ]
    same(synced, after[0]["tariff_content_v2"])
    # Then sync, by itself, at once: the current prices, read back.
    held = simulator.site(SITE_PW3).tariff_content_v2
    assert held == after[1]["tariff_content_v2"]
    assert differences(parse_tariff(synced), parse_tariff(held))
    assert after[1]["optimization_strategy"] == "economics"
    assert sync_state(hass)[0] == "synced"
    assert "fallback" not in states
    assert states[-1] == "synced"
    assert "pending" in states
    # Quiet afterwards: nothing more to push.
    await tick(hass, simulator, freezer, 3600)
    assert len(pushes(simulator)) == dispatch_pushes + 2
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"price_sync_stale_{SITE_PW3}")
        is None
    )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_switching_sync_off_during_an_export_waits_for_its_end(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Sync off while exporting: the export goes on; the own tariff is the last push."""
    entry, own = await synced_site(hass, simulator, freezer)
    sim = simulator.site(SITE_PW3)
    sim.optimization_strategy = "economics"
    synced = sim.tariff_content_v2
    await dispatch(hass, SITE_PW3, mode="export", duration="00:40:00")
    waited = await until_state(
        hass, simulator, freezer, ("acting",), limit=600, site_id=SITE_PW3
    )
    assert waited is not None
    exporting = sim.tariff_content_v2
    before = len(pushes(simulator))

    options = dict(entry.options)
    options[CONF_PRICE_SYNC] = {
        **options[CONF_PRICE_SYNC],
        CONF_PRICE_SYNC_ENABLED: False,
    }
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_reload(entry.entry_id)
    await tick(hass, simulator, freezer, 1)
    # Nothing pushed over the export's tariff; the export goes on.
    assert len(pushes(simulator)) == before
    assert sim.tariff_content_v2 == exporting
    assert sensor(hass, SITE_PW3)[0] == "acting"
    state, attributes = sync_state(hass)
    assert state == "pending"
    assert attributes["problem"]
    for _ in range(30):
        await tick(hass, simulator, freezer, 30)
    assert len(pushes(simulator)) == before
    assert sensor(hass, SITE_PW3)[0] == "acting"

    waited = await until_state(
        hass, simulator, freezer, ("idle",), limit=3600, site_id=SITE_PW3
    )
    assert waited is not None
    after = pushes(simulator)[before:]
    # The dispatch puts back what it found, then sync the owner's own tariff.
    assert len(after) == 2
    same(synced, after[0]["tariff_content_v2"])
    same(own, after[1]["tariff_content_v2"])
    same(own, sim.tariff_content_v2)
    assert sync_state(hass)[0] == "off"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"price_sync_restore_{SITE_PW3}")
        is None
    )
    # For good: nothing is owed any more, nothing else is pushed.
    await tick(hass, simulator, freezer, 3600)
    assert len(pushes(simulator)) == before + 2
    same(own, sim.tariff_content_v2)
    # And after a restart neither.
    await hass.config_entries.async_reload(entry.entry_id)
    await tick(hass, simulator, freezer, 60)
    assert len(pushes(simulator)) == before + 2
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("mode", ["charge", "hold"])
async def test_charge_or_hold_dispatch_does_not_pause_sync(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    mode: str,
) -> None:
    """No temporary tariff: new prices are pushed within an interval, the dispatch goes on."""
    entry, _ = await synced_site(hass, simulator, freezer)
    await dispatch(hass, SITE_PW3, mode=mode, duration="02:00:00")
    assert not entry.runtime_data.overrides.holds_tariff(SITE_PW3)
    before = len(pushes(simulator))
    assert before == 1  # sync's first push; the dispatch pushes no tariff
    show(hass, SOURCE, CHANGED)
    for _ in range(2 * 31):
        await tick(hass, simulator, freezer, 30)
    sent = pushes(simulator)[before:]
    assert len(sent) == 1
    assert simulator.site(SITE_PW3).tariff_content_v2 == sent[0]["tariff_content_v2"]
    assert sync_state(hass)[0] == "synced"
    assert sensor(hass, SITE_PW3)[0] == "acting"
    assert entry.runtime_data.overrides.overrides[SITE_PW3].dispatch is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_sync_checking_while_the_export_starts_pushes_nothing(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A sync check during the dispatch's own tariff push (before its restore value is kept) waits too."""
    entry, _ = await synced_site(hass, simulator, freezer)
    await tick(hass, simulator, freezer, 31 * 60)  # sync may push again
    before = len(pushes(simulator))
    prices = entry.runtime_data.prices
    assert prices is not None
    site = entry.runtime_data.sites[SITE_PW3]
    # Each time the site's settings are shown (a command's value, then its
    # read-back), price sync looks again: also mid-way through the dispatch.
    site.info.async_add_listener(prices.async_check)
    await dispatch(hass, SITE_PW3, mode="export", duration="00:30:00")
    await hass.async_block_till_done(wait_background_tasks=True)
    sent = pushes(simulator)[before:]
    assert len(sent) == 1  # the dispatch's tariff only
    assert simulator.site(SITE_PW3).tariff_content_v2 == sent[0]["tariff_content_v2"]
    assert sync_state(hass)[0] == "pending"
    await hass.config_entries.async_unload(entry.entry_id)
