"""Validation of a tariff, and comparing what was sent with what a site holds.

Owns every content rule and its problem message (day and season coverage,
prices, dates, buy below sell), what Tesla stores of a tariff
(``as_tesla_stores``) and ``differences``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
import itertools
from typing import Any

from .model import (
    ALL,
    DAY_NAMES,
    MINUTES_PER_DAY,
    SEASON_NAMES,
    PriceSchedule,
    Problem,
    Rates,
    Season,
    Tariff,
    TouPeriod,
    fmt_minute,
)

_LEAP_YEAR = 2024


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
        problems.extend(coverage_problems(season.periods, where))
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


def coverage_problems(
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
            span = f"{DAY_NAMES[day]} {fmt_minute(low)}-{fmt_minute(high)}"
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
