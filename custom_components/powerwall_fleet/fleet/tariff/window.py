"""A temporary tariff: a site's own tariff with some hours made its dearest period.

Owns :func:`with_window`, which a dispatch (overrides/dispatch.py) pushes so
that time-based control exports in ``[start, end)`` and nowhere else: the
hours become a period of their own, named with a period name the tariff does
not use, whose buy and sell price are above every other price of the tariff.
Every other minute keeps its period and prices, in every season, buy and sell
side - except when the tariff already uses all four names (a tariff price
sync built, prices/): then the two periods whose prices are closest become
one (:func:`free_a_name`), the smallest change that leaves a name for the
window. The windows are wall-clock minutes of the site's zone and recur weekly,
as every Tesla period does; a dispatch restores the tariff before they come
round again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import TypeAlias

from .model import (
    ALL,
    MINUTES_PER_DAY,
    PERIOD_NAMES,
    PriceSchedule,
    Season,
    Tariff,
    TouPeriod,
)

# How far above the tariff's dearest price the window is priced.
PREMIUM = 0.1

# weekday -> [start, end) minutes
Minutes: TypeAlias = dict[int, list[tuple[int, int]]]


def free_period_name(tariff: Tariff) -> str | None:
    """A period name Tesla accepts that neither side of ``tariff`` uses."""
    used = {
        name
        for schedule in (tariff.buy, tariff.sell)
        if schedule is not None
        for season in schedule.seasons.values()
        for name in season.periods
    }
    return next((name for name in PERIOD_NAMES if name not in used), None)


def _merge_cost(tariff: Tariff, gone: str, kept: str) -> float:
    """The largest price change (per kWh) of renaming ``gone`` to ``kept``.

    Per side: where only one side uses ``kept`` in a season, the other keeps
    its price under the new name (no change).
    """
    cost = 0.0
    for schedule in (tariff.buy, tariff.sell):
        if schedule is None:
            continue
        for key, season in schedule.seasons.items():
            if gone not in season.periods:
                continue
            if any(
                rates.get(gone) for rates in schedule.demand_charges.values()
            ):  # a demand charge of its own: not merged
                return float("inf")
            if kept in season.periods:
                change = abs(schedule.price(key, gone) - schedule.price(key, kept))
                cost = max(cost, change)
    return cost


def _renamed(schedule: PriceSchedule, gone: str, kept: str) -> PriceSchedule:
    seasons: dict[str, Season] = {}
    charges: dict[str, Mapping[str, float]] = dict(schedule.energy_charges)
    for key, season in schedule.seasons.items():
        periods = dict(season.periods)
        moved = periods.pop(gone, ())
        rates = dict(charges.get(key, {}))
        if moved and kept not in periods and gone in rates:
            # ``kept`` is new in this season: it takes ``gone``'s price here.
            rates[kept] = rates[gone]
        if moved:
            periods[kept] = (*periods.get(kept, ()), *moved)
        rates.pop(gone, None)
        if key in charges:
            charges[key] = rates
        seasons[key] = replace(season, periods=periods)
    return replace(schedule, seasons=seasons, energy_charges=charges)


def free_a_name(tariff: Tariff) -> tuple[Tariff, str] | None:
    """``tariff`` with its two closest-priced periods made one, and the freed name.

    The pair whose prices (buy and sell, every season) differ least, unless
    the merge would leave a period's sell price above its buy price (Tesla
    would raise the buy price); ``None`` when no pair can be merged.
    """
    pairs = sorted(
        (_merge_cost(tariff, gone, kept), PERIOD_NAMES.index(gone), gone, kept)
        for gone in PERIOD_NAMES
        for kept in PERIOD_NAMES
        if gone != kept
    )
    before = _sold_above_bought(tariff)
    for cost, _, gone, kept in pairs:
        if cost == float("inf"):
            break
        sell = _renamed(tariff.sell, gone, kept) if tariff.sell is not None else None
        merged = replace(tariff, buy=_renamed(tariff.buy, gone, kept), sell=sell)
        # Tesla raises a buy price below the same period's sell price: a merge
        # that pairs a sell price with a lower buy price would change more.
        if _sold_above_bought(merged) <= before:
            return merged, gone
    return None


def _sold_above_bought(tariff: Tariff) -> set[tuple[str, str]]:
    """(season, period) whose sell price is above its buy price."""
    if tariff.sell is None:
        return set()
    found = set()
    for key, season in tariff.sell.seasons.items():
        bought = tariff.buy.seasons.get(key)
        for name in season.periods:
            if (
                bought is not None
                and name in bought.periods
                and tariff.sell.price(key, name) > tariff.buy.price(key, name)
            ):
                found.add((key, name))
    return found


def top_price(tariff: Tariff) -> float:
    """The dearest buy or sell price of ``tariff`` (0 without any)."""
    prices = [
        price
        for schedule in (tariff.buy, tariff.sell)
        if schedule is not None
        for rates in schedule.energy_charges.values()
        for price in rates.values()
    ]
    return max(prices, default=0.0)


def _local_minutes(
    windows: Sequence[tuple[datetime, datetime]], zone: tzinfo
) -> Minutes:
    """The windows as minute ranges per weekday in ``zone`` (start floored, end ceiled)."""
    covered: Minutes = {}
    for start, end in windows:
        local = start.astimezone(zone).replace(second=0, microsecond=0)
        stop = end.astimezone(zone)
        while local < stop:
            midnight = (local + timedelta(days=1)).replace(hour=0, minute=0)
            piece_end = min(stop, midnight)
            first = local.hour * 60 + local.minute
            last = (
                MINUTES_PER_DAY
                if piece_end == midnight
                else piece_end.hour * 60 + piece_end.minute + (piece_end.second > 0)
            )
            if last > first:
                covered.setdefault(local.weekday(), []).append((first, last))
            local = midnight
    return covered


def _overlay(season: Season, covered: Minutes, name: str) -> Season:
    """``season`` with the covered minutes moved to the period ``name``."""
    periods: dict[str, list[TouPeriod]] = {}
    for day in range(7):
        minutes: list[str | None] = [
            season.period_at(day, minute) for minute in range(MINUTES_PER_DAY)
        ]
        for first, last in covered.get(day, ()):
            minutes[first:last] = [name] * (last - first)
        run_start = 0
        for minute in range(1, MINUTES_PER_DAY + 1):
            if minute < MINUTES_PER_DAY and minutes[minute] == minutes[run_start]:
                continue
            period = minutes[run_start]
            if period is not None:
                periods.setdefault(period, []).append(
                    TouPeriod(
                        from_day=day,
                        to_day=day,
                        from_hour=run_start // 60,
                        from_minute=run_start % 60,
                        to_hour=(minute // 60) % 24,
                        to_minute=minute % 60,
                    )
                )
            run_start = minute
    return replace(season, periods={k: tuple(v) for k, v in periods.items()})


def _priced(
    schedule: PriceSchedule, covered: Minutes, name: str, price: float
) -> PriceSchedule:
    seasons = {
        key: _overlay(season, covered, name) for key, season in schedule.seasons.items()
    }
    flat = schedule.energy_charges.get(ALL, {}).get(ALL, 0.0)
    charges: dict[str, Mapping[str, float]] = dict(schedule.energy_charges)
    for key, season in seasons.items():
        rates = dict(charges.get(key, {}))
        for period in season.periods:
            rates.setdefault(period, 0.0)
        rates[name] = round(price - flat, 6)
        charges[key] = rates
    return replace(schedule, seasons=seasons, energy_charges=charges)


def with_window(
    tariff: Tariff, windows: Sequence[tuple[datetime, datetime]], zone: tzinfo
) -> Tariff | None:
    """``tariff`` with ``windows`` as its dearest period, to buy and to sell.

    When the tariff already uses all four period names Tesla accepts, its two
    closest-priced periods become one first (:func:`free_a_name`); ``None``
    when that cannot be done.
    """
    name = free_period_name(tariff)
    if name is None:
        freed = free_a_name(tariff)
        if freed is None:
            return None
        tariff, name = freed
    covered = _local_minutes(windows, zone)
    price = round(top_price(tariff) + PREMIUM, 4)
    buy = _priced(tariff.buy, covered, name, price)
    sell_base = (
        tariff.sell
        if tariff.sell is not None
        else replace(tariff.buy, energy_charges={}, demand_charges={}, daily_charges=())
    )
    sell = _priced(sell_base, covered, name, price)
    return replace(tariff, buy=buy, sell=sell)


def windows_of(
    start: datetime, end: datetime, *, length: timedelta | None = None
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` as one window, or cut into windows of ``length`` a minute apart.

    Short windows each end soon, so a controller that only exports near the
    end of a period (Predbat #4887) exports in all of them.
    """
    if length is None:
        return [(start, end)]
    windows: list[tuple[datetime, datetime]] = []
    at = start
    while at < end:
        windows.append((at, min(end, at + length)))
        at += length + timedelta(minutes=1)
    return windows
