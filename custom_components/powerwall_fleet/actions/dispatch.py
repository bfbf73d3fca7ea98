"""The ``dispatch`` action: charge, export or hold, checked, then run as an override.

A call names a ``mode``, an end as the override action takes it (``duration``
| ``until`` | ``target_percent``, read by override.py's :func:`plan_end`),
and optionally ``min_power`` (kW that count as acting) and
``confirm_within`` (how long each strategy has to act). Every targeted site
is checked before any request: a battery, the settings the ladder sets known,
a target on the right side of the charge for the mode, a ladder that has a
strategy at all (an export needs a tariff Tesla can take). Then the override
engine (overrides/engine.py) sends the first strategy of the ladder
(overrides/dispatch.py) and verifies it. ``cancel_override`` ends a dispatch
too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING, Any, cast

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..commands import BACKUP_RESERVE, charge_level, require, validation_error
from ..overrides.dispatch import (
    DEFAULT_CONFIRM_WITHIN,
    DEFAULT_MIN_POWER,
    EXPORT_MAX,
    MODES,
    TIME_OF_USE,
    Dispatch,
    Step,
    ladder,
)
from ..overrides.engine import OverrideManager
from ..overrides.model import SETTINGS, read_setting
from .end import END_FIELDS
from .override import plan_end
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

SERVICE_DISPATCH = "dispatch"
# What min_power and confirm_within may be.
MAX_MIN_POWER = 50.0  # kW
CONFIRM_RANGE = (timedelta(minutes=2), timedelta(hours=2))

DISPATCH_SCHEMA = vol.Schema(
    {
        vol.Required("mode"): vol.In(MODES),
        **END_FIELDS,
        vol.Optional("target_percent"): vol.Coerce(float),
        vol.Optional("min_power"): vol.Coerce(float),
        vol.Optional("confirm_within"): cv.time_period,
        **TARGET_FIELDS,
    }
)


@dataclass
class DispatchPlan:
    """One site's checked dispatch."""

    site: SiteCoordinators
    manager: OverrideManager
    dispatch: Dispatch
    ends_at: datetime | None
    target_percent: float | None
    target_rising: bool


def _options(data: dict[str, Any]) -> tuple[float, timedelta]:
    mode: str = data["mode"]
    min_power = float(data.get("min_power", DEFAULT_MIN_POWER[mode]))
    if not 0 < min_power <= MAX_MIN_POWER:
        raise validation_error(
            "dispatch_min_power", value=f"{min_power:g}", maximum=f"{MAX_MIN_POWER:g}"
        )
    confirm: timedelta = data.get("confirm_within", DEFAULT_CONFIRM_WITHIN)
    low, high = CONFIRM_RANGE
    if not low <= confirm <= high:
        raise validation_error(
            "dispatch_confirm_within",
            low=str(int(low / timedelta(minutes=1))),
            high=str(int(high / timedelta(minutes=1))),
        )
    return min_power, confirm


def plan_dispatch(
    site: SiteCoordinators, manager: OverrideManager, data: dict[str, Any]
) -> DispatchPlan:
    """Check one site's part of a call; refuse (no request) what cannot run."""
    mode: str = data["mode"]
    min_power, confirm = _options(data)
    require(site, BACKUP_RESERVE, unknown_refused=True)
    ends_at, target, rising = plan_end(site, data)
    # Whole percent, rounded up: a hold's reserve never lets the charge fall.
    level = math.ceil(charge_level(site, "override_no_battery_level"))
    if target is not None and mode == "hold":
        raise validation_error("dispatch_hold_target")
    if target is not None and rising != (mode == "charge"):
        raise validation_error(
            "dispatch_target_direction",
            site=site.name,
            percent=f"{target:g}",
            level=str(level),
        )
    now = dt_util.utcnow()
    if mode == "export":
        if ends_at is not None and ends_at - now > EXPORT_MAX:
            raise validation_error(
                "dispatch_export_too_long",
                hours=str(int(EXPORT_MAX.total_seconds() // 3600)),
            )
        # An export to a floor alone ends when its window does.
        ends_at = ends_at or (now + EXPORT_MAX).replace(microsecond=0)
    info = site.info.latest
    if info is None:  # pragma: no cover - require() refused an unknown site
        raise validation_error("no_battery", site=site.name)
    steps = ladder(
        info,
        mode,
        level=level,
        floor=target,
        start=now,
        end=ends_at or now + EXPORT_MAX,
    )
    if not steps:
        raise validation_error("dispatch_cannot_export", site=site.name)
    for name in {name for step in steps for name in step.values}:
        if name in SETTINGS:
            require(site, SETTINGS[name], unknown_refused=True)
        if read_setting(info, name) is None:
            raise validation_error(
                "override_value_unknown",
                site=site.name,
                settings=SETTINGS[name].words if name in SETTINGS else name,
            )
    dispatch = Dispatch(
        mode=mode,
        min_power=min_power,
        confirm_within=confirm,
        steps=steps,
        target_percent=target,
    )
    return DispatchPlan(site, manager, dispatch, ends_at, target, rising)


# Refusals that mean "this site cannot": a site reached through its entry (not
# named as a device) is then left out instead of failing the call.
_CANNOT = ("no_battery", "dispatch_cannot_export")


def _plans(targets: list[Target], data: dict[str, Any]) -> list[DispatchPlan]:
    plans: list[DispatchPlan] = []
    first: ServiceValidationError | None = None
    for entry, site, explicit in targets:
        try:
            plans.append(plan_dispatch(site, entry.runtime_data.overrides, data))
        except ServiceValidationError as err:
            if explicit or err.translation_key not in _CANNOT:
                raise
            first = first or err
    if not plans and first is not None:
        raise first
    check_command_scopes([plan.site for plan in plans])
    return plans


def _shown(step: Step) -> dict[str, Any]:
    """A strategy's values as the response shows them (a tariff by its name)."""
    return {
        name: ("temporary tariff" if name == TIME_OF_USE else value)
        for name, value in step.values.items()
    }


async def async_handle_dispatch(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    """Check every site first, then start each site's dispatch."""
    plans = _plans(resolve_targets(hass, call), dict(call.data))

    async def _start(plan: DispatchPlan) -> dict[str, Any]:
        step = plan.dispatch.current
        _, override = await plan.manager.async_start(
            plan.site,
            dict(step.values),
            ends_at=plan.ends_at,
            target_percent=plan.target_percent,
            target_rising=plan.target_rising,
            dispatch=plan.dispatch,
        )
        return {
            **site_fields(hass, plan.site),
            "mode": plan.dispatch.mode,
            "strategy": step.name,
            "set": _shown(step),
            "ladder": [s.name for s in plan.dispatch.steps],
            "ends_at": override.as_dict()["ends_at"],
            "target_percent": plan.target_percent,
        }

    results = await async_for_each(plans, _start, "Starting a dispatch")
    return cast("ServiceResponse", {"sites": results})
