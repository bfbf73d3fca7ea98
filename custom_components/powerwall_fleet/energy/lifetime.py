"""The history before the ledger's first day, back to the installation date.

The ledger (``ledger.py``) starts with the last 30 days. This module owns the
bookkeeping of importing the days before, newest first, so the recent past is
usable at once: which day to ask for next, how many requests a local day may
spend (:data:`LIFETIME_DAILY_CAP`), what one day adds, the progress shown to
the owner and its stored form. The lifetime coordinator asks Tesla for one
day per request, at most one every :data:`LIFETIME_PACE`.

Home Assistant's statistics sums are cumulative: an hour's ``sum`` is the
total up to its end. A day older than every imported one is written with its
own running sums starting at 0, and every later hour's sum then grows by that
day's total (``DayImport.shift_from``, ``DayImport.totals``); the ``offset``
(all the days imported here) is what every hour the history coordinator
writes from then on adds to the ledger's totals. So at every step an hour's
sum is the energy since the start of the oldest day imported, the increase of
every hour is unchanged, and the Energy dashboard shows the same figures for
any period before, during and after the import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..fleet import EnergyInterval
from .buckets import CountedBucket, hour_start
from .energy_flows import FLOWS, HOUR, MONEY_KEYS
from .ledger import BACKFILL_DAYS, BucketPrices

# At most one history request this often: live data and the regular history
# polls always come first (Tesla allows ~60 data requests a minute per device).
LIFETIME_PACE = timedelta(seconds=10)
# History requests a local day may spend: a 5-year-old site (about 1,830
# days) is done within a day, 2,000 requests at one per 10 s take 5.6 hours.
LIFETIME_DAILY_CAP = 2000
ALL_KEYS = (*(flow.key for flow in FLOWS), *MONEY_KEYS)


def _day(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


@dataclass
class DayImport:
    """What one older day adds: its hourly rows and its totals."""

    # Each hour of the day (UTC) -> each key's running total at its end,
    # from 0 at the day's start.
    rows: dict[datetime, dict[str, float]]
    # The day's total per key (Wh, money): every hour from ``shift_from`` on
    # grows by it.
    totals: dict[str, float]
    shift_from: datetime


def day_import(
    found: Iterable[tuple[datetime, EnergyInterval]],
    prices: BucketPrices | None,
    day_start: datetime,
    next_start: datetime,
) -> DayImport:
    """The rows and totals of the day ``[day_start, next_start)`` (UTC instants).

    The rows cover the hours from the one the day starts in up to, not
    including, the hour the next day starts in: that hour already has a row
    (a zone half an hour off UTC shares it between two days), and it and
    every later one grow by the day's totals.
    """
    amounts: list[tuple[datetime, dict[str, float]]] = []
    for start, interval in sorted(found, key=lambda item: item[0]):
        if not day_start <= start < next_start:
            continue
        values = tuple(flow.energy(interval) for flow in FLOWS)
        buy = prices.buy.get(start) if prices and prices.buy is not None else None
        sell = prices.sell.get(start) if prices and prices.sell is not None else None
        amounts.append((start, CountedBucket(values, buy, sell).amounts()))
    totals = dict.fromkeys(ALL_KEYS, 0.0)
    rows: dict[datetime, dict[str, float]] = {}
    shift_from = hour_start(next_start)
    hour = hour_start(day_start)
    index = 0
    while hour < shift_from:
        end = hour + HOUR
        while index < len(amounts) and amounts[index][0] < end:
            for key, value in amounts[index][1].items():
                totals[key] += value
            index += 1
        rows[hour] = dict(totals)
        hour = end
    for _start, found_amounts in amounts[index:]:  # the shared hour's part
        for key, value in found_amounts.items():
            totals[key] += value
    return DayImport(rows, totals, shift_from)


def lifetime_requests(first_day: date | None, stop: date | None, today: date) -> int:
    """The one-off cost in requests of importing the days from ``stop`` on.

    ``first_day`` is the ledger's first day (before it started: the first day
    of the 30-day backfill). One request per day.
    """
    if stop is None:
        return 0
    first = first_day or today - timedelta(days=BACKFILL_DAYS)
    return max((first - stop).days, 0)


@dataclass
class LifetimeProgress:
    """How far the import of older days got, kept across restarts."""

    # The oldest local day imported here (None: none yet).
    oldest: date | None = None
    # What the imported days add up to per key (Wh; money in its currency).
    offset: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(ALL_KEYS, 0.0)
    )
    # History requests sent on the local day ``asked_on``, and in all.
    asked: int = 0
    asked_on: date | None = None
    requests: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> LifetimeProgress:
        """Read what :meth:`as_dict` saved (tolerating a damaged file)."""
        if not isinstance(data, dict):
            return cls()
        raw = data.get("offset")
        offset = dict.fromkeys(ALL_KEYS, 0.0)
        if isinstance(raw, dict):
            for key, value in raw.items():
                if key in offset and isinstance(value, int | float):
                    offset[key] = float(value)

        def count(value: Any) -> int:
            return value if type(value) is int and value >= 0 else 0

        return cls(
            oldest=_day(data.get("oldest")),
            offset=offset,
            asked=count(data.get("asked")),
            asked_on=_day(data.get("asked_on")),
            requests=count(data.get("requests")),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state for the Store."""
        return {
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "offset": dict(self.offset),
            "asked": self.asked,
            "asked_on": self.asked_on.isoformat() if self.asked_on else None,
            "requests": self.requests,
        }

    def imported_from(self, first_day: date | None) -> date | None:
        """The oldest day imported, here or by the ledger."""
        if self.oldest is None:
            return first_day
        return self.oldest if first_day is None else min(self.oldest, first_day)

    def day_to_ask(self, first_day: date, stop: date) -> date | None:
        """The next older day to import; None when ``stop`` is reached."""
        day = self.imported_from(first_day) or first_day
        following = day - timedelta(days=1)
        return following if following >= stop else None

    def may_ask(self, today: date) -> bool:
        """Whether today's cap still allows a request."""
        return self.asked_on != today or self.asked < LIFETIME_DAILY_CAP

    def asking(self, today: date) -> None:
        """A request is sent on the local day ``today``."""
        if self.asked_on != today:
            self.asked_on, self.asked = today, 0
        self.asked += 1
        self.requests += 1

    def day_added(self, day: date, totals: dict[str, float]) -> None:
        """``day`` was imported with ``totals``."""
        for key, value in totals.items():
            self.offset[key] = self.offset.get(key, 0.0) + value
        self.oldest = day

    def days_left(self, first_day: date, stop: date) -> int:
        """Days still to import."""
        day = self.imported_from(first_day)
        return max(((day or first_day) - stop).days, 0)

    def share_done(self, first_day: date, stop: date) -> float:
        """The share of the days from ``stop`` to the ledger's first day imported (%)."""
        day = self.imported_from(first_day) or first_day
        done = max((first_day - day).days, 0)
        total = done + self.days_left(first_day, stop)
        return 100.0 if total == 0 else round(100.0 * done / total, 1)
