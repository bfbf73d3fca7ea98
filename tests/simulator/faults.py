"""Injected faults and request records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import enum
from http import HTTPStatus
import json as jsonlib
import re
from typing import Any


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default.DEFAULT
"""Sentinel: use the Tesla-style error body for the fault's status."""

_TESLA_REASONS = {
    400: "invalid_command",
    401: "invalid_token",
    402: "Payment required",
    403: "Unauthorized",
    404: "not_found",
    406: "not_acceptable",
    408: "device is offline or asleep",
    412: "A condition has not been met to process the request",
    421: "user out of region",
    422: "invalid resource",
    423: "account locked",
    424: "failed dependency",
    429: "Too Many Requests",
    500: "upstream internal error",
    502: "bad gateway",
    503: "Service Unavailable",
    504: "upstream timeout",
    540: "device unexpected response",
}


def reason_for(status: int) -> str:
    """Tesla-ish error key for an HTTP status."""
    if status in _TESLA_REASONS:
        return _TESLA_REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"error {status}"


def tesla_error(
    status: int, error: str | None = None, description: str = ""
) -> dict[str, Any]:
    """Tesla's error body."""
    return {
        "response": None,
        "error": error or reason_for(status),
        "error_description": description,
    }


@dataclass(slots=True)
class Fault:
    """A scripted misbehaviour for requests whose path matches ``path`` (a regex)."""

    path: str
    method: str | None = None
    status: int = 500
    json: Any = DEFAULT
    body: str | bytes | None = None
    headers: Mapping[str, str] | None = None
    delay: float = 0.0
    times: int | None = 1  # remaining uses; None = forever
    drop: bool = False
    hits: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Compile the path regex and normalise the method."""
        self.pattern = re.compile(self.path)
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def active(self) -> bool:
        """Whether the fault still applies."""
        return self.times is None or self.times > 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request."""
        if not self.active:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self.pattern.search(path) is not None

    def consume(self) -> None:
        """Count one use."""
        self.hits += 1
        if self.times is not None:
            self.times -= 1

    def payload(self) -> bytes | None:
        """Body bytes to send (None: no body)."""
        if self.body is not None:
            return self.body.encode() if isinstance(self.body, str) else self.body
        data = tesla_error(self.status) if self.json is DEFAULT else self.json
        return jsonlib.dumps(data).encode()


@dataclass(slots=True)
class RequestRecord:
    """One request the simulator answered (control endpoints excluded)."""

    method: str
    path: str
    query: dict[str, str]
    endpoint: str
    region: str | None
    site_id: int | None
    status: int
    billable: bool
    # what it is billed as when billable: "data" | "commands" | None (free)
    billing: str | None
    content_type: str | None
    authorization: bool
    json_body: Any
    ts: float  # POSIX seconds on the simulated clock
    form: dict[str, str] | None = None
    fault: bool = False

    @property
    def timestamp(self) -> datetime:
        """When the request arrived (aware UTC datetime on the simulated clock)."""
        whole = int(self.ts // 1)
        micro = round((self.ts - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=micro)


@dataclass(slots=True)
class BucketFault:
    """Tesla publishing one 5-minute energy bucket late, or revising it later.

    ``start`` is the bucket's start (aware). Until ``hidden_until`` the bucket
    is missing from every energy history answer (late publication). From
    ``revised_at`` on, ``delta`` (Wh per history field, may be negative) is
    added to what it reports (a revision; values stay at least 0). The
    simulator's ground truth (``history.bucket_truth``) is what Tesla reports
    in the end: the revised values.
    """

    site_id: int
    start: datetime
    hidden_until: datetime | None = None
    delta: Mapping[str, int] | None = None
    revised_at: datetime | None = None

    def hidden(self, now: float) -> bool:
        """Whether the bucket is not published yet at ``now`` (POSIX seconds)."""
        return self.hidden_until is not None and now < self.hidden_until.timestamp()

    def revised(self, now: float | None) -> bool:
        """Whether the revision is published at ``now`` (None: in the end)."""
        if self.delta is None:
            return False
        return (
            now is None or self.revised_at is None or now >= self.revised_at.timestamp()
        )

    def apply(self, entry: dict[str, Any], now: float | None) -> None:
        """Add the revision to a bucket's fields once it is published."""
        if self.delta is None or not self.revised(now):
            return
        for name, change in self.delta.items():
            entry[name] = max(int(entry.get(name, 0)) + change, 0)
