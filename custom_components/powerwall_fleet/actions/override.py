"""The ``override`` and ``cancel_override`` actions: schemas, presets, checks, responses.

Targets (``device_id`` / ``config_entry_id``) come from target.py. A call is
checked for every targeted site before any request: the settings each site
has (the rules of the control table, commands.py; a battery for a target
charge level), the reserve Tesla accepts for the resulting mode (81-99 % only
in backup-only mode), that the call has an end (``duration`` or ``until``,
read by end.py, and/or ``target_percent``) not in the past, and the login's
command scope. Then the override engine (overrides/engine.py) sets the values
and remembers what to restore. Presets give values that explicit fields
override:

- ``charge_from_grid``: time-based control (``autonomous``), reserve 100 % and,
  on sites that have the setting, grid charging allowed (what owners do to
  force a grid charge under Tesla's current rules; FLEET_API.md, README
  "Overrides");
- ``preserve_battery``: the reserve at the battery's present charge (rounded;
  81-99 % becomes 80 % unless the resulting mode is backup-only, so the
  battery is never charged from the grid to reach it);
- ``storm_prep``: reserve 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..commands import (
    BACKUP_RESERVE,
    GRID_CHARGING,
    OPERATION_MODE,
    ChoiceControl,
    Control,
    PercentControl,
    SwitchControl,
    charge_level,
    checked_percent,
    require,
    validation_error,
)
from ..fleet.rules import (
    MAX_RESERVE_OUTSIDE_BACKUP,
    reserve_needs_backup_mode,
    whole_percent,
)
from ..overrides.engine import OverrideManager
from ..overrides.model import FIELDS, SETTINGS, Value, not_restored_error, read_setting
from ..site import has_battery
from .end import END_FIELDS, end_time
from .target import (
    TARGET_FIELDS,
    Target,
    async_for_each,
    check_command_scopes,
    resolve_targets,
    site_fields,
)

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol

    from ..coordinator import SiteCoordinators
else:
    import voluptuous as vol

SERVICE_OVERRIDE = "override"
SERVICE_CANCEL_OVERRIDE = "cancel_override"
PRESET_CHARGE_FROM_GRID = "charge_from_grid"
PRESET_PRESERVE_BATTERY = "preserve_battery"
PRESET_STORM_PREP = "storm_prep"
PRESETS = (PRESET_CHARGE_FROM_GRID, PRESET_PRESERVE_BATTERY, PRESET_STORM_PREP)

# Refusals that mean "this site lacks the setting": a site reached through its
# entry (not named as a device) is then left out instead of failing the call.
_MISSING_COMPONENT = (
    "override_needs_battery",
    *(control.missing for control in SETTINGS.values()),
)


def setting_validator(control: Control[Any]) -> Any:
    """What the override action takes for one setting of the control table.

    A percentage's range is checked with a translated message, not here.
    """
    if isinstance(control, ChoiceControl):
        return vol.In(control.options)
    if isinstance(control, SwitchControl):
        return cv.boolean
    if isinstance(control, PercentControl) and control.takes_charge_level:
        return vol.Any("current", vol.Coerce(float))
    return vol.Coerce(float)


def override_schema(target_fields: dict[vol.Marker, Any]) -> vol.Schema:
    """The override action's schema, with the shared target fields."""
    return vol.Schema(
        {
            **{
                vol.Optional(name): setting_validator(control)
                for name, control in SETTINGS.items()
            },
            **END_FIELDS,
            vol.Optional("target_percent"): vol.Coerce(float),
            vol.Optional("preset"): vol.In(PRESETS),
            **target_fields,
        }
    )


CANCEL_OVERRIDE_SCHEMA = vol.Schema(TARGET_FIELDS)


# ------------------------------------------------------------------ checks


@dataclass
class Plan:
    """What one site gets: checked values and the end."""

    site: SiteCoordinators
    manager: OverrideManager
    values: dict[str, Value]
    ends_at: datetime | None
    target_percent: float | None
    target_rising: bool


def _battery_level(site: SiteCoordinators) -> float:
    return charge_level(site, "override_no_battery_level")


def preset_values(site: SiteCoordinators, preset: str | None) -> dict[str, Any]:
    """The values a preset gives ``site`` (before the explicit fields)."""
    info = site.info.latest
    reserve = BACKUP_RESERVE.key
    if preset == PRESET_CHARGE_FROM_GRID:
        values: dict[str, Any] = {OPERATION_MODE.key: "autonomous", reserve: 100}
        if info is not None and GRID_CHARGING.exists(info):
            # Tesla's flag only matters where solar charges the battery.
            values[GRID_CHARGING.key] = True
        return values
    if preset == PRESET_PRESERVE_BATTERY:
        return {reserve: "preserve"}
    if preset == PRESET_STORM_PREP:
        return {reserve: 100}
    return {}


def _reserve(site: SiteCoordinators, asked: Any, mode: str | None) -> int:
    """The reserve to set: a percentage, ``current`` or the preset's ``preserve``."""
    if asked in ("current", "preserve"):
        value = whole_percent(_battery_level(site))
        if asked == "preserve" and reserve_needs_backup_mode(value, mode):
            # Rounding up to 100 % would charge from the grid: keep 80 %.
            value = MAX_RESERVE_OUTSIDE_BACKUP
    else:
        value = checked_percent(float(asked))
    if reserve_needs_backup_mode(value, mode):
        raise validation_error("reserve_needs_backup_mode", percent=str(value))
    return value


def _check_components(site: SiteCoordinators, values: dict[str, Any]) -> None:
    for name in values:
        # What it replaces must be known: a site not read yet is refused too.
        require(site, SETTINGS[name], unknown_refused=True)


def plan_override(
    site: SiteCoordinators, manager: OverrideManager, data: dict[str, Any]
) -> Plan:
    """Check one site's part of a call; refuse (no request) what Tesla would."""
    asked = preset_values(site, data.get("preset"))
    asked.update({name: data[name] for name in FIELDS if name in data})
    running = manager.overrides.get(site.site_id)
    if not asked and (running is None or running.restoring):
        # Without settings a call only moves the end of a running override.
        raise validation_error("override_nothing")
    _check_components(site, asked)
    info = site.info.latest
    mode = asked.get(OPERATION_MODE.key, info.default_real_mode if info else None)
    values: dict[str, Value] = {}
    for name, value in asked.items():
        if name == BACKUP_RESERVE.key:
            values[name] = _reserve(site, value, mode)
        else:
            values[name] = value
    held = read_setting(info, BACKUP_RESERVE.key)
    if (
        OPERATION_MODE.key in values
        and BACKUP_RESERVE.key not in values
        and isinstance(held, int)
        and reserve_needs_backup_mode(held, mode)
    ):
        # The site holds 81-99 %, which the new mode does not allow.
        raise validation_error("reserve_needs_backup_mode", percent=str(held))
    unknown = [name for name in values if read_setting(info, name) is None]
    if unknown:
        raise validation_error(
            "override_value_unknown",
            site=site.name,
            settings=", ".join(SETTINGS[name].words for name in unknown),
        )
    ends_at, target, rising = plan_end(site, data)
    return Plan(site, manager, values, ends_at, target, rising)


def plan_end(
    site: SiteCoordinators, data: dict[str, Any]
) -> tuple[datetime | None, float | None, bool]:
    """A call's end: the time, the charge level, whether the level is rising to it.

    Refused (no request): no end, an end in the past, a level outside 0-100,
    a level on a site without a battery or the level the battery is at.
    """
    info = site.info.latest
    ends_at = end_time(data, dt_util.utcnow())
    target: float | None = data.get("target_percent")
    rising = True
    if target is not None:
        if not has_battery(info):
            raise validation_error("override_needs_battery", site=site.name)
        if not 0 <= target <= 100:
            raise validation_error("reserve_out_of_range", percent=f"{target:g}")
        level = _battery_level(site)
        if level == target:
            raise validation_error(
                "override_target_reached", site=site.name, percent=f"{target:g}"
            )
        rising = target > level
    elif ends_at is None:
        raise validation_error("override_needs_end")
    return ends_at, target, rising


def _plans(targets: list[Target], data: dict[str, Any]) -> list[Plan]:
    plans: list[Plan] = []
    first: ServiceValidationError | None = None
    for entry, site, explicit in targets:
        try:
            plans.append(plan_override(site, entry.runtime_data.overrides, data))
        except ServiceValidationError as err:
            if explicit or err.translation_key not in _MISSING_COMPONENT:
                raise
            first = first or err
    if not plans and first is not None:
        raise first
    check_command_scopes([site for _, site, _ in targets])
    return plans


# ------------------------------------------------------------------ actions


async def async_handle_override(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    """Check every site first, then set each site's values."""
    plans = _plans(resolve_targets(hass, call), dict(call.data))

    async def _start(plan: Plan) -> dict[str, Any]:
        previous, override = await plan.manager.async_start(
            plan.site,
            plan.values,
            ends_at=plan.ends_at,
            target_percent=plan.target_percent,
            target_rising=plan.target_rising,
        )
        return {
            **site_fields(hass, plan.site),
            "values": dict(plan.values),
            "changed": [
                name
                for name, value in plan.values.items()
                if previous.get(name) != value
            ],
            "previous": previous,
            "restore": dict(override.restore),
            # The end as the override's store writes it (ISO 8601, or None).
            "ends_at": override.as_dict()["ends_at"],
            "target_percent": override.target_percent,
        }

    results = await async_for_each(plans, _start, "Starting an override")
    return cast("ServiceResponse", {"sites": results})


async def async_handle_cancel_override(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    """Restore the targeted sites now; a site without an override is left alone."""
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    for entry, site, _ in resolve_targets(hass, call):
        manager = entry.runtime_data.overrides
        was_active = site.site_id in manager.overrides
        result = await manager.async_cancel(site)
        results.append(
            {
                **site_fields(hass, site),
                "was_active": was_active,
                "restored": result.restored,
                "kept": result.kept,
                "not_restored": result.failed,
            }
        )
        if (failure := await result.async_failure(site)) is not None:
            failed.append(failure)
    if failed:
        raise not_restored_error(failed)
    return cast("ServiceResponse", {"sites": results})
