"""Tesla's controller in the simulator: time-based control follows the tariff, quirks switch.

The controller exports in the day's highest sell price, charges from the grid in the
cheapest buy price and is self-powered otherwise (``controller.TouPlanner``); each
owners' quirk (``controller.Quirks``) is off by default and changes one step.  Times are
the simulator's own clock; the sites are the default scenario's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.simulator import SITE_FULL, SITE_PW3, Simulator
from tests.simulator.controller import (
    CHARGE,
    EXPORT,
    NO_TARIFF,
    SELF_POWERED,
    Quirks,
    TouPlanner,
)
from tests.simulator.tariff import night_tariff
from tests.simulator_tests.helpers import Api

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
FULL = f"energy_sites/{SITE_FULL}"
PW3 = f"energy_sites/{SITE_PW3}"
FULL_MAX = 10000  # two Powerwall 2
PW3_MAX = 11500


def tariff(
    windows: dict[str, list[tuple[float, float]]],
    buy: dict[str, float],
    sell: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A one-season, every-day ``tariff_content_v2`` from hour windows (24 = midnight)."""
    season = {
        "fromMonth": 1,
        "fromDay": 1,
        "toMonth": 12,
        "toDay": 31,
        "tou_periods": {
            name: {
                "periods": [
                    {
                        "fromDayOfWeek": 0,
                        "toDayOfWeek": 6,
                        "fromHour": int(start),
                        "fromMinute": round(start % 1 * 60),
                        "toHour": int(end) % 24,
                        "toMinute": round(end % 1 * 60),
                    }
                    for start, end in spans
                ]
            }
            for name, spans in windows.items()
        },
    }

    def schedule(rates: dict[str, float]) -> dict[str, Any]:
        return {
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": {"ALL": {"rates": {"ALL": 0}}, "Summer": {"rates": {}}},
            "energy_charges": {
                "ALL": {"rates": {"ALL": 0}},
                "Summer": {"rates": rates},
            },
            "seasons": {"Summer": season},
        }

    result: dict[str, Any] = {
        "version": 1,
        "code": "TEST",
        "name": "Test tariff",
        "utility": "Simulated utility",
        "currency": "USD",
        **schedule(buy),
    }
    if sell is not None:
        result["sell_tariff"] = {"name": "Test export", **schedule(sell)}
    return result


EVENING_PEAK = tariff(
    {
        "SUPER_OFF_PEAK": [(0, 6)],
        "OFF_PEAK": [(6, 16), (21, 24)],
        "ON_PEAK": [(16, 21)],
    },
    {"SUPER_OFF_PEAK": 0.12, "OFF_PEAK": 0.3, "ON_PEAK": 0.6},
    {"SUPER_OFF_PEAK": 0.05, "OFF_PEAK": 0.1, "ON_PEAK": 0.5},
)
MORNING_PEAK = tariff(
    {
        "ON_PEAK": [(7, 10)],
        "SUPER_OFF_PEAK": [(11, 15)],
        "OFF_PEAK": [(0, 7), (10, 11), (15, 24)],
    },
    {"ON_PEAK": 0.55, "SUPER_OFF_PEAK": 0.08, "OFF_PEAK": 0.25},
    {"ON_PEAK": 0.45, "SUPER_OFF_PEAK": 0.0, "OFF_PEAK": 0.05},
)
NIGHT_PEAK = tariff(
    {
        "ON_PEAK": [(22, 24), (0, 2)],
        "SUPER_OFF_PEAK": [(10, 14)],
        "OFF_PEAK": [(2, 10), (14, 22)],
    },
    {"ON_PEAK": 0.5, "SUPER_OFF_PEAK": 0.1, "OFF_PEAK": 0.2},
    {"ON_PEAK": 0.4, "SUPER_OFF_PEAK": 0.02, "OFF_PEAK": 0.05},
)
FLAT = tariff({"OFF_PEAK": [(0, 0)]}, {"OFF_PEAK": 0.3}, {"OFF_PEAK": 0.1})


def live(sim: Simulator, site_id: int) -> dict[str, Any]:
    """live_status payload without HTTP (same code path as the endpoint)."""
    return sim.live_status_payload(sim.site(site_id))


def what_battery_does(data: dict[str, Any], pmax: int) -> str:
    """Export (full power into the grid), charge (full power, from the grid), self-powered."""
    if data["battery_power"] == pmax and data["grid_power"] < 0:
        return EXPORT
    if data["battery_power"] == -pmax and data["grid_power"] > 0:
        return CHARGE
    if data["grid_power"] == 0:
        return SELF_POWERED
    return f"other {data}"


def no_battery_export(data: dict[str, Any]) -> bool:
    """The battery gives at most what the home takes beyond solar."""
    return bool(
        data["battery_power"] <= max(0, data["load_power"] - data["solar_power"])
    )


def at(
    sim: Simulator, zone: ZoneInfo, hour: int, minute: int = 0, day: int = 22
) -> None:
    """Move the clock to a local time in June 2026 (the 22nd is a Monday)."""
    sim.clock.set(datetime(2026, 6, day, hour, minute, tzinfo=zone))


def set_clock(api: Api, when: datetime) -> None:
    """Move the simulated clock and give the API helper a fresh (unexpired) token."""
    api.sim.clock.set(when)
    api.token = api.sim.issue_tokens()["access_token"]


def time_based_home(sim: Simulator, stored: dict[str, Any]) -> None:
    """The Home site in time-based control with battery export allowed and ``stored``."""
    site = sim.site(SITE_FULL)
    site.tariff_content_v2 = stored
    site.mode = "autonomous"
    site.export_rule = "battery_ok"


# --------------------------------------------------------------------------- the tariff decides
@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        pytest.param(
            EVENING_PEAK,
            {3: CHARGE, 10: SELF_POWERED, 18: EXPORT, 22: SELF_POWERED},
            id="evening-peak",
        ),
        pytest.param(
            MORNING_PEAK,
            {3: SELF_POWERED, 8: EXPORT, 12: CHARGE, 20: SELF_POWERED},
            id="morning-peak-midday-soak",
        ),
        pytest.param(
            NIGHT_PEAK,
            {1: EXPORT, 5: SELF_POWERED, 12: CHARGE, 17: SELF_POWERED, 23: EXPORT},
            id="peak-across-midnight",
        ),
        pytest.param(
            FLAT,
            {3: SELF_POWERED, 12: SELF_POWERED, 18: SELF_POWERED},
            id="flat-never-exports",
        ),
    ],
)
def test_time_based_control_follows_the_peak(
    stored: dict[str, Any], expected: dict[int, str]
) -> None:
    """Export in the highest sell price, charge in the cheapest buy price, else self-powered."""
    sim = Simulator()
    time_based_home(sim, stored)
    site = sim.site(SITE_FULL)
    seen = {}
    for hour in expected:
        at(sim, LA, hour)
        site.percentage_charged = 50
        seen[hour] = what_battery_does(live(sim, SITE_FULL), FULL_MAX)
    assert seen == expected


def test_cheap_period_holds_a_full_battery_and_respects_grid_charging() -> None:
    """In the cheapest period a full battery does not discharge; no grid charge if refused."""
    sim = Simulator()
    time_based_home(sim, MORNING_PEAK)
    site = sim.site(SITE_FULL)
    at(sim, LA, 12)
    site.percentage_charged = 100
    data = live(sim, SITE_FULL)
    assert data["battery_power"] == 0  # held for the peak; solar goes to the grid
    assert data["grid_power"] < 0
    site.percentage_charged = 50
    site.grid_charging = False
    data = live(sim, SITE_FULL)
    assert data["grid_power"] <= 0  # only solar charges it now
    assert -FULL_MAX < data["battery_power"] < 0


def test_export_needs_battery_ok_and_stops_at_the_reserve() -> None:
    """In the peak: pv_only powers the home only; battery_ok exports down to the reserve."""
    sim = Simulator()
    time_based_home(sim, EVENING_PEAK)
    site = sim.site(SITE_FULL)
    site.export_rule = "pv_only"
    at(sim, LA, 17)
    site.percentage_charged = 60
    assert no_battery_export(live(sim, SITE_FULL))
    site.export_rule = "battery_ok"
    site.reserve = 40
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == EXPORT
    sim.clock.advance(3600)
    data = live(sim, SITE_FULL)
    assert data["percentage_charged"] == pytest.approx(40)
    assert data["battery_power"] == 0


def test_owners_ways_to_force_a_charge_and_self_powered() -> None:
    """Backup-only charges at full rate; time-based control + reserve 100 % does too."""
    sim = Simulator()
    time_based_home(sim, EVENING_PEAK)
    site = sim.site(SITE_FULL)
    at(sim, LA, 17)  # the peak: time-based control would export
    site.percentage_charged = 40
    site.mode = "backup"
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == CHARGE
    site.mode = "autonomous"
    site.reserve = 100
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == CHARGE
    site.grid_charging = False
    assert live(sim, SITE_FULL)["grid_power"] <= 0  # solar only
    site.grid_charging = True
    site.reserve = 20
    site.mode = "self_consumption"
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == SELF_POWERED


async def test_a_pushed_tariff_changes_what_the_battery_does(
    simulator: Simulator, api: Api
) -> None:
    """A tariff pushed over the Fleet API moves export and charging to its periods."""
    set_clock(api, datetime(2026, 6, 22, 10, tzinfo=NY))
    site = simulator.site(SITE_PW3)  # time-based control, battery_ok, night tariff
    site.percentage_charged = 80
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == SELF_POWERED
    export_now = tariff(
        {"ON_PEAK": [(10, 11)], "OFF_PEAK": [(0, 10), (11, 24)]},
        {"ON_PEAK": 0.4, "OFF_PEAK": 0.3},
        {"ON_PEAK": 0.35, "OFF_PEAK": 0.05},
    )
    status, _, _ = await api.post(
        f"{PW3}/time_of_use_settings",
        {"tou_settings": {"tariff_content_v2": export_now}},
    )
    assert status == 200
    assert (await api.info(SITE_PW3))["tariff_content_v2"]["code"] == "TEST"
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT
    # a tariff is a setting like the others: with an apply delay it acts late
    simulator.set_apply_delay(600, site_id=SITE_PW3, settings=["tariff_content_v2"])
    charge_now = tariff(
        {"SUPER_OFF_PEAK": [(10, 11)], "OFF_PEAK": [(0, 10), (11, 24)]},
        {"SUPER_OFF_PEAK": 0.05, "OFF_PEAK": 0.3},
        {"SUPER_OFF_PEAK": 0.0, "OFF_PEAK": 0.05},
    )
    site.percentage_charged = 50
    status, _, _ = await api.post(
        f"{PW3}/time_of_use_settings",
        {"tou_settings": {"tariff_content_v2": charge_now}},
    )
    assert status == 200
    assert (await api.info(SITE_PW3))["tariff_content_v2"]["seasons"]["Summer"][
        "tou_periods"
    ]["SUPER_OFF_PEAK"]
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT
    simulator.clock.advance(600)
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == CHARGE


def test_default_day_charges_at_night_and_exports_in_the_peak() -> None:
    """The Cabin's stored tariff gives the day the old fixed schedule had."""
    sim = Simulator()
    site = sim.site(SITE_PW3)
    assert site.tariff_content_v2 == night_tariff()
    seen = {}
    for hour in (2, 10, 17, 22):
        at(sim, NY, hour)
        site.percentage_charged = 50
        seen[hour] = what_battery_does(live(sim, SITE_PW3), PW3_MAX)
    assert seen == {2: CHARGE, 10: SELF_POWERED, 17: EXPORT, 22: SELF_POWERED}


# --------------------------------------------------------------------------- the planner alone
def test_planner_reads_periods_and_windows() -> None:
    """Plans name the buy period and end where the deciding price ends."""
    planner = TouPlanner(LA)
    evening = datetime(2026, 6, 22, 17, tzinfo=LA).timestamp()
    plan = planner.plan(EVENING_PEAK, evening)
    assert (plan.action, plan.period) == (EXPORT, "ON_PEAK")
    assert plan.ends == datetime(2026, 6, 22, 21, tzinfo=LA).timestamp()
    night = datetime(2026, 6, 23, 1, tzinfo=LA).timestamp()
    assert planner.plan(EVENING_PEAK, night).ends == (
        datetime(2026, 6, 23, 6, tzinfo=LA).timestamp()
    )
    crossing = planner.plan(
        NIGHT_PEAK, datetime(2026, 6, 22, 23, tzinfo=LA).timestamp()
    )
    assert crossing.action == EXPORT
    assert crossing.ends == datetime(2026, 6, 23, 2, tzinfo=LA).timestamp()
    # another zone reads the same tariff at other instants: 14:00 here is 17:00 there
    afternoon = datetime(2026, 6, 22, 14, tzinfo=LA).timestamp()
    assert planner.plan(EVENING_PEAK, afternoon).action == SELF_POWERED
    assert TouPlanner(NY).plan(EVENING_PEAK, afternoon).action == EXPORT


def test_planner_without_usable_prices() -> None:
    """No sell prices: never export; a broken or missing tariff: self-powered."""
    planner = TouPlanner(LA)
    buy_only = dict(EVENING_PEAK)
    del buy_only["sell_tariff"]
    evening = datetime(2026, 6, 22, 17, tzinfo=LA).timestamp()
    night = datetime(2026, 6, 22, 3, tzinfo=LA).timestamp()
    assert planner.plan(buy_only, evening).action == SELF_POWERED
    assert planner.plan(buy_only, night).action == CHARGE
    assert planner.plan({"seasons": "broken"}, evening) == NO_TARIFF
    assert planner.plan(None, evening) == NO_TARIFF
    gap = tariff({"ON_PEAK": [(16, 21)]}, {"ON_PEAK": 0.5}, {"ON_PEAK": 0.4})
    plan = planner.plan(gap, night)
    assert (plan.action, plan.period) == (SELF_POWERED, None)


def test_a_broken_stored_tariff_leaves_time_based_control_self_powered() -> None:
    """A tariff the gateway cannot read: no export, no grid charge."""
    sim = Simulator()
    time_based_home(sim, {"seasons": "broken"})
    site = sim.site(SITE_FULL)
    for hour in (3, 18):
        at(sim, LA, hour)
        site.percentage_charged = 50
        assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == SELF_POWERED


# --------------------------------------------------------------------------- quirks
async def test_act_delay_quirk(simulator: Simulator, api: Api) -> None:
    """On: a mode change acts 5-15 minutes late, the reserve at once; off: at once."""
    set_clock(api, datetime(2026, 6, 21, 21, tzinfo=LA))
    site = simulator.site(SITE_FULL)
    site.percentage_charged = 50
    simulator.set_quirks(site_id=SITE_FULL, act_delay=True)
    status, _, _ = await api.post(f"{FULL}/operation", {"default_real_mode": "backup"})
    assert status == 200
    assert (await api.info())["default_real_mode"] == "backup"
    assert site.acting("default_real_mode") == "self_consumption"
    (pending,) = site.pending_changes()
    lag = (
        datetime.fromisoformat(pending["at"]) - simulator.clock.now()
    ).total_seconds()
    assert 300 <= lag <= 900
    status, _, _ = await api.post(f"{FULL}/backup", {"backup_reserve_percent": 30})
    assert site.acting("backup_reserve_percent") == 30  # not a delayed setting
    simulator.clock.advance(lag - 1)
    assert (await api.live())["battery_power"] > 0  # still self-powered
    simulator.clock.advance(1)
    assert what_battery_does(await api.live(), FULL_MAX) == CHARGE
    # off again: the next change acts at once
    simulator.set_quirks(site_id=SITE_FULL, act_delay=False)
    await api.post(f"{FULL}/operation", {"default_real_mode": "self_consumption"})
    assert site.acting("default_real_mode") == "self_consumption"
    assert site.pending_changes() == []


def test_act_delay_is_the_same_in_every_run() -> None:
    """The delays drawn depend on the site and the command count only."""
    lags = []
    for _ in range(2):
        sim = Simulator()
        site = sim.site(SITE_FULL)
        site.set_quirks(act_delay=True, act_delay_range=(60.0, 120.0))
        site.accept("default_real_mode", "backup")
        site.accept("default_real_mode", "autonomous")
        lags.append([p["at"] for p in site.pending_changes()])
    assert lags[0] == lags[1]
    assert len(lags[0]) == 2


async def test_lost_commands_quirk(simulator: Simulator, api: Api) -> None:
    """A lost command shows in site_info but the gateway never acts; sending it again works."""
    set_clock(api, datetime(2026, 6, 21, 22, tzinfo=LA))
    site = simulator.site(SITE_FULL)
    site.percentage_charged = 30
    simulator.set_quirks(site_id=SITE_FULL, lost_commands=1)
    await api.post(f"{FULL}/backup", {"backup_reserve_percent": 60})
    assert (await api.info())["backup_reserve_percent"] == 60
    simulator.clock.advance(3600)
    assert site.acting("backup_reserve_percent") == 20
    assert (await api.live())["battery_power"] > 0
    assert site.quirks.lost_commands == 0
    await api.post(f"{FULL}/backup", {"backup_reserve_percent": 60})
    assert site.acting("backup_reserve_percent") == 60
    assert (await api.live())["battery_power"] < 0


@pytest.mark.parametrize("mode", ["self_consumption", "autonomous"])
def test_reserve_ignored_in_peak_quirk(mode: str) -> None:
    """On: a reserve raised in the peak acts when the peak ends; off: at once."""
    sim = Simulator()
    site = sim.site(SITE_FULL)  # default tariff: ON_PEAK 16-21, pv_only
    site.mode = mode
    at(sim, LA, 19)
    site.percentage_charged = 50
    site.set_quirks(reserve_ignored_in_peak=True)
    site.reserve = 100
    assert site.acting("backup_reserve_percent") == 100  # accepted ...
    assert live(sim, SITE_FULL)["battery_power"] > 0  # ... but the old one is kept
    at(sim, LA, 20, 59)
    assert live(sim, SITE_FULL)["battery_power"] >= 0
    at(sim, LA, 21, 1)
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == CHARGE
    # a change before the next peak acts at once, and is what the peak keeps
    site.reserve = 20
    at(sim, LA, 19, day=23)
    site.percentage_charged = 50
    assert live(sim, SITE_FULL)["battery_power"] > 0
    site.set_quirks(reserve_ignored_in_peak=False)
    site.reserve = 100
    assert what_battery_does(live(sim, SITE_FULL), FULL_MAX) == CHARGE


async def test_reserve_81_99_quirk(simulator: Simulator, api: Api) -> None:
    """Refused by default; the "snap" quirk stores 80 %."""
    status, _, _ = await api.post(f"{FULL}/backup", {"backup_reserve_percent": 90})
    assert status == 400
    simulator.set_quirks(site_id=SITE_FULL, reserve_81_99="snap")
    assert simulator.site(SITE_FULL).reserve_81_99 == "snap"
    status, _, _ = await api.post(f"{FULL}/backup", {"backup_reserve_percent": 90})
    assert status == 200
    assert (await api.info())["backup_reserve_percent"] == 80


def test_reserve_charge_limit_quirk() -> None:
    """On: reserve-driven grid charging is capped per Powerwall; other charging is not."""
    sim = Simulator()
    site = sim.site(SITE_FULL)
    at(sim, LA, 22)
    site.percentage_charged = 30
    site.reserve = 60
    assert live(sim, SITE_FULL)["battery_power"] == -FULL_MAX
    site.set_quirks(reserve_charge_limit_w=1700)
    data = live(sim, SITE_FULL)
    assert data["battery_power"] == -2 * 1700
    assert data["grid_power"] == data["load_power"] + 3400
    site.mode = "backup"
    assert live(sim, SITE_FULL)["battery_power"] == -FULL_MAX
    time_based_home(sim, EVENING_PEAK)
    at(sim, LA, 2, day=23)  # the cheapest period: time-based control's own charge
    site.percentage_charged = 30
    assert live(sim, SITE_FULL)["battery_power"] == -FULL_MAX


def test_battery_export_forbidden_quirk() -> None:
    """On: battery_ok is kept but the battery only powers the home in the peak."""
    sim = Simulator()
    site = sim.site(SITE_PW3)
    at(sim, NY, 17)
    site.percentage_charged = 90
    assert what_battery_does(live(sim, SITE_PW3), PW3_MAX) == EXPORT
    site.set_quirks(battery_export_forbidden=True)
    data = live(sim, SITE_PW3)
    assert site.export_rule == "battery_ok"
    assert no_battery_export(data)
    assert data["battery_power"] < PW3_MAX


async def test_balanced_after_push_quirk(simulator: Simulator, api: Api) -> None:
    """On: a push without a strategy leaves "balanced", which never exports (Predbat #4600)."""
    set_clock(api, datetime(2026, 6, 22, 17, tzinfo=NY))
    site = simulator.site(SITE_PW3)
    site.percentage_charged = 90
    settings: dict[str, Any] = {"tariff_content_v2": night_tariff()}
    body = {"tou_settings": settings}
    # off: the site keeps the strategy it holds
    assert (await api.post(f"{PW3}/time_of_use_settings", body))[0] == 200
    assert (await api.info(SITE_PW3))["tou_settings"]["optimization_strategy"] == (
        "economics"
    )
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT
    simulator.set_quirks(site_id=SITE_PW3, balanced_after_push=True)
    assert (await api.post(f"{PW3}/time_of_use_settings", body))[0] == 200
    assert (await api.info(SITE_PW3))["tou_settings"]["optimization_strategy"] == (
        "balanced"
    )
    data = await api.live(SITE_PW3)
    assert no_battery_export(data)
    settings["optimization_strategy"] = "economics"
    assert (await api.post(f"{PW3}/time_of_use_settings", body))[0] == 200
    assert site.optimization_strategy == "economics"
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT


def test_late_discharge_quirk() -> None:
    """On: the peak's battery only powers the home until its last 30 minutes."""
    sim = Simulator()
    site = sim.site(SITE_PW3)  # ON_PEAK 16-21
    site.set_quirks(late_discharge=True)
    at(sim, NY, 17)
    site.percentage_charged = 90
    assert what_battery_does(live(sim, SITE_PW3), PW3_MAX) == SELF_POWERED
    at(sim, NY, 20, 29)
    site.percentage_charged = 90
    assert what_battery_does(live(sim, SITE_PW3), PW3_MAX) == SELF_POWERED
    at(sim, NY, 20, 30)
    assert what_battery_does(live(sim, SITE_PW3), PW3_MAX) == EXPORT
    site.set_quirks(late_discharge=False)
    at(sim, NY, 17, day=23)
    site.percentage_charged = 90
    assert what_battery_does(live(sim, SITE_PW3), PW3_MAX) == EXPORT


def test_quirks_are_checked() -> None:
    """Impossible quirk values are refused."""
    site = Simulator().site(SITE_FULL)
    with pytest.raises(ValueError, match="act_delay_range"):
        Quirks(act_delay_range=(900.0, 300.0))
    with pytest.raises(ValueError, match="lost_commands"):
        Quirks(lost_commands=-1)
    with pytest.raises(ValueError, match="reserve_charge_limit_w"):
        Quirks(reserve_charge_limit_w=0)
    with pytest.raises(ValueError, match="unknown quirks"):
        site.set_quirks(turbo=True)
    with pytest.raises(ValueError, match="unknown settings"):
        site.set_quirks(act_delay_settings=("turbo",))
    assert site.quirks == Quirks()


async def test_quirks_over_the_control_route(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    """/_sim/site sets quirks from JSON; /_sim/state shows them."""
    async with http.post(
        f"{simulator.url}/_sim/site",
        json={
            "site_id": SITE_PW3,
            "set": {"quirks": {"act_delay": True, "act_delay_range": [60, 60]}},
        },
    ) as resp:
        assert resp.status == 200
        state = (await resp.json())["state"]
    assert state["quirks"]["act_delay"] is True
    assert simulator.site(SITE_PW3).quirks.act_delay_range == (60, 60)
    async with http.post(
        f"{simulator.url}/_sim/site",
        json={"site_id": SITE_PW3, "set": {"quirks": {"late": True}}},
    ) as resp:
        assert resp.status == 400


def test_history_with_quirks_is_independent_of_polling() -> None:
    """Quirks keep the energy history a function of the clock and the commands only."""
    busy, lazy = Simulator(), Simulator()
    for sim in (busy, lazy):
        sim.set_quirks(
            site_id=SITE_PW3,
            act_delay=True,
            reserve_ignored_in_peak=True,
            late_discharge=True,
            reserve_charge_limit_w=1700,
        )
    for hour, command in ((15, ("backup_reserve_percent", 90)), (17, None)):
        for sim in (busy, lazy):
            target = datetime(2026, 6, 22, hour, tzinfo=NY).timestamp()
            if sim is busy:
                while sim.clock.timestamp() + 41 < target:
                    sim.clock.advance(41)
                    live(sim, SITE_PW3)
            sim.clock.set(datetime.fromtimestamp(target, NY))
            if command is not None:
                sim.site(SITE_PW3).accept(*command)
                sim.site(SITE_PW3).accept("default_real_mode", "self_consumption")
    for sim in (busy, lazy):
        sim.clock.set(datetime(2026, 6, 23, 6, tzinfo=NY))
    start, end = datetime(2026, 6, 22, tzinfo=NY), datetime(2026, 6, 23, 6, tzinfo=NY)
    assert busy.energy_buckets(SITE_PW3, start, end) == lazy.energy_buckets(
        SITE_PW3, start, end
    )
    assert live(busy, SITE_PW3) == live(lazy, SITE_PW3)


# --------------------------------------------------------------------------- ladder
def export_window(start: float, end: float) -> dict[str, Any]:
    """A tariff whose only high sell price is [start, end) (hours, local)."""
    return tariff(
        {"ON_PEAK": [(start, end)], "OFF_PEAK": [(0, start), (end, 24)]},
        {"ON_PEAK": 0.4, "OFF_PEAK": 0.3},
        {"ON_PEAK": 0.35, "OFF_PEAK": 0.05},
    )


async def push(api: Api, site_id: int, stored: dict[str, Any], **extra: Any) -> None:
    """POST time_of_use_settings and expect Tesla to accept it."""
    body = {"tou_settings": {"tariff_content_v2": stored, **extra}}
    path = f"energy_sites/{site_id}/time_of_use_settings"
    status, answer, _ = await api.post(path, body)
    assert status == 200, answer


async def test_each_quirk_against_the_next_step(simulator: Simulator, api: Api) -> None:
    """What overcomes a quirk that defeats a first step (the dispatch ladder's premise).

    charge: reserve 100 % in time-based control fails in a peak that ignores reserve
    changes, and is throttled by the reserve charge limit; backup-only charges at full
    rate.  hold: a reserve at the present charge fails in such a peak; backup-only
    holds.  export: a push without a strategy may leave "balanced", one with
    ``economics`` exports; a late discharge waits for the last 30 minutes, a 30-minute
    window is all last 30 minutes; a utility's export ban defeats every step.
    """
    home = simulator.site(SITE_FULL)
    cabin = simulator.site(SITE_PW3)
    set_clock(api, datetime(2026, 6, 22, 19, tzinfo=LA))  # the Home's peak
    simulator.set_quirks(
        site_id=SITE_FULL, reserve_ignored_in_peak=True, reserve_charge_limit_w=1700
    )
    home.percentage_charged = 50
    # charge, step 1: time-based control + reserve 100 % + grid charging
    await api.post(f"{FULL}/operation", {"default_real_mode": "autonomous"})
    await api.post(f"{FULL}/backup", {"backup_reserve_percent": 100})
    assert (await api.live())["battery_power"] > 0  # still powering the home
    # hold, step 1: the reserve at the present charge
    await api.post(f"{FULL}/backup", {"backup_reserve_percent": 50})
    assert (await api.live())["battery_power"] > 0  # still discharging
    # both, step 2: backup-only
    await api.post(f"{FULL}/operation", {"default_real_mode": "backup"})
    assert what_battery_does(await api.live(), FULL_MAX) == CHARGE
    await api.post(
        f"{FULL}/grid_import_export",
        {"disallow_charge_from_grid_with_solar_installed": True},
    )
    assert (await api.live())["battery_power"] == 0  # hold: no discharge, no charge
    # the throttle: reserve-driven charging after the peak is capped, backup is not
    set_clock(api, datetime(2026, 6, 22, 22, tzinfo=LA))
    await api.post(
        f"{FULL}/grid_import_export",
        {"disallow_charge_from_grid_with_solar_installed": False},
    )
    await api.post(f"{FULL}/operation", {"default_real_mode": "self_consumption"})
    home.percentage_charged = 50
    await api.post(f"{FULL}/backup", {"backup_reserve_percent": 100})
    assert (await api.live())["battery_power"] == -3400
    await api.post(f"{FULL}/operation", {"default_real_mode": "backup"})
    assert (await api.live())["battery_power"] == -FULL_MAX

    # export at the Cabin, 10:00 in New York (time-based control, battery_ok)
    set_clock(api, datetime(2026, 6, 23, 10, tzinfo=NY))
    cabin.percentage_charged = 90
    simulator.set_quirks(site_id=SITE_PW3, balanced_after_push=True)
    await push(api, SITE_PW3, export_window(10, 12))
    assert no_battery_export(await api.live(SITE_PW3))
    await push(api, SITE_PW3, export_window(10, 12), optimization_strategy="economics")
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT
    simulator.set_quirks(site_id=SITE_PW3, late_discharge=True)
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == SELF_POWERED
    await push(
        api, SITE_PW3, export_window(10, 10.5), optimization_strategy="economics"
    )
    assert what_battery_does(await api.live(SITE_PW3), PW3_MAX) == EXPORT
    simulator.set_quirks(site_id=SITE_PW3, battery_export_forbidden=True)
    assert no_battery_export(await api.live(SITE_PW3))
    await push(api, SITE_PW3, export_window(10, 12), optimization_strategy="economics")
    await api.post(f"{PW3}/backup", {"backup_reserve_percent": 0})
    assert no_battery_export(await api.live(SITE_PW3))
