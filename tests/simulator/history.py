"""calendar_history: parameter parsing, period aggregation, late and revised buckets.

Day answers apply the bucket faults (``faults.BucketFault``): a bucket missing
until it is published late, a bucket whose values change once revised.
:func:`bucket_truth` is the ground truth tests compare against: per field,
the sums of the buckets as Tesla reports them in the end (revisions in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .faults import BucketFault
from .site import BUCKET, HISTORY_FIELD_NAMES, SiteState, local_iso

if TYPE_CHECKING:
    from .state import SimulatorState

PERIODS = ("day", "week", "month", "year", "lifetime")


class HistoryError(ValueError):
    """Invalid calendar_history parameters (answered with 400)."""


def parse_time(value: str, zone: tzinfo, name: str) -> datetime:
    """Parse an RFC 3339 timestamp (a missing offset is read in ``zone``)."""
    try:
        parsed = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        raise HistoryError(
            f"{name} is not a valid RFC 3339 timestamp: {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _midnight(day: date, zone: tzinfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _aggregate(
    site: SiteState, spans: list[tuple[float, float]], zone: tzinfo
) -> list[dict[str, Any]]:
    series = []
    for start, end in spans:
        i0, i1 = site.bucket_range(start, end)
        if i1 <= i0:
            continue
        entry: dict[str, Any] = {"timestamp": local_iso(start, zone)}
        entry.update(site.sum_values(i0, i1))
        series.append(entry)
    return series


def _published(
    site: SiteState, series: list[dict[str, Any]], faults: Sequence[BucketFault]
) -> list[dict[str, Any]]:
    """A day's buckets as Tesla publishes them now: late ones left out, revisions in."""
    mine = [fault for fault in faults if fault.site_id == site.config.site_id]
    if not mine:
        return series
    now = site.clock.timestamp()
    published = []
    for entry in series:
        start = datetime.fromisoformat(entry["timestamp"]).timestamp()
        hidden = False
        for fault in mine:
            if fault.start.timestamp() != start:
                continue
            if fault.hidden(now):
                hidden = True
            fault.apply(entry, now)
        if not hidden:
            published.append(entry)
    return published


def bucket_truth(
    sim: SimulatorState, site_id: int, start: datetime, end: datetime
) -> dict[str, int]:
    """Per-field sums of the buckets in [start, end) as Tesla reports them in the end."""
    site = sim.site(site_id)
    totals = site.totals(start.timestamp(), end.timestamp())
    for fault in sim.bucket_faults:
        when = fault.start.timestamp()
        if fault.site_id != site_id or not start.timestamp() <= when < end.timestamp():
            continue
        if when + BUCKET > site.clock.timestamp():
            continue  # still open: not in the totals either
        index = site.bucket_range(when, when + BUCKET)[0]
        entry: dict[str, Any] = dict(site.bucket_values(index))
        before = dict(entry)
        fault.apply(entry, None)
        for name, value in entry.items():
            totals[name] += value - before[name]
    return totals


def final_buckets(
    sim: SimulatorState, site_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, dict[str, int]]]:
    """Each closed bucket in [start, end) with its fields as Tesla reports them in the end."""
    site = sim.site(site_id)
    faults = [fault for fault in sim.bucket_faults if fault.site_id == site_id]
    i0, i1 = site.bucket_range(start.timestamp(), end.timestamp())
    found = []
    for index in range(i0, i1):
        when = site.bucket_start(index)
        entry: dict[str, Any] = dict(site.bucket_values(index))
        for fault in faults:
            if fault.start.timestamp() == when:
                fault.apply(entry, None)
        found.append((datetime.fromtimestamp(when, UTC), entry))
    return found


def energy_history(
    site: SiteState,
    query: Mapping[str, str],
    faults: Sequence[BucketFault] = (),
) -> dict[str, Any]:
    """The ``response`` of calendar_history kind=energy for ``query``."""
    period = query.get("period", "day")
    if period not in PERIODS:
        raise HistoryError(f"period must be one of {', '.join(PERIODS)}")
    zone = request_zone(site, query)
    end_raw = query.get("end_date")
    if not end_raw:
        raise HistoryError("end_date is required")
    end = parse_time(end_raw, zone, "end_date").timestamp()
    start_raw = query.get("start_date")
    start_limit = (
        parse_time(start_raw, zone, "start_date").timestamp() if start_raw else None
    )
    local_end = datetime.fromtimestamp(end, zone)
    end_day = local_end.date()
    response: dict[str, Any] = {
        "period": period,
        "installation_time_zone": site.config.time_zone,
    }
    if period == "day":
        day_start = _midnight(end_day, zone)
        lower = day_start if start_limit is None else max(day_start, start_limit)
        response["time_series"] = _published(
            site, site.buckets(lower, end, zone), faults
        )
        return response
    spans: list[tuple[float, float]] = []
    if period in ("week", "month"):
        if period == "week":
            first_day = end_day - timedelta(days=6)
        else:
            first_day = end_day.replace(day=1)
        if start_limit is not None:
            first_day = max(first_day, datetime.fromtimestamp(start_limit, zone).date())
        day = first_day
        while day <= end_day:
            lo = _midnight(day, zone)
            hi = min(_midnight(day + timedelta(days=1), zone), end)
            spans.append((lo, hi))
            day += timedelta(days=1)
    elif period == "year":
        for month in range(1, end_day.month + 1):
            lo = _midnight(date(end_day.year, month, 1), zone)
            nxt = date(end_day.year + (month == 12), month % 12 + 1, 1)
            spans.append((lo, min(_midnight(nxt, zone), end)))
    else:  # lifetime
        first_year = datetime.fromtimestamp(site.history_start, zone).year
        spans.extend(
            (
                _midnight(date(year, 1, 1), zone),
                min(_midnight(date(year + 1, 1, 1), zone), end),
            )
            for year in range(first_year, end_day.year + 1)
        )
    if start_limit is not None:
        spans = [(max(lo, start_limit), hi) for lo, hi in spans]
    response["time_series"] = _aggregate(site, spans, zone)
    return response


def request_zone(site: SiteState, query: Mapping[str, str]) -> tzinfo:
    """Zone of a history request: time_zone parameter, else the site's zone, else UTC."""
    name = query.get("time_zone")
    if name:
        try:
            return ZoneInfo(name)
        except ZoneInfoNotFoundError, ValueError:
            raise HistoryError(
                f"time_zone is not a valid IANA zone: {name!r}"
            ) from None
    return site.report_zone if site.config.time_zone else UTC


def backup_history(
    site: SiteState, query: Mapping[str, str], now: float
) -> dict[str, Any]:
    """The ``response`` of calendar_history kind=backup: grid outages as events."""
    zone = request_zone(site, query)
    end_raw = query.get("end_date")
    end = parse_time(end_raw, zone, "end_date").timestamp() if end_raw else now
    start_raw = query.get("start_date")
    start = (
        parse_time(start_raw, zone, "start_date").timestamp()
        if start_raw
        else float("-inf")
    )
    events = []
    for begin, finish in site.outages:
        assert begin is not None
        if not start <= begin <= end:
            continue
        stop = finish if finish is not None else now
        events.append(
            {
                "timestamp": local_iso(begin, zone),
                "duration": round((stop - begin) * 1000),
            }
        )
    return {"events": events, "total_events": len(events)}


__all__ = [
    "HISTORY_FIELD_NAMES",
    "HistoryError",
    "backup_history",
    "bucket_truth",
    "energy_history",
    "final_buckets",
]
