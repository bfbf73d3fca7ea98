"""The simulator's lag between Tesla accepting a command and the gateway acting on it.

site_info shows an accepted value at once; grid charging, export and the reserve held
follow it only after the configured delay (FLEET_API.md: ~10 s for the reserve, 5-15
minutes for mode changes, hours after some 2026 firmware).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.simulator import SITE_FULL, SITE_PW3, Simulator
from tests.simulator_tests.helpers import Api

LA = ZoneInfo("America/Los_Angeles")
SITE = f"energy_sites/{SITE_FULL}"


def live(sim: Simulator, site_id: int = SITE_FULL) -> dict[str, Any]:
    """live_status payload without HTTP (same code path as the endpoint)."""
    return sim.live_status_payload(sim.site(site_id))


def set_clock(api: Api, when: datetime) -> None:
    """Move the simulated clock and give the API helper a fresh (unexpired) token."""
    api.sim.clock.set(when)
    api.token = api.sim.issue_tokens()["access_token"]


async def test_reserve_shows_at_once_and_acts_after_the_delay(
    simulator: Simulator, api: Api
) -> None:
    """A raised reserve is in site_info at once; the grid top-up starts after the delay."""
    set_clock(api, datetime(2026, 6, 21, 22, tzinfo=LA))
    site = simulator.site(SITE_FULL)
    site.percentage_charged = 30
    simulator.set_apply_delay(600)
    assert live(simulator)["battery_power"] > 0  # evening: discharging to the home
    status, _, _ = await api.post(f"{SITE}/backup", {"backup_reserve_percent": 60})
    assert status == 200
    assert (await api.info())["backup_reserve_percent"] == 60
    assert site.backup_reserve_percent == 60
    assert site.acting("backup_reserve_percent") == 20
    assert site.pending_changes() == [
        {
            "at": "2026-06-21T22:10:00-07:00",
            "setting": "backup_reserve_percent",
            "value": 60,
        }
    ]
    simulator.clock.advance(599)
    data = await api.live()
    assert data["battery_power"] > 0  # still acting on the old reserve
    assert data["percentage_charged"] < 30
    simulator.clock.advance(2)
    data = await api.live()
    assert data["battery_power"] < 0  # now topping up to 60 % from the grid
    assert data["grid_power"] > 0
    assert site.acting("backup_reserve_percent") == 60
    assert site.pending_changes() == []


async def test_mode_and_export_rule_act_late(simulator: Simulator, api: Api) -> None:
    """Backup-only mode fills from the grid, export "never" stops exporting: both late."""
    set_clock(api, datetime(2026, 6, 21, 21, tzinfo=LA))
    site = simulator.site(SITE_FULL)
    site.percentage_charged = 50
    simulator.set_apply_delay(900, settings=["default_real_mode"])
    status, _, _ = await api.post(f"{SITE}/operation", {"default_real_mode": "backup"})
    assert status == 200
    # the app shows backup-only at once, so Tesla takes a reserve above 80 % now
    status, _, _ = await api.post(f"{SITE}/backup", {"backup_reserve_percent": 90})
    assert status == 200
    info = await api.info()
    assert (info["default_real_mode"], info["backup_reserve_percent"]) == ("backup", 90)
    assert site.acting("default_real_mode") == "self_consumption"
    assert site.acting("backup_reserve_percent") == 90  # no delay for the reserve
    # the reserve alone (above the charge) already makes it top up from the grid
    assert live(simulator)["battery_power"] < 0
    simulator.clock.advance(900)
    assert site.acting("default_real_mode") == "backup"

    # midday, full battery, exporting solar: "never" stops the export only later
    set_clock(api, datetime(2026, 6, 22, 12, tzinfo=LA))
    site.mode = "self_consumption"
    site.reserve = 20
    site.percentage_charged = 100
    simulator.set_apply_delay(300, site_id=SITE_FULL)
    assert live(simulator)["grid_power"] < 0
    status, _, _ = await api.post(
        f"{SITE}/grid_import_export", {"customer_preferred_export_rule": "never"}
    )
    assert status == 200
    assert (await api.info())["components"]["customer_preferred_export_rule"] == "never"
    simulator.clock.advance(240)
    assert live(simulator)["grid_power"] < 0
    simulator.clock.advance(60)
    assert live(simulator)["grid_power"] >= 0


async def test_grid_charging_and_storm_watch_act_late(
    simulator: Simulator, api: Api
) -> None:
    """Forbidding grid charging and disabling storm watch wait for the delay too."""
    site = simulator.site(SITE_PW3)  # autonomous: charges from the grid at night
    set_clock(api, datetime(2026, 6, 22, 2, tzinfo=ZoneInfo("America/New_York")))
    site.percentage_charged = 50
    simulator.set_apply_delay(120, site_id=SITE_PW3)
    assert live(simulator, SITE_PW3)["battery_power"] == -11500
    status, _, _ = await api.post(
        f"energy_sites/{SITE_PW3}/grid_import_export",
        {"disallow_charge_from_grid_with_solar_installed": True},
    )
    assert status == 200
    assert site.grid_charging is False
    assert live(simulator, SITE_PW3)["battery_power"] == -11500
    simulator.clock.advance(120)
    assert live(simulator, SITE_PW3)["battery_power"] >= 0

    simulator.set_storm_alert(SITE_PW3, True)
    site.storm_mode_enabled = True
    assert live(simulator, SITE_PW3)["storm_mode_active"] is True
    status, _, _ = await api.post(
        f"energy_sites/{SITE_PW3}/storm_mode", {"enabled": False}
    )
    assert status == 200
    assert (await api.info(SITE_PW3))["user_settings"]["storm_mode_enabled"] is False
    assert live(simulator, SITE_PW3)["storm_mode_active"] is True
    simulator.clock.advance(120)
    assert live(simulator, SITE_PW3)["storm_mode_active"] is False


async def test_changes_act_in_order_and_direct_sets_win(
    simulator: Simulator, api: Api
) -> None:
    """Two commands act in the order accepted; a direct set (setup, the app) acts at once."""
    site = simulator.site(SITE_FULL)
    simulator.set_apply_delay(600, settings=["backup_reserve_percent"])
    await api.post(f"{SITE}/backup", {"backup_reserve_percent": 40})
    simulator.set_apply_delay(60, settings=["backup_reserve_percent"])
    await api.post(f"{SITE}/backup", {"backup_reserve_percent": 50})
    assert [p["value"] for p in site.pending_changes()] == [40, 50]
    simulator.clock.advance(600)
    assert site.acting("backup_reserve_percent") == 50
    await api.post(f"{SITE}/backup", {"backup_reserve_percent": 70})
    site.reserve = 30  # acts at once and replaces what was waiting
    assert site.pending_changes() == []
    simulator.clock.advance(3600)
    assert site.acting("backup_reserve_percent") == site.reserve == 30
    # with the delay back at 0 a command acts at once (the default)
    simulator.set_apply_delay(0)
    await api.post(f"{SITE}/backup", {"backup_reserve_percent": 45})
    assert site.acting("backup_reserve_percent") == 45


def test_history_with_delays_is_independent_of_polling() -> None:
    """A delayed change is a state change at its own time: polling does not move it."""
    sims = [Simulator(), Simulator()]
    for sim in sims:
        sim.set_apply_delay(437)
        sim.site(SITE_FULL).accept("backup_reserve_percent", 100)
        sim.site(SITE_FULL).accept("default_real_mode", "backup")
    for _ in range(100):
        sims[0].clock.advance(61)
        live(sims[0])
    sims[1].clock.advance(6100)
    start = sims[0].site(SITE_FULL).history_start
    end = sims[0].clock.timestamp()
    assert sims[0].site(SITE_FULL).buckets(start, end) == sims[1].site(
        SITE_FULL
    ).buckets(start, end)


def test_apply_delay_rejects_bad_values() -> None:
    """Unknown settings and negative delays are refused."""
    sim = Simulator()
    with pytest.raises(ValueError, match="unknown settings"):
        sim.set_apply_delay(10, settings=["turbo"])
    with pytest.raises(ValueError, match="0 or more"):
        sim.set_apply_delay(-1)
    with pytest.raises(KeyError):
        sim.set_apply_delay(10, site_id=1)


async def test_apply_delay_control_route(simulator: Simulator, api: Api) -> None:
    """POST /_sim/apply_delay sets the delay; /_sim/state shows acting and pending values."""
    root = f"{simulator.url}/_sim"
    http = api.http
    async with http.post(
        f"{root}/apply_delay",
        json={"seconds": 300, "site_id": SITE_FULL, "settings": ["default_real_mode"]},
    ) as resp:
        assert resp.status == 200
    assert simulator.site(SITE_FULL).apply_delay["default_real_mode"] == 300
    assert simulator.site(SITE_FULL).apply_delay["backup_reserve_percent"] == 0
    assert simulator.site(SITE_PW3).apply_delay["default_real_mode"] == 0
    for bad in (
        {},
        {"seconds": "soon"},
        {"seconds": -5},
        {"seconds": 5, "settings": "default_real_mode"},
        {"seconds": 5, "settings": ["turbo"]},
    ):
        async with http.post(f"{root}/apply_delay", json=bad) as resp:
            assert resp.status == 400, bad
    async with http.post(
        f"{root}/apply_delay", json={"seconds": 5, "site_id": 1}
    ) as resp:
        assert resp.status == 400
    await api.post(f"{SITE}/operation", {"default_real_mode": "autonomous"})
    async with http.get(f"{root}/state") as resp:
        state = (await resp.json())["sites"][str(SITE_FULL)]
    assert state["default_real_mode"] == "autonomous"
    assert state["acting"]["default_real_mode"] == "self_consumption"
    assert state["pending"] == [
        {
            "at": "2026-06-21T05:05:00-07:00",
            "setting": "default_real_mode",
            "value": "autonomous",
        }
    ]
    async with http.post(f"{root}/apply_delay", json={"seconds": 0}) as resp:
        assert resp.status == 200
    assert all(
        delay == 0
        for site in simulator.sites.values()
        for delay in site.apply_delay.values()
    )
