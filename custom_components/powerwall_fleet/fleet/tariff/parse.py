"""Reading a ``tariff_content_v2`` (sent or read back) into the tariff model.

Owns the structural checks (types, ranges) with their problem paths, the
read-back quirks (omitted zero fields, a missing ``toDayOfWeek``) and
``check_tariff`` (parse, then validate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
import math
from typing import Any

from .model import (
    ALL,
    MINUTES_PER_DAY,
    DailyCharge,
    PriceSchedule,
    Problem,
    Season,
    Tariff,
    TariffError,
    TouPeriod,
)
from .validate import coverage_problems, errors_of, validate_tariff

# No price or charge of any tariff comes near this.
MAX_NUMBER = 1e15


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
        # Compared, not converted: NaN, infinities and integers too large for
        # a float fail here instead of overflowing in float().
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -MAX_NUMBER <= value <= MAX_NUMBER
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
    content. Missing zero fields are tolerated (see the package docstring).
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
    if not guessed or not coverage_problems(season.periods, ""):
        return season
    periods = {name: list(windows) for name, windows in season.periods.items()}
    for name, index in guessed:
        periods[name][index] = replace(periods[name][index], to_day=0)
    fixed = {name: tuple(windows) for name, windows in periods.items()}
    if coverage_problems(fixed, ""):
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


def check_tariff(data: Any) -> tuple[Tariff, list[Problem]]:
    """Parse and validate; ``TariffError`` listing every error, else the warnings."""
    tariff = parse_tariff(data) if not isinstance(data, Tariff) else data
    problems = validate_tariff(tariff)
    if errors := errors_of(problems):
        raise TariffError(errors)
    return tariff, problems
