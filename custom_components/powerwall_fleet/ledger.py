"""The energy ledger: every one of Tesla's 5-minute buckets counted exactly once.

Owns the bookkeeping of a site's energy history: the flows table
(:data:`FLOWS`), the last bucket accounted for (``cursor``, a UTC instant, so
DST changes cannot confuse it), the next local day to ask for, the running
totals per flow and the hour still open; which days are done; the grid-outage
summary and when the outage history was last read; and the JSON form all of
this is stored in.

Pure Python (the standard library and the fleet client's models): no Home
Assistant import, no request, no storage, no statistics. The history
coordinator (``coordinator/history.py``) asks Tesla, hands the answers to the
ledger, imports the hours the ledger completed and saves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from .fleet import BackupHistory, EnergyHistory, EnergyInterval
from .fleet.values import parse_timestamp

if TYPE_CHECKING:
    from .site import Component

BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)
# A past day whose last bucket never came is given up this long after its end.
DAY_GRACE = timedelta(hours=1)
BACKFILL_DAYS = 30
OUTAGE_WINDOW = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class EnergyFlow:
    """One energy flow: a Tesla history field (or the sum of its parts)."""

    key: str
    field: str
    parts: tuple[str, ...] = ()
    components: tuple[Component, ...]
    name: str
    main: bool = False

    def energy(self, bucket: EnergyInterval) -> float:
        """Wh of this flow in ``bucket``; missing or negative counts as 0."""
        value: float | None = getattr(bucket, self.field)
        if value is None and self.parts:
            found = [getattr(bucket, part) for part in self.parts]
            if any(part is not None for part in found):
                value = sum(part or 0.0 for part in found)
        if value is None or value < 0:
            return 0.0
        return float(value)


FLOWS: tuple[EnergyFlow, ...] = (
    EnergyFlow(
        key="grid_energy_imported",
        field="grid_energy_imported",
        components=("grid",),
        name="Grid imported",
        main=True,
    ),
    EnergyFlow(
        key="grid_energy_exported",
        field="total_grid_energy_exported",
        parts=(
            "grid_energy_exported_from_solar",
            "grid_energy_exported_from_battery",
            "grid_energy_exported_from_generator",
        ),
        components=("grid",),
        name="Grid exported",
        main=True,
    ),
    EnergyFlow(
        key="solar_energy_produced",
        field="total_solar_generation",
        parts=("solar_energy_exported",),
        components=("solar",),
        name="Solar produced",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_charged",
        field="total_battery_charge",
        parts=(
            "battery_energy_imported_from_grid",
            "battery_energy_imported_from_solar",
            "battery_energy_imported_from_generator",
        ),
        components=("battery",),
        name="Battery charged",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_discharged",
        field="total_battery_discharge",
        parts=("battery_energy_exported",),
        components=("battery",),
        name="Battery discharged",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_consumed",
        field="total_home_usage",
        parts=(
            "consumer_energy_imported_from_grid",
            "consumer_energy_imported_from_solar",
            "consumer_energy_imported_from_battery",
            "consumer_energy_imported_from_generator",
        ),
        components=("home",),
        name="Home consumed",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_from_grid",
        field="consumer_energy_imported_from_grid",
        components=("grid",),
        name="Home from grid",
    ),
    EnergyFlow(
        key="home_energy_from_solar",
        field="consumer_energy_imported_from_solar",
        components=("solar",),
        name="Home from solar",
    ),
    EnergyFlow(
        key="home_energy_from_battery",
        field="consumer_energy_imported_from_battery",
        components=("battery",),
        name="Home from battery",
    ),
    EnergyFlow(
        key="battery_energy_from_grid",
        field="battery_energy_imported_from_grid",
        components=("battery", "grid"),
        name="Battery charged from grid",
    ),
    EnergyFlow(
        key="battery_energy_from_solar",
        field="battery_energy_imported_from_solar",
        components=("battery", "solar"),
        name="Battery charged from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_solar",
        field="grid_energy_exported_from_solar",
        components=("grid", "solar"),
        name="Grid exported from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_battery",
        field="grid_energy_exported_from_battery",
        components=("grid", "battery"),
        name="Grid exported from battery",
    ),
    EnergyFlow(
        key="generator_energy",
        field="generator_energy_exported",
        components=("home",),
        name="Generator",
    ),
    EnergyFlow(
        key="grid_services_energy_imported",
        field="grid_services_energy_imported",
        components=("grid_services",),
        name="Grid services imported",
    ),
    EnergyFlow(
        key="grid_services_energy_exported",
        field="grid_services_energy_exported",
        components=("grid_services",),
        name="Grid services exported",
    ),
)
FLOW_NAMES: dict[str, str] = {flow.key: flow.name for flow in FLOWS}


def buckets(
    history: EnergyHistory, zone: tzinfo
) -> list[tuple[datetime, EnergyInterval]]:
    """The buckets of an answer with their start in UTC (zone-less ones are local)."""
    found = []
    for bucket in history.time_series or ():
        start = bucket.timestamp_dt
        if start is None:
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        found.append((start.astimezone(UTC), bucket))
    return found


def backfill_start(today: date, zone: tzinfo, installed: datetime | None) -> date:
    """The first day to backfill: the last 30 days, or from ``installed`` when given."""
    if installed is not None and installed.tzinfo is not None:
        return min(installed.astimezone(zone).date(), today)
    return today - timedelta(days=BACKFILL_DAYS)


# ---------------------------------------------------------------- outages


@dataclass(frozen=True)
class OutageSummary:
    """Grid outages in the last 30 days."""

    count: int | None
    total_duration: timedelta | None
    last_start: datetime | None

    @classmethod
    def from_dict(cls, data: Any) -> OutageSummary | None:
        """Read what :meth:`as_dict` saved; None when it is not that."""
        if not isinstance(data, dict):
            return None
        count = data.get("count")
        seconds = data.get("total_duration")
        start = data.get("last_start")
        last = parse_timestamp(start) if isinstance(start, str) else None
        return cls(
            count=count if type(count) is int and count >= 0 else None,
            total_duration=(
                timedelta(seconds=seconds)
                if isinstance(seconds, int | float) and seconds >= 0
                else None
            ),
            last_start=last if last is not None and last.tzinfo is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "count": self.count,
            "total_duration": (
                self.total_duration.total_seconds()
                if self.total_duration is not None
                else None
            ),
            "last_start": self.last_start.isoformat() if self.last_start else None,
        }


def summarise_outages(history: BackupHistory, now: datetime) -> OutageSummary:
    """Count the outages of the last 30 days (response shape unverified).

    ``duration`` is taken as milliseconds. Events without a timestamp count
    (Tesla was asked for the window only) but cannot be the last one.
    """
    if history.events is None:
        return OutageSummary(history.total_events, None, None)
    since = now - OUTAGE_WINDOW
    count = 0
    total = timedelta()
    last: datetime | None = None
    for event in history.events:
        start = event.timestamp_dt
        if start is not None and start.tzinfo is not None:
            if not since <= start <= now:
                continue
            if last is None or start > last:
                last = start
        count += 1
        if event.duration is not None and event.duration > 0:
            total += timedelta(milliseconds=event.duration)
    return OutageSummary(count, total, last)


# ---------------------------------------------------------------- the ledger


def _totals(raw: Any) -> dict[str, float]:
    totals = dict.fromkeys(FLOW_NAMES, 0.0)
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in totals and isinstance(value, int | float):
                totals[key] = float(value)
    return totals


def _hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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


@dataclass
class EnergyLedger:
    """Which buckets are accounted for, the running totals (Wh) per flow, outages."""

    cursor: datetime | None = None
    next_day: date | None = None
    first_day: date | None = None
    time_zone: str | None = None
    backfilled: bool = False
    totals: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(FLOW_NAMES, 0.0)
    )
    # The hour (UTC) of the cursor while its statistics row is not written
    # yet, and the totals at its last bucket so far.
    open_hour: datetime | None = None
    open_totals: dict[str, float] = field(default_factory=dict)
    # The outage history: its summary, the site's local day it was last read,
    # whether it must be read again before that day ends (the grid came or
    # went), and the grid status last seen (to notice a change across a restart).
    outages: OutageSummary | None = None
    outages_read: date | None = None
    outages_due: bool = False
    grid_status: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyLedger:
        """Read what :meth:`as_dict` saved (tolerating a damaged or older file)."""
        zone = data.get("time_zone")
        open_hour = _instant(data.get("open_hour"))
        outages = OutageSummary.from_dict(data.get("outages"))
        grid = data.get("grid_status")
        return cls(
            cursor=_instant(data.get("cursor")),
            next_day=_day(data.get("next_day")),
            first_day=_day(data.get("first_day")),
            time_zone=zone if isinstance(zone, str) else None,
            backfilled=bool(data.get("backfilled")),
            totals=_totals(data.get("totals")),
            open_hour=open_hour,
            open_totals=_totals(data.get("open_totals")) if open_hour else {},
            outages=outages,
            outages_read=_day(data.get("outages_read")) if outages else None,
            outages_due=bool(data.get("outages_due")),
            grid_status=grid if isinstance(grid, str) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state for the Store."""
        return {
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "next_day": self.next_day.isoformat() if self.next_day else None,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "time_zone": self.time_zone,
            "backfilled": self.backfilled,
            "totals": dict(self.totals),
            "open_hour": self.open_hour.isoformat() if self.open_hour else None,
            "open_totals": dict(self.open_totals),
            "outages": self.outages.as_dict() if self.outages else None,
            "outages_read": self.outages_read.isoformat()
            if self.outages_read
            else None,
            "outages_due": self.outages_due,
            "grid_status": self.grid_status,
        }

    @property
    def started(self) -> bool:
        """Whether any bucket has been accounted for."""
        return self.cursor is not None

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

    def add_day(
        self,
        day: date,
        found: Iterable[tuple[datetime, EnergyInterval]],
        zone: tzinfo,
        now: datetime,
    ) -> dict[datetime, dict[str, float]]:
        """Account for the answer about ``day``; move on to the next day when done.

        Returns the hours completed (see :meth:`add`).
        """
        hours = self.add(found, now)
        today = now.astimezone(zone).date()
        if day < today and self._day_done(day, zone, now):
            self.next_day = day + timedelta(days=1)
        if day == today:
            # Totals are shown only once the backfill reached today: the
            # first value is the whole backfill, no pile-up in one hour.
            self.backfilled = True
        return hours

    def _day_done(self, day: date, zone: tzinfo, now: datetime) -> bool:
        """A past day is done once its last bucket is in, or surely never comes."""
        end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        return (
            self.cursor is not None and self.cursor >= end - BUCKET
        ) or now >= end + DAY_GRACE

    def add(
        self, found: Iterable[tuple[datetime, EnergyInterval]], now: datetime
    ) -> dict[datetime, dict[str, float]]:
        """Account for the closed buckets after the cursor, oldest first.

        Returns the hours (UTC) now complete, with the totals at their end:
        an hour is complete once its last bucket is counted or a later one is.
        """
        hours: dict[datetime, dict[str, float]] = {}
        for start, bucket in sorted(found, key=lambda item: item[0]):
            if self.cursor is not None and start <= self.cursor:
                continue  # already counted
            if start + BUCKET > now:
                break  # still open: counted once it has closed
            hour = _hour(start)
            if self.open_hour is not None and self.open_hour != hour:
                hours[self.open_hour] = self.open_totals
            for flow in FLOWS:
                self.totals[flow.key] += flow.energy(bucket)
            self.cursor = start
            self.open_hour = hour
            self.open_totals = dict(self.totals)
            if start + BUCKET == hour + HOUR:
                hours[hour] = self.open_totals
                self.open_hour = None
                self.open_totals = {}
        return hours

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
