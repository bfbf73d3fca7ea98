"""Simulated clock shared by the simulator's physics, tokens and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time

DEFAULT_START = datetime(2026, 6, 21, 12, 0, 0, tzinfo=UTC)


class SimClock:
    """A clock that only moves when told to (or follows the wall clock in realtime mode).

    In the default mode ``now()`` starts at ``start`` and moves only through
    :meth:`advance` and :meth:`set`.  With ``realtime=True`` it follows the wall
    clock (monotonic) from construction, starting at ``start`` (default: the real
    current time); ``advance`` still adds an offset on top.
    """

    def __init__(
        self, start: datetime | None = None, *, realtime: bool = False
    ) -> None:
        """Create a clock starting at ``start`` (an aware datetime)."""
        if start is None:
            start = (
                datetime.now(UTC).replace(microsecond=0) if realtime else DEFAULT_START
            )
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("SimClock start must be timezone-aware")
        self._start_ts = start.timestamp()
        self._offset = 0.0
        self._realtime = realtime
        self._mono0 = time.monotonic()

    @property
    def realtime(self) -> bool:
        """Whether the clock follows the wall clock."""
        return self._realtime

    def timestamp(self) -> float:
        """Return the current simulated time as POSIX seconds."""
        if self._realtime:
            return self._start_ts + (time.monotonic() - self._mono0) + self._offset
        return self._start_ts + self._offset

    def now(self) -> datetime:
        """Return the current simulated time (aware, UTC)."""
        ts = self.timestamp()
        whole = int(ts // 1)
        micro = round((ts - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=micro)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("SimClock cannot go backwards")
        self._offset += float(seconds)

    def set(self, when: datetime) -> None:
        """Move the clock forward to ``when`` (aware); going backwards raises ValueError."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("SimClock.set needs a timezone-aware datetime")
        delta = when.timestamp() - self.timestamp()
        if delta < 0:
            raise ValueError(f"SimClock cannot go backwards (to {when.isoformat()})")
        self._offset += delta

    def __repr__(self) -> str:
        """Debug representation."""
        mode = "realtime" if self._realtime else "simulated"
        return f"SimClock({self.now().isoformat()}, {mode})"
