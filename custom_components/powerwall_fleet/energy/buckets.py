"""The ledger's recent buckets: each one's energy and the prices it was counted with.

Owns :class:`CountedBucket`, the window's stored form and :func:`hour_rows`
(the energy and money totals at the end of each hour).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..fleet.values import parse_timestamp
from .energy_flows import COMPENSATION, COST, EXPORTED, FLOWS, HOUR, IMPORTED

# Bits of the stored flags.
_BUY_SOURCE = 1
_SELL_SOURCE = 2


@dataclass(frozen=True)
class CountedBucket:
    """One bucket as counted: energy per flow, the prices it was counted with."""

    values: tuple[float, ...]
    buy: float | None = None
    sell: float | None = None
    # Whether imports / exports had a price source (tariff or entity) when
    # counted: only then is a missing price "unpriced".
    buy_source: bool = False
    sell_source: bool = False

    @property
    def imported_kwh(self) -> float:
        """Energy from the grid (kWh)."""
        return self.values[IMPORTED] / 1000

    @property
    def exported_kwh(self) -> float:
        """Energy to the grid (kWh)."""
        return self.values[EXPORTED] / 1000

    @property
    def cost(self) -> float:
        """What the imports cost (0 without a price)."""
        return self.imported_kwh * self.buy if self.buy is not None else 0.0

    @property
    def compensation(self) -> float:
        """What the exports earned (0 without a price)."""
        return self.exported_kwh * self.sell if self.sell is not None else 0.0

    @property
    def unpriced_import(self) -> bool:
        """Imports a price source could not price."""
        return self.buy_source and self.buy is None and self.values[IMPORTED] > 0

    @property
    def unpriced_export(self) -> bool:
        """Exports a price source could not price."""
        return self.sell_source and self.sell is None and self.values[EXPORTED] > 0

    def amounts(self) -> dict[str, float]:
        """Wh per flow and money per statistic, keyed like the statistics."""
        found = {
            flow.key: value for flow, value in zip(FLOWS, self.values, strict=True)
        }
        found[COST] = self.cost
        found[COMPENSATION] = self.compensation
        return found

    def revised(self, values: tuple[float, ...]) -> CountedBucket:
        """The same bucket with Tesla's new values, priced as it was."""
        return CountedBucket(
            values, self.buy, self.sell, self.buy_source, self.sell_source
        )

    def as_list(self, start: datetime) -> list[Any]:
        """JSON-ready: start, values, buy, sell, flags."""
        flags = (_BUY_SOURCE if self.buy_source else 0) | (
            _SELL_SOURCE if self.sell_source else 0
        )
        return [start.isoformat(), list(self.values), self.buy, self.sell, flags]


def _price(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def window_from_list(data: Any, flow_keys: Any) -> dict[datetime, CountedBucket]:
    """Read what :func:`window_as_list` saved; unreadable entries are skipped.

    ``flow_keys`` is the flow order the file was written with: flows added
    since then are 0, flows gone are dropped.
    """
    keys = (
        [key for key in flow_keys if isinstance(key, str)]
        if isinstance(flow_keys, list)
        else [flow.key for flow in FLOWS]
    )
    window: dict[datetime, CountedBucket] = {}
    for item in data if isinstance(data, list) else ():
        if not isinstance(item, list) or len(item) != 5:
            continue
        raw_start, raw_values, buy, sell, flags = item
        start = parse_timestamp(raw_start) if isinstance(raw_start, str) else None
        if start is None or start.tzinfo is None or not isinstance(raw_values, list):
            continue
        stored = dict(zip(keys, raw_values, strict=False))
        values = tuple(
            float(value)
            if isinstance(value := stored.get(flow.key), int | float)
            and not isinstance(value, bool)
            else 0.0
            for flow in FLOWS
        )
        flags = flags if isinstance(flags, int) else 0
        window[start.astimezone(UTC)] = CountedBucket(
            values,
            _price(buy),
            _price(sell),
            bool(flags & _BUY_SOURCE),
            bool(flags & _SELL_SOURCE),
        )
    return window


def window_as_list(window: Mapping[datetime, CountedBucket]) -> list[list[Any]]:
    """JSON-ready form, oldest first."""
    return [window[start].as_list(start) for start in sorted(window)]


def hour_start(when: datetime) -> datetime:
    """The UTC hour ``when`` falls in."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_rows(
    totals: Mapping[str, float],
    window: Mapping[datetime, CountedBucket],
    first: datetime,
    last: datetime,
) -> dict[datetime, dict[str, float]]:
    """The totals at the end of each hour from ``first`` to ``last`` (UTC hours).

    ``totals`` are the grand totals, which include every bucket of ``window``:
    the total at an hour's end is the grand total less the buckets after it.
    Every hour is given a row, with or without buckets of its own.
    """
    if first > last:
        return {}
    later = sorted(
        (start, bucket) for start, bucket in window.items() if start >= first + HOUR
    )
    # Totals at the end of ``last``, then walk back hour by hour.
    after: dict[str, float] = dict.fromkeys(totals, 0.0)
    amounts = [(start, bucket.amounts()) for start, bucket in later]
    index = len(amounts)
    hour = last
    pending: list[tuple[datetime, dict[str, float]]] = []
    while hour >= first:
        end = hour + HOUR
        while index > 0 and amounts[index - 1][0] >= end:
            index -= 1
            for key, value in amounts[index][1].items():
                if key in after:
                    after[key] += value
        pending.append((hour, {key: totals[key] - after[key] for key in totals}))
        hour -= HOUR
    return dict(reversed(pending))


def affected_hours(starts: Iterable[datetime]) -> datetime | None:
    """The earliest hour a changed bucket falls in."""
    return min((hour_start(start) for start in starts), default=None)
