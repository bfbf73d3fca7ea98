"""Building a ``tariff_content_v2`` from the simple form and the legacy schedule.

Owns ``tariff_from_simple``, ``tariff_from_legacy``, ``parse_clock`` and
writing periods without midnight wraps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import (
    ALL,
    DAY_KEYS,
    DAY_NAMES,
    LEGACY_TARGETS,
    MINUTES_PER_DAY,
    SEASON_NAMES,
    SHOULDER,
    DailyCharge,
    PriceSchedule,
    Problem,
    Season,
    Tariff,
    TariffError,
    TouPeriod,
)


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
