"""What applies when: period and prices at an instant, changes and spans.

Owns ``resolve``, ``changes``, ``next_change``, ``segments`` (in the site's
wall-clock time, through daylight saving changes) and ``period_table``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from .model import DAY_KEYS, MINUTES_PER_DAY, PriceSchedule, Tariff, fmt_minute


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
                    "start": fmt_minute(window.start),
                    "end": fmt_minute(window.end or MINUTES_PER_DAY),
                    "buy": tariff.buy.price(season_name, period),
                }
                if tariff.sell is not None:
                    sell_rates = tariff.sell.energy_charges.get(season_name)
                    if sell_rates is not None and period in sell_rates:
                        row["sell"] = tariff.sell.price(season_name, period)
                rows.append(row)
    return rows
