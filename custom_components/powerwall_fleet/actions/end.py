"""When an action's change ends: the ``duration`` and ``until`` fields, read once.

:data:`END_FIELDS` goes into an action's schema; :func:`end_time` turns a
call's fields into the end (UTC, rounded up to a whole second) or ``None``
when the call gives neither. ``until`` is a date and time, or a time of day
meaning the next such time; without a time zone it is Home Assistant's.
Refused with a translated error before any request: both fields at once, an
``until`` that is neither, an end not in the future. The ``override`` action
reads its end here, and so will any other action that takes one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..commands import validation_error

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol
else:
    import voluptuous as vol

DURATION = "duration"
UNTIL = "until"


def _until_value(value: Any) -> datetime | time | str:
    """A date and time or a time of day as given; text is read by :func:`end_time`.

    Reading the text there (not here) gives a bad one a translated refusal.
    """
    if isinstance(value, datetime | time):
        return value
    text: str = cv.string(value)
    return text.strip()


END_FIELDS: dict[vol.Marker, Any] = {
    vol.Optional(DURATION): cv.time_period,
    vol.Optional(UNTIL): _until_value,
}


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(when)


def _next_time_of_day(at: time, now: datetime) -> datetime:
    """The first moment after ``now`` whose clock (Home Assistant's zone) shows ``at``."""
    zone = at.tzinfo or dt_util.get_default_time_zone()
    day = now.astimezone(zone).date()
    # Today's, else tomorrow's (the day after covers a clock time that a
    # daylight-saving change skips today).
    for days in range(3):
        when = _as_utc(datetime.combine(day + timedelta(days=days), at, tzinfo=zone))
        if when > now:
            return when
    raise AssertionError("a time of day comes within three days")  # pragma: no cover


def _until(value: datetime | time | str, now: datetime) -> datetime:
    if isinstance(value, str):
        parsed: datetime | time | None = dt_util.parse_datetime(value)
        if parsed is None:
            parsed = dt_util.parse_time(value)
        if parsed is None:
            raise validation_error("until_invalid", value=value)
        value = parsed
    if isinstance(value, datetime):
        return _as_utc(value)
    return _next_time_of_day(value, now)


def _whole_second(when: datetime) -> datetime:
    """``when`` rounded up to a whole second (what the timestamp sensor shows)."""
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return when


def end_time(data: dict[str, Any], now: datetime) -> datetime | None:
    """The end a call gives (UTC), ``None`` without ``duration`` and ``until``."""
    duration: timedelta | None = data.get(DURATION)
    until: datetime | time | str | None = data.get(UNTIL)
    if duration is not None and until is not None:
        raise validation_error("override_one_end")
    if duration is not None:
        if duration <= timedelta(0):
            raise validation_error("override_until_past")
        return _whole_second(now + duration)
    if until is not None:
        when = _until(until, now)
        if when <= now:
            raise validation_error("override_until_past")
        return _whole_second(when)
    return None
