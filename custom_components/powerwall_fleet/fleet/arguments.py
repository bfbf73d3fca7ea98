"""Arguments of the client's calls, checked before anything is sent.

Owns the site path, percent, aware-datetime, time-zone and history-query
checks: a bad argument raises :class:`InvalidArgument` and no request leaves.
No I/O, no Home Assistant import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, TypeAlias
from urllib.parse import quote

from .errors import InvalidArgument

HISTORY_PERIODS: Final = ("day", "week", "month", "year", "lifetime")

SiteId: TypeAlias = int | str


def site_path(site_id: SiteId) -> str:
    """The path of one energy site's endpoints."""
    if isinstance(site_id, bool) or not isinstance(site_id, int | str) or site_id == "":
        raise InvalidArgument("site_id must be an int or a non-empty str")
    return "/api/1/energy_sites/" + quote(str(site_id), safe="")


def percent_argument(value: object, name: str) -> int:
    """A whole percent 0-100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{name} must be a number", error="invalid_value")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidArgument(f"{name} must be a whole number", error="invalid_value")
    percent = int(value)
    if not 0 <= percent <= 100:
        raise InvalidArgument(f"{name} must be between 0 and 100", error="out_of_range")
    return percent


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidArgument(f"{name} must be a timezone-aware datetime")


def require_time_zone(time_zone: str) -> str:
    """A non-empty zone name."""
    if not isinstance(time_zone, str) or not time_zone:
        raise InvalidArgument("time_zone must be an IANA zone name")
    return time_zone


def history_params(
    kind: str,
    period: str,
    end: datetime,
    time_zone: str,
    start: datetime | None,
) -> dict[str, str]:
    """The query of one calendar_history read."""
    if period not in HISTORY_PERIODS:
        raise InvalidArgument(
            f"Unknown period {period!r}; expected one of " + ", ".join(HISTORY_PERIODS)
        )
    require_aware(end, "end")
    params = {
        "kind": kind,
        "period": period,
        "end_date": end.isoformat(),
        "time_zone": require_time_zone(time_zone),
    }
    if start is not None:
        require_aware(start, "start")
        params["start_date"] = start.isoformat()
    return params
