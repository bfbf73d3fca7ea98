"""The override record and the settings it touches, without Home Assistant's timers.

Owns which settings an override may change (the rows of the control table,
commands.py, with a ``restore_order``), how each is read for the record
(:func:`read_setting`), sent (:func:`async_send_setting`, through the table)
and ordered so that Tesla accepts each step (:func:`send_order`), one site's
:class:`Override` as the store keeps it, and what a restore attempt did
(:class:`RestoreResult`), and which sites can have an override at all
(:func:`has_override_settings`). A dispatch (dispatch.py) also sets a
temporary tariff: its key ``time_of_use`` holds Tesla's JSON, compared field
by field (:func:`same_value`). engine.py runs the overrides;
actions/override.py and the entities read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..commands import (
    BACKUP_RESERVE,
    CONTROLS,
    OPERATION_MODE,
    TIME_OF_USE,
    Control,
    async_set,
    async_set_time_of_use,
    held_differences,
)
from ..const import DOMAIN
from ..fleet import SiteInfo
from ..fleet.rules import reserve_only_in_backup, whole_percent
from ..fleet.tariff import TariffError, parse_tariff
from .dispatch import Dispatch

if TYPE_CHECKING:
    from ..coordinator import SiteCoordinators

# The settings an override can change, by name, in the order they are shown.
SETTINGS: dict[str, Control[Any]] = {
    control.key: control for control in CONTROLS if control.restore_order is not None
}
FIELDS = tuple(SETTINGS)


def has_override_settings(info: SiteInfo) -> bool:
    """Whether the site has a setting an override can change (its entities exist)."""
    return any(control.exists(info) for control in SETTINGS.values())


type Value = str | int | bool | dict[str, Any]  # a dict: a tariff (dispatch)

# What a restore may put back: the overridable settings and a dispatch's tariff.
RESTORABLE: dict[str, Control[Any]] = {**SETTINGS, TIME_OF_USE.key: TIME_OF_USE}


def read_setting(info: SiteInfo | None, name: str) -> Value | None:
    """The value ``info`` reports for one overridable setting; None when unknown."""
    if info is None:
        return None
    if name == TIME_OF_USE.key:
        held = info.tariff_content_v2
        return dict(held) if held is not None else None
    value: Value | float | None = SETTINGS[name].read(info)
    # A percentage is whole (half up), as it is sent and stored.
    return whole_percent(value) if isinstance(value, float) else value


def send_order(values: dict[str, Value]) -> list[str]:
    """The order to send ``values`` in, so that Tesla accepts each step.

    The table's restore order, except that a reserve only backup-only mode
    accepts (81-99 %) goes after the mode that allows it.
    """
    # A dispatch's tariff goes last, once time-based control is set.
    order = sorted(
        values, key=lambda name: RESTORABLE[name].restore_order or len(RESTORABLE)
    )
    reserve = values.get(BACKUP_RESERVE.key)
    if (
        isinstance(reserve, int)
        and reserve_only_in_backup(reserve)
        and OPERATION_MODE.key in order
        and BACKUP_RESERVE.key in order
    ):
        order.remove(OPERATION_MODE.key)
        order.insert(order.index(BACKUP_RESERVE.key), OPERATION_MODE.key)
    return order


def same_value(name: str, held: Value | None, value: Value | None) -> bool:
    """Whether the site holds ``value``; a tariff is compared field by field."""
    if name != TIME_OF_USE.key or not isinstance(value, dict):
        return held == value
    try:
        return not held_differences(parse_tariff(value), held)
    except TariffError:
        return held == value


async def async_send_setting(
    site: SiteCoordinators, name: str, value: Value, *, strategy: str | None = None
) -> None:
    """Change one setting through the control table (commands.py).

    A tariff is sent with ``strategy``, read back and compared field by
    field: a site holding something else raises (a restore tries again).
    """
    if name != TIME_OF_USE.key:
        await async_set(site, SETTINGS[name], value)
        return
    held = await async_set_time_of_use(site, parse_tariff(value), strategy=strategy)
    if not held.confirmed:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="tariff_not_held",
            translation_placeholders={
                "site": site.name,
                "differences": ", ".join(held.differences) or "-",
            },
        )


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
    # Failed restore attempts so far, and when the next one is due.
    attempts: int = 0
    next_attempt: datetime | None = None
    # A dispatch: the behaviour expected and its ladder (dispatch.py).
    dispatch: Dispatch | None = None

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
            "next_attempt": _iso(self.next_attempt),
            "dispatch": self.dispatch.as_dict() if self.dispatch else None,
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
            next_attempt=_parse(data.get("next_attempt")),
            dispatch=(
                Dispatch.from_dict(data["dispatch"]) if data.get("dispatch") else None
            ),
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
    for name in (name for name in RESTORABLE if name in values):
        control = RESTORABLE[name]
        if name == TIME_OF_USE.key:
            parts.append(f"{control.words} {_tariff_words(values[name])}")
            continue
        shown = await control.async_words(site, values[name])
        parts.append(f"{control.words} {shown}")
    return ", ".join(parts)


def _tariff_words(value: Value) -> str:
    name = value.get("name") if isinstance(value, dict) else None
    return f'"{name}"' if isinstance(name, str) and name else "(unnamed)"


def not_restored_error(failures: list[str]) -> HomeAssistantError:
    """The error of a cancel whose restore failed (action and button)."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="override_not_restored",
        translation_placeholders={"values": "; ".join(failures)},
    )
