"""Sane values from JSON: what a field of a Fleet API payload may hold.

Owns the conversions the models read every field through. A mistyped value,
a number that is not finite or outside its kind's physical range, text no
Tesla field holds, or an impossible timestamp becomes ``None``, so one bad
field makes only the entity that shows it unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Bounds:
    """The closed range of values a kind of number field can sanely hold."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        """Whether ``value`` (an int or float, compared exactly) lies in the range.

        NaN and infinities never do; a huge int is compared without
        converting it to a float, so it cannot overflow.
        """
        return isinstance(value, int | float) and self.low <= value <= self.high


# Power in W: flows, nameplate and meter limits. Tesla writes "no limit" as
# ±1 GW (``max_site_meter_power_ac``); 10 GW is more than any solar or battery
# site on Earth.
POWER = Bounds(-1e10, 1e10)
# Energy in Wh: charge left, pack and nameplate sizes, 5-minute history
# buckets. 10 GWh is several times the largest battery on Earth. Small
# negative meter readings pass (the energy ledger counts them as 0).
ENERGY = Bounds(-1e10, 1e10)
# Percent: charge level and reserves, 0-100 with 5 points of tolerance for
# rounding and calibration drift (a full battery may read 100.4).
PERCENT = Bounds(-5, 105)
# How many of something: batteries, outages.
COUNT = Bounds(0, 1_000_000)
# A duration in milliseconds (grid outages): up to about 31 years.
DURATION_MS = Bounds(0, 1e12)
# An enumerated code (part types, Wall Connector states, a command's code).
CODE = Bounds(-(2**31), 2**31 - 1)
# An identifier Tesla gives as a number (energy_site_id): 64 bits.
IDENTIFIER = Bounds(-(2**63), 2**63 - 1)
# Fallbacks for a number field whose kind is not declared: finite, and short
# enough to show. Every field of the models declares its kind (a test checks).
ANY_INT = IDENTIFIER
ANY_FLOAT = Bounds(-1e15, 1e15)

# Longer text is no Tesla field (and no Home Assistant state: 255 at most).
MAX_TEXT = 255


def to_int(value: Any, bounds: Bounds = ANY_INT) -> int | None:
    """A whole number within ``bounds`` (an integral float counts), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value in bounds and value.is_integer():
        return int(value)
    if isinstance(value, int) and value in bounds:
        return value
    return None


def to_float(value: Any, bounds: Bounds = ANY_FLOAT) -> float | None:
    """A number within ``bounds`` (ints stay ints), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if value in bounds else None


def to_str(value: Any) -> str | None:
    """Text up to :data:`MAX_TEXT` characters, without NUL, that is valid Unicode."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:  # an unpaired surrogate ("\ud800" in the JSON)
        return None
    return value


def to_bool(value: Any) -> bool | None:
    """Only a real boolean: ``"false"``, 0 or 1 are no answer."""
    return value if isinstance(value, bool) else None


def to_mapping(value: Any) -> Mapping[str, Any] | None:
    """A copy of a JSON object, else None."""
    return dict(value) if isinstance(value, Mapping) else None


# Timestamps outside these years are no readings; near datetime's own limits,
# converting between zones would overflow.
FIRST_YEAR = 2000
LAST_YEAR = 2999


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp as Tesla sends it; None when it is not one."""
    text = to_str(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if FIRST_YEAR <= parsed.year <= LAST_YEAR else None
