"""Per-site settings as Tesla shows them, and when the gateway acts on them.

Owns the settings API of a simulated site (Tesla's names with short aliases; the stored
tariff and time-based control's strategy among them), the delay between Tesla accepting a
command and the gateway acting on it (``apply_delay``, and the quirks about commands:
act delay, lost commands, a tariff push's strategy), and the plain-data snapshot
``/_sim/state`` reports.  The physics, energy history and readings are in ``physics.py``
(``SiteState`` extends ``SitePhysics``); what the gateway makes of a tariff and the quirks
in ``controller.py``; sun and demand in ``environment.py``.  Names other modules import
from here stay here (re-exported).
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from dataclasses import asdict, replace
import random
from typing import TYPE_CHECKING, Any

from .controller import RESERVE_81_99, Quirks
from .environment import zone_for
from .physics import (
    BUCKET,
    FLOW_NAMES,
    HISTORY_FIELD_NAMES,
    HISTORY_FIELDS,
    SitePhysics,
    local_iso,
)
from .tariff import STRATEGIES, default_tou_settings

if TYPE_CHECKING:
    from .clock import SimClock
    from .scenario import SiteConfig

__all__ = [
    "BUCKET",
    "DELAYED_SETTINGS",
    "EXPORT_RULES",
    "FLOW_NAMES",
    "HISTORY_FIELDS",
    "HISTORY_FIELD_NAMES",
    "MODES",
    "RESERVE_81_99",
    "STRATEGIES",
    "Quirks",
    "SiteState",
    "local_iso",
    "zone_for",
]

MODES = ("self_consumption", "autonomous", "backup")
EXPORT_RULES = ("battery_ok", "pv_only", "never")

# Tesla's name of each setting the gateway acts on -> (shown attribute, acting attribute)
_SETTINGS: dict[str, tuple[str, str]] = {
    "default_real_mode": ("_mode", "_act_mode"),
    "backup_reserve_percent": ("_reserve", "_act_reserve"),
    "storm_mode_enabled": ("_storm_mode_enabled", "_act_storm"),
    "customer_preferred_export_rule": ("_export_rule", "_act_export"),
    "disallow_charge_from_grid_with_solar_installed": (
        "_disallow_grid_charging",
        "_act_disallow",
    ),
    "tariff_content_v2": ("_tariff", "_act_tariff"),
    "optimization_strategy": ("_strategy", "_act_strategy"),
}
DELAYED_SETTINGS = tuple(_SETTINGS)
_ACTING_NAME = {acting: name for name, (_, acting) in _SETTINGS.items()}


class SiteState(SitePhysics):
    """The live state of one energy site: its settings on top of its physics and history.

    Writable attributes use Tesla's names (``default_real_mode``, ``backup_reserve_percent``,
    ``storm_mode_enabled``, ``customer_preferred_export_rule``,
    ``disallow_charge_from_grid_with_solar_installed``,
    ``off_grid_vehicle_charging_reserve_percent``) with short aliases (``mode``, ``reserve``,
    ``export_rule``, ``grid_charging``); setting any of them (or ``grid_outage``,
    ``storm_alert``, ``percentage_charged``/``soc``) takes effect at the current simulated
    time, shown and acted on (a test's setup, or the owner's app with the gateway in step).

    Commands over the Fleet API go through :meth:`accept`: Tesla shows the new value at
    once, the gateway acts on it ``apply_delay[name]`` seconds later (default 0: at once).
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
        # settings as Tesla shows them (the gateway's own copy is in SitePhysics)
        self._mode = config.initial_mode
        self._reserve = config.initial_reserve
        self._storm_mode_enabled = config.initial_storm_mode
        self._export_rule = config.initial_export_rule if config.has_solar else None
        self._disallow_grid_charging = config.initial_disallow_grid_charging
        self._ogvcr = config.initial_ogvcr
        self._strategy = config.optimization_strategy
        self.apply_delay: dict[str, float] = dict.fromkeys(DELAYED_SETTINGS, 0.0)
        self._act_delays_drawn = 0
        self.site_name = config.site_name
        self._tou_settings = default_tou_settings()
        self._tou_settings.pop("optimization_strategy", None)
        self.tou_settings_legacy_written = False
        self.outages: list[list[float | None]] = []  # [start_ts, end_ts | None]
        self.storm_alerts: list[list[float | None]] = []
        # The tariffs before the one held now: (from, tariff), the last one
        # (from, None) meaning "the current one from then" (issue 20).
        self.past_tariffs: list[tuple[float, dict[str, Any] | None]] = []
        super().__init__(
            config, clock, physics_step=physics_step, history_days=history_days
        )
        self._tariff: Any = self._act_tariff

    # ------------------------------------------------------------------ acting later
    def set_apply_delay(
        self, seconds: float, settings: tuple[str, ...] | list[str] | None = None
    ) -> None:
        """Act on accepted commands ``seconds`` later (``settings``: Tesla's names; default all)."""
        names = DELAYED_SETTINGS if settings is None else tuple(settings)
        unknown = [name for name in names if name not in _SETTINGS]
        if unknown:
            raise ValueError(
                f"unknown settings {unknown}; known: {', '.join(DELAYED_SETTINGS)}"
            )
        seconds = float(seconds)
        if not seconds >= 0:
            raise ValueError("apply delay must be 0 or more seconds")
        for name in names:
            self.apply_delay[name] = seconds

    @property
    def quirks(self) -> Quirks:
        """The owners' reports switched on for this site (``controller.Quirks``)."""
        return self._quirks

    @quirks.setter
    def quirks(self, value: Quirks | Mapping[str, Any]) -> None:
        """Replace the quirks, or change some (a mapping, e.g. from ``/_sim/site``)."""
        self.set_quirks(**(asdict(value) if isinstance(value, Quirks) else value))

    def set_quirks(self, **changes: Any) -> Quirks:
        """Switch quirks on or off now (``Quirks`` field names); returns the new set."""
        unknown = set(changes) - set(Quirks.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}")
        for name in ("act_delay_range", "act_delay_settings"):
            if isinstance(changes.get(name), list):  # JSON has no tuples
                changes[name] = tuple(changes[name])
        quirks = replace(self._quirks, **changes)
        bad = [n for n in quirks.act_delay_settings if n not in _SETTINGS]
        if bad:
            raise ValueError(f"unknown settings {bad} in act_delay_settings")
        self._change("_quirks", quirks)
        return quirks

    @property
    def reserve_81_99(self) -> str:
        """What a reserve of 81-99 % outside backup-only mode meets.

        ``"refuse"`` (default, 2025 firmware): a 400.  ``"snap"`` (what other owners
        report): accepted and stored as 80 %, and a mode change out of backup-only
        lowers a held 81-99 % to 80 % — a 200 that did not do what was asked.
        The same as ``quirks.reserve_81_99``.
        """
        return self._quirks.reserve_81_99

    @reserve_81_99.setter
    def reserve_81_99(self, value: str) -> None:
        if value not in RESERVE_81_99:
            raise ValueError(f"reserve_81_99 must be one of {', '.join(RESERVE_81_99)}")
        self.set_quirks(reserve_81_99=value)

    def _act_delay(self, name: str) -> float:
        """Seconds before the gateway acts on a command of ``name`` accepted now."""
        delay = self.apply_delay[name]
        quirks = self._quirks
        if quirks.act_delay and name in quirks.act_delay_settings:
            # FLEET_API.md: mode and tariff changes can take 5-15 minutes to act;
            # deterministic per site and command, independent of the clock.
            self._act_delays_drawn += 1
            draw = random.Random(
                self.config.site_id * 7919 + self._act_delays_drawn
            ).uniform(*quirks.act_delay_range)
            delay = max(delay, float(round(draw)))  # whole seconds, as read back
        return delay

    def accept(self, name: str, value: Any) -> None:
        """Tesla accepted a command: ``name`` shows ``value`` now, the gateway acts after its delay.

        With ``quirks.lost_commands`` left, the command only shows: the gateway never
        acts on it (NetZero #52, #94).
        """
        shown, acting = _SETTINGS[name]
        self.sync()
        if self._quirks.lost_commands > 0:
            self._change(
                "_quirks",
                replace(self._quirks, lost_commands=self._quirks.lost_commands - 1),
            )
            setattr(self, shown, value)
            if self.on_change is not None:
                self.on_change(self)
            return
        delay = self._act_delay(name)
        if delay <= 0 and not any(p[2] == acting for p in self._pending):
            self._set_setting(name, value)
            return
        setattr(self, shown, value)
        self._schedule(self.clock.timestamp() + delay, acting, value)
        self.sync()  # acts at once when the delay is 0 (after the ones still waiting)
        if self.on_change is not None:
            self.on_change(self)

    def acting(self, name: str) -> Any:
        """The value of setting ``name`` the gateway acts on now (may lag what Tesla shows)."""
        self.sync()
        return getattr(self, _SETTINGS[name][1])

    def pending_changes(self) -> list[dict[str, Any]]:
        """Accepted changes the gateway has not acted on yet, in order."""
        self.sync()
        return [
            {
                "at": local_iso(at, self.report_zone),
                "setting": _ACTING_NAME.get(attr, attr),
                "value": value,
            }
            for at, _, attr, value in sorted(self._pending)
        ]

    def _set_setting(self, name: str, value: Any) -> None:
        """Show ``value`` and act on it now (replacing changes still waiting)."""
        shown, acting = _SETTINGS[name]
        self.sync()
        self._drop_pending(acting)
        setattr(self, shown, value)
        self._change(acting, value)

    # ------------------------------------------------------------------ settings
    @property
    def default_real_mode(self) -> str:
        """Operation mode: self_consumption | autonomous | backup."""
        return self._mode

    @default_real_mode.setter
    def default_real_mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"invalid mode {value!r}")
        self._set_setting("default_real_mode", value)

    mode = default_real_mode

    @property
    def backup_reserve_percent(self) -> int:
        """Backup reserve in percent."""
        return self._reserve

    @backup_reserve_percent.setter
    def backup_reserve_percent(self, value: int) -> None:
        if not 0 <= value <= 100:
            raise ValueError("reserve must be 0..100")
        self._set_setting("backup_reserve_percent", int(value))

    reserve = backup_reserve_percent

    @property
    def tariff_content_v2(self) -> Any:
        """The stored tariff (``tariff_content_v2``) as Tesla shows it.

        Setting it stores it as is (no validation: a test may store a broken one) and
        the gateway follows it at once; pushes over the Fleet API go through
        :meth:`push_tariff`.  Assign a new object rather than changing it in place:
        the controller reads a tariff again only when it is another object.
        """
        return self._tariff

    @tariff_content_v2.setter
    def tariff_content_v2(self, value: Any) -> None:
        self._set_setting("tariff_content_v2", value)

    @property
    def optimization_strategy(self) -> str:
        """Time-based control's strategy: ``economics`` (Cost Saving) or ``balanced``."""
        return self._strategy

    @optimization_strategy.setter
    def optimization_strategy(self, value: str) -> None:
        if value not in STRATEGIES:
            raise ValueError(f"optimization_strategy must be one of {STRATEGIES}")
        self._set_setting("optimization_strategy", value)

    @property
    def tou_settings(self) -> dict[str, Any]:
        """site_info's ``tou_settings``: the strategy and the legacy schedule."""
        return {"optimization_strategy": self._strategy, **self._tou_settings}

    def push_tariff(self, tariff: dict[str, Any], strategy: str | None) -> None:
        """A ``time_of_use_settings`` push Tesla accepted: store it, act after the delay.

        Without a ``strategy`` the site keeps the one it holds, or, with the
        ``balanced_after_push`` quirk, falls back to "balanced" (Predbat #4600).
        """
        self.accept("tariff_content_v2", copy.deepcopy(tariff))
        if strategy is None and self._quirks.balanced_after_push:
            strategy = "balanced"
        if strategy is not None:
            self.accept("optimization_strategy", strategy)

    def push_legacy_tou(self, settings: dict[str, Any]) -> None:
        """A legacy ``tou_settings`` push (schedule): stored as sent, strategy acted on."""
        rest = copy.deepcopy(settings)
        strategy = rest.pop("optimization_strategy", None)
        self._tou_settings = rest
        self.tou_settings_legacy_written = True
        if strategy is not None:
            self.accept("optimization_strategy", strategy)

    @property
    def storm_mode_enabled(self) -> bool:
        """Whether the user enabled storm watch."""
        return self._storm_mode_enabled

    @storm_mode_enabled.setter
    def storm_mode_enabled(self, value: bool) -> None:
        self._set_setting("storm_mode_enabled", bool(value))

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
        self._change("_storm_alert", value)

    @property
    def storm_mode_active(self) -> bool:
        """Storm watch active: enabled (as the gateway acts), capable and a storm alert in force."""
        self.sync()
        return self._act_storm and self._storm_alert and self.config.storm_capable

    @property
    def customer_preferred_export_rule(self) -> str | None:
        """Export rule (battery_ok | pv_only | never), None on sites without solar."""
        return self._export_rule

    @customer_preferred_export_rule.setter
    def customer_preferred_export_rule(self, value: str | None) -> None:
        if value is not None and value not in EXPORT_RULES:
            raise ValueError(f"invalid export rule {value!r}")
        self._set_setting("customer_preferred_export_rule", value)

    export_rule = customer_preferred_export_rule

    @property
    def disallow_charge_from_grid_with_solar_installed(self) -> bool:
        """Grid charging disallowed (only meaningful with solar)."""
        return self._disallow_grid_charging

    @disallow_charge_from_grid_with_solar_installed.setter
    def disallow_charge_from_grid_with_solar_installed(self, value: bool) -> None:
        self._set_setting("disallow_charge_from_grid_with_solar_installed", bool(value))

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
        self._ogvcr = int(value)

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
        self._change("_grid_outage", value)

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
            "optimization_strategy": self._strategy,
            "tariff_content_v2": copy.deepcopy(self.tariff_content_v2),
            "apply_delay": dict(self.apply_delay),
            "reserve_81_99": self._quirks.reserve_81_99,
            "quirks": asdict(self._quirks),
            "acting": {name: self.acting(name) for name in DELAYED_SETTINGS},
            "pending": self.pending_changes(),
        }
        if not cfg.dead:
            data.update(self.live_powers())
            data["percentage_charged"] = self.percentage_charged
            data["energy_left"] = self.energy_left
        return data
