"""Per-site state and deterministic physics, integrated lazily on the simulated clock.

Model
-----
Time is cut into *steps* of ``physics_step`` seconds aligned to the POSIX epoch.  At the
start of each step the site decides constant powers (solar, load, battery) for the whole
step from its state; they are applied until the step ends or the state changes (a write,
an outage, …), whichever comes first.  Reads never commit partial steps, so the history a
site produces depends only on the clock and on state changes, never on how often it is
polled.  Powers are chosen so that the battery cannot leave its bounds within the step.

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
from datetime import UTC, datetime, timedelta, tzinfo
import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .tariff import default_tariff, default_tou_settings

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

MODES = ("self_consumption", "autonomous", "backup")
EXPORT_RULES = ("battery_ok", "pv_only", "never")

_MASK = (1 << 64) - 1


def _hash01(seed: int, index: int) -> float:
    """Deterministic uniform value in [0, 1) for (seed, index) (splitmix64)."""
    x = (
        seed * 0x9E3779B97F4A7C15 + index * 0xD1B54A32D192ED03 + 0x9E3779B97F4A7C15
    ) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x / 18446744073709551616.0


class _ValueNoise:
    """Smooth deterministic noise in [0, 1) with knots every ``period`` seconds."""

    __slots__ = ("_a", "_b", "_i", "_period", "_seed")

    def __init__(self, seed: int, period: float) -> None:
        self._seed = seed
        self._period = period
        self._i = -1 << 62
        self._a = 0.0
        self._b = 0.0

    def __call__(self, t: float) -> float:
        u = t / self._period
        i = math.floor(u)
        if i != self._i:
            if i == self._i + 1:
                self._a = self._b
            else:
                self._a = _hash01(self._seed, i)
            self._b = _hash01(self._seed, i + 1)
            self._i = i
        f = u - i
        return self._a + (self._b - self._a) * f * f * (3.0 - 2.0 * f)


def zone_for(name: str) -> tzinfo:
    """ZoneInfo for ``name`` or UTC for an empty name."""
    return ZoneInfo(name) if name else UTC


def local_iso(ts: float, zone: tzinfo) -> str:
    """ISO 8601 local time with offset, seconds precision."""
    return datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")


class SiteState:
    """The live state of one energy site plus its physics engine and energy history.

    Writable attributes use Tesla's names (``default_real_mode``, ``backup_reserve_percent``,
    ``storm_mode_enabled``, ``customer_preferred_export_rule``,
    ``disallow_charge_from_grid_with_solar_installed``,
    ``off_grid_vehicle_charging_reserve_percent``) with short aliases (``mode``, ``reserve``,
    ``export_rule``, ``grid_charging``); setting any of them (or ``grid_outage``,
    ``storm_alert``, ``percentage_charged``/``soc``) takes effect at the current simulated time.
    """

    def __init__(
        self,
        config: SiteConfig,
        clock: SimClock,
        *,
        physics_step: int = 60,
        history_days: int = 400,
    ) -> None:
        """Create the site; physics and history start at local midnight the day before now."""
        if physics_step <= 0:
            raise ValueError("physics_step must be positive")
        self.config = config
        self.clock = clock
        self._step = float(physics_step)
        self._history_buckets = history_days * 86400 // BUCKET
        self._zone = zone_for(config.physics_time_zone or config.time_zone)
        self.report_zone = zone_for(config.time_zone)
        # settings
        self._mode = config.initial_mode
        self._reserve = config.initial_reserve
        self._storm_mode_enabled = config.initial_storm_mode
        self._export_rule = config.initial_export_rule if config.has_solar else None
        self._disallow_grid_charging = config.initial_disallow_grid_charging
        self._ogvcr = config.initial_ogvcr
        self._storm_alert = False
        self._grid_outage = False
        self.site_name = config.site_name
        self.tou_settings: dict[str, Any] = default_tou_settings()
        self.tou_settings_legacy_written = False
        self.tariff_content_v2: dict[str, Any] = default_tariff(
            config.utility, config.currency
        )
        self.outages: list[list[float | None]] = []  # [start_ts, end_ts | None]
        self.storm_alerts: list[list[float | None]] = []
        # physics
        now = clock.timestamp()
        local_now = datetime.fromtimestamp(now, self._zone)
        midnight = datetime(
            local_now.year, local_now.month, local_now.day, tzinfo=self._zone
        )
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
        self._lat = math.radians(config.latitude)
        self._lon_frac = config.longitude / 360.0
        self._solar_day = -(1 << 62)
        self._sun_a = 0.0
        self._sun_b = 0.0
        self._clear = 1.0
        self._offset_hour = -(1 << 62)
        self._offset = 0.0
        seed = config.seed * 1000 + 7
        self._seed = seed
        self._cloud_noise = _ValueNoise(seed + 1, 1200.0)
        self._load_noise = _ValueNoise(seed + 2, 600.0)
        self._p_solar = 0.0
        self._p_load = 0.0
        self._p_batt = 0.0
        self._flow_p: tuple[float, ...] = (0.0,) * 7
        self._has_solar = config.has_solar
        self._storm_capable = config.storm_capable
        self._load_scale = config.load_scale
        self._charging_w = config.charging_w  # cars at the Wall Connectors
        self._slot = -(1 << 62)
        self._appliance = 0.0
        self.on_change: Callable[[SiteState], None] | None = None
        if not config.dead:
            self._plan(self._t, self._step_end - self._t)

    # ------------------------------------------------------------------ settings
    def _set(self, attr: str, value: Any) -> None:
        if getattr(self, attr) == value:
            return
        self.sync()
        self._commit_partial()
        setattr(self, attr, value)
        self._replan()

    @property
    def default_real_mode(self) -> str:
        """Operation mode: self_consumption | autonomous | backup."""
        return self._mode

    @default_real_mode.setter
    def default_real_mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"invalid mode {value!r}")
        self._set("_mode", value)

    mode = default_real_mode

    @property
    def backup_reserve_percent(self) -> int:
        """Backup reserve in percent."""
        return self._reserve

    @backup_reserve_percent.setter
    def backup_reserve_percent(self, value: int) -> None:
        if not 0 <= value <= 100:
            raise ValueError("reserve must be 0..100")
        self._set("_reserve", int(value))

    reserve = backup_reserve_percent

    @property
    def storm_mode_enabled(self) -> bool:
        """Whether the user enabled storm watch."""
        return self._storm_mode_enabled

    @storm_mode_enabled.setter
    def storm_mode_enabled(self, value: bool) -> None:
        self._set("_storm_mode_enabled", bool(value))

    @property
    def storm_alert(self) -> bool:
        """Whether a storm alert is in force for the site's area."""
        return self._storm_alert

    @storm_alert.setter
    def storm_alert(self, value: bool) -> None:
        value = bool(value)
        if value == self._storm_alert:
            return
        now = self.clock.timestamp()
        if value:
            self.storm_alerts.append([now, None])
        elif self.storm_alerts:
            self.storm_alerts[-1][1] = now
        self._set("_storm_alert", value)

    @property
    def storm_mode_active(self) -> bool:
        """Storm watch active: enabled, capable and a storm alert in force."""
        return (
            self._storm_mode_enabled and self._storm_alert and self.config.storm_capable
        )

    @property
    def customer_preferred_export_rule(self) -> str | None:
        """Export rule (battery_ok | pv_only | never), None on sites without solar."""
        return self._export_rule

    @customer_preferred_export_rule.setter
    def customer_preferred_export_rule(self, value: str | None) -> None:
        if value is not None and value not in EXPORT_RULES:
            raise ValueError(f"invalid export rule {value!r}")
        self._set("_export_rule", value)

    export_rule = customer_preferred_export_rule

    @property
    def disallow_charge_from_grid_with_solar_installed(self) -> bool:
        """Grid charging disallowed (only meaningful with solar)."""
        return self._disallow_grid_charging

    @disallow_charge_from_grid_with_solar_installed.setter
    def disallow_charge_from_grid_with_solar_installed(self, value: bool) -> None:
        self._set("_disallow_grid_charging", bool(value))

    @property
    def grid_charging(self) -> bool:
        """Whether charging from the grid is allowed."""
        return not (self._disallow_grid_charging and self.config.has_solar)

    @grid_charging.setter
    def grid_charging(self, value: bool) -> None:
        self.disallow_charge_from_grid_with_solar_installed = not value

    @property
    def off_grid_vehicle_charging_reserve_percent(self) -> int:
        """Reserve kept for vehicle charging while off grid."""
        return self._ogvcr

    @off_grid_vehicle_charging_reserve_percent.setter
    def off_grid_vehicle_charging_reserve_percent(self, value: int) -> None:
        self._set("_ogvcr", int(value))

    @property
    def grid_outage(self) -> bool:
        """Whether the grid is down at the site."""
        return self._grid_outage

    @grid_outage.setter
    def grid_outage(self, value: bool) -> None:
        value = bool(value)
        if value == self._grid_outage:
            return
        now = self.clock.timestamp()
        if value:
            self.outages.append([now, None])
        elif self.outages:
            self.outages[-1][1] = now
        self._set("_grid_outage", value)

    outage = grid_outage

    @property
    def percentage_charged(self) -> float:
        """State of charge now (percent)."""
        if self._cap <= 0:
            return 0.0
        return self.energy_left / self._cap * 100.0

    @percentage_charged.setter
    def percentage_charged(self, value: float) -> None:
        if self._cap <= 0:
            raise ValueError("site has no battery")
        if not 0 <= value <= 100:
            raise ValueError("percentage_charged must be 0..100")
        self.sync()
        self._commit_partial()
        self._soc = self._cap * value / 100.0
        self._replan()

    soc = percentage_charged

    # ------------------------------------------------------------------ physics
    def _local_hour(self, t: float) -> float:
        hour = int(t // 3600)
        if hour != self._offset_hour:
            self._offset_hour = hour
            offset = datetime.fromtimestamp(hour * 3600, self._zone).utcoffset()
            self._offset = offset.total_seconds() if offset else 0.0
        return ((t + self._offset) % 86400.0) / 3600.0

    def solar_potential(self, t: float) -> float:
        """Available solar power (W) at POSIX time ``t`` (before curtailment)."""
        cfg = self.config
        if cfg.solar_w <= 0:
            return 0.0
        solar_days = t / 86400.0 + self._lon_frac
        day = math.floor(solar_days)
        if day != self._solar_day:
            self._solar_day = day
            doy = (day - 0.5) % 365.2422
            decl = math.radians(23.44) * math.sin(2 * math.pi * (doy - 79.0) / 365.2422)
            self._sun_a = math.sin(self._lat) * math.sin(decl)
            self._sun_b = math.cos(self._lat) * math.cos(decl)
            r = _hash01(self._seed, day)
            self._clear = 1.0 - 0.65 * r * r
        sin_elev = self._sun_a + self._sun_b * math.cos(
            2 * math.pi * (solar_days - day - 0.5)
        )
        if sin_elev <= 0.0:
            return 0.0
        cloud = 1.0 - (1.0 - self._clear) * (0.4 + 1.2 * self._cloud_noise(t))
        cloud = min(1.0, max(0.08, cloud))
        return cfg.solar_w * 0.88 * sin_elev**1.15 * cloud

    def load_demand(self, t: float) -> float:
        """Household demand (W) at POSIX time ``t``."""
        return self._demand(t, self._local_hour(t))

    def _demand(self, t: float, h: float) -> float:
        m = (h - 7.3) / 0.9
        e = (h - 19.0) / 1.7
        d = (h - 13.0) / 2.6
        demand = 320.0
        if m * m < 30.0:
            demand += 900.0 * math.exp(-m * m)
        if e * e < 30.0:
            demand += 1600.0 * math.exp(-e * e)
        if d * d < 30.0:
            demand += 260.0 * math.exp(-d * d)
        demand *= 0.8 + 0.4 * self._load_noise(t)
        slot = int(t // 900)
        if slot != self._slot:  # an appliance runs for 15 minutes now and then
            self._slot = slot
            self._appliance = 1800.0 if _hash01(self._seed + 3, slot) > 0.93 else 0.0
        return (demand + self._appliance) * self._load_scale + self._charging_w

    def _plan(self, t: float, duration: float) -> None:
        """Decide constant powers for [t, t + duration)."""
        hour = self._local_hour(t)
        solar = self.solar_potential(t) if self._has_solar else 0.0
        load = self._demand(t, hour)
        batt = 0.0
        cap = self._cap
        if cap <= 0:
            if self._grid_outage:
                solar = load = 0.0  # anti-islanding: inverters trip, the house is dark
            elif self._export_rule == "never" and solar > load:
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
                grid_ok = not (self._disallow_grid_charging and self._has_solar)
                reserve_e = cap * self._reserve / 100.0
                max_discharge = (soc - reserve_e) / h
                if max_discharge > pmax:
                    max_discharge = pmax
                elif max_discharge < 0.0:
                    max_discharge = 0.0
                from_surplus = min(max_charge, surplus) if surplus > 0.0 else 0.0
                mode = self._mode
                if (
                    self._storm_mode_enabled
                    and self._storm_alert
                    and self._storm_capable
                ):
                    batt = -max_charge
                elif mode == "backup":
                    batt = -(max_charge if grid_ok else from_surplus)
                else:
                    if mode == "autonomous" and hour < 6.0 and grid_ok:
                        batt = -max_charge
                    elif (
                        mode == "autonomous"
                        and 16.0 <= hour < 21.0
                        and self._export_rule == "battery_ok"
                    ):
                        batt = max_discharge
                    elif surplus > 0.0:
                        batt = -from_surplus
                    else:
                        batt = min(max_discharge, -surplus)
                    if soc < reserve_e and batt > -max_charge:
                        top_up = (
                            min(max_charge, (reserve_e - soc) / h) if grid_ok else 0.0
                        )
                        batt = -max(from_surplus, top_up, -batt if batt < 0 else 0.0)
                rule = self._export_rule
                if rule != "battery_ok" and batt > 0.0 and batt > load - solar:
                    # pv_only / never / no rule: the battery never exports
                    batt = load - solar if load > solar else 0.0
                if rule == "never" and load - solar - batt < 0.0:
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
        """Commit all whole segments up to ``until`` (default: now)."""
        if self.config.dead:
            return
        target = self.clock.timestamp() if until is None else until
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
        lo = max(first, math.ceil(start / BUCKET))
        hi = min(first + stored, math.ceil(end / BUCKET), math.floor(now / BUCKET))
        return lo - first, max(lo, hi) - first

    def bucket_start(self, index: int) -> float:
        """POSIX start of stored bucket ``index``."""
        return float((self._bucket0 + index) * BUCKET)

    def bucket_values(self, index: int) -> dict[str, int]:
        """History fields of one stored bucket."""
        base = [arr[index] for arr in self._flows]
        return {name: sum(base[i] for i in idx) for name, idx in HISTORY_FIELDS}

    def sum_values(self, i0: int, i1: int) -> dict[str, int]:
        """History fields summed over stored buckets [i0, i1)."""
        base = [sum(arr[i0:i1]) for arr in self._flows]
        return {name: sum(base[i] for i in idx) for name, idx in HISTORY_FIELDS}

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

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> dict[str, Any]:
        """Plain-data view of the state (for /_sim/state)."""
        cfg = self.config
        data: dict[str, Any] = {
            "site_id": cfg.site_id,
            "user": cfg.user,
            "dead": cfg.dead,
            "default_real_mode": self._mode,
            "backup_reserve_percent": self._reserve,
            "storm_mode_enabled": self._storm_mode_enabled,
            "storm_alert": self._storm_alert,
            "storm_mode_active": self.storm_mode_active,
            "grid_outage": self._grid_outage,
            "customer_preferred_export_rule": self._export_rule,
            "disallow_charge_from_grid_with_solar_installed": self._disallow_grid_charging,
            "off_grid_vehicle_charging_reserve_percent": self._ogvcr,
        }
        if not cfg.dead:
            data.update(self.live_powers())
            data["percentage_charged"] = self.percentage_charged
            data["energy_left"] = self.energy_left
        return data
