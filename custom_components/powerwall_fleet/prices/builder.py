"""The tariff builder: forecast prices as a ``tariff_content_v2`` Tesla accepts.

Owns :func:`build_tariff`. Tesla's tariff is a week of periods (0 = Monday)
in the site's zone, so the builder lays the coming week, from the site's
midnight today, on it in quarter hours:

- a quarter hour the forecast covers gets its (time-weighted) price, grouped
  into at most four levels by levels.py (the buy side and, when a sell
  entity is chosen, the sell side, each on its own);
- a quarter hour outside the forecast falls back to the site's own tariff
  (the one held when sync was switched on): the level nearest the site's
  own price then;
- without a sell entity the site's own sell prices are kept as they are,
  laid on the same grid (a few distinct prices group exactly);
- the sell levels are named so that Tesla's rule "a buy price below the sell
  price is raised" (by period name) does not change a buy price where it can
  be avoided.

The result has the four period names, one season ``Summer`` covering the
whole year, ``demand_charges`` and every day covered exactly once (periods
never cross midnight; midnight is written as ``0:00``), and passes the same
validation as the ``set_time_of_use`` action (``check_tariff``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import functools

from ..fleet.tariff import (
    ALL,
    MINUTES_PER_DAY,
    PERIOD_NAMES,
    DailyCharge,
    PriceSchedule,
    Season,
    Tariff,
    TouPeriod,
    check_tariff,
    resolve,
)
from .forecast import Forecast
from .levels import MAX_LEVELS, Levels, group

SLOT = timedelta(minutes=15)
SLOTS_PER_DAY = MINUTES_PER_DAY // 15
SEASON = "Summer"
NAME = "Price sync"


@dataclass(frozen=True)
class Built:
    """A built tariff and what it was made of."""

    tariff: Tariff
    buy: Levels
    sell: Levels | None
    # Quarter hours (of the week laid out) priced from the forecast.
    covered: int
    # Largest grouping error per kWh over the forecast's quarter hours.
    worst_error: float


def build_tariff(
    buy: Forecast,
    sell: Forecast | None,
    own: Tariff,
    zone: tzinfo,
    now: datetime,
) -> Built:
    """The tariff for the week from the site's midnight today (module docstring)."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Instants of each quarter hour of the coming week, by (weekday, slot);
    # the first instant wins where a clock change repeats a local time.
    instants: dict[tuple[int, int], datetime] = {}
    utc = midnight.astimezone(UTC)
    end = (midnight + timedelta(days=7)).astimezone(UTC)
    while utc < end:
        wall = utc.astimezone(zone)
        key = (wall.weekday(), (wall.hour * 60 + wall.minute) // 15)
        instants.setdefault(key, utc)
        utc += SLOT

    own_point = functools.cache(lambda at: resolve(own, at, zone))

    # The sell side on the same grid: the forecast's, else the site's own sell
    # prices (kept as they are: a few distinct prices group exactly).
    def own_sell(at: datetime, _end: datetime | None = None) -> float | None:
        return own_point(at).sell

    sell_side = None
    if sell is not None or own.sell is not None:
        sell_side = _side(
            sell.mean if sell is not None else own_sell, instants, own_sell
        )
    # The forecast's buy prices, read once for every level count tried.
    buy_prices = functools.cache(buy.mean)
    # Fewer buy levels only when a sell level would otherwise raise a buy price.
    count = MAX_LEVELS
    while True:
        buy_side = _side(buy_prices, instants, lambda at: own_point(at).buy, count)
        rename, clash = (
            _sell_names(sell_side[0], buy_side[0]) if sell_side else ({}, False)
        )
        if not clash or count == 1:
            break
        count -= 1
    buy_levels, buy_names, covered, buy_error = buy_side
    sell_schedule: PriceSchedule | None = None
    sell_levels: Levels | None = None
    if sell_side is not None:
        sell_levels = Levels(
            of=sell_side[0].of,
            names=tuple((rename[name], price) for name, price in sell_side[0].names),
        )
        sell_schedule = _schedule(
            {key: rename[name] for key, name in sell_side[1].items()}, sell_levels
        )
    tariff = Tariff(
        buy=_schedule(buy_names, buy_levels, name=NAME, utility=own.utility or ""),
        sell=sell_schedule,
        currency=buy.currency,
        code=own.code,
    )
    checked, _warnings = check_tariff(tariff.to_dict())
    return Built(checked, buy_levels, sell_levels, covered, buy_error)


def _sell_names(sell: Levels, buy: Levels) -> tuple[dict[str, str], bool]:
    """Period names for the sell levels that keep Tesla from raising a buy price.

    Tesla raises a period's buy price below its sell price to the sell price
    (FLEET_API.md), by period name. Each sell level, highest first, takes a
    name the buy side does not use, else the buy name of the lowest buy price
    at or above it, else the highest buy name left (a clash: True).
    """
    buy_price = dict(buy.names)
    free = [name for name in PERIOD_NAMES if name not in buy_price]
    shared = sorted(buy_price, key=lambda name: buy_price[name])
    rename: dict[str, str] = {}
    clash = False
    for name, price in sell.names:
        if free:
            rename[name] = free.pop(0)
            continue
        above = [other for other in shared if buy_price[other] >= price]
        clash = clash or not above
        chosen = above[0] if above else shared[-1]
        shared.remove(chosen)
        rename[name] = chosen
    return rename, clash


def _side(
    price_over: Callable[[datetime, datetime], float | None],
    instants: dict[tuple[int, int], datetime],
    own_price: Callable[[datetime], float | None],
    count: int = MAX_LEVELS,
) -> tuple[Levels, dict[tuple[int, int], str], int, float]:
    """Levels and each quarter hour's period name for one side (buy or sell)."""
    priced: dict[tuple[int, int], float] = {}
    for key, at in instants.items():
        price = price_over(at, at + SLOT)
        if price is not None:
            priced[key] = price
    levels = group(priced.values(), count)
    if not levels.names:  # nothing covered (sync.py does not build then)
        levels = group([0.0])
    names: dict[tuple[int, int], str] = {}
    for day in range(7):
        previous: str | None = None
        for slot in range(SLOTS_PER_DAY):
            key = (day, slot)
            if key in priced:
                name = levels.name_of(priced[key])
            elif key in instants:
                name = levels.nearest(own_price(instants[key]) or 0.0)
            else:  # skipped by a clock change: like the quarter before
                name = previous or levels.names[-1][0]
            names[key] = previous = name
    error = max((abs(max(p, 0.0) - levels.of[p]) for p in priced.values()), default=0.0)
    return levels, names, len(priced), error


def _schedule(
    names: dict[tuple[int, int], str],
    levels: Levels,
    *,
    name: str | None = None,
    utility: str | None = None,
) -> PriceSchedule:
    windows: dict[str, list[TouPeriod]] = {}
    for day in range(7):
        slot = 0
        while slot < SLOTS_PER_DAY:
            period = names[(day, slot)]
            end = slot
            while end < SLOTS_PER_DAY and names[(day, end)] == period:
                end += 1
            start_min, end_min = slot * 15, (end * 15) % MINUTES_PER_DAY
            windows.setdefault(period, []).append(
                TouPeriod(
                    from_day=day,
                    to_day=day,
                    from_hour=start_min // 60,
                    from_minute=start_min % 60,
                    to_hour=end_min // 60,
                    to_minute=end_min % 60,
                )
            )
            slot = end
    used = [(period, price) for period, price in levels.names if period in windows]
    season = Season(1, 1, 12, 31, periods={p: tuple(windows[p]) for p, _ in used})
    return PriceSchedule(
        seasons={SEASON: season},
        energy_charges={ALL: {ALL: 0.0}, SEASON: dict(used)},
        demand_charges={ALL: {ALL: 0.0}, SEASON: {}},
        daily_charges=(DailyCharge("Charge", 0.0),),
        name=name,
        utility=utility,
    )
