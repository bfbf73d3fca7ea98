"""Every control of a site, end to end: the one place a command is checked and sent.

One public coroutine per control (backup reserve, operation mode, export
rule, grid charging, storm watch, off-grid vehicle charging reserve,
time-of-use tariff). Each runs the same order:

1. validate, raising a translated ``ServiceValidationError`` before any
   request: whole percent, the 81-99 % reserve only in backup-only mode, an
   export rule only with solar, a reserve only with a battery, a tariff only
   where the site does time-of-use, the ``energy_cmds`` scope of the login
   (a login without it also raises the missing-scopes repair issue);
2. send the command (counted in the site's usage);
3. show the new value at once (patch the info coordinator's data);
4. confirm by re-reading ``site_info`` only: every setting here lives there,
   so ``live_status`` is not read and its poll timer is left alone. If the
   site reports something else, the entities show what the site says and a
   warning is logged;
5. a refused or failed command raises a translated ``HomeAssistantError``
   and changes nothing shown (``site_info`` is re-read then too), and every
   entity of the site writes its state again from what the site holds, so
   whatever showed the rejected value shows the real one at once (when that
   value is unknown after a failure, ``site_info`` is read once more first;
   bad input sends nothing, not even that read). Tesla's
   403 for a missing scope raises the missing-scopes repair issue as well; a
   command Tesla accepts clears the ``energy_cmds`` part of it (repairs.py
   owns the issue and its rule).

The entities (number, select, switch) and the actions (services.py) call the
coroutines here and hold no rule of their own. This module may use the
coordinators, site facts and the fleet client; it may not import services.py
or any platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
import functools
import math
from typing import TYPE_CHECKING, Any, Concatenate, Literal

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, LOGGER
from .fleet import (
    CannotConnect,
    CommandResult,
    Components,
    DeviceOffline,
    FleetClient,
    FleetError,
    InvalidArgument,
    InvalidRequest,
    LoginRequired,
    MissingScopes,
    RateLimited,
    SiteInfo,
    UserSettings,
    plain_words,
    token_scopes,
)
from .fleet.tariff import Tariff, TariffError, differences, parse_tariff
from .issues import (
    COMMAND_SCOPE,
    async_scopes_missing,
    async_scopes_proven,
    permission_names,
)
from .site import has_battery, has_solar

if TYPE_CHECKING:
    from .coordinator import SiteCoordinators
    from .runtime import PowerwallFleetConfigEntry

# Outside backup-only mode Tesla accepts 0-80 % or 100 % (FLEET_API.md).
MAX_RESERVE_OUTSIDE_BACKUP = 80

type Send = Callable[[FleetClient], Awaitable[CommandResult]]
type Patch = Callable[[SiteInfo], SiteInfo]
type Check = Callable[[SiteInfo], bool]


@dataclass(frozen=True)
class TariffConfirmation:
    """What the site holds after a time-of-use write."""

    confirmed: bool
    differences: list[str]


# ------------------------------------------------------------- validation


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated refusal, raised before any request (controls and actions)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def check_command_scope(hass: HomeAssistant, entry: PowerwallFleetConfigEntry) -> None:
    """Refuse before any request when the login lacks ``energy_cmds``.

    The refusal comes with the repair issue that asks to sign in again.
    """
    scopes = token_scopes(entry.data["token"]["access_token"])
    if scopes and COMMAND_SCOPE not in scopes:
        async_scopes_missing(hass, entry, (COMMAND_SCOPE,))
        raise validation_error(
            "missing_command_scope", scope=permission_names((COMMAND_SCOPE,))
        )


def whole_percent(value: float) -> int:
    """``value`` rounded half up to a whole percent, refused outside 0-100."""
    if not 0 <= value <= 100:
        raise validation_error("reserve_out_of_range", percent=f"{value:g}")
    return min(100, math.floor(value + 0.5))


def current_charge_level(site: SiteCoordinators) -> float:
    """The battery's present charge level, rounded half up; refused when unknown."""
    live = site.live.latest
    level = live.percentage_charged if live is not None else None
    if level is None or not site.live.last_update_success:
        raise validation_error("no_battery_level", site=site.name)
    return float(math.floor(level + 0.5))


def validate_backup_reserve(
    site: SiteCoordinators, percent: float | Literal["current"]
) -> int:
    """The reserve to send to ``site`` (``"current"``: its charge level).

    Refused (``ServiceValidationError``, no request) without a battery, outside
    0-100 %, and at 81-99 % while the site is not in backup-only mode.
    """
    info = site.info.latest
    if info is not None and not has_battery(info):
        raise validation_error("no_battery", site=site.name)
    value = whole_percent(
        current_charge_level(site) if isinstance(percent, str) else percent
    )
    if (
        MAX_RESERVE_OUTSIDE_BACKUP < value < 100
        and info is not None
        and info.default_real_mode is not None
        and info.default_real_mode != "backup"
    ):
        raise validation_error("reserve_needs_backup_mode", percent=str(value))
    return value


def check_time_of_use(site: SiteCoordinators) -> None:
    """Refuse a tariff for a site that does not do time-of-use."""
    info = site.info.latest
    if info is not None and not (info.components and info.components.tou_capable):
        raise validation_error("not_tou_capable", site=site.name)


def _check_export_rule(site: SiteCoordinators) -> None:
    info = site.info.latest
    if info is not None and not has_solar(info):
        raise validation_error("no_export_without_solar", site=site.name)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


async def async_option_label(site: SiteCoordinators, select: str, option: str) -> str:
    """The option's name as its select shows it (translated), else the key in words."""
    hass = site.info.hass
    strings = await async_get_translations(
        hass, hass.config.language, "entity", {DOMAIN}
    )
    label = strings.get(f"component.{DOMAIN}.entity.select.{select}.state.{option}")
    return label or option.replace("_", " ")


def _with_components(info: SiteInfo, **changes: Any) -> SiteInfo:
    """``info`` with some of its components' fields changed (shown at once)."""
    return replace(info, components=replace(info.components or Components(), **changes))


def _shows_site_value[**P, R](
    control: Callable[Concatenate[SiteCoordinators, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SiteCoordinators, P], Coroutine[Any, Any, R]]:
    """A control that, when refused or failed, shows the site's real value again."""

    @functools.wraps(control)
    async def wrapper(
        site: SiteCoordinators, /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        reads = site.usage.counts["site_info"]
        try:
            return await control(site, *args, **kwargs)
        except ServiceValidationError:
            # Bad input sends nothing, not even a read: the entities show
            # again what is known of the site.
            site.info.async_update_listeners()
            raise
        except HomeAssistantError:
            await async_show_site_value(
                site, reread=site.usage.counts["site_info"] == reads
            )
            raise

    return wrapper


async def async_show_site_value(site: SiteCoordinators, *, reread: bool = True) -> None:
    """Every entity of ``site`` writes its state again from site_info.

    After a refusal or a failure: what showed the rejected value is told the
    site's real one. When the last read of site_info failed (the value is not
    known), it is read once more (counted) first, unless ``reread`` is False
    (the control already re-read it).
    """
    if reread and (site.info.latest is None or not site.info.last_update_success):
        await _async_reread(site)
    else:
        site.info.async_update_listeners()


# --------------------------------------------------------------- controls


@_shows_site_value
async def async_set_backup_reserve(
    site: SiteCoordinators, percent: float | Literal["current"]
) -> None:
    """Set the backup reserve of ``site`` (see :func:`validate_backup_reserve`)."""
    value = validate_backup_reserve(site, percent)
    await _async_command(
        site,
        lambda client: client.set_backup_reserve(site.site_id, value),
        what=f"the backup reserve of {value} % for {site.name}",
        patch=lambda info: replace(info, backup_reserve_percent=value),
        confirm=lambda info: info.backup_reserve_percent == value,
    )


@_shows_site_value
async def async_set_off_grid_vehicle_charging_reserve(
    site: SiteCoordinators, percent: float
) -> None:
    """Set the share of the battery kept for charging vehicles off-grid (0-100 %)."""
    value = whole_percent(percent)
    await _async_command(
        site,
        lambda client: client.set_off_grid_vehicle_charging_reserve(
            site.site_id, value
        ),
        what=f"the off-grid vehicle charging reserve of {value} % for {site.name}",
        patch=lambda info: replace(
            info, off_grid_vehicle_charging_reserve_percent=value
        ),
        confirm=lambda info: info.off_grid_vehicle_charging_reserve_percent == value,
    )


@_shows_site_value
async def async_set_operation_mode(site: SiteCoordinators, mode: str) -> None:
    """Set the operation mode (self_consumption, autonomous or backup)."""
    label = await async_option_label(site, "operation_mode", mode)
    await _async_command(
        site,
        lambda client: client.set_operation_mode(site.site_id, mode),
        what=f"the operation mode {label} for {site.name}",
        patch=lambda info: replace(info, default_real_mode=mode),
        confirm=lambda info: info.default_real_mode == mode,
    )


@_shows_site_value
async def async_set_export_rule(site: SiteCoordinators, rule: str) -> None:
    """Set what may be exported (battery_ok, pv_only, never); needs solar."""
    _check_export_rule(site)
    label = await async_option_label(site, "export_rule", rule)
    await _async_command(
        site,
        lambda client: client.set_grid_import_export(site.site_id, export_rule=rule),
        what=f"the export rule {label} for {site.name}",
        patch=lambda info: _with_components(
            info,
            customer_preferred_export_rule=rule,
            non_export_configured=rule == "never",
        ),
        confirm=lambda info: bool(
            info.components and info.components.export_rule == rule
        ),
    )


@_shows_site_value
async def async_set_grid_charging(site: SiteCoordinators, allowed: bool) -> None:
    """Allow or forbid charging the battery from the grid."""
    await _async_command(
        site,
        lambda client: client.set_grid_import_export(
            site.site_id, allow_grid_charging=allowed
        ),
        what=f"grid charging {_on_off(allowed)} for {site.name}",
        patch=lambda info: _with_components(
            info, disallow_charge_from_grid_with_solar_installed=not allowed
        ),
        confirm=lambda info: bool(
            info.components and info.components.grid_charging_allowed == allowed
        ),
    )


@_shows_site_value
async def async_set_storm_watch(site: SiteCoordinators, enabled: bool) -> None:
    """Turn storm watch on or off."""
    await _async_command(
        site,
        lambda client: client.set_storm_mode(site.site_id, enabled),
        what=f"storm watch {_on_off(enabled)} for {site.name}",
        patch=lambda info: replace(
            info,
            user_settings=replace(
                info.user_settings or UserSettings(), storm_mode_enabled=enabled
            ),
        ),
        confirm=lambda info: info.storm_mode_enabled == enabled,
    )


async def async_set_time_of_use(
    site: SiteCoordinators, tariff: Tariff
) -> TariffConfirmation:
    """Send a validated tariff; tell whether the site holds what was sent."""
    check_time_of_use(site)
    payload = tariff.to_dict()
    await _async_command(
        site,
        lambda client: client.set_time_of_use(site.site_id, payload),
        what=f"the time-of-use tariff for {site.name}",
        confirm=lambda info: not held_differences(tariff, info.tariff_content_v2),
    )
    info = site.info.latest
    found = held_differences(tariff, info.tariff_content_v2 if info else None)
    return TariffConfirmation(
        confirmed=site.info.last_update_success and not found, differences=found
    )


def held_differences(sent: Tariff, held: Any) -> list[str]:
    """What the site holds differently; ``tariff_content_v2`` when unreadable."""
    try:
        return differences(sent, parse_tariff(held))
    except TariffError:
        return ["tariff_content_v2"]


# ------------------------------------------------------------ send + confirm


async def _async_command(
    site: SiteCoordinators,
    send: Send,
    *,
    what: str,
    patch: Patch | None = None,
    confirm: Check,
) -> None:
    """Send one validated command for ``site`` and confirm it (module docstring)."""
    entry = site.info.config_entry
    check_command_scope(site.info.hass, entry)
    site.usage.counts["commands"] += 1
    try:
        await send(site.info.client)
    except FleetError as err:
        await _async_reread(site)
        raise _command_error(site, err, what) from err
    async_scopes_proven(site.info.hass, entry, "command")
    if patch is not None and site.info.latest is not None:
        site.info.async_set_updated_data(patch(site.info.latest))
    await _async_reread(site)
    confirmed = site.info.latest
    if (
        confirmed is not None
        and site.info.last_update_success
        and not confirm(confirmed)
    ):
        LOGGER.warning(
            "Tesla accepted %s for energy site %s, but the site still reports "
            "the previous setting; showing what the site reports",
            what,
            site.site_id,
        )


async def _async_reread(site: SiteCoordinators) -> None:
    """Re-read ``site_info`` alone: every control's setting lives there.

    ``live_status`` is neither read nor rescheduled; it keeps its own pace.
    """
    await site.info.async_refresh()


def _command_error(
    site: SiteCoordinators, err: FleetError, what: str
) -> HomeAssistantError:
    placeholders: dict[str, Any] = {
        "what": what,
        "error": err.error or plain_words(err),
    }
    if isinstance(err, InvalidArgument):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders=placeholders,
        )
    if isinstance(err, MissingScopes):
        scopes = err.scopes or (COMMAND_SCOPE,)
        async_scopes_missing(site.info.hass, site.info.config_entry, scopes)
        placeholders["scope"] = permission_names(scopes)
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_missing_scope",
            translation_placeholders=placeholders,
        )
    if isinstance(err, LoginRequired):
        site.info.config_entry.async_start_reauth(site.info.hass)
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="reauth_required"
        )
    if isinstance(err, RateLimited):
        placeholders["seconds"] = str(round(err.retry_after or 60))
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_rate_limited",
            translation_placeholders=placeholders,
        )
    if isinstance(err, CannotConnect | DeviceOffline):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_unreachable",
            translation_placeholders=placeholders,
        )
    if isinstance(err, InvalidRequest):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_refused",
            translation_placeholders=placeholders,
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="command_failed",
        translation_placeholders=placeholders,
    )
