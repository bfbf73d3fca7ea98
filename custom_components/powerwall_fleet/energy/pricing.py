"""The site's tariff history: which tariff priced a bucket, from when.

Owns :class:`TariffHistory`: each version of ``site_info.tariff_content_v2``
with the instant it was first seen, and a bucket's buy and sell price from the
version in force at its start, so a tariff change never reprices the past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from ..fleet.tariff import Tariff, TariffError, parse_tariff, resolve
from ..fleet.values import parse_timestamp

# Versions kept beyond the ledger's window (the one in force at its start).
KEEP_BEFORE = 1


@dataclass
class TariffVersion:
    """One tariff as Tesla reported it, and when it was first seen (UTC)."""

    seen: datetime
    raw: dict[str, Any] | None
    _parsed: Tariff | None = field(default=None, init=False, repr=False)
    _tried: bool = field(default=False, init=False, repr=False)

    @property
    def tariff(self) -> Tariff | None:
        """The parsed tariff; None when absent or unreadable."""
        if not self._tried:
            self._tried = True
            try:
                self._parsed = parse_tariff(self.raw) if self.raw is not None else None
            except TariffError:
                self._parsed = None
        return self._parsed


@dataclass
class TariffHistory:
    """The tariff versions, oldest first."""

    versions: list[TariffVersion] = field(default_factory=list)

    @classmethod
    def from_list(cls, data: Any) -> TariffHistory:
        """Read what :meth:`as_list` saved (skipping what is not that)."""
        versions: list[TariffVersion] = []
        for item in data if isinstance(data, list) else ():
            if not isinstance(item, dict):
                continue
            seen = item.get("seen")
            when = parse_timestamp(seen) if isinstance(seen, str) else None
            raw = item.get("tariff")
            if when is None or when.tzinfo is None:
                continue
            if raw is not None and not isinstance(raw, dict):
                continue
            versions.append(TariffVersion(when.astimezone(UTC), raw))
        versions.sort(key=lambda version: version.seen)
        return cls(versions)

    def as_list(self) -> list[dict[str, Any]]:
        """JSON-ready form."""
        return [
            {"seen": version.seen.isoformat(), "tariff": version.raw}
            for version in self.versions
        ]

    def seen(self, raw: Any, now: datetime) -> bool:
        """site_info reported ``raw`` at ``now``: a new version when it differs."""
        tariff = raw if isinstance(raw, dict) else None
        if self.versions and self.versions[-1].raw == tariff:
            return False
        if not self.versions and tariff is None:
            return False  # never had one: nothing to remember
        self.versions.append(TariffVersion(now.astimezone(UTC), tariff))
        return True

    @property
    def current(self) -> Tariff | None:
        """The tariff in force now."""
        return self.versions[-1].tariff if self.versions else None

    @property
    def currency(self) -> str | None:
        """The currency code of the tariff in force now."""
        tariff = self.current
        return tariff.currency or None if tariff is not None else None

    def in_force(self, when: datetime) -> Tariff | None:
        """The tariff in force at ``when``: the last version seen by then, else the first."""
        chosen: TariffVersion | None = None
        for version in self.versions:
            if version.seen <= when or chosen is None:
                chosen = version
            else:
                break
        return chosen.tariff if chosen is not None else None

    def prices(
        self, start: datetime, zone: tzinfo
    ) -> tuple[float | None, float | None]:
        """Buy and sell price (per kWh) for a bucket starting at ``start``."""
        tariff = self.in_force(start)
        if tariff is None:
            return None, None
        point = resolve(tariff, start, zone)
        return point.buy, point.sell

    def forget_before(self, floor: datetime) -> None:
        """Drop versions superseded before ``floor`` (no bucket there is priced again)."""
        keep = 0
        for index, version in enumerate(self.versions):
            if version.seen <= floor:
                keep = index
        drop = max(keep - KEEP_BEFORE + 1, 0)
        if drop:
            del self.versions[:drop]
