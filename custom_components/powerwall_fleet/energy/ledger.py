"""The energy ledger: every one of Tesla's 5-minute buckets counted exactly once.

Owns a site's energy bookkeeping and its stored form: the recent window of
counted buckets (buckets.py), the grand totals per flow and of money, which
local day to ask for next and which closed day to read once more, the last
statistics hour written, the tariff history (pricing.py) and the outage
summary. The history coordinator asks Tesla, prices, and saves the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from ..fleet import EnergyInterval
from ..fleet.values import parse_timestamp
from .buckets import (
    CountedBucket,
    hour_rows,
    hour_start,
    window_as_list,
    window_from_list,
)
from .energy_flows import (
    BUCKET,
    COMPENSATION,
    COST,
    FLOW_NAMES,
    FLOWS,
    HOUR,
    MONEY_KEYS,
    EnergyFlow,
    buckets,
)
from .outages import OUTAGE_WINDOW, OutageSummary, summarise_outages
from .pricing import TariffHistory

__all__ = [
    "BUCKET",
    "FLOWS",
    "FLOW_NAMES",
    "HOUR",
    "MONEY_KEYS",
    "OUTAGE_WINDOW",
    "BucketPrices",
    "EnergyFlow",
    "EnergyLedger",
    "OutageSummary",
    "backfill_start",
    "buckets",
    "summarise_outages",
]

# A past day whose last bucket never came is given up this long after its end.
DAY_GRACE = timedelta(hours=1)
# A closed day is read once more this long after it ended: buckets Tesla
# published late or revised since are counted then.
REREAD_AFTER = timedelta(hours=3)
# A day to read again that waited this many days is given up.
REREAD_GIVE_UP_DAYS = 2
BACKFILL_DAYS = 30


def backfill_start(today: date, zone: tzinfo, installed: datetime | None) -> date:
    """The first day to backfill: the last 30 days, or from ``installed`` when given."""
    if installed is not None and installed.tzinfo is not None:
        return min(installed.astimezone(zone).date(), today)
    return today - timedelta(days=BACKFILL_DAYS)


@dataclass(frozen=True)
class BucketPrices:
    """Prices (per kWh) for new buckets by start; None for a direction without source."""

    buy: Mapping[datetime, float | None] | None = None
    sell: Mapping[datetime, float | None] | None = None


# ---------------------------------------------------------------- the ledger


def _totals(raw: Any, keys: Iterable[str]) -> dict[str, float]:
    totals = dict.fromkeys(keys, 0.0)
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in totals and isinstance(value, int | float):
                totals[key] = float(value)
    return totals


def _count(raw: Any) -> int:
    return raw if type(raw) is int and raw >= 0 else 0


def _day(iso: Any) -> date | None:
    try:
        return date.fromisoformat(iso) if isinstance(iso, str) else None
    except ValueError:
        return None


def _instant(iso: Any) -> datetime | None:
    when = parse_timestamp(iso) if isinstance(iso, str) else None
    if when is None or when.tzinfo is None:
        return None
    return when.astimezone(UTC)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


@dataclass
class EnergyLedger:
    """Counted buckets, totals (Wh) per flow and of money, days to ask, outages."""

    cursor: datetime | None = None
    next_day: date | None = None
    first_day: date | None = None
    time_zone: str | None = None
    backfilled: bool = False
    totals: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(FLOW_NAMES, 0.0)
    )
    # What the grid's imports cost and its exports earned (currency units).
    money: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(MONEY_KEYS, 0.0)
    )
    # The currency of each money statistic (None: not priced at all).
    currencies: dict[str, str | None] = field(
        default_factory=lambda: dict.fromkeys(MONEY_KEYS)
    )
    # The highest totals the sensors showed: they never go down.
    peaks: dict[str, float] = field(default_factory=dict)
    # The buckets of the window by start (UTC); older ones are in the totals
    # only, and buckets before ``floor`` are no longer looked at.
    window: dict[datetime, CountedBucket] = field(default_factory=dict)
    floor: datetime | None = None
    # The last hour (UTC) whose statistics row is written.
    written: datetime | None = None
    # A closed day to read once more (revisions, late buckets).
    reread_day: date | None = None
    # Buckets with energy a price source could not price, out of the window.
    unpriced_before: dict[str, int] = field(
        default_factory=lambda: {"import": 0, "export": 0}
    )
    tariffs: TariffHistory = field(default_factory=TariffHistory)
    # The outage history: its summary, the site's local day it was last read,
    # whether it must be read again before that day ends (the grid came or
    # went), and the grid status last seen (to notice a change across a restart).
    outages: OutageSummary | None = None
    outages_read: date | None = None
    outages_due: bool = False
    grid_status: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyLedger:
        """Read what :meth:`as_dict` saved (tolerating a damaged or older file).

        A file from before the window (1.2 and older) has its totals, cursor
        and open hour only: every bucket up to the cursor is counted and
        stays so (``floor``), the open hour's row is still to be written.
        """
        cursor = _instant(data.get("cursor"))
        outages = OutageSummary.from_dict(data.get("outages"))
        grid = data.get("grid_status")
        totals = _totals(data.get("totals"), FLOW_NAMES)
        unpriced = data.get("unpriced")
        unpriced = unpriced if isinstance(unpriced, dict) else {}
        currencies = data.get("currencies")
        currencies = currencies if isinstance(currencies, dict) else {}
        if "window" in data:
            window = window_from_list(data.get("window"), data.get("flows"))
            floor = _instant(data.get("floor"))
            written = _instant(data.get("written"))
        else:
            window = {}
            floor = cursor + BUCKET if cursor is not None else None
            open_hour = _instant(data.get("open_hour"))
            if open_hour is not None:
                written = open_hour - HOUR
            else:
                written = hour_start(cursor) if cursor is not None else None
        peaks = _totals(data.get("peaks"), FLOW_NAMES) if "peaks" in data else {}
        return cls(
            cursor=cursor,
            next_day=_day(data.get("next_day")),
            first_day=_day(data.get("first_day")),
            time_zone=_text(data.get("time_zone")),
            backfilled=bool(data.get("backfilled")),
            totals=totals,
            money=_totals(data.get("money"), MONEY_KEYS),
            currencies={key: _text(currencies.get(key)) for key in MONEY_KEYS},
            peaks=peaks or dict(totals),
            window=window,
            floor=floor,
            written=written,
            reread_day=_day(data.get("reread_day")),
            unpriced_before={
                "import": _count(unpriced.get("import")),
                "export": _count(unpriced.get("export")),
            },
            tariffs=TariffHistory.from_list(data.get("tariffs")),
            outages=outages,
            outages_read=_day(data.get("outages_read")) if outages else None,
            outages_due=bool(data.get("outages_due")),
            grid_status=grid if isinstance(grid, str) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state for the Store."""

        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "cursor": iso(self.cursor),
            "next_day": iso(self.next_day),
            "first_day": iso(self.first_day),
            "time_zone": self.time_zone,
            "backfilled": self.backfilled,
            "totals": dict(self.totals),
            "money": dict(self.money),
            "currencies": dict(self.currencies),
            "peaks": dict(self.peaks),
            "flows": [flow.key for flow in FLOWS],
            "window": window_as_list(self.window),
            "floor": iso(self.floor),
            "written": iso(self.written),
            "reread_day": iso(self.reread_day),
            "unpriced": dict(self.unpriced_before),
            "tariffs": self.tariffs.as_list(),
            "outages": self.outages.as_dict() if self.outages else None,
            "outages_read": iso(self.outages_read) if self.outages else None,
            "outages_due": self.outages_due,
            "grid_status": self.grid_status,
        }

    @property
    def started(self) -> bool:
        """Whether any bucket has been accounted for."""
        return self.cursor is not None

    def shown(self, key: str) -> float:
        """A flow's total as the sensors show it: never below what they showed."""
        return max(self.totals[key], self.peaks.get(key, 0.0))

    @property
    def unpriced(self) -> dict[str, int]:
        """Buckets with energy whose price was unknown, per direction."""
        counts = dict(self.unpriced_before)
        for bucket in self.window.values():
            counts["import"] += bucket.unpriced_import
            counts["export"] += bucket.unpriced_export
        return counts

    # ------------------------------------------------------------ energy

    def day_to_ask(
        self, zone_name: str, zone: tzinfo, today: date, backfill_from: date
    ) -> date:
        """The site's local day to ask for next (``backfill_from`` on a new ledger)."""
        if self.time_zone != zone_name:
            # The site's zone changed (or is first known): days follow the new zone.
            if self.time_zone is not None and self.cursor is not None:
                self.next_day = min(
                    (self.cursor + BUCKET).astimezone(zone).date(), today
                )
            self.time_zone = zone_name
        if self.next_day is None:
            self.first_day = self.next_day = backfill_from
        self.next_day = min(self.next_day, today)
        return self.next_day

    def may_have_new(self, now: datetime) -> bool:
        """Whether a bucket closed since the last one counted."""
        if self.cursor is None:
            return True
        step = BUCKET.total_seconds()
        last_closed = (now.timestamp() // step) * step - step
        return self.cursor.timestamp() < last_closed

    def unseen(
        self, found: Iterable[tuple[datetime, EnergyInterval]], now: datetime
    ) -> list[datetime]:
        """Starts of the closed buckets of an answer not counted yet (to price)."""
        return sorted(
            start
            for start, _bucket in found
            if start + BUCKET <= now
            and start not in self.window
            and (self.floor is None or start >= self.floor)
        )

    def add_day(
        self,
        day: date,
        found: Iterable[tuple[datetime, EnergyInterval]],
        zone: tzinfo,
        now: datetime,
        prices: BucketPrices | None = None,
    ) -> dict[datetime, dict[str, float]]:
        """Account for the answer about ``day``; move on to the next day when done.

        Returns the hours to write (see :meth:`add`).
        """
        hours = self.add(found, now, zone, prices)
        today = now.astimezone(zone).date()
        if day < today and self._day_done(day, zone, now):
            self.next_day = day + timedelta(days=1)
            end = _midnight(self.next_day, zone)
            if self.next_day == today and now < end + REREAD_AFTER:
                self.reread_day = day
        if day == today:
            # Totals are shown only once the backfill reached today: the
            # first value is the whole backfill, no pile-up in one hour.
            self.backfilled = True
        return hours

    def _day_done(self, day: date, zone: tzinfo, now: datetime) -> bool:
        """A past day is done once its last bucket is in, or surely never comes."""
        end = _midnight(day + timedelta(days=1), zone)
        return (
            self.cursor is not None and self.cursor >= end - BUCKET
        ) or now >= end + DAY_GRACE

    def add(
        self,
        found: Iterable[tuple[datetime, EnergyInterval]],
        now: datetime,
        zone: tzinfo = UTC,
        prices: BucketPrices | None = None,
    ) -> dict[datetime, dict[str, float]]:
        """Count new closed buckets, replace revised ones; keep the window's days.

        Returns the hours (UTC) whose statistics rows are to be (re)written,
        with the totals (energy and money) at their end: from the earliest
        hour a bucket changed in, or the first hour not written yet, to the
        last complete hour (its last bucket counted, or a later one).
        """
        changed: list[datetime] = []
        for start, interval in sorted(found, key=lambda item: item[0]):
            if start + BUCKET > now:
                break  # still open: counted once it has closed
            if self.floor is not None and start < self.floor:
                continue  # out of the window: counted long ago
            values = tuple(flow.energy(interval) for flow in FLOWS)
            old = self.window.get(start)
            if old is None:
                bucket = self._priced(start, values, prices)
            elif old.values != values:
                bucket = old.revised(values)
                self._take(old)
            else:
                continue
            self.window[start] = bucket
            self._give(bucket)
            changed.append(start)
            if self.cursor is None or start > self.cursor:
                self.cursor = start
        for key, total in self.totals.items():
            self.peaks[key] = max(self.peaks.get(key, 0.0), total)
        hours = self._rows(changed)
        self._prune(zone)
        return hours

    def _priced(
        self, start: datetime, values: tuple[float, ...], prices: BucketPrices | None
    ) -> CountedBucket:
        buy = sell = None
        buy_source = sell_source = False
        if prices is not None and prices.buy is not None:
            buy_source, buy = True, prices.buy.get(start)
        if prices is not None and prices.sell is not None:
            sell_source, sell = True, prices.sell.get(start)
        return CountedBucket(values, buy, sell, buy_source, sell_source)

    def _give(self, bucket: CountedBucket, sign: float = 1.0) -> None:
        for flow, value in zip(FLOWS, bucket.values, strict=True):
            self.totals[flow.key] += sign * value
        self.money[COST] += sign * bucket.cost
        self.money[COMPENSATION] += sign * bucket.compensation

    def _take(self, bucket: CountedBucket) -> None:
        self._give(bucket, -1.0)

    def _rows(self, changed: list[datetime]) -> dict[datetime, dict[str, float]]:
        if self.cursor is None:
            return {}
        last = hour_start(self.cursor + BUCKET) - HOUR
        starts = [hour_start(start) for start in changed]
        if self.written is not None:
            starts.append(self.written + HOUR)
        first = min(starts, default=None)
        if first is None or first > last:
            return {}
        rows = hour_rows({**self.totals, **self.money}, self.window, first, last)
        self.written = max(last, self.written) if self.written is not None else last
        return rows

    def _prune(self, zone: tzinfo) -> None:
        """Forget the buckets before the day before the newest one (their totals stay)."""
        if self.cursor is None:
            return
        keep = self.cursor.astimezone(zone).date() - timedelta(days=1)
        if self.reread_day is not None:
            keep = min(keep, self.reread_day)
        start = _midnight(keep, zone)
        if self.floor is not None and start <= self.floor:
            return
        for old in [when for when in self.window if when < start]:
            bucket = self.window.pop(old)
            self.unpriced_before["import"] += bucket.unpriced_import
            self.unpriced_before["export"] += bucket.unpriced_export
        self.floor = start
        self.tariffs.forget_before(start)

    def reread_due(self, now: datetime, zone: tzinfo) -> date | None:
        """The closed day to read once more now, if any."""
        day = self.reread_day
        if day is None:
            return None
        today = now.astimezone(zone).date()
        if (today - day).days > REREAD_GIVE_UP_DAYS:
            self.reread_day = None
            return None
        if now < _midnight(day + timedelta(days=1), zone) + REREAD_AFTER:
            return None
        return day

    def reread_done(self) -> None:
        """The closed day was read once more."""
        self.reread_day = None

    # ------------------------------------------------------------ outages

    def grid_seen(self, status: str) -> None:
        """The site's grid status now: a change makes the outage history due."""
        if self.grid_status is not None and status != self.grid_status:
            self.outages_due = True
        self.grid_status = status

    def outages_wanted(self, today: date) -> bool:
        """Whether to read the outage history: once a day, and after a grid change."""
        return self.outages_due or self.outages_read != today

    def outages_now(self, summary: OutageSummary, today: date) -> None:
        """The outage history was read on the site's ``today``."""
        self.outages = summary
        self.outages_read = today
        self.outages_due = False
