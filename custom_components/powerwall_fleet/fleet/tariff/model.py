"""The tariff model: Tesla's ``tariff_content_v2`` as frozen dataclasses.

Owns the constants (period, season and day names, legacy targets), the
problem type and ``TariffError``, the model classes and their conversion back
to Tesla's JSON (``to_dict``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeAlias

MINUTES_PER_DAY = 1440
ALL = "ALL"
PERIOD_NAMES = ("ON_PEAK", "PARTIAL_PEAK", "OFF_PEAK", "SUPER_OFF_PEAK")
SEASON_NAMES = ("Summer", "Winter")
DAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Legacy schedule targets → v2 period names; shoulder = time not covered.
LEGACY_TARGETS = {
    "peak": "ON_PEAK",
    "on_peak": "ON_PEAK",
    "partial_peak": "PARTIAL_PEAK",
    "shoulder": "PARTIAL_PEAK",
    "off_peak": "OFF_PEAK",
    "super_off_peak": "SUPER_OFF_PEAK",
}
SHOULDER = "PARTIAL_PEAK"


class TariffError(ValueError):
    """A tariff Tesla would refuse (or silently change); lists every problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        """Keep the problems; the message lists them all."""
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a tariff, and where (season/period path)."""

    where: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        """``where: message``."""
        return f"{self.where}: {self.message}" if self.where else self.message


# --------------------------------------------------------------------- model


@dataclass(frozen=True)
class TouPeriod:
    """One time window of a period, on a range of days (0 = Monday)."""

    from_day: int = 0
    to_day: int = 6
    from_hour: int = 0
    from_minute: int = 0
    to_hour: int = 0
    to_minute: int = 0

    @property
    def start(self) -> int:
        """Start, in minutes after midnight."""
        return self.from_hour * 60 + self.from_minute

    @property
    def end(self) -> int:
        """End, in minutes after midnight (0 = midnight)."""
        return self.to_hour * 60 + self.to_minute

    @property
    def days(self) -> tuple[int, ...]:
        """The days covered (0 = Monday), wrapping through Sunday if needed."""
        if self.from_day <= self.to_day:
            return tuple(range(self.from_day, self.to_day + 1))
        return (*range(self.from_day, 7), *range(self.to_day + 1))

    def windows(self) -> tuple[tuple[int, int], ...]:
        """The minute ranges ``[start, end)`` covered on each listed day."""
        start, end = self.start, self.end
        if end > start:
            return ((start, end),)
        if start == end:
            return ((0, MINUTES_PER_DAY),)
        windows = [(start, MINUTES_PER_DAY)]
        if end > 0:
            windows.insert(0, (0, end))
        return tuple(windows)

    def to_dict(self) -> dict[str, int]:
        """Tesla's field names, every field explicit (midnight as 0:00)."""
        return {
            "fromDayOfWeek": self.from_day,
            "toDayOfWeek": self.to_day,
            "fromHour": self.from_hour,
            "fromMinute": self.from_minute,
            "toHour": self.to_hour,
            "toMinute": self.to_minute,
        }


@dataclass(frozen=True)
class Season:
    """A part of the year and the periods of its days."""

    from_month: int = 1
    from_day: int = 1
    to_month: int = 12
    to_day: int = 31
    periods: Mapping[str, tuple[TouPeriod, ...]] = field(default_factory=dict)

    def contains(self, month: int, day: int) -> bool:
        """Whether the calendar day ``month/day`` is in this season."""
        start = (self.from_month, self.from_day)
        end = (self.to_month, self.to_day)
        if start <= end:
            return start <= (month, day) <= end
        return (month, day) >= start or (month, day) <= end

    def period_at(self, weekday: int, minute: int) -> str | None:
        """The period covering ``minute`` of ``weekday`` (0 = Monday)."""
        for name, windows in self.periods.items():
            for period in windows:
                if weekday in period.days and any(
                    start <= minute < end for start, end in period.windows()
                ):
                    return name
        return None

    def to_dict(self) -> dict[str, Any]:
        """Tesla's season object."""
        return {
            "fromMonth": self.from_month,
            "fromDay": self.from_day,
            "toMonth": self.to_month,
            "toDay": self.to_day,
            "tou_periods": {
                name: {"periods": [period.to_dict() for period in windows]}
                for name, windows in self.periods.items()
            },
        }


Rates: TypeAlias = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class DailyCharge:
    """A fixed charge per day."""

    name: str = "Charge"
    amount: float = 0.0


@dataclass(frozen=True)
class PriceSchedule:
    """Seasons and their prices: the buy side of a tariff or its ``sell_tariff``."""

    seasons: Mapping[str, Season] = field(default_factory=dict)
    energy_charges: Rates = field(default_factory=dict)
    demand_charges: Rates = field(default_factory=dict)
    daily_charges: tuple[DailyCharge, ...] = ()
    name: str | None = None
    utility: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def season_on(self, day: date) -> tuple[str, Season] | None:
        """The season of a calendar day (29 Feb falls back to 28 Feb)."""
        for month, dom in ((day.month, day.day), (2, 28)):
            for name, season in self.seasons.items():
                if season.contains(month, dom):
                    return name, season
            if (day.month, day.day) != (2, 29):
                break
        return None

    def price(self, season: str, period: str) -> float:
        """Season rate (missing = 0, as read-backs omit zeros) plus the flat rate."""
        flat = self.energy_charges.get(ALL, {}).get(ALL, 0.0)
        return self.energy_charges.get(season, {}).get(period, 0.0) + flat

    def to_dict(self) -> dict[str, Any]:
        """Tesla's structure, with a ``demand_charges`` block always present."""
        result: dict[str, Any] = dict(self.extra)
        if self.name is not None:
            result["name"] = self.name
        if self.utility is not None:
            result["utility"] = self.utility
        result["daily_charges"] = [
            {"name": charge.name, "amount": charge.amount}
            for charge in self.daily_charges
        ]
        result["demand_charges"] = _rates_dict(self.demand_charges)
        result["energy_charges"] = _rates_dict(self.energy_charges)
        result["seasons"] = {
            name: season.to_dict() for name, season in self.seasons.items()
        }
        return result


@dataclass(frozen=True)
class Tariff:
    """A ``tariff_content_v2``: buy prices, and sell prices when it has them."""

    buy: PriceSchedule
    sell: PriceSchedule | None = None
    version: int = 1
    code: str | None = None
    currency: str | None = None

    @property
    def name(self) -> str | None:
        """The tariff's name."""
        return self.buy.name

    @property
    def utility(self) -> str | None:
        """The utility's name."""
        return self.buy.utility

    def to_dict(self) -> dict[str, Any]:
        """The JSON to send as ``tariff_content_v2``."""
        result: dict[str, Any] = {"version": self.version}
        if self.code is not None:
            result["code"] = self.code
        buy = self.buy.to_dict()
        for key in ("name", "utility"):
            if key in buy:
                result[key] = buy.pop(key)
        if self.currency is not None:
            result["currency"] = self.currency
        result.update(buy)
        if self.sell is not None:
            result["sell_tariff"] = self.sell.to_dict()
        return result

    def period_names(self) -> list[str]:
        """Every buy period name, Tesla's usual ones first."""
        names = {name for s in self.buy.seasons.values() for name in s.periods}
        known = [name for name in PERIOD_NAMES if name in names]
        return known + sorted(names - set(known))


def _rates_dict(rates: Rates) -> dict[str, Any]:
    return {season: {"rates": dict(values)} for season, values in rates.items()}


def fmt_minute(minute: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"
