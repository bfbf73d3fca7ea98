"""What a simulated site's gateway does: deterministic physics integrated lazily on the clock.

Model
-----
Time is cut into *steps* of ``physics_step`` seconds aligned to the POSIX epoch.  At the
start of each step the site decides constant powers (solar, load, battery) for the whole
step from its state; they are applied until the step ends or the state changes (a write
acted on, an outage, …), whichever comes first.  Reads never commit partial steps, so the
history a site produces depends only on the clock and on state changes, never on how often
it is polled.  Powers are chosen so that the battery cannot leave its bounds within the step.

The physics follow the *acting* settings (``_act_*``, the tariff and the time-based
control strategy included): what the gateway is doing, which may lag what Tesla's API
shows (``site.py`` owns the shown settings and schedules the acting ones with
:meth:`SitePhysics._schedule`; a scheduled change is a state change at its own time, so
the history stays independent of polling).

What the battery does with the grid up (each step, from the acting settings):

* storm watch active: charge to full (from the grid too);
* ``backup``: never discharge; charge at full rate, from the grid where grid charging
  is allowed (FLEET_API.md "Forcing a grid charge": owners' method, at full rate);
* ``autonomous`` (time-based control): what ``controller.TouPlanner`` reads in the
  tariff: export at full rate down to the reserve, charge from the grid at full rate
  (not discharging there), or self-powered;
* ``self_consumption`` (and time-based control otherwise): solar surplus charges, the
  battery covers the rest of the load down to the reserve;
* below the reserve (both modes): charge up to it, from the grid where allowed, so a
  reserve of 100 % with grid charging forces a charge (owners' method);
* the export rule last: the battery exports only under ``battery_ok``; ``never`` curtails
  solar instead of exporting it.

The per-site quirks (``controller.Quirks``) change some of these steps.

Energy is tracked as seven *base flows* (solar→home, solar→battery, solar→grid,
battery→home, battery→grid, grid→home, grid→battery) in exact cumulative floats.  At every
5-minute bucket boundary each cumulative float is rounded; a bucket reports the difference
of the rounded values, so buckets of any range sum exactly to the rounded cumulative total
(no energy lost to rounding).  Every reported history field is a sum of base flows, which
makes Tesla's identities (``total_home_usage`` = sum of ``consumer_energy_imported_from_*``
and so on) hold *exactly* in every bucket, while each field may differ by about ±1 Wh from
rounding the exact per-field float.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
import heapq
import math
from typing import TYPE_CHECKING, Any

from .controller import (
    CHARGE,
    EXPORT,
    LATE_DISCHARGE_WINDOW,
    NO_TARIFF,
    PEAK,
    Quirks,
    TouPlan,
    TouPlanner,
)
from .environment import SiteEnvironment, zone_for
from .tariff import initial_tariff

if TYPE_CHECKING:
    from .clock import SimClock
    from .scenario import SiteConfig

BUCKET = 300  # seconds per history bucket

# Base flows (indexes into the flow arrays)
SH, SB, SG, BH, BG, GH, GB = range(7)
FLOW_NAMES = (
    "solar_to_home",
    "solar_to_battery",
    "solar_to_grid",
    "battery_to_home",
    "battery_to_grid",
    "grid_to_home",
    "grid_to_battery",
)

# Every history field, in Tesla's order, as the base flows it sums.
HISTORY_FIELDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("solar_energy_exported", (SH, SB, SG)),
    ("generator_energy_exported", ()),
    ("grid_energy_imported", (GH, GB)),
    ("grid_services_energy_imported", ()),
    ("grid_services_energy_exported", ()),
    ("grid_energy_exported_from_solar", (SG,)),
    ("grid_energy_exported_from_generator", ()),
    ("grid_energy_exported_from_battery", (BG,)),
    ("battery_energy_exported", (BH, BG)),
    ("battery_energy_imported_from_grid", (GB,)),
    ("battery_energy_imported_from_solar", (SB,)),
    ("battery_energy_imported_from_generator", ()),
    ("consumer_energy_imported_from_grid", (GH,)),
    ("consumer_energy_imported_from_solar", (SH,)),
    ("consumer_energy_imported_from_battery", (BH,)),
    ("consumer_energy_imported_from_generator", ()),
    ("total_home_usage", (SH, BH, GH)),
    ("total_battery_charge", (SB, GB)),
    ("total_battery_discharge", (BH, BG)),
    ("total_solar_generation", (SH, SB, SG)),
    ("total_grid_energy_exported", (SG, BG)),
)
HISTORY_FIELD_NAMES = tuple(name for name, _ in HISTORY_FIELDS)


def local_iso(ts: float, zone: tzinfo) -> str:
    """ISO 8601 local time with offset, seconds precision."""
    return datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")


class SitePhysics:
    """The physics engine and exact energy history of one site (no settings API: see ``site.py``)."""

    def __init__(
        self,
        config: SiteConfig,
        clock: SimClock,
        *,
        physics_step: int = 60,
        history_days: int = 400,
    ) -> None:
        """Start physics and history at local midnight the day before now."""
        if physics_step <= 0:
            raise ValueError("physics_step must be positive")
        self.config = config
        self.clock = clock
        self.environment = SiteEnvironment(config)
        self._step = float(physics_step)
        self._history_buckets = history_days * 86400 // BUCKET
        self.report_zone = zone_for(config.time_zone)
        # what the gateway acts on (the settings Tesla shows live in site.py)
        self._act_mode = config.initial_mode
        self._act_reserve = config.initial_reserve
        self._act_storm = config.initial_storm_mode
        self._act_export = config.initial_export_rule if config.has_solar else None
        self._act_disallow = config.initial_disallow_grid_charging
        self._act_tariff: Any = initial_tariff(config)
        self._act_strategy = config.optimization_strategy
        self._quirks: Quirks = config.quirks
        # reserve held since a peak began (Quirks.reserve_ignored_in_peak), else None
        self._peak_reserve: int | None = None
        self._planner = TouPlanner(self.environment.zone)
        self._storm_alert = False
        self._grid_outage = False
        # (time, sequence, attribute, value) of accepted changes not yet acted on
        self._pending: list[tuple[float, int, str, Any]] = []
        self._pending_seq = 0
        now = clock.timestamp()
        zone = self.environment.zone
        local_now = datetime.fromtimestamp(now, zone)
        midnight = datetime(local_now.year, local_now.month, local_now.day, tzinfo=zone)
        self.history_start = (midnight - timedelta(days=1)).timestamp()
        self._cap = float(config.capacity_wh)
        self._pmax = float(config.battery_max_w)
        self._soc = self._cap * config.initial_soc / 100.0
        self._t = self.history_start
        self._step_end = (math.floor(self._t / self._step) + 1) * self._step
        self._bucket_end = (math.floor(self._t / BUCKET) + 1) * BUCKET
        self._cum = [0.0] * 7
        self._cum_r = [0] * 7
        self._bucket0 = math.floor(self._t / BUCKET)
        self._flows: list[array[int]] = [array("q") for _ in range(7)]
        # Buckets before the simulated history (``set_past``): the first one's
        # absolute index, and the days made so far (local day start -> flows).
        self._past0: int | None = None
        self._past_days: dict[int, list[tuple[int, ...]]] = {}
        self._p_solar = 0.0
        self._p_load = 0.0
        self._p_batt = 0.0
        self._flow_p: tuple[float, ...] = (0.0,) * 7
        self._has_solar = config.has_solar
        self._storm_capable = config.storm_capable
        self.on_change: Callable[[Any], None] | None = None
        if not config.dead:
            self._plan(self._t, self._step_end - self._t)

    # ------------------------------------------------------------------ model
    def solar_potential(self, t: float) -> float:
        """Available solar power (W) at POSIX time ``t`` (before curtailment)."""
        return self.environment.solar_potential(t)

    def load_demand(self, t: float) -> float:
        """Household demand (W) at POSIX time ``t``."""
        env = self.environment
        return env.demand(t, env.local_hour(t))

    def _plan(self, t: float, duration: float) -> None:
        """Decide constant powers for [t, t + duration)."""
        env = self.environment
        hour = env.local_hour(t)
        solar = env.solar_potential(t) if self._has_solar else 0.0
        load = env.demand(t, hour)
        batt = 0.0
        cap = self._cap
        if cap <= 0:
            if self._grid_outage:
                solar = load = 0.0  # anti-islanding: inverters trip, the house is dark
            elif self._act_export == "never" and solar > load:
                solar = load
        else:
            h = duration / 3600.0
            soc = self._soc
            pmax = self._pmax
            max_charge = (cap - soc) / h
            if max_charge > pmax:
                max_charge = pmax
            elif max_charge < 0.0:
                max_charge = 0.0
            if self._grid_outage:
                net = load - solar
                if net >= 0:
                    avail = soc / h
                    batt = min(avail, net)
                    batt = min(batt, pmax)
                    batt = max(batt, 0.0)
                    load = solar + batt  # unserved load is shed
                else:
                    batt = -(min(max_charge, -net))
                    solar = load - batt  # curtail what cannot be used
            else:
                surplus = solar - load
                grid_ok = not (self._act_disallow and self._has_solar)
                quirks = self._quirks
                mode = self._act_mode
                tou = (
                    self._tou_plan(t)
                    if mode == "autonomous" or quirks.reserve_ignored_in_peak
                    else NO_TARIFF
                )
                reserve_e = cap * self._reserve_in_force(tou) / 100.0
                max_discharge = (soc - reserve_e) / h
                if max_discharge > pmax:
                    max_discharge = pmax
                elif max_discharge < 0.0:
                    max_discharge = 0.0
                from_surplus = min(max_charge, surplus) if surplus > 0.0 else 0.0
                battery_may_export = (
                    self._act_export == "battery_ok"
                    and not quirks.battery_export_forbidden
                )
                if self._act_storm and self._storm_alert and self._storm_capable:
                    batt = -max_charge
                elif mode == "backup":
                    batt = -(max_charge if grid_ok else from_surplus)
                else:
                    action = tou.action if mode == "autonomous" else None
                    if (
                        action == EXPORT
                        and battery_may_export
                        and self._act_strategy != "balanced"  # Predbat #4600
                        and not (
                            quirks.late_discharge
                            and t < tou.ends - LATE_DISCHARGE_WINDOW
                        )
                    ):
                        batt = max_discharge
                    elif action == CHARGE and grid_ok:
                        batt = -max_charge
                    elif surplus > 0.0:
                        batt = -from_surplus
                    else:
                        batt = min(max_discharge, -surplus)
                    if soc < reserve_e and batt > -max_charge:
                        top_up = (
                            min(max_charge, (reserve_e - soc) / h) if grid_ok else 0.0
                        )
                        limit = quirks.reserve_charge_limit_w
                        if limit is not None:  # Predbat #4892: throttled since 25.18
                            top_up = min(top_up, limit * self.config.battery_count)
                        batt = -max(from_surplus, top_up, -batt if batt < 0 else 0.0)
                if not battery_may_export and batt > 0.0 and batt > load - solar:
                    # pv_only / never / no rule / a utility's rule: no battery export
                    batt = load - solar if load > solar else 0.0
                if self._act_export == "never" and load - solar - batt < 0.0:
                    solar = load - batt  # curtail solar instead of exporting
        self._p_solar = solar
        self._p_load = load
        self._p_batt = batt
        sh = min(load, solar)
        srem = solar - sh
        if batt < 0.0:
            charge = -batt
            sb = min(charge, srem)
            self._flow_p = (sh, sb, srem - sb, 0.0, 0.0, load - sh, charge - sb)
        else:
            rest = load - sh
            bh = min(rest, batt)
            self._flow_p = (sh, 0.0, srem, bh, batt - bh, rest - bh, 0.0)

    def _tou_plan(self, t: float) -> TouPlan:
        """Time-based control's plan at ``t`` for the tariff the gateway acts on."""
        return self._planner.plan(self._act_tariff, t)

    def _reserve_in_force(self, tou: TouPlan) -> int:
        """The reserve the gateway keeps now (a peak may hold an older one)."""
        if self._quirks.reserve_ignored_in_peak and tou.period == PEAK:
            # alandtse/tesla #1171: reserve changes ignored while the tariff says peak
            if self._peak_reserve is None:
                self._peak_reserve = self._act_reserve
            return self._peak_reserve
        self._peak_reserve = None
        return self._act_reserve

    def _apply(self, t_end: float) -> None:
        """Apply the current powers from the committed time up to ``t_end``."""
        dh = (t_end - self._t) / 3600.0
        if dh <= 0:
            return
        c = self._cum
        f0, f1, f2, f3, f4, f5, f6 = self._flow_p
        c[0] += f0 * dh
        c[1] += f1 * dh
        c[2] += f2 * dh
        c[3] += f3 * dh
        c[4] += f4 * dh
        c[5] += f5 * dh
        c[6] += f6 * dh
        if self._cap > 0:
            soc = self._soc - self._p_batt * dh
            self._soc = 0.0 if soc < 0.0 else min(soc, self._cap)
        self._t = t_end

    def _flush_bucket(self) -> None:
        cum_r = self._cum_r
        flows = self._flows
        cum = self._cum
        for i in range(7):
            r = round(cum[i])
            flows[i].append(r - cum_r[i])
            cum_r[i] = r
        excess = len(flows[0]) - self._history_buckets
        if excess > 8640:  # trim in chunks of 30 days
            for arr in flows:
                del arr[:excess]
            self._bucket0 += excess

    def sync(self, until: float | None = None) -> None:
        """Commit all whole segments up to ``until`` (default: now), acting on due changes."""
        if self.config.dead:
            return
        target = self.clock.timestamp() if until is None else until
        pending = self._pending
        while pending and pending[0][0] <= target:
            at, _, attr, value = heapq.heappop(pending)
            self._sync_segments(at)
            if getattr(self, attr) != value:
                self._apply(at)
                setattr(self, attr, value)
                self._plan(self._t, self._step_end - self._t)
        self._sync_segments(target)

    def _sync_segments(self, target: float) -> None:
        """Commit all whole segments (steps cut at bucket boundaries) ending by ``target``."""
        step_end = self._step_end
        bucket_end = self._bucket_end
        if min(bucket_end, step_end) > target:
            return
        step = self._step
        while True:
            seg_end = min(bucket_end, step_end)
            if seg_end > target:
                break
            self._apply(seg_end)
            if seg_end >= bucket_end:
                self._flush_bucket()
                bucket_end += BUCKET
            if seg_end >= step_end:
                step_end = seg_end + step
                self._plan(seg_end, step)
        self._step_end = step_end
        self._bucket_end = bucket_end

    def _commit_partial(self) -> None:
        """Commit the running segment up to now (only before a state change)."""
        if self.config.dead:
            return
        now = self.clock.timestamp()
        if now > self._t:
            self._apply(now)

    def _replan(self) -> None:
        if not self.config.dead:
            self._plan(self._t, self._step_end - self._t)
        if self.on_change is not None:
            self.on_change(self)

    def _change(self, attr: str, value: Any) -> None:
        """Set a physical attribute (``_act_*``, ``_grid_outage``, …) now."""
        if getattr(self, attr) == value:
            return
        self.sync()
        self._commit_partial()
        setattr(self, attr, value)
        self._replan()

    def _schedule(self, at: float, attr: str, value: Any) -> None:
        """Set a physical attribute at POSIX time ``at`` (after the ones already scheduled for it)."""
        if self.config.dead:
            setattr(self, attr, value)
            return
        at = max([at, *(p[0] for p in self._pending if p[2] == attr)])
        self._pending_seq += 1
        heapq.heappush(self._pending, (at, self._pending_seq, attr, value))

    def _drop_pending(self, attr: str) -> None:
        """Forget scheduled changes of ``attr``."""
        kept = [p for p in self._pending if p[2] != attr]
        if len(kept) != len(self._pending):
            heapq.heapify(kept)
            self._pending = kept

    # ------------------------------------------------------------------ readings
    @property
    def energy_left(self) -> float:
        """Stored energy now (Wh)."""
        if self._cap <= 0:
            return 0.0
        self.sync()
        now = self.clock.timestamp()
        soc = self._soc - self._p_batt * (now - self._t) / 3600.0
        return min(self._cap, max(0.0, soc))

    def powers(self) -> tuple[float, float, float]:
        """(solar, load, battery) in W right now; grid = load - solar - battery."""
        self.sync()
        return self._p_solar, self._p_load, self._p_batt

    def live_powers(self) -> dict[str, int]:
        """Integer powers as live_status reports them (solar + battery + grid == load exactly)."""
        solar, load, batt = self.powers()
        s, b, g = round(solar), round(batt), round(load - solar - batt)
        return {
            "solar_power": s,
            "battery_power": b,
            "load_power": s + b + g,
            "grid_power": g,
        }

    # ------------------------------------------------------------------ history
    def bucket_range(self, start: float, end: float) -> tuple[int, int]:
        """Indexes [i0, i1) into the stored buckets whose start lies in [start, end) and are complete."""
        self.sync()
        now = self.clock.timestamp()
        stored = len(self._flows[0])
        first = self._bucket0
        oldest = first if self._past0 is None else min(first, self._past0)
        lo = max(oldest, math.ceil(start / BUCKET))
        hi = min(first + stored, math.ceil(end / BUCKET), math.floor(now / BUCKET))
        return lo - first, max(lo, hi) - first

    def bucket_start(self, index: int) -> float:
        """POSIX start of stored bucket ``index``."""
        return float((self._bucket0 + index) * BUCKET)

    def bucket_values(self, index: int) -> dict[str, int]:
        """History fields of one stored bucket."""
        if index < 0:
            base = list(self._past_flows(self._bucket0 + index))
        else:
            base = [arr[index] for arr in self._flows]
        return {name: sum(base[i] for i in idx) for name, idx in HISTORY_FIELDS}

    def sum_values(self, i0: int, i1: int) -> dict[str, int]:
        """History fields summed over stored buckets [i0, i1) (negative: the past)."""
        base = [sum(arr[max(i0, 0) : max(i1, 0)]) for arr in self._flows]
        for index in range(i0, min(i1, 0)):
            for i, value in enumerate(self._past_flows(self._bucket0 + index)):
                base[i] += value
        return {name: sum(base[i] for i in idx) for name, idx in HISTORY_FIELDS}

    # ------------------------------------------------------------------ the distant past
    def set_past(self, installed: float) -> None:
        """Buckets from ``installed`` up to the simulated history's start.

        A site installed years ago (issue 20): Tesla keeps its 5-minute
        history since the installation date (FLEET_API.md, calendar_history).
        Simulating years of physics minute by minute would take too long, so
        these buckets come from a plain daily pattern instead (sun by day and
        season, a load with an evening peak, the battery charging from solar
        and covering the evening), the same each time they are asked for and
        exact integers like the simulated ones. Days follow the site's local
        clock: the changes to and from summer time are in them.
        """
        self._past0 = min(math.ceil(installed / BUCKET), self._bucket0)
        self._past_days.clear()

    def _past_flows(self, absolute: int) -> tuple[int, ...]:
        """The base flows (Wh) of the past bucket with absolute index ``absolute``."""
        if self._past0 is None or absolute < self._past0:
            return (0,) * 7
        day = absolute // 288
        flows = self._past_days.get(day)
        if flows is None:
            flows = self._past_days[day] = [
                self._past_bucket(day * 288 + offset) for offset in range(288)
            ]
        return flows[absolute - day * 288]

    def _past_bucket(self, absolute: int) -> tuple[int, ...]:
        when = datetime.fromtimestamp(absolute * BUCKET, self.environment.zone)
        hour = when.hour + when.minute / 60
        mix = (absolute * 2654435761 + self.config.seed * 40503) % 1000 / 1000
        season = 0.65 + 0.35 * math.cos(
            2 * math.pi * (when.timetuple().tm_yday - 172) / 365
        )
        daylight = max(0.0, math.sin(math.pi * (hour - 6) / 13))
        solar = self.config.solar_w * daylight * season * (0.6 + 0.4 * mix)
        load = 350 + 300 * mix + (900 if 17 <= hour < 22 else 0)
        share = BUCKET / 3600
        sh = min(solar, load)
        charge = min(solar - sh, self._pmax / 2) if self._cap > 0 else 0.0
        sg = solar - sh - charge
        discharge = (
            min(load - sh, self._pmax / 2) if self._cap > 0 and hour >= 17 else 0.0
        )
        gh = load - sh - discharge
        gb = 800.0 if self._cap > 0 and 2 <= hour < 3 else 0.0
        watts = (sh, charge, sg, discharge, 0.0, gh, gb)
        return tuple(round(value * share) for value in watts)

    def buckets(
        self, start: float, end: float, zone: tzinfo | None = None
    ) -> list[dict[str, Any]]:
        """Complete buckets whose start is in [start, end), with local timestamps."""
        i0, i1 = self.bucket_range(start, end)
        zone = zone or self.report_zone
        result = []
        for i in range(i0, i1):
            entry: dict[str, Any] = {"timestamp": local_iso(self.bucket_start(i), zone)}
            entry.update(self.bucket_values(i))
            result.append(entry)
        return result

    def totals(self, start: float, end: float) -> dict[str, int]:
        """Sums of the complete buckets whose start is in [start, end)."""
        i0, i1 = self.bucket_range(start, end)
        return self.sum_values(i0, i1)

    def flow_totals(self) -> dict[str, float]:
        """Exact cumulative base flows (Wh) committed so far (for debugging and tests)."""
        self.sync()
        return dict(zip(FLOW_NAMES, self._cum, strict=True))
