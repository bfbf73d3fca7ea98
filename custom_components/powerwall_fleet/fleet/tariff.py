"""Time-of-use tariffs: Tesla's ``tariff_content_v2``, validated and resolved.

No Home Assistant imports: usable with the client on its own.

Conventions (see FLEET_API.md; decisions where Tesla documents nothing):

* **Days.** ``fromDayOfWeek``/``toDayOfWeek`` count 0 = Monday … 6 = Sunday,
  the same as Python's ``date.weekday()`` and the public resolvers that read
  Tesla's tariffs. A range whose start is after its end wraps through the
  week's end (5 → 0 = Saturday, Sunday, Monday). The **legacy** schedule
  (``tou_settings.schedule``, owners' reports) counts ``week_days`` 0 =
  Sunday … 6 = Saturday: its weekdays were ``[1, 2, 3, 4, 5]`` and its weekend
  ``[6, 0]``. The converter maps one to the other.
* **Times.** A period covers ``[from, to)`` in wall-clock minutes of each day
  of its day range. ``to`` at or before ``from`` wraps midnight *within the
  same listed day* (``22:00 → 07:00`` on Monday covers Monday 00:00-07:00 and
  22:00-24:00); ``to == from`` is the whole day. ``toHour: 24`` and
  ``toMinute: 60`` are read as the next hour/midnight. What this module
  writes never wraps: a period crossing midnight is split in two and
  midnight is written as an explicit ``toHour: 0, toMinute: 0``, so it reads
  the same whichever way Tesla treats wraps.
* **Read-backs omit zero fields.** Missing numbers are 0, a missing
  ``toDayOfWeek`` is 6 — unless the season only covers each day exactly once
  when it is 0 (a Monday-only or a ``… → Monday`` period read back).
  Missing rates of timed periods count as 0.
* **Seasons** cover ``fromMonth/fromDay`` to ``toMonth/toDay`` inclusive and
  may wrap the new year. 29 February belongs to the season of 28 February
  when no season names it.
* **Prices.** A period's price is its season's rate plus the flat
  ``ALL``/``ALL`` rate (normally 0). Tesla stores negative prices as 0 and
  raises a buy price below the sell price to the sell price: the validator
  refuses the first and notes the second.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
import itertools
import math
from typing import Any, Literal

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
_LEAP_YEAR = 2024
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


type Rates = Mapping[str, Mapping[str, float]]


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


# --------------------------------------------------------------------- parse


class _Reader:
    """Collects problems with their path while converting JSON."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def mapping(self, value: Any, where: str) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.error(where, "must be an object")
        return None

    def integer(
        self, data: Mapping[str, Any], key: str, where: str, default: int
    ) -> int:
        value = data.get(key, default)
        if value is None:
            return default
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"{where}.{key}", "must be a whole number")
            return default
        return value

    def number(self, value: Any, where: str) -> float | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.error(where, "must be a number")
            return None
        return float(value)

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is None or isinstance(value, str):
            return value
        self.error(f"{where}{key}", "must be text")
        return None


_TOP_KEYS = frozenset(
    {
        "version",
        "code",
        "name",
        "utility",
        "currency",
        "daily_charges",
        "demand_charges",
        "energy_charges",
        "seasons",
        "sell_tariff",
    }
)


def parse_tariff(data: Any) -> Tariff:
    """Read a ``tariff_content_v2`` (sent or read back); ``TariffError`` if malformed.

    Only the structure is checked here; :func:`validate_tariff` checks the
    content. Missing zero fields are tolerated (see the module docstring).
    """
    reader = _Reader()
    tariff = _read_tariff(reader, data)
    if reader.problems or tariff is None:
        raise TariffError(reader.problems or [Problem("", "not a tariff")])
    return tariff


def _read_tariff(reader: _Reader, data: Any) -> Tariff | None:
    top = reader.mapping(data, "tariff_content_v2")
    if top is None:
        return None
    version = reader.integer(top, "version", "tariff_content_v2", 1)
    buy = _read_schedule(reader, top, "", None)
    sell: PriceSchedule | None = None
    if top.get("sell_tariff") is not None:
        sell_data = reader.mapping(top["sell_tariff"], "sell_tariff")
        if sell_data is not None:
            sell = _read_schedule(reader, sell_data, "sell_tariff.", buy.seasons)
    return Tariff(
        buy=buy,
        sell=sell,
        version=version,
        code=reader.text(top, "code", ""),
        currency=reader.text(top, "currency", ""),
    )


def _read_schedule(
    reader: _Reader,
    data: Mapping[str, Any],
    prefix: str,
    default_seasons: Mapping[str, Season] | None,
) -> PriceSchedule:
    seasons: dict[str, Season] = {}
    raw_seasons = data.get("seasons")
    if raw_seasons is None and default_seasons is not None:
        seasons = dict(default_seasons)
    elif (found := reader.mapping(raw_seasons, f"{prefix}seasons")) is not None:
        for name, value in found.items():
            season = _read_season(reader, value, f"{prefix}seasons.{name}")
            if season is not None:
                seasons[str(name)] = season
    energy = _read_rates(reader, data.get("energy_charges"), f"{prefix}energy_charges")
    demand = _read_rates(reader, data.get("demand_charges"), f"{prefix}demand_charges")
    energy.setdefault(ALL, {ALL: 0.0})
    demand.setdefault(ALL, {ALL: 0.0})
    for name in seasons:
        demand.setdefault(name, {})
    daily: list[DailyCharge] = []
    raw_daily = data.get("daily_charges")
    if raw_daily is not None and not isinstance(raw_daily, list):
        reader.error(f"{prefix}daily_charges", "must be a list")
        raw_daily = None
    for index, item in enumerate(raw_daily or ()):
        where = f"{prefix}daily_charges[{index}]"
        if (charge := reader.mapping(item, where)) is None:
            continue
        amount = reader.number(charge.get("amount", 0), f"{where}.amount")
        label = reader.text(charge, "name", f"{where}.")
        daily.append(DailyCharge(label or "Charge", amount or 0.0))
    known = _TOP_KEYS if prefix == "" else _TOP_KEYS - {"version", "code", "currency"}
    return PriceSchedule(
        seasons=seasons,
        energy_charges=energy,
        demand_charges=demand,
        daily_charges=tuple(daily),
        name=reader.text(data, "name", prefix),
        utility=reader.text(data, "utility", prefix),
        extra={k: v for k, v in data.items() if k not in known},
    )


def _read_rates(reader: _Reader, value: Any, where: str) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    if value is None:
        return result
    if (charges := reader.mapping(value, where)) is None:
        return result
    for season, entry in charges.items():
        path = f"{where}.{season}"
        if (holder := reader.mapping(entry, path)) is None:
            continue
        rates = holder.get("rates", {})
        if (rate_map := reader.mapping(rates, f"{path}.rates")) is None:
            continue
        values: dict[str, float] = {}
        for period, price in rate_map.items():
            number = reader.number(price, f"{path}.rates.{period}")
            if number is not None:
                values[str(period)] = number
        result[str(season)] = values
    return result


def _read_season(reader: _Reader, value: Any, where: str) -> Season | None:
    if (data := reader.mapping(value, where)) is None:
        return None
    tou = data.get("tou_periods", {})
    periods: dict[str, list[TouPeriod]] = {}
    guessed: list[tuple[str, int]] = []  # periods read back without toDayOfWeek
    if (tou_map := reader.mapping(tou, f"{where}.tou_periods")) is not None:
        for name, entry in tou_map.items():
            path = f"{where}.tou_periods.{name}"
            if (holder := reader.mapping(entry, path)) is None:
                continue
            raw = holder.get("periods", [])
            if not isinstance(raw, list):
                reader.error(f"{path}.periods", "must be a list")
                continue
            windows = periods.setdefault(str(name), [])
            for index, item in enumerate(raw):
                ipath = f"{path}.periods[{index}]"
                if (period := _read_period(reader, item, ipath)) is None:
                    continue
                if isinstance(item, Mapping) and item.get("toDayOfWeek") is None:
                    guessed.append((str(name), len(windows)))
                windows.append(period)
    season = Season(
        from_month=reader.integer(data, "fromMonth", where, 0),
        from_day=reader.integer(data, "fromDay", where, 0),
        to_month=reader.integer(data, "toMonth", where, 0),
        to_day=reader.integer(data, "toDay", where, 0),
        periods={name: tuple(windows) for name, windows in periods.items()},
    )
    if season.from_month == season.from_day == season.to_month == season.to_day == 0:
        season = replace(season, from_month=1, from_day=1, to_month=12, to_day=31)
    return _settle_missing_to_day(season, guessed)


def _settle_missing_to_day(season: Season, guessed: list[tuple[str, int]]) -> Season:
    """A missing ``toDayOfWeek`` is 6, or 0 when only that covers each day once."""
    if not guessed or not _coverage_problems(season.periods, ""):
        return season
    periods = {name: list(windows) for name, windows in season.periods.items()}
    for name, index in guessed:
        periods[name][index] = replace(periods[name][index], to_day=0)
    fixed = {name: tuple(windows) for name, windows in periods.items()}
    if _coverage_problems(fixed, ""):
        return season
    return replace(season, periods=fixed)


def _read_period(reader: _Reader, value: Any, where: str) -> TouPeriod | None:
    if (data := reader.mapping(value, where)) is None:
        return None
    from_day = reader.integer(data, "fromDayOfWeek", where, 0)
    to_day = reader.integer(data, "toDayOfWeek", where, 6)
    from_hour = reader.integer(data, "fromHour", where, 0)
    from_minute = reader.integer(data, "fromMinute", where, 0)
    to_hour = reader.integer(data, "toHour", where, 0)
    to_minute = reader.integer(data, "toMinute", where, 0)
    for key, val, upper in (
        ("fromDayOfWeek", from_day, 6),
        ("toDayOfWeek", to_day, 6),
        ("fromHour", from_hour, 23),
        ("fromMinute", from_minute, 59),
        ("toHour", to_hour, 24),
        ("toMinute", to_minute, 60),
    ):
        if not 0 <= val <= upper:
            reader.error(f"{where}.{key}", f"must be 0-{upper}, not {val}")
            return None
    # Tesla's end-of-boundary encodings: minute 60, hour 24 = midnight.
    end = (to_hour * 60 + to_minute) % MINUTES_PER_DAY
    if to_hour * 60 + to_minute > MINUTES_PER_DAY:
        reader.error(f"{where}.toHour", "ends after midnight")
        return None
    return TouPeriod(
        from_day=from_day,
        to_day=to_day,
        from_hour=from_hour,
        from_minute=from_minute,
        to_hour=end // 60,
        to_minute=end % 60,
    )


# ------------------------------------------------------------------ validate


def validate_tariff(tariff: Tariff) -> list[Problem]:
    """Every problem of a tariff, errors and warnings, each naming where.

    Errors (Tesla refuses or mangles it): a day not covered exactly once in a
    season, seasons overlapping or leaving gaps, a timed period without a
    price or a price without times, a negative price, dates that do not exist.
    Warnings: a buy price below the sell price (Tesla raises it), season names
    the Tesla app does not expect, a missing currency.
    """
    problems: list[Problem] = []
    if not tariff.currency:
        problems.append(Problem("currency", "is missing", "warning"))
    problems.extend(_schedule_problems(tariff.buy, ""))
    if tariff.sell is not None:
        problems.extend(_schedule_problems(tariff.sell, "sell_tariff."))
        problems.extend(_buy_below_sell(tariff))
    return problems


def errors_of(problems: Sequence[Problem]) -> list[Problem]:
    """Only the errors."""
    return [problem for problem in problems if problem.severity == "error"]


def check_tariff(data: Any) -> tuple[Tariff, list[Problem]]:
    """Parse and validate; ``TariffError`` listing every error, else the warnings."""
    tariff = parse_tariff(data) if not isinstance(data, Tariff) else data
    problems = validate_tariff(tariff)
    if errors := errors_of(problems):
        raise TariffError(errors)
    return tariff, problems


def _schedule_problems(schedule: PriceSchedule, prefix: str) -> list[Problem]:
    problems: list[Problem] = []
    if not schedule.seasons:
        problems.append(Problem(f"{prefix}seasons", "no seasons"))
    for name, season in schedule.seasons.items():
        where = f"{prefix}seasons.{name}"
        if name not in SEASON_NAMES and len(schedule.seasons) > 0:
            problems.append(
                Problem(
                    where,
                    "the Tesla app expects seasons named Summer or Winter",
                    "warning",
                )
            )
        for key_month, key_day, month, day in (
            ("fromMonth", "fromDay", season.from_month, season.from_day),
            ("toMonth", "toDay", season.to_month, season.to_day),
        ):
            if not _valid_date(month, day):
                problems.append(
                    Problem(where, f"{key_month}/{key_day} {month}/{day} is no date")
                )
        problems.extend(_coverage_problems(season.periods, where))
        problems.extend(_price_problems(schedule, name, season, prefix))
    problems.extend(_season_problems(schedule.seasons, prefix))
    for kind, rates in (
        ("energy_charges", schedule.energy_charges),
        ("demand_charges", schedule.demand_charges),
    ):
        for season_name, values in rates.items():
            if season_name != ALL and season_name not in schedule.seasons and values:
                problems.append(
                    Problem(
                        f"{prefix}{kind}.{season_name}",
                        "prices a season the tariff does not have",
                    )
                )
            for period, price in values.items():
                if price < 0:
                    problems.append(
                        Problem(
                            f"{prefix}{kind}.{season_name}.{period}",
                            f"price {price:g} is negative (Tesla would store 0)",
                        )
                    )
    for index, charge in enumerate(schedule.daily_charges):
        if charge.amount < 0:
            problems.append(
                Problem(f"{prefix}daily_charges[{index}]", "amount is negative")
            )
    return problems


def _valid_date(month: int, day: int) -> bool:
    try:
        date(_LEAP_YEAR, month, day)
    except ValueError:
        return False
    return True


def _price_problems(
    schedule: PriceSchedule, name: str, season: Season, prefix: str
) -> list[Problem]:
    problems: list[Problem] = []
    rates = schedule.energy_charges.get(name, {})
    timed = {period for period, windows in season.periods.items() if windows}
    problems.extend(
        Problem(f"{prefix}seasons.{name}.{period}", "has times but no price")
        for period in sorted(timed - rates.keys())
    )
    problems.extend(
        Problem(f"{prefix}energy_charges.{name}.{period}", "has a price but no times")
        for period in sorted(rates.keys() - timed)
    )
    return problems


def _fmt_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _coverage_problems(
    periods: Mapping[str, tuple[TouPeriod, ...]], where: str
) -> list[Problem]:
    """Each minute of each day covered by exactly one period."""
    problems: list[Problem] = []
    for day in range(7):
        spans = [
            (start, end, name)
            for name, windows in periods.items()
            for period in windows
            if day in period.days
            for start, end in period.windows()
        ]
        cuts = sorted(
            {0, MINUTES_PER_DAY, *(s for s, _, _ in spans)} | {e for _, e, _ in spans}
        )
        runs: list[tuple[int, int, list[str]]] = []
        for low, high in itertools.pairwise(cuts):
            names = [name for start, end, name in spans if start <= low < end]
            if runs and runs[-1][2] == names and runs[-1][1] == low:
                runs[-1] = (runs[-1][0], high, names)
            else:
                runs.append((low, high, names))
        for low, high, names in runs:
            span = f"{DAY_NAMES[day]} {_fmt_minute(low)}-{_fmt_minute(high)}"
            if not names:
                problems.append(Problem(where, f"{span} is not covered by any period"))
            elif len(names) > 1:
                problems.append(
                    Problem(
                        where,
                        f"{span} is covered more than once ({', '.join(names)})",
                    )
                )
    return problems


def _season_problems(seasons: Mapping[str, Season], prefix: str) -> list[Problem]:
    """Each day of the year in exactly one season (29 Feb may follow 28 Feb)."""
    if not seasons:
        return []
    day = date(_LEAP_YEAR, 1, 1)
    rows: list[tuple[date, tuple[str, ...]]] = []
    while day.year == _LEAP_YEAR:
        names = tuple(n for n, s in seasons.items() if s.contains(day.month, day.day))
        if (day.month, day.day) == (2, 29) and not names:
            names = tuple(n for n, s in seasons.items() if s.contains(2, 28))
        rows.append((day, names))
        day += timedelta(days=1)
    problems: list[Problem] = []
    index = 0
    while index < len(rows):
        first, names = rows[index]
        last_index = index
        while last_index + 1 < len(rows) and rows[last_index + 1][1] == names:
            last_index += 1
        last = rows[last_index][0]
        span = f"{first:%m-%d} to {last:%m-%d}"
        if not names:
            problems.append(Problem(f"{prefix}seasons", f"no season covers {span}"))
        elif len(names) > 1:
            problems.append(
                Problem(f"{prefix}seasons", f"{' and '.join(names)} overlap {span}")
            )
        index = last_index + 1
    return problems


def _buy_below_sell(tariff: Tariff) -> list[Problem]:
    problems: list[Problem] = []
    sell_rates = tariff.sell.energy_charges if tariff.sell is not None else {}
    for season, rates in tariff.buy.energy_charges.items():
        if season == ALL:
            continue
        for period, buy in rates.items():
            sell = sell_rates.get(season, {}).get(period)
            if sell is not None and buy < sell:
                problems.append(
                    Problem(
                        f"energy_charges.{season}.{period}",
                        f"buy price {buy:g} is below the sell price {sell:g}; "
                        "Tesla raises it to the sell price",
                        "warning",
                    )
                )
    return problems


def as_tesla_stores(tariff: Tariff) -> Tariff:
    """What Tesla keeps: negative prices as 0, buy below sell raised to sell."""

    def clamp(rates: Rates) -> dict[str, dict[str, float]]:
        return {s: {p: max(v, 0.0) for p, v in r.items()} for s, r in rates.items()}

    buy_rates = clamp(tariff.buy.energy_charges)
    sell = tariff.sell
    if sell is not None:
        sell_rates = clamp(sell.energy_charges)
        for season, rates in buy_rates.items():
            for period, buy in rates.items():
                floor = sell_rates.get(season, {}).get(period)
                if season != ALL and floor is not None and buy < floor:
                    rates[period] = floor
        sell = replace(sell, energy_charges=sell_rates)
    return replace(tariff, buy=replace(tariff.buy, energy_charges=buy_rates), sell=sell)


def differences(sent: Tariff, held: Tariff) -> list[str]:
    """What the site holds differently from what was sent (after Tesla's rules).

    Names, codes and unknown fields are not compared; zero prices and empty
    demand charges that a read-back may omit count as equal.
    """
    expected = as_tesla_stores(sent)
    found: list[str] = []
    if (expected.currency or None) != (held.currency or None):
        found.append("currency")
    sides: list[tuple[str, PriceSchedule | None, PriceSchedule | None]] = [
        ("", expected.buy, held.buy),
        ("sell_tariff.", expected.sell, held.sell),
    ]
    for prefix, mine, theirs in sides:
        if mine is None or theirs is None:
            if (mine is None) != (theirs is None):
                found.append(f"{prefix or 'sell_tariff'}".rstrip("."))
            continue
        if _season_key(mine) != _season_key(theirs):
            found.append(f"{prefix}seasons")
        if _price_key(mine, mine.energy_charges) != _price_key(
            theirs, theirs.energy_charges
        ):
            found.append(f"{prefix}energy_charges")
        if _price_key(mine, mine.demand_charges, fill=False) != _price_key(
            theirs, theirs.demand_charges, fill=False
        ):
            found.append(f"{prefix}demand_charges")
    return found


def _season_key(schedule: PriceSchedule) -> dict[str, Any]:
    return {
        name: (
            season.from_month,
            season.from_day,
            season.to_month,
            season.to_day,
            {p: sorted(w, key=repr) for p, w in season.periods.items() if w},
        )
        for name, season in schedule.seasons.items()
    }


def _price_key(
    schedule: PriceSchedule, rates: Rates, *, fill: bool = True
) -> dict[tuple[str, str], float]:
    key: dict[tuple[str, str], float] = {}
    for season, values in rates.items():
        for period, price in values.items():
            if round(price, 6):
                key[(season, period)] = round(price, 6)
    if fill:
        for name, timed in schedule.seasons.items():
            for period, windows in timed.periods.items():
                if windows:
                    key.setdefault((name, period), 0.0)
    return key


# ------------------------------------------------------------------- resolve


@dataclass(frozen=True)
class PricePoint:
    """What applies at an instant: period and prices (per kWh)."""

    season: str | None
    period: str | None
    buy: float | None
    sell: float | None


def _point(tariff: Tariff, local: datetime) -> PricePoint:
    """The price point at a local wall-clock time."""
    day = local.date()
    minute = local.hour * 60 + local.minute
    weekday = day.weekday()
    season_name: str | None = None
    period: str | None = None
    buy: float | None = None
    if found := tariff.buy.season_on(day):
        season_name, season = found
        period = season.period_at(weekday, minute)
        if period is not None:
            buy = tariff.buy.price(season_name, period)
    sell: float | None = None
    if tariff.sell is not None and (found := tariff.sell.season_on(day)):
        sell_season_name, sell_season = found
        sell_period = sell_season.period_at(weekday, minute)
        if sell_period is not None:
            sell = tariff.sell.price(sell_season_name, sell_period)
    return PricePoint(season_name, period, buy, sell)


def resolve(tariff: Tariff, when: datetime, zone: tzinfo) -> PricePoint:
    """Season, period, buy and sell price at the instant ``when`` (aware).

    The tariff is read in the site's wall-clock time ``zone``, so it follows
    daylight saving time: after the clocks go back the repeated hour is
    priced twice, a boundary inside the skipped hour applies when it ends.
    """
    return _point(tariff, when.astimezone(zone))


def _boundaries(schedule: PriceSchedule | None, day: date) -> set[int]:
    minutes = {0}
    if schedule is None or (found := schedule.season_on(day)) is None:
        return minutes
    for windows in found[1].periods.values():
        for period in windows:
            for start, end in period.windows():
                minutes.update((start, end % MINUTES_PER_DAY))
    return minutes


def _instants(day: date, minute: int, zone: tzinfo) -> list[datetime]:
    """UTC instants at which the wall clock shows ``day`` ``minute`` (both folds)."""
    hour, minute = divmod(minute, 60)
    return [
        datetime(
            day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=fold
        ).astimezone(UTC)
        for fold in (0, 1)
    ]


def _offset_changes(day: date, zone: tzinfo) -> list[datetime]:
    """UTC instants on ``day`` (local) at which the zone's UTC offset changes."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(
        following.year, following.month, following.day, tzinfo=zone
    ).astimezone(UTC)
    if start.astimezone(zone).utcoffset() == end.astimezone(zone).utcoffset():
        return []
    low, high = start, end
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    return [high.replace(microsecond=0)]


def changes(
    tariff: Tariff, start: datetime, zone: tzinfo, *, days: int = 400
) -> Iterator[tuple[datetime, PricePoint]]:
    """Each instant after ``start`` at which period or a price changes, and what then.

    Looks ``days`` ahead at most (a tariff may never change).
    """
    current = resolve(tariff, start, zone)
    after = start.astimezone(UTC)
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        minutes = _boundaries(tariff.buy, day) | _boundaries(tariff.sell, day)
        candidates = {
            instant
            for minute in minutes
            for instant in _instants(day, minute, zone)
            if instant > after
        }
        candidates.update(c for c in _offset_changes(day, zone) if c > after)
        for instant in sorted(candidates):
            point = resolve(tariff, instant, zone)
            if point != current:
                yield instant, point
                current = point
                after = instant


def next_change(
    tariff: Tariff, when: datetime, zone: tzinfo
) -> tuple[datetime, PricePoint] | None:
    """The next change after ``when`` and what applies then, or None."""
    return next(changes(tariff, when, zone), None)


def segments(
    tariff: Tariff, start: datetime, end: datetime, zone: tzinfo
) -> list[tuple[datetime, datetime, PricePoint]]:
    """Contiguous spans ``[from, to)`` with one price point, clipped to the range."""
    result: list[tuple[datetime, datetime, PricePoint]] = []
    span_start = start.astimezone(UTC)
    point = resolve(tariff, start, zone)
    span_days = (end - start).days + 3
    for instant, following in changes(tariff, start, zone, days=span_days):
        if instant >= end:
            break
        result.append((span_start, instant, point))
        span_start, point = instant, following
    if span_start < end:
        result.append((span_start, end.astimezone(UTC), point))
    return result


def period_table(tariff: Tariff) -> list[dict[str, Any]]:
    """A readable table: one row per season, period and window, with prices."""
    rows: list[dict[str, Any]] = []
    for season_name, season in tariff.buy.seasons.items():
        for period, windows in season.periods.items():
            for window in windows:
                days = window.days
                row: dict[str, Any] = {
                    "season": season_name,
                    "season_dates": (
                        f"{season.from_month:02d}-{season.from_day:02d} to "
                        f"{season.to_month:02d}-{season.to_day:02d}"
                    ),
                    "period": period,
                    "days": f"{DAY_KEYS[days[0]]}-{DAY_KEYS[days[-1]]}"
                    if len(days) > 1
                    else DAY_KEYS[days[0]],
                    "start": _fmt_minute(window.start),
                    "end": _fmt_minute(window.end or MINUTES_PER_DAY),
                    "buy": tariff.buy.price(season_name, period),
                }
                if tariff.sell is not None:
                    sell_rates = tariff.sell.energy_charges.get(season_name)
                    if sell_rates is not None and period in sell_rates:
                        row["sell"] = tariff.sell.price(season_name, period)
                rows.append(row)
    return rows


# ------------------------------------------------------------------ builders


def _day_runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous runs of v2 days (0 = Monday), without wrapping the week."""
    runs: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _windows_to_periods(
    days: Sequence[int], windows: Sequence[tuple[int, int]]
) -> list[TouPeriod]:
    """Periods for minute windows (no wraps; 24:00 written as 0:00)."""
    periods: list[TouPeriod] = []
    for first, last in _day_runs(days):
        for start, stop in windows:
            end = stop % MINUTES_PER_DAY
            periods.append(
                TouPeriod(
                    from_day=first,
                    to_day=last,
                    from_hour=start // 60,
                    from_minute=start % 60,
                    to_hour=end // 60,
                    to_minute=end % 60,
                )
            )
    return periods


def _split_midnight(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` of one day, a wrap split at midnight, equal = whole day."""
    if end > start:
        return [(start, end)]
    if end == start:
        return [(0, MINUTES_PER_DAY)]
    return [w for w in ((0, end), (start, MINUTES_PER_DAY)) if w[1] > w[0]]


def _build(
    *,
    seasons: Mapping[str, Mapping[str, list[TouPeriod]]],
    season_dates: Mapping[str, tuple[int, int, int, int]],
    buy: Mapping[str, Mapping[str, float]],
    sell: Mapping[str, Mapping[str, float]] | None,
    name: str,
    utility: str,
    currency: str,
    code: str | None,
) -> Tariff:
    season_objs = {
        season: Season(
            *season_dates[season],
            periods={p: tuple(w) for p, w in periods.items()},
        )
        for season, periods in seasons.items()
    }

    def schedule(prices: Mapping[str, Mapping[str, float]]) -> PriceSchedule:
        return PriceSchedule(
            seasons=season_objs,
            energy_charges={ALL: {ALL: 0.0}, **{s: dict(r) for s, r in prices.items()}},
            demand_charges={ALL: {ALL: 0.0}, **{s: {} for s in season_objs}},
            daily_charges=(DailyCharge("Charge", 0.0),),
            name=name,
            utility=utility,
        )

    return Tariff(
        buy=schedule(buy),
        sell=schedule(sell) if sell is not None else None,
        code=code,
        currency=currency,
    )


def tariff_from_legacy(
    schedule: Any,
    *,
    prices: Mapping[str, Any],
    name: str = "Time of use",
    utility: str = "",
    currency: str = "USD",
    code: str | None = None,
) -> Tariff:
    """Convert a legacy ``tou_settings.schedule`` to ``tariff_content_v2``.

    ``schedule`` is the list, or a mapping with ``schedule`` (or
    ``tou_settings.schedule``). ``prices`` maps a target (``peak``,
    ``off_peak``, ``shoulder``, …) to ``{"buy": …, "sell": …}``. One season,
    ``Summer``, covers the whole year. The owners' quirks are normalised:
    ``week_days`` in any order (``[0, 6]`` as ``[6, 0]``), every entry kept
    (not only the last per target), null times = no such period that day,
    ``end_seconds`` ≤ ``start_seconds`` wraps midnight, and time no entry
    covers becomes the shoulder (``PARTIAL_PEAK``). Raises ``TariffError``
    listing every problem of the schedule.
    """
    entries = _legacy_entries(schedule)
    problems: list[Problem] = []
    periods: dict[str, list[TouPeriod]] = {}
    covered: list[list[bool]] = [[False] * MINUTES_PER_DAY for _ in range(7)]
    for index, entry in enumerate(entries):
        where = f"schedule[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(Problem(where, "must be an object"))
            continue
        target = entry.get("target")
        period = LEGACY_TARGETS.get(target) if isinstance(target, str) else None
        if period is None:
            problems.append(
                Problem(f"{where}.target", f"{target!r} is not a known target")
            )
            continue
        raw_days = entry.get("week_days")
        if not isinstance(raw_days, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6
            for d in raw_days
        ):
            problems.append(
                Problem(f"{where}.week_days", "must list days 0-6 (0 = Sunday)")
            )
            continue
        start, end = entry.get("start_seconds"), entry.get("end_seconds")
        if start is None and end is None:
            continue  # e.g. no peak at weekends
        times: list[int] = []
        for key, value in (("start_seconds", start), ("end_seconds", end)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= 86400
                or value % 60
            ):
                problems.append(
                    Problem(
                        f"{where}.{key}",
                        "must be whole minutes in seconds, 0-86400",
                    )
                )
            else:
                times.append(value // 60)
        if len(times) != 2:
            continue
        days = sorted({(d - 1) % 7 for d in raw_days})  # legacy 0 = Sunday
        windows = _split_midnight(times[0], times[1] % MINUTES_PER_DAY)
        for day in days:
            for lo, hi in windows:
                for minute in range(lo, hi):
                    covered[day][minute] = True
        periods.setdefault(period, []).extend(_windows_to_periods(days, windows))
    # Shoulder: whatever no entry covers, per day, in runs of minutes.
    by_windows: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day in range(7):
        gaps: list[tuple[int, int]] = []
        minute = 0
        while minute < MINUTES_PER_DAY:
            if covered[day][minute]:
                minute += 1
                continue
            end = minute
            while end < MINUTES_PER_DAY and not covered[day][end]:
                end += 1
            gaps.append((minute, end))
            minute = end
        if gaps:
            by_windows.setdefault(tuple(gaps), []).append(day)
    for windows_key, days in by_windows.items():
        periods.setdefault(SHOULDER, []).extend(
            _windows_to_periods(days, list(windows_key))
        )
    buy: dict[str, float] = {}
    sell: dict[str, float] = {}
    period_targets: dict[str, str] = {}
    for target, price in prices.items():
        period = LEGACY_TARGETS.get(target, target.upper())
        period_targets[period] = target
        if not isinstance(price, Mapping):
            problems.append(Problem(f"prices.{target}", "must have buy and sell"))
            continue
        for side, side_prices in (("buy", buy), ("sell", sell)):
            value = price.get(side)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(Problem(f"prices.{target}.{side}", "must be a number"))
                continue
            side_prices[period] = float(value)
    for period in periods:
        if period not in buy:
            target = period_targets.get(period, _legacy_name(period))
            problems.append(Problem(f"prices.{target}", "needs a buy price"))
    if problems:
        raise TariffError(problems)
    buy = {p: v for p, v in buy.items() if p in periods}
    sell = {p: v for p, v in sell.items() if p in periods}
    return _build(
        seasons={"Summer": periods},
        season_dates={"Summer": (1, 1, 12, 31)},
        buy={"Summer": buy},
        sell={"Summer": {p: sell.get(p, 0.0) for p in buy}},
        name=name,
        utility=utility,
        currency=currency,
        code=code,
    )


def _legacy_name(period: str) -> str:
    return "shoulder" if period == SHOULDER else period.lower().replace("on_", "")


def _legacy_entries(schedule: Any) -> list[Any]:
    if isinstance(schedule, Mapping):
        if isinstance(schedule.get("tou_settings"), Mapping):
            schedule = schedule["tou_settings"]
        if isinstance(schedule, Mapping):
            schedule = schedule.get("schedule")
    if not isinstance(schedule, list):
        raise TariffError([Problem("schedule", "must be a list of periods")])
    return schedule


def parse_clock(value: Any, where: str) -> int:
    """``"HH:MM"`` (or ``HH:MM:SS`` with 0 seconds; ``24:00`` allowed) → minutes."""
    if isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
            hour, minute = int(parts[0]), int(parts[1])
            seconds = int(parts[2]) if len(parts) == 3 else 0
            if (
                seconds == 0
                and 0 <= minute < 60
                and (hour < 24 or (hour == 24 and minute == 0))
            ):
                return hour * 60 + minute
    raise TariffError([Problem(where, f"{value!r} is not a time like 16:30")])


_DAY_GROUPS = {
    "all": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekend": (5, 6),
    "weekends": (5, 6),
}


_FULL_DAY_NAMES = tuple(name.lower() for name in DAY_NAMES)


def _simple_days(value: Any, where: str, problems: list[Problem]) -> list[int]:
    if value is None:
        return list(range(7))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.append(Problem(where, "must be a list of days"))
        return []
    days: set[int] = set()
    for item in items:
        key = str(item).strip().lower()
        if key in _DAY_GROUPS:
            days.update(_DAY_GROUPS[key])
        elif key in DAY_KEYS:
            days.add(DAY_KEYS.index(key))
        elif key in _FULL_DAY_NAMES:
            days.add(_FULL_DAY_NAMES.index(key))
        else:
            problems.append(Problem(where, f"{item!r} is not a day"))
    return sorted(days)


def tariff_from_simple(data: Mapping[str, Any]) -> Tariff:
    """Build a tariff from the simple form.

    ``{name, utility, currency, code?, seasons: [{name?, from_month?, from_day?,
    to_month?, to_day?, periods: [{period, days?, start, end, buy, sell?}]}]}``.
    Days are ``mon``…``sun``, ``weekdays``, ``weekend`` or ``all`` (default);
    ``end`` at or before ``start`` crosses midnight (split for Tesla). A season
    without dates covers the whole year; unnamed seasons are called Summer
    and Winter in turn. Raises ``TariffError`` listing every problem.
    """
    problems: list[Problem] = []
    raw_seasons = data.get("seasons")
    if not isinstance(raw_seasons, list) or not raw_seasons:
        raise TariffError([Problem("seasons", "must be a non-empty list")])
    seasons: dict[str, dict[str, list[TouPeriod]]] = {}
    dates: dict[str, tuple[int, int, int, int]] = {}
    buy: dict[str, dict[str, float]] = {}
    sell: dict[str, dict[str, float]] = {}
    has_sell = False
    for s_index, raw in enumerate(raw_seasons):
        where = f"seasons[{s_index}]"
        if not isinstance(raw, Mapping):
            problems.append(Problem(where, "must be an object"))
            continue
        default_name = (
            SEASON_NAMES[s_index]
            if s_index < len(SEASON_NAMES)
            else f"Season {s_index + 1}"
        )
        name = str(raw.get("name") or default_name)
        if name in seasons:
            problems.append(Problem(where, f"season {name} is given twice"))
            continue
        where = f"seasons.{name}"
        bounds = []
        for key, default in (
            ("from_month", 1),
            ("from_day", 1),
            ("to_month", 12),
            ("to_day", 31),
        ):
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(Problem(f"{where}.{key}", "must be a whole number"))
                value = default
            bounds.append(value)
        dates[name] = (bounds[0], bounds[1], bounds[2], bounds[3])
        periods: dict[str, list[TouPeriod]] = {}
        season_buy: dict[str, float] = {}
        season_sell: dict[str, float] = {}
        raw_periods = raw.get("periods")
        if not isinstance(raw_periods, list) or not raw_periods:
            problems.append(Problem(f"{where}.periods", "must be a non-empty list"))
            raw_periods = []
        for p_index, entry in enumerate(raw_periods):
            pwhere = f"{where}.periods[{p_index}]"
            if not isinstance(entry, Mapping):
                problems.append(Problem(pwhere, "must be an object"))
                continue
            period = str(entry.get("period") or entry.get("name") or "").upper()
            if not period:
                problems.append(Problem(f"{pwhere}.period", "is missing"))
                continue
            days = _simple_days(entry.get("days"), f"{pwhere}.days", problems)
            try:
                start = parse_clock(entry.get("start"), f"{pwhere}.start")
                end = parse_clock(entry.get("end"), f"{pwhere}.end")
            except TariffError as err:
                problems.extend(err.problems)
                continue
            windows = _split_midnight(start, end % MINUTES_PER_DAY)
            periods.setdefault(period, []).extend(_windows_to_periods(days, windows))
            for side, prices, required in (
                ("buy", season_buy, True),
                ("sell", season_sell, False),
            ):
                value = entry.get(side)
                if value is None:
                    if required:
                        problems.append(Problem(f"{pwhere}.{side}", "is missing"))
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    problems.append(Problem(f"{pwhere}.{side}", "must be a number"))
                    continue
                has_sell = has_sell or side == "sell"
                if period in prices and prices[period] != float(value):
                    problems.append(
                        Problem(
                            f"{pwhere}.{side}",
                            f"{period} already has the {side} price {prices[period]:g}",
                        )
                    )
                prices[period] = float(value)
        seasons[name] = periods
        buy[name] = season_buy
        sell[name] = season_sell
    if problems:
        raise TariffError(problems)
    return _build(
        seasons=seasons,
        season_dates=dates,
        buy=buy,
        sell=(
            {s: {p: sell[s].get(p, 0.0) for p in buy[s]} for s in buy}
            if has_sell
            else None
        ),
        name=str(data.get("name") or "Time of use"),
        utility=str(data.get("utility") or ""),
        currency=str(data.get("currency") or "USD"),
        code=str(data["code"]) if data.get("code") else None,
    )
