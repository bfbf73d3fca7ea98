"""Grid outages: the summary of the last 30 days from Tesla's outage history.

Owns :class:`OutageSummary` (count, total duration, last start; its stored
form) and :func:`summarise_outages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..fleet import BackupHistory
from ..fleet.values import parse_timestamp

OUTAGE_WINDOW = timedelta(days=30)


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
