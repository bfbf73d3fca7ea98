"""The dispatch action against the simulator's controller: acting, escalating, giving up.

Each mode reaches ``acting`` against the default controller and against each
quirk that a later step of its ladder overcomes; a utility's export ban ends
in ``not_acting``, the repair issue and a full restore (tariff included); a
restart keeps the strategy, the verification clock and the values to
restore; bad input sends nothing. ``DISPATCH_FIGURES=1`` prints, per mode and
quirk, the minutes from the call to ``acting`` and the requests used (the
README's table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math
import os
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet.tariff import differences, parse_tariff
from tests.integration.entity_helpers import new_entry, setup_sites
from tests.integration.test_override import device_id
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY

pytestmark = pytest.mark.usefixtures("no_retry_delay")

POLL = 30  # seconds between live polls (the default)
# 20:15 in Los Angeles (the Home site), the simulator's first evening: the default
# tariff's peak (16-21), after sunset (no solar charging the battery).
PEAK = datetime(2026, 6, 22, 3, 15, tzinfo=dt_util.UTC)


@dataclass
class Run:
    """What one dispatch took: minutes to acting, commands and all requests."""

    minutes: float | None
    commands: int
    requests: int


async def at(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    when: datetime,
) -> None:
    """Both clocks at ``when`` (before the entry is set up)."""
    simulator.clock.set(when)
    freezer.move_to(when)


async def tick(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    seconds: float,
) -> None:
    """Both clocks move on; whatever was due runs."""
    simulator.clock.advance(seconds)
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def sensor(hass: HomeAssistant, site_id: int = SITE_FULL) -> tuple[str, dict[str, Any]]:
    """The dispatch sensor's state and attributes."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{site_id}_dispatch"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state, dict(state.attributes)


async def dispatch(
    hass: HomeAssistant, site_id: int = SITE_FULL, **data: Any
) -> dict[str, Any]:
    """Call powerwall_fleet.dispatch for one site; its part of the response."""
    response = await hass.services.async_call(
        DOMAIN,
        "dispatch",
        {"device_id": device_id(hass, site_id), **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    return sites[0]


async def until_state(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    states: tuple[str, ...],
    *,
    limit: float,
    site_id: int = SITE_FULL,
) -> float | None:
    """Poll after poll until the sensor shows one of ``states``; seconds taken."""
    waited = 0.0
    while waited <= limit:
        if sensor(hass, site_id)[0] in states:
            return waited
        await tick(hass, simulator, freezer, POLL)
        waited += POLL
    return None


async def run(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    *,
    limit: float = 3600,
    **data: Any,
) -> tuple[dict[str, Any], Run]:
    """Dispatch on the Home site and wait for acting (or not acting)."""
    before = len(simulator.requests)
    result = await dispatch(hass, **data)
    seconds = await until_state(
        hass, simulator, freezer, ("acting", "not_acting"), limit=limit
    )
    assert seconds is not None
    used = simulator.requests[before:]
    figures = Run(
        minutes=seconds / 60 if sensor(hass)[0] == "acting" else None,
        commands=sum(1 for r in used if r.method == "POST"),
        requests=len(used),
    )
    if os.environ.get("DISPATCH_FIGURES"):
        print(f"\nFIGURES {data} -> {figures}")  # noqa: T201
    return result, figures


@pytest.fixture
async def peak_entry(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> MockConfigEntry:
    """The Home site at 20:15 (peak, dark), battery at 40 %.

    The login is made then, so that its tokens are fresh.
    """
    await at(hass, simulator, freezer, PEAK)
    simulator.site(SITE_FULL).percentage_charged = 40
    return new_entry(simulator)


@pytest.fixture
def events(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every powerwall_fleet_dispatch event's data."""
    seen: list[dict[str, Any]] = []

    @callback
    def _seen(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(f"{DOMAIN}_dispatch", _seen)
    return seen


# ----------------------------------------------------------- the default controller


async def test_charge_acts_and_restores(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    """Charge: time-based control, reserve 100 %, grid charging; acting; all back at the end."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    await setup_sites(hass, config_entry, SITE_FULL)
    sim = simulator.site(SITE_FULL)
    assert sensor(hass) == ("idle", sensor(hass)[1])
    before = (sim.default_real_mode, sim.backup_reserve_percent, sim.grid_charging)
    result, figures = await run(
        hass, simulator, freezer, mode="charge", duration="01:00:00"
    )
    assert result["strategy"] == "reserve_full"
    assert result["set"] == {
        "operation_mode": "autonomous",
        "backup_reserve": 100,
        "grid_charging": True,
    }
    assert result["ladder"] == ["reserve_full", "backup_only"]
    assert figures.minutes is not None
    assert figures.minutes <= 1.5
    state, attributes = sensor(hass)
    assert state == "acting"
    assert attributes["mode"] == "charge"
    assert attributes["strategy"] == "reserve_full"
    assert attributes["observed_power"] <= -1
    assert [e["state"] for e in events] == ["waiting", "acting"]
    await tick(hass, simulator, freezer, 3600)
    assert sensor(hass)[0] == "idle"
    assert (
        sim.default_real_mode,
        sim.backup_reserve_percent,
        sim.grid_charging,
    ) == before


async def test_export_pushes_a_temporary_tariff_and_restores_it(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Export: the window is the dearest period; the site's own tariff comes back."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    await setup_sites(hass, config_entry, SITE_FULL)
    sim = simulator.site(SITE_FULL)
    original = sim.tariff_content_v2
    result, figures = await run(
        hass, simulator, freezer, mode="export", duration="01:00:00", target_percent=30
    )
    assert result["strategy"] == "tariff_window"
    assert result["set"]["export_rule"] == "battery_ok"
    assert result["set"]["backup_reserve"] == 30
    assert figures.minutes is not None
    assert figures.minutes <= 1.5
    assert sensor(hass)[1]["observed_power"] >= 1
    manager = config_entry.runtime_data.overrides
    assert "time_of_use" in manager.overrides[SITE_FULL].restore
    assert differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
    await hass.services.async_call(
        DOMAIN,
        "cancel_override",
        {"device_id": device_id(hass, SITE_FULL)},
        blocking=True,
    )
    assert not differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
    assert (sim.customer_preferred_export_rule, sim.backup_reserve_percent) == (
        "pv_only",
        20,
    )
    assert sim.optimization_strategy == "economics"
    assert sensor(hass)[0] == "idle"


async def test_hold_keeps_the_charge(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Hold: the reserve at the present charge."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    await setup_sites(hass, config_entry, SITE_FULL)
    live = config_entry.runtime_data.sites[SITE_FULL].live.latest
    assert live is not None
    assert live.percentage_charged is not None
    level = math.ceil(live.percentage_charged)
    result, figures = await run(
        hass, simulator, freezer, mode="hold", duration="02:00:00"
    )
    assert result["strategy"] == "reserve_at_charge"
    assert result["set"] == {"backup_reserve": level}
    assert simulator.site(SITE_FULL).backup_reserve_percent == level
    assert figures.minutes is not None
    assert figures.minutes <= 1.5


# ----------------------------------------------------- quirks a later step overcomes


@pytest.mark.parametrize(
    ("mode", "quirks", "data", "first"),
    [
        # Without a quirk, at the same hour, the first step acts.
        ("charge", {}, {}, "reserve_full"),
        ("hold", {}, {}, "reserve_at_charge"),
        ("export", {}, {"duration": "02:00:00"}, "tariff_window"),
        # Reserve changes wait out the peak: backup-only charges.
        ("charge", {"reserve_ignored_in_peak": True}, {}, "backup_only"),
        # Reserve-driven charging capped at 1.7 kW per Powerwall: backup-only is full rate.
        ("charge", {"reserve_charge_limit_w": 1700}, {"min_power": 4}, "backup_only"),
        # Reserve at the charge ignored in the peak: backup-only never discharges.
        ("hold", {"reserve_ignored_in_peak": True}, {}, "backup_only"),
        # Export only in a period's last 30 minutes: short windows.
        ("export", {"late_discharge": True}, {"duration": "02:00:00"}, "short_windows"),
        # Defeated by the first step already: the push carries its strategy.
        ("export", {"balanced_after_push": True}, {}, "tariff_window"),
        ("export", {"act_delay": True}, {}, "tariff_window"),
        ("charge", {"lost_commands": 1}, {}, "backup_only"),
    ],
)
async def test_a_later_step_overcomes_the_quirk(
    hass: HomeAssistant,
    simulator: Simulator,
    peak_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mode: str,
    quirks: dict[str, Any],
    data: dict[str, Any],
    first: str,
) -> None:
    """The dispatch reaches acting with the strategy that overcomes the quirk."""
    simulator.set_quirks(site_id=SITE_FULL, **quirks)
    await setup_sites(hass, peak_entry, SITE_FULL)
    _, figures = await run(
        hass, simulator, freezer, mode=mode, **({"duration": "01:00:00"} | data)
    )
    state, attributes = sensor(hass)
    assert state == "acting"
    assert attributes["strategy"] == first
    assert figures.minutes is not None
    if first in {"backup_only", "short_windows"}:
        assert figures.minutes >= 15  # confirm_within passed first


# ------------------------------------------------------------- no step overcomes it


async def test_export_never_allowed_gives_up_and_restores_everything(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    """A utility's export ban: not acting, the repair, settings and tariff restored."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    simulator.set_quirks(site_id=SITE_FULL, battery_export_forbidden=True)
    await setup_sites(hass, config_entry, SITE_FULL)
    sim = simulator.site(SITE_FULL)
    original = sim.tariff_content_v2
    before = (
        sim.default_real_mode,
        sim.backup_reserve_percent,
        sim.customer_preferred_export_rule,
    )
    _, figures = await run(hass, simulator, freezer, mode="export", duration="02:00:00")
    assert figures.minutes is None
    state, attributes = sensor(hass)
    assert state == "not_acting"
    assert attributes["strategy"] == "short_windows"
    assert (
        sim.default_real_mode,
        sim.backup_reserve_percent,
        sim.customer_preferred_export_rule,
    ) == before
    assert not differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"dispatch_not_acting_{SITE_FULL}"
    )
    assert issue is not None
    placeholders = issue.translation_placeholders or {}
    assert placeholders["site"] == "Home"
    assert placeholders["mode"] == "export"
    assert placeholders["strategies"] == "tariff_window, short_windows"
    assert "kW" in placeholders["powers"]
    assert events[-1]["state"] == "not_acting"
    assert config_entry.runtime_data.overrides.overrides == {}
    # Once the utility allows it, the next dispatch acts and the repair goes.
    simulator.set_quirks(site_id=SITE_FULL, battery_export_forbidden=False)
    _, figures = await run(hass, simulator, freezer, mode="export", duration="01:00:00")
    assert figures.minutes is not None
    assert sensor(hass)[0] == "acting"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"dispatch_not_acting_{SITE_FULL}")
        is None
    )


# ------------------------------------------------------------------------ restart


async def test_restart_keeps_strategy_clock_and_restore(
    hass: HomeAssistant,
    simulator: Simulator,
    peak_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A restart mid-dispatch: same step and step start; the ladder goes on from there."""
    config_entry = peak_entry
    simulator.set_quirks(site_id=SITE_FULL, reserve_ignored_in_peak=True)
    await setup_sites(hass, config_entry, SITE_FULL)
    await dispatch(hass, mode="charge", duration="01:00:00")
    await tick(hass, simulator, freezer, 5 * 60)
    manager = config_entry.runtime_data.overrides
    saved = manager.overrides[SITE_FULL]
    assert saved.dispatch is not None
    started = saved.dispatch.step_started
    restore = dict(saved.restore)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    manager = config_entry.runtime_data.overrides
    loaded = manager.overrides[SITE_FULL]
    assert loaded.dispatch is not None
    assert loaded.dispatch.step == 0
    assert loaded.dispatch.step_started == started
    assert loaded.restore == restore
    # The clock counts from before the restart: backup-only 15 minutes after the call.
    seconds = await until_state(hass, simulator, freezer, ("acting",), limit=20 * 60)
    assert seconds is not None
    assert loaded.dispatch.current.name == "backup_only"
    assert simulator.site(SITE_FULL).default_real_mode == "backup"


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"mode": "charge"}, "override_needs_end"),
        (
            {"mode": "charge", "duration": "01:00:00", "min_power": 0},
            "dispatch_min_power",
        ),
        (
            {"mode": "charge", "duration": "01:00:00", "confirm_within": "00:00:30"},
            "dispatch_confirm_within",
        ),
        ({"mode": "hold", "target_percent": 90}, "dispatch_hold_target"),
        ({"mode": "charge", "target_percent": 10}, "dispatch_target_direction"),
        ({"mode": "export", "target_percent": 90}, "dispatch_target_direction"),
        ({"mode": "export", "duration": "13:00:00"}, "dispatch_export_too_long"),
    ],
)
async def test_bad_input_sends_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    """Each refusal is translated and comes before any request."""
    await setup_sites(hass, config_entry, SITE_FULL)
    before = len(simulator.requests)
    with pytest.raises(ServiceValidationError) as err:
        await dispatch(hass, **data)
    assert err.value.translation_key == key
    assert len(simulator.requests) == before


async def test_grid_outage_pauses_verification(
    hass: HomeAssistant,
    simulator: Simulator,
    peak_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off-grid the state says grid_down and the ladder waits; back on-grid it goes on."""
    simulator.set_quirks(site_id=SITE_FULL, reserve_ignored_in_peak=True)
    await setup_sites(hass, peak_entry, SITE_FULL)
    sim = simulator.site(SITE_FULL)
    sim.grid_outage = True
    await dispatch(hass, mode="charge", duration="02:00:00")
    for _ in range(40):  # 20 minutes: longer than confirm_within
        await tick(hass, simulator, freezer, POLL)
    state, attributes = sensor(hass)
    assert state == "grid_down"
    assert attributes["strategy"] == "reserve_full"
    assert sim.default_real_mode == "autonomous"
    sim.grid_outage = False
    seconds = await until_state(hass, simulator, freezer, ("acting",), limit=20 * 60)
    assert seconds is not None
    # The clock started again with the grid: a full confirm_within first.
    assert seconds >= 15 * 60
    assert sensor(hass)[1]["strategy"] == "backup_only"


async def test_an_entry_target_leaves_out_the_sites_without_a_battery(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Through the account, the solar-only site is skipped; named, it is refused."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    await setup_sites(hass, config_entry, SITE_FULL, SITE_SOLAR_ONLY)
    response = await hass.services.async_call(
        DOMAIN,
        "dispatch",
        {
            "config_entry_id": config_entry.entry_id,
            "mode": "hold",
            "duration": "01:00:00",
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sites: list[dict[str, Any]] = response["sites"]  # type: ignore[assignment]
    assert [site["site_id"] for site in sites] == [SITE_FULL]
    before = len(simulator.requests)
    with pytest.raises(ServiceValidationError) as err:
        await dispatch(hass, SITE_SOLAR_ONLY, mode="charge", duration="01:00:00")
    assert err.value.translation_key == "no_battery"
    assert len(simulator.requests) == before


async def test_a_refused_tariff_restore_is_retried(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Tesla unreachable for the tariff at the end: restoring, retried a minute later."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    await setup_sites(hass, config_entry, SITE_FULL)
    sim = simulator.site(SITE_FULL)
    original = sim.tariff_content_v2
    await run(hass, simulator, freezer, mode="export", duration="00:30:00")
    simulator.add_fault("time_of_use_settings", status=503)
    await tick(hass, simulator, freezer, 30 * 60)
    manager = config_entry.runtime_data.overrides
    assert sensor(hass)[0] == "restoring"
    assert "time_of_use" in manager.overrides[SITE_FULL].restore
    assert sim.customer_preferred_export_rule == "pv_only"  # the rest is back
    assert differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
    await tick(hass, simulator, freezer, 60)
    assert sensor(hass)[0] == "idle"
    assert not differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
    assert manager.overrides == {}


async def test_the_strategy_held_before_comes_back_with_the_tariff(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A site in "balanced": exports pushed with "economics"; a second dispatch changes nothing of that."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    sim = simulator.site(SITE_FULL)
    sim.optimization_strategy = "balanced"
    await setup_sites(hass, config_entry, SITE_FULL)
    original = sim.tariff_content_v2
    await dispatch(hass, mode="export", duration="01:00:00")
    assert sim.optimization_strategy == "economics"
    await dispatch(hass, mode="export", duration="00:30:00")
    bodies = [
        r.json_body
        for r in simulator.requests
        if r.endpoint == "time_of_use_settings" and r.site_id == SITE_FULL
    ]
    assert [b["tou_settings"]["optimization_strategy"] for b in bodies] == [
        "economics",
        "economics",
    ]
    await hass.services.async_call(
        DOMAIN,
        "cancel_override",
        {"device_id": device_id(hass, SITE_FULL)},
        blocking=True,
    )
    assert sim.optimization_strategy == "balanced"
    assert not differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))


@pytest.mark.parametrize("mode", ["charge", "export", "hold"])
async def test_every_mode_acts_on_a_powerwall_3_with_a_night_tariff(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mode: str,
) -> None:
    """The Cabin (Powerwall 3, a three-period tariff): each mode acts on its first step."""
    await at(hass, simulator, freezer, simulator.clock.now().replace(microsecond=0))
    simulator.site(SITE_PW3).percentage_charged = 50
    await setup_sites(hass, config_entry, SITE_PW3)
    sim = simulator.site(SITE_PW3)
    original = sim.tariff_content_v2
    result = await dispatch(hass, SITE_PW3, mode=mode, duration="01:00:00")
    seconds = await until_state(
        hass, simulator, freezer, ("acting", "not_acting"), limit=3600, site_id=SITE_PW3
    )
    assert seconds is not None
    assert sensor(hass, SITE_PW3)[0] == "acting"
    assert sensor(hass, SITE_PW3)[1]["strategy"] == result["strategy"]
    await hass.services.async_call(
        DOMAIN,
        "cancel_override",
        {"device_id": device_id(hass, SITE_PW3)},
        blocking=True,
    )
    assert not differences(parse_tariff(original), parse_tariff(sim.tariff_content_v2))
