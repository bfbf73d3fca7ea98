"""Tesla's controller as the simulator models it: the tariff planner and the owners' quirks.

Owns what time-based control makes of the stored tariff (:class:`TouPlanner`: the period
now, and whether the gateway exports, charges from the grid or powers the home), the
switchable per-site :class:`Quirks` owners reported, and where each fact comes from.
``physics.py`` turns a plan into powers at every step; ``site.py`` applies the quirks that
concern commands (act delay, lost commands, the 81-99 % reserve, a tariff push's strategy).
Period and price lookups reuse the integration's HA-free resolver
(``custom_components/powerwall_fleet/fleet/tariff``); the simulator's own validation of a
pushed tariff (what Tesla accepts) stays in ``tariff.py``.

Sources are owners' reports collected in the project's FLEET_API.md ("What Tesla's
controller does with settings"); none is documented by Tesla, so where reports disagree
the behaviour is a quirk a test switches on.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
import math
from typing import Any

from custom_components.powerwall_fleet.fleet.tariff import (
    Tariff,
    TariffError,
    parse_tariff,
    segments,
)

# What time-based control does in a span of the tariff.
EXPORT = "export"
CHARGE = "charge"
SELF_POWERED = "self_powered"

# The period name owners call "peak" (alandtse/tesla #1171 quirk below).
PEAK = "ON_PEAK"
# How far ahead time-based control compares prices: a day, the span of a daily tariff.
HORIZON = 86400.0
# Predbat #4887: discharge into a high-price window concentrated in its last ~30 minutes.
LATE_DISCHARGE_WINDOW = 1800.0
# Spans computed at once (refilled when the horizon runs past them).
_WINDOW = 3 * 86400.0

# Settings the act delay quirk delays by default: "mode and tariff changes can take 5-15
# minutes to act" (owners' reports, FLEET_API.md "Quirks owners reported").
ACT_DELAY_SETTINGS = (
    "default_real_mode",
    "tariff_content_v2",
    "optimization_strategy",
)
RESERVE_81_99 = ("refuse", "snap")


@dataclass(frozen=True, slots=True)
class Quirks:
    """Per-site behaviours owners reported, each off by default (``SiteState.set_quirks``).

    * ``act_delay``: the gateway acts on an accepted change of ``act_delay_settings``
      after a delay drawn (deterministically per site) from ``act_delay_range``, default
      5-15 minutes.  FLEET_API.md "Quirks owners reported": mode and tariff changes take
      5-15 minutes to act; vloschiavo/powerwall2 #34 saw 15-45 minutes in time-based
      control.  Combines with ``SiteState.apply_delay`` (the longer one wins).
    * ``lost_commands``: the next N accepted commands show in site_info but never reach
      the gateway; a later command of the same setting does (NetZero #52, #94: "Tesla
      fails to pass the configuration change to the Powerwall"; NetZero now sends each
      automation twice).
    * ``reserve_ignored_in_peak``: while the tariff's current period is ``ON_PEAK`` the
      gateway keeps the reserve it held when the peak began; changes act when it ends
      (alandtse/tesla #1171, since 26.2 firmware, "nothing works ... even if it is at a
      peak rate according to the tesla tariff setting" for some owners, not others).
    * ``reserve_81_99``: ``"refuse"`` (400, 2025 firmware) or ``"snap"`` (accepted as
      80 %) a reserve of 81-99 % outside backup-only mode (FLEET_API.md; evcc-io/evcc
      #22956 and Predbat #4892 on 25.18.4).
    * ``reserve_charge_limit_w``: reserve-driven grid charging (reserve above the charge
      level) capped at this many W per Powerwall, e.g. 1700; time-based control's own
      charging, backup-only mode and solar stay at full rate (Predbat #4892: ~1.7 kW per
      Powerwall since 25.18; NetZero #29, #214; pypowerwall #84 saw ~1.85 kW).
    * ``battery_export_forbidden``: a utility rule; export rule ``battery_ok`` is accepted
      but the battery never exports (FLEET_API.md "What Tesla's controller does").
    * ``balanced_after_push``: a tariff pushed without ``optimization_strategy`` leaves
      time-based control in "Balanced", which powers the home in a peak but never
      exports (Predbat #4600: "Whatever the customer's Tesla app happens to hold,
      stands"; without the quirk the site keeps the strategy it held).
    * ``late_discharge``: in a period worth exporting, the battery only powers the home
      until the last 30 minutes, then exports (Predbat #4887: "almost completely idle
      for most of a ~2.5 hour export window before dumping most of the discharge in the
      last ~30 minutes").
    """

    act_delay: bool = False
    act_delay_range: tuple[float, float] = (300.0, 900.0)
    act_delay_settings: tuple[str, ...] = ACT_DELAY_SETTINGS
    lost_commands: int = 0
    reserve_ignored_in_peak: bool = False
    reserve_81_99: str = "refuse"
    reserve_charge_limit_w: float | None = None
    battery_export_forbidden: bool = False
    balanced_after_push: bool = False
    late_discharge: bool = False

    def __post_init__(self) -> None:
        """Refuse values no site could have."""
        low, high = self.act_delay_range
        if not 0 <= low <= high:
            raise ValueError(
                "act_delay_range must be (low, high) with 0 <= low <= high"
            )
        if self.lost_commands < 0:
            raise ValueError("lost_commands must be 0 or more")
        if self.reserve_81_99 not in RESERVE_81_99:
            raise ValueError(f"reserve_81_99 must be one of {', '.join(RESERVE_81_99)}")
        limit = self.reserve_charge_limit_w
        if limit is not None and not limit > 0:
            raise ValueError("reserve_charge_limit_w must be positive or None")


@dataclass(frozen=True, slots=True)
class TouPlan:
    """What time-based control does now: ``action``, the buy period, and until when.

    ``ends`` is the end of the run of spans whose price decided the action (the export
    window's end for an export), ``math.inf`` without a usable tariff.
    """

    action: str
    period: str | None
    ends: float


NO_TARIFF = TouPlan(SELF_POWERED, None, math.inf)


@dataclass(slots=True)
class _Span:
    start: float
    end: float
    period: str | None
    buy: float | None
    sell: float | None


@dataclass(slots=True)
class TouPlanner:
    """Time-based control's reading of a tariff, in the site's zone, cached around now.

    The rule (FLEET_API.md "What Tesla's controller does with settings"; Tesla calls the
    mode "Time-Based Control", owners see it optimise against the stored tariff):

    * **export** in a span whose sell price is the highest of the coming day
      (``HORIZON``) and above the lowest buy price of that day (exporting is worth it:
      the energy can be bought back cheaper).  The caller exports only when the export
      rule is ``battery_ok`` and the strategy is not "balanced" (Predbat #4600).
    * **charge** from the grid in a span whose buy price is the lowest of the coming day
      when a higher one follows (there is a peak to prepare for); the battery charges to
      full and does not discharge there (owners force a grid charge through it:
      FLEET_API.md "Forcing a grid charge"; PowerSync #13 saw a $0 price period charge a
      battery to 100 % from the grid).
    * otherwise **self-powered**.

    A flat sell price never exports (Tesla stores buy >= sell in each period); a tariff
    that cannot be read, or a time no period covers, is self-powered.
    """

    zone: tzinfo
    _source: Any = None
    _tariff: Tariff | None = None
    _spans: list[_Span] = field(default_factory=list)
    _starts: list[float] = field(default_factory=list)
    _low: float = math.inf
    _high: float = -math.inf
    _plans: dict[tuple[int, int], TouPlan] = field(default_factory=dict)

    def plan(self, tariff: Any, t: float) -> TouPlan:
        """The plan at POSIX time ``t`` for the stored ``tariff_content_v2`` ``tariff``."""
        if tariff is not self._source:
            self._load(tariff)
        if self._tariff is None:
            return NO_TARIFF
        if not self._low <= t or t + HORIZON + 86400.0 > self._high:
            self._fill(t)
        i = bisect.bisect_right(self._starts, t) - 1
        j = max(i + 1, bisect.bisect_left(self._starts, t + HORIZON))
        found = self._plans.get((i, j))
        if found is None:
            found = self._plans[(i, j)] = self._decide(i, j)
        return found

    def _load(self, tariff: Any) -> None:
        self._source = tariff
        try:
            self._tariff = parse_tariff(tariff) if tariff is not None else None
        except TariffError:
            self._tariff = None
        self._low, self._high = math.inf, -math.inf

    def _fill(self, t: float) -> None:
        assert self._tariff is not None
        start = datetime.fromtimestamp(math.floor(t), UTC)
        end = start + timedelta(seconds=_WINDOW)
        self._spans = [
            _Span(a.timestamp(), b.timestamp(), p.period, p.buy, p.sell)
            for a, b, p in segments(self._tariff, start, end, self.zone)
        ]
        self._starts = [span.start for span in self._spans]
        self._low, self._high = start.timestamp(), end.timestamp()
        self._plans.clear()

    def _decide(self, i: int, j: int) -> TouPlan:
        spans = self._spans
        now = spans[i]
        ahead = spans[i:j]
        buys = [s.buy for s in ahead if s.buy is not None]
        sells = [s.sell for s in ahead if s.sell is not None]
        if now.buy is None or not buys:
            return TouPlan(SELF_POWERED, now.period, now.end)
        if now.sell is not None and now.sell >= max(sells) and now.sell > min(buys):
            return TouPlan(EXPORT, now.period, self._run_end(i, "sell"))
        if now.buy <= min(buys) and max(buys) > now.buy:
            return TouPlan(CHARGE, now.period, self._run_end(i, "buy"))
        return TouPlan(SELF_POWERED, now.period, now.end)

    def _run_end(self, i: int, side: str) -> float:
        """End of the spans from ``i`` on with the same ``side`` price."""
        spans = self._spans
        price = getattr(spans[i], side)
        k = i
        while k + 1 < len(spans) and getattr(spans[k + 1], side) == price:
            k += 1
        return spans[k].end
