"""The override record and the settings it touches, without Home Assistant's timers.

Owns the names of the five overridable settings, how each is read from
``site_info`` (:func:`read_setting`) and changed through its control in
commands.py (:func:`async_send_setting`), the order Tesla accepts them in
(:func:`send_order`), one site's :class:`Override` as the store keeps it, and
what a restore attempt did (:class:`RestoreResult`). override.py runs the
overrides; override_actions.py and the entities read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..commands import (
    MAX_RESERVE_OUTSIDE_BACKUP,
    async_option_label,
    async_set_backup_reserve,
    async_set_export_rule,
    async_set_grid_charging,
    async_set_operation_mode,
    async_set_storm_watch,
)
from ..const import DOMAIN
from ..fleet import SiteInfo

if TYPE_CHECKING:
    from ..coordinator import SiteCoordinators

# The settings an override can change, in the order they are shown.
OPERATION_MODE = "operation_mode"
BACKUP_RESERVE = "backup_reserve"
EXPORT_RULE = "export_rule"
GRID_CHARGING = "grid_charging"
STORM_WATCH = "storm_watch"
FIELDS = (OPERATION_MODE, BACKUP_RESERVE, EXPORT_RULE, GRID_CHARGING, STORM_WATCH)
# The settings in words, as logs, repair issues and errors show them.
SETTING_WORDS = {
    OPERATION_MODE: "operation mode",
    BACKUP_RESERVE: "backup reserve",
    EXPORT_RULE: "energy exports",
    GRID_CHARGING: "grid charging",
    STORM_WATCH: "storm watch",
}


type Value = str | int | bool


def read_setting(info: SiteInfo | None, name: str) -> Value | None:
    """The value ``info`` reports for one overridable setting; None when unknown."""
    if info is None:
        return None
    components = info.components
    match name:
        case "operation_mode":
            return info.default_real_mode
        case "backup_reserve":
            reserve = info.backup_reserve_percent
            return None if reserve is None else round(reserve)
        case "export_rule":
            return components.export_rule if components else None
        case "grid_charging":
            return components.grid_charging_allowed if components else None
        case "storm_watch":
            return info.storm_mode_enabled
    raise ValueError(name)  # pragma: no cover - names come from FIELDS


def send_order(values: dict[str, Value]) -> list[str]:
    """The order to send ``values`` in, so that Tesla accepts each step.

    A reserve of 81-99 % needs backup-only mode first; any other reserve goes
    before the mode (a site leaving backup-only mode must not hold 81-99 %).
    """
    reserve = values.get(BACKUP_RESERVE)
    needs_backup = (
        isinstance(reserve, int) and MAX_RESERVE_OUTSIDE_BACKUP < reserve < 100
    )
    first = (
        (OPERATION_MODE, BACKUP_RESERVE)
        if needs_backup
        else (BACKUP_RESERVE, OPERATION_MODE)
    )
    order = [*first, EXPORT_RULE, GRID_CHARGING, STORM_WATCH]
    return [name for name in order if name in values]


async def async_send_setting(site: SiteCoordinators, name: str, value: Value) -> None:
    """Change one setting through its control (commands.py)."""
    match name:
        case "operation_mode":
            await async_set_operation_mode(site, str(value))
        case "backup_reserve":
            await async_set_backup_reserve(site, int(value))
        case "export_rule":
            await async_set_export_rule(site, str(value))
        case "grid_charging":
            await async_set_grid_charging(site, bool(value))
        case "storm_watch":
            await async_set_storm_watch(site, bool(value))


@dataclass
class Override:
    """One site's running override (or its restore still to do)."""

    values: dict[str, Value]
    restore: dict[str, Value]
    ends_at: datetime | None = None
    target_percent: float | None = None
    # True: ends when the charge rises to the target; False: when it falls to it.
    target_rising: bool = True
    started_at: datetime = field(default_factory=dt_util.utcnow)
    ended_at: datetime | None = None
    attempts: int = 0
    next_attempt: datetime | None = None

    @property
    def restoring(self) -> bool:
        """Whether the end was reached and some values are still to restore."""
        return self.ended_at is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the store."""
        return {
            "values": self.values,
            "restore": self.restore,
            "ends_at": _iso(self.ends_at),
            "target_percent": self.target_percent,
            "target_rising": self.target_rising,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Override:
        """Read back what :meth:`as_dict` saved."""
        return cls(
            values=dict(data["values"]),
            restore=dict(data["restore"]),
            ends_at=_parse(data.get("ends_at")),
            target_percent=data.get("target_percent"),
            target_rising=bool(data.get("target_rising", True)),
            started_at=_parse(data.get("started_at")) or dt_util.utcnow(),
            ended_at=_parse(data.get("ended_at")),
            attempts=int(data.get("attempts", 0)),
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: Any) -> datetime | None:
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


@dataclass
class RestoreResult:
    """What one restore attempt did."""

    restored: dict[str, Value] = field(default_factory=dict)
    kept: dict[str, Value] = field(default_factory=dict)  # changed by the owner
    failed: dict[str, Value] = field(default_factory=dict)
    error: HomeAssistantError | None = None

    async def async_failure(self, site: SiteCoordinators) -> str | None:
        """The values not restored and why, as a user reads it; None when all went well."""
        if not self.failed:
            return None
        values = await async_describe(site, self.failed)
        return f"{site.name}: {values} ({self.error})"


async def async_describe(site: SiteCoordinators, values: dict[str, Value]) -> str:
    """Settings with their values in plain words.

    For example "backup reserve 20 %, operation mode Self-powered": options
    under the names their select shows (translated), switches on or off.
    """
    parts = []
    for name in (name for name in FIELDS if name in values):
        value = values[name]
        if isinstance(value, bool):
            shown = "on" if value else "off"
        elif name == BACKUP_RESERVE:
            shown = f"{value} %"
        elif name in (OPERATION_MODE, EXPORT_RULE):
            shown = await async_option_label(site, name, str(value))
        else:
            shown = str(value)
        parts.append(f"{SETTING_WORDS[name]} {shown}")
    return ", ".join(parts)


def not_restored_error(failures: list[str]) -> HomeAssistantError:
    """The error of a cancel whose restore failed (action and button)."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="override_not_restored",
        translation_placeholders={"values": "; ".join(failures)},
    )
