"""Dispatches: an override with an expected behaviour, its strategy ladder and its verdicts.

Owns what a dispatch (``charge``, ``export``, ``hold``) expects of the battery,
the ladder of strategies each mode tries in turn, chosen from the site's
facts (:func:`ladder`; the README's "Dispatch" section gives each step's
sources), and the verification of each live poll against the expectation
(:meth:`Dispatch.observe`): acting after two polls in a row, the next step
after ``confirm_within`` without acting, giving up after the last step, a
grid outage pausing the clock. The record is saved inside its override
(model.py); engine.py sends the steps, restores and raises the repair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from homeassistant.util import dt as dt_util

from ..commands import (
    BACKUP_RESERVE,
    EXPORT_RULE,
    GRID_CHARGING,
    OPERATION_MODE,
    TIME_OF_USE as TARIFF_CONTROL,
)
from ..fleet import SiteInfo
from ..fleet.rules import MAX_RESERVE_OUTSIDE_BACKUP
from ..fleet.tariff import errors_of, validate_tariff
from ..fleet.tariff.window import windows_of, with_window
from ..site import site_zone

MODES = ("charge", "export", "hold")
# The key of a temporary tariff in an override's values (the control's key).
TIME_OF_USE = TARIFF_CONTROL.key

# The sensor's states (translation key ``dispatch``).
IDLE = "idle"
WAITING = "waiting"
ACTING = "acting"
NOT_ACTING = "not_acting"
RESTORING = "restoring"
GRID_DOWN = "grid_down"
STATES = (IDLE, WAITING, ACTING, NOT_ACTING, RESTORING, GRID_DOWN)

# Defaults of the action (kW): what counts as acting; hold's tolerated discharge.
DEFAULT_MIN_POWER = {"charge": 1.0, "export": 1.0, "hold": 0.2}
DEFAULT_CONFIRM_WITHIN = timedelta(minutes=15)
# Polls in a row that must agree before the state says acting.
POLLS_IN_A_ROW = 2
# A charge is done when the battery reads at least this full.
FULL = 99.5
# The longest export: its temporary tariff makes these hours the dearest of
# the day, which only works within a day (time-based control looks a day ahead).
EXPORT_MAX = timedelta(hours=12)
# Short export windows (Predbat #4887: discharge waits for a period's last 30 minutes).
SHORT_WINDOW = timedelta(minutes=29)
# Battery powers remembered for the repair issue.
POWERS_KEPT = 6

type Verdict = Literal["none", "escalate", "give_up"]


@dataclass
class Step:
    """One strategy of a ladder: its name and the values it sets."""

    name: str
    values: dict[str, Any]


def _export_tariff(
    info: SiteInfo, start: datetime, end: datetime, length: timedelta | None
) -> dict[str, Any] | None:
    """The temporary tariff of an export (Tesla's JSON), or None when none fits."""
    held = TARIFF_CONTROL.read(info)
    if held is None:
        return None
    tariff = with_window(held, windows_of(start, end, length=length), site_zone(info))
    if tariff is None or errors_of(validate_tariff(tariff)):
        return None
    return tariff.to_dict()


def ladder(
    info: SiteInfo,
    mode: str,
    *,
    level: int,
    floor: float | None,
    start: datetime,
    end: datetime,
) -> list[Step]:
    """The strategies ``mode`` tries on this site, in order (README "Dispatch").

    ``level``: the battery's charge now; ``floor``: an export's target;
    ``[start, end)``: the export's window. Empty when the site can do nothing
    for the mode (the action refuses the call then).
    """
    grid_charging = GRID_CHARGING.exists(info)
    if mode == "charge":
        # Time-based control charges below its reserve from the grid; reserve
        # 100 % asks for a full battery (FLEET_API.md "Forcing a grid charge").
        first: dict[str, Any] = {
            OPERATION_MODE.key: "autonomous",
            BACKUP_RESERVE.key: 100,
        }
        # Backup-only charges at full power (reserve-driven charging is capped
        # since 25.18, Predbat #4892; reserve changes wait out a peak since
        # 26.2, alandtse/tesla #1171).
        second: dict[str, Any] = {OPERATION_MODE.key: "backup"}
        if grid_charging:
            first[GRID_CHARGING.key] = second[GRID_CHARGING.key] = True
        return [Step("reserve_full", first), Step("backup_only", second)]
    if mode == "export":
        if not TARIFF_CONTROL.exists(info):
            return []
        base: dict[str, Any] = {OPERATION_MODE.key: "autonomous"}
        if EXPORT_RULE.exists(info):
            base[EXPORT_RULE.key] = "battery_ok"
        if floor is not None:
            base[BACKUP_RESERVE.key] = min(round(floor), MAX_RESERVE_OUTSIDE_BACKUP)
        steps = []
        for name, length in (("tariff_window", None), ("short_windows", SHORT_WINDOW)):
            tariff = _export_tariff(info, start, end, length)
            if tariff is not None:
                steps.append(Step(name, {**base, TIME_OF_USE: tariff}))
        return steps
    # hold: the reserve at the present charge stops discharge in self-powered
    # and time-based control (not above 80 % outside backup-only: Tesla's
    # rule); backup-only never discharges (FLEET_API.md), solar still charges.
    steps = []
    if level <= MAX_RESERVE_OUTSIDE_BACKUP:
        steps.append(Step("reserve_at_charge", {BACKUP_RESERVE.key: level}))
    backup: dict[str, Any] = {OPERATION_MODE.key: "backup"}
    if grid_charging:
        backup[GRID_CHARGING.key] = False
    steps.append(Step("backup_only", backup))
    return steps


@dataclass
class Observation:
    """What one live poll says about the battery."""

    battery_power: float | None  # W, > 0 discharging
    grid_power: float | None  # W, > 0 importing
    level: float | None  # %
    grid_up: bool


@dataclass
class Dispatch:
    """A running dispatch: what it expects, where on its ladder it is, what it saw."""

    mode: str
    min_power: float  # kW
    confirm_within: timedelta
    steps: list[Step]
    target_percent: float | None = None
    step: int = 0
    step_started: datetime = field(default_factory=dt_util.utcnow)
    state: str = WAITING
    since: datetime = field(default_factory=dt_util.utcnow)
    acting_polls: int = 0
    observed_power: float | None = None  # W
    powers: list[float] = field(default_factory=list)  # W, the last few seen
    strategy: str | None = None  # the site's optimisation strategy before

    @property
    def current(self) -> Step:
        """The strategy in force."""
        return self.steps[min(self.step, len(self.steps) - 1)]

    @property
    def tried(self) -> list[str]:
        """The strategies tried so far."""
        return [step.name for step in self.steps[: self.step + 1]]

    def _acting(self, seen: Observation) -> bool:
        power = seen.battery_power
        if power is None:
            return False
        watts = self.min_power * 1000
        if self.mode == "charge":
            full = seen.level is not None and (
                seen.level >= FULL
                or (
                    self.target_percent is not None
                    and seen.level >= self.target_percent
                )
            )
            return full or -power >= watts
        if self.mode == "export":
            return power >= watts and (seen.grid_power or 0.0) < 0
        return power <= watts

    def _set_state(self, state: str, now: datetime) -> None:
        if state != self.state:
            self.state = state
            self.since = now

    def observe(self, seen: Observation, now: datetime) -> Verdict:
        """Judge one poll; what the engine must do next."""
        self.observed_power = seen.battery_power
        if seen.battery_power is not None:
            self.powers = [*self.powers, seen.battery_power][-POWERS_KEPT:]
        if not seen.grid_up:
            # The battery powers the home off-grid: nothing to judge.
            self.acting_polls = 0
            self._set_state(GRID_DOWN, now)
            return "none"
        if self.state == GRID_DOWN:
            self.step_started = now  # the clock starts again with the grid
            self._set_state(WAITING, now)
        if self._acting(seen):
            self.acting_polls += 1
            if self.acting_polls >= POLLS_IN_A_ROW:
                self._set_state(ACTING, now)
            return "none"
        self.acting_polls = 0
        if self.state == ACTING:
            # It stopped: the clock starts again from here.
            self.step_started = now
            self._set_state(WAITING, now)
        if now - self.step_started < self.confirm_within:
            return "none"
        return "escalate" if self.step + 1 < len(self.steps) else "give_up"

    def next_step(self, now: datetime) -> Step:
        """Move up the ladder."""
        self.step += 1
        self.step_started = now
        self.acting_polls = 0
        self._set_state(WAITING, now)
        return self.current

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the override's file."""
        return {
            "mode": self.mode,
            "min_power": self.min_power,
            "confirm_within": self.confirm_within.total_seconds(),
            "steps": [{"name": s.name, "values": s.values} for s in self.steps],
            "target_percent": self.target_percent,
            "step": self.step,
            "step_started": self.step_started.isoformat(),
            "state": self.state,
            "since": self.since.isoformat(),
            "acting_polls": self.acting_polls,
            "observed_power": self.observed_power,
            "powers": self.powers,
            "strategy": self.strategy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dispatch:
        """Read back what :meth:`as_dict` saved."""
        now = dt_util.utcnow()
        return cls(
            mode=data["mode"],
            min_power=float(data["min_power"]),
            confirm_within=timedelta(seconds=float(data["confirm_within"])),
            steps=[Step(s["name"], dict(s["values"])) for s in data["steps"]],
            target_percent=data.get("target_percent"),
            step=int(data.get("step", 0)),
            step_started=dt_util.parse_datetime(data.get("step_started") or "") or now,
            state=data.get("state", WAITING),
            since=dt_util.parse_datetime(data.get("since") or "") or now,
            acting_polls=int(data.get("acting_polls", 0)),
            observed_power=data.get("observed_power"),
            powers=list(data.get("powers", [])),
            strategy=data.get("strategy"),
        )
