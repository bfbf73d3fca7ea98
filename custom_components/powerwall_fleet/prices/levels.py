"""Grouping prices into Tesla's four price levels.

Owns the rule (README, "Sync prices to the Powerwall"):

1. Tesla stores no negative price (FLEET_API.md, tariff shape): a price below
   0 counts as 0.
2. Prices of 0 (and those raised to 0) form a level of their own at exactly
   0, so a free or negative price never becomes a positive one and a positive
   one never becomes free: the sign is kept.
3. The positive prices, sorted, are cut into at most four runs (three when a
   0 level exists) so that the widest run is as narrow as possible; each run's
   level is the middle of its lowest and highest price.

A higher price never gets a lower level (runs follow the sorted order), so
the order of the prices is kept, and no price moves by more than half the
widest run: the smallest worst error any grouping into that many levels can
make.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..fleet.tariff import PERIOD_NAMES

MAX_LEVELS = len(PERIOD_NAMES)
# Level names, highest price first, by the number of levels.
NAMES: dict[int, tuple[str, ...]] = {
    1: ("OFF_PEAK",),
    2: ("ON_PEAK", "OFF_PEAK"),
    3: ("ON_PEAK", "PARTIAL_PEAK", "OFF_PEAK"),
    4: PERIOD_NAMES,
}
# Level prices are rounded to this many decimals (Tesla's read-back compares
# at 6).
DIGITS = 5


@dataclass(frozen=True)
class Levels:
    """The level of each price: ``price`` -> level price, and the level names."""

    of: dict[float, float]
    # (name, level price), highest first.
    names: tuple[tuple[str, float], ...]

    @property
    def worst_error(self) -> float:
        """The largest distance of a (non-negative) price from its level."""
        return max(
            (abs(max(price, 0.0) - level) for price, level in self.of.items()),
            default=0.0,
        )

    def name_of(self, price: float) -> str:
        """The period name of a grouped price."""
        level = self.of[price]
        return next(name for name, value in self.names if value == level)

    def nearest(self, price: float) -> str:
        """The period name whose level is nearest ``price`` (a fallback hour)."""
        return min(self.names, key=lambda item: (abs(item[1] - price), -item[1]))[0]


def group(prices: Iterable[float], levels: int = MAX_LEVELS) -> Levels:
    """Group ``prices`` into at most ``levels`` levels (module docstring)."""
    values = sorted(set(prices))
    clamped = sorted({max(price, 0.0) for price in values})
    positives = [price for price in clamped if price > 0]
    has_zero = len(positives) < len(clamped)
    runs = _runs(positives, levels - 1 if has_zero else levels)
    level_of: dict[float, float] = {0.0: 0.0} if has_zero else {}
    for run in runs:
        middle = round((run[0] + run[-1]) / 2, DIGITS)
        if middle <= 0:  # a tiny positive price rounds up, not to 0
            middle = 10**-DIGITS
        for price in run:
            level_of[price] = middle
    distinct = sorted(set(level_of.values()), reverse=True)
    names = tuple(zip(NAMES[max(1, len(distinct))], distinct, strict=False))
    return Levels(
        of={price: level_of[max(price, 0.0)] for price in values}, names=names
    )


def _runs(values: list[float], count: int) -> list[list[float]]:
    """Sorted ``values`` cut into at most ``count`` runs, the widest run narrowest."""
    if not values:
        return []
    if len(values) <= count:
        return [[value] for value in values]
    # The narrowest possible widest run is one of the distances between two
    # values: search them, smallest first, with a greedy cut for each.
    widths = sorted({b - a for i, a in enumerate(values) for b in values[i:]})
    lo, hi = 0, len(widths) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_cut(values, widths[mid])) <= count:
            hi = mid
        else:
            lo = mid + 1
    return _cut(values, widths[lo])


def _cut(values: list[float], width: float) -> list[list[float]]:
    runs: list[list[float]] = []
    for value in values:
        if runs and value - runs[-1][0] <= width + 1e-12:
            runs[-1].append(value)
        else:
            runs.append([value])
    return runs
