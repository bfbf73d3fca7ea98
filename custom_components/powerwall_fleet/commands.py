"""The table of a site's controls, and the one place a command is checked and sent.

:data:`CONTROLS` has one row per Tesla setting (operation mode, backup
reserve, export rule, grid charging, storm watch, off-grid vehicle charging
reserve, time-of-use tariff): which sites have it (``exists``, from their
components) and the refusal elsewhere (``missing``), how it is read from
``site_info``, sent (one client method), shown at once and confirmed (read
back), its entity (the row's class: number, select, switch or none; ``key``
is the translation key) and whether an override may set it, in which order
(``restore_order``). The platforms, the actions, the override engine and
services.yaml (checked by tests/test_controls.py) follow it; Tesla's reserve
rule and rounding are fleet/rules.py's. :func:`async_set` runs every command:

1. check, raising a translated ``ServiceValidationError`` before any request:
   a site without the setting, a whole percent in 0-100, the 81-99 % reserve
   only in backup-only mode, the ``energy_cmds`` scope of the login (a login
   without it also raises the missing-scopes repair issue);
2. send the command (counted in the site's usage);
3. show the new value at once (patch the info coordinator's data);
4. confirm by re-reading ``site_info`` only (``live_status`` is neither read
   nor rescheduled). If the site reports something else, the entities show
   what the site says and a warning is logged;
5. a refused or failed command raises a translated ``HomeAssistantError``,
   changes nothing shown (``site_info`` is re-read then too) and every entity
   of the site writes its state again from what the site holds (read once
   more first when that is unknown; bad input sends nothing, not even that
   read). Tesla's 403 for a missing scope raises the missing-scopes repair
   issue; an accepted command clears its ``energy_cmds`` part (repairs.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
import functools
from typing import TYPE_CHECKING, Any, Concatenate, Literal, cast

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, LOGGER
from .fleet import (
    EXPORT_RULES,
    OPERATION_MODES,
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
from .fleet.rules import reserve_needs_backup_mode, whole_percent
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


# ------------------------------------------------------------------ a row


@dataclass(frozen=True, kw_only=True)
class Control[V]:
    """One Tesla setting of a site: a row of :data:`CONTROLS`.

    The row's class is its kind (and entity platform): :class:`PercentControl`,
    :class:`ChoiceControl`, :class:`SwitchControl` or :class:`TariffControl`.
    """

    # Entity key, translation key of the entity and its states, action field.
    key: str
    # The setting in plain words, and the command ("{value}": the value in words).
    words: str
    what: str
    # Which sites have it (their components), and the refusal on the others
    # (an ``exceptions`` translation key with a ``{site}`` placeholder).
    exists: Callable[[SiteInfo], bool]
    missing: str
    read: Callable[[SiteInfo], V | None]
    send: Callable[[FleetClient, int, V], Awaitable[CommandResult]]
    # site_info as it looks once the value is set (shown before the read-back).
    show: Callable[[SiteInfo, V], SiteInfo] | None = None
    # What Tesla refuses beyond the value's kind (raises a translated refusal).
    rule: Callable[[SiteInfo, V], None] | None = None
    # None: no override may set it; else overrides set and restore in this order.
    restore_order: int | None = None
    entity_category: EntityCategory | None = None
    options: tuple[str, ...] = ()  # a choice's options (Tesla's values)
    takes_charge_level: bool = False  # a percentage may be "current" (the charge)

    def checked(self, site: SiteCoordinators, value: Any) -> V:
        """``value`` as it is sent; refused (translated) when it is not one."""
        raise NotImplementedError  # pragma: no cover - every row is a subclass

    def confirmed(self, info: SiteInfo, value: V) -> bool:
        """Whether the site holds ``value`` (read back)."""
        return self.read(info) == value

    async def async_words(self, site: SiteCoordinators, value: V) -> str:
        """``value`` in words, as errors, logs and repair issues show it."""
        return str(value)


class PercentControl(Control[float]):
    """A whole percentage, 0-100 (a number entity)."""

    minimum = 0
    maximum = 100

    def checked(self, site: SiteCoordinators, value: Any) -> float:
        """A whole percent (half up); ``"current"``: the battery's charge level."""
        if self.takes_charge_level and value == "current":
            return current_charge_level(site)
        return checked_percent(float(value))

    async def async_words(self, site: SiteCoordinators, value: float) -> str:
        """``45 %``."""
        return f"{value} %"


class ChoiceControl(Control[str]):
    """One of Tesla's values (a select entity)."""

    def checked(self, site: SiteCoordinators, value: Any) -> str:
        """Tesla's value (the client refuses one it does not know)."""
        return str(value)

    async def async_words(self, site: SiteCoordinators, value: str) -> str:
        """The option as its select shows it."""
        return await async_option_label(site, self.key, value)


class SwitchControl(Control[bool]):
    """On or off (a switch entity)."""

    def checked(self, site: SiteCoordinators, value: Any) -> bool:
        """On or off."""
        return bool(value)

    async def async_words(self, site: SiteCoordinators, value: bool) -> str:
        """``on`` or ``off``."""
        return "on" if value else "off"


class TariffControl(Control[Tariff]):
    """A time-of-use tariff (no entity: the ``set_time_of_use`` action)."""

    def checked(self, site: SiteCoordinators, value: Any) -> Tariff:
        """A tariff the action already validated."""
        return cast("Tariff", value)

    def confirmed(self, info: SiteInfo, value: Tariff) -> bool:
        """Whether the site holds every period and price that was sent."""
        return not held_differences(value, info.tariff_content_v2)


# ---------------------------------------------------------------- the table


def _components(info: SiteInfo) -> Components:
    return info.components or Components()


def _with_components(info: SiteInfo, **changes: Any) -> SiteInfo:
    """``info`` with some of its components' fields changed (shown at once)."""
    return replace(info, components=replace(_components(info), **changes))


def _battery_and_solar(info: SiteInfo) -> bool:
    # Both act on a battery beside solar: Tesla's flag is
    # "disallow_charge_from_grid_with_solar_installed" and the rule chooses
    # what of solar and battery may be exported (FLEET_API.md); core's
    # tesla_fleet offers the two on the same sites.
    return has_battery(info) and has_solar(info)


def _reserve_rule(info: SiteInfo, percent: float) -> None:
    if reserve_needs_backup_mode(int(percent), info.default_real_mode):
        raise validation_error("reserve_needs_backup_mode", percent=f"{percent:g}")


def _held_tariff(info: SiteInfo) -> Tariff | None:
    try:
        return parse_tariff(info.tariff_content_v2)
    except TariffError:
        return None


OPERATION_MODE = ChoiceControl(
    key="operation_mode",
    words="operation mode",
    what="the operation mode {value}",
    exists=has_battery,
    missing="no_operation_mode",
    read=lambda info: info.default_real_mode,
    send=lambda client, site_id, mode: client.set_operation_mode(site_id, mode),
    show=lambda info, mode: replace(info, default_real_mode=mode),
    restore_order=2,
    options=OPERATION_MODES,
)
BACKUP_RESERVE = PercentControl(
    key="backup_reserve",
    words="backup reserve",
    what="the backup reserve of {value}",
    exists=has_battery,
    missing="no_battery",
    read=lambda info: info.backup_reserve_percent,
    send=lambda client, site_id, percent: client.set_backup_reserve(
        site_id, int(percent)
    ),
    show=lambda info, percent: replace(info, backup_reserve_percent=percent),
    rule=_reserve_rule,
    # Before the mode: a site leaving backup-only mode must not hold 81-99 %
    # (a reserve only backup-only mode accepts goes after it: send_order).
    restore_order=1,
    takes_charge_level=True,
)
EXPORT_RULE = ChoiceControl(
    key="export_rule",
    words="energy exports",
    what="the export rule {value}",
    exists=_battery_and_solar,
    missing="no_export_rule",
    read=lambda info: info.components.export_rule if info.components else None,
    send=lambda client, site_id, rule: client.set_grid_import_export(
        site_id, export_rule=rule
    ),
    show=lambda info, rule: _with_components(
        info, customer_preferred_export_rule=rule, non_export_configured=rule == "never"
    ),
    restore_order=3,
    entity_category=EntityCategory.CONFIG,
    options=EXPORT_RULES,
)
GRID_CHARGING = SwitchControl(
    key="grid_charging",
    words="grid charging",
    what="grid charging {value}",
    exists=_battery_and_solar,
    missing="no_grid_charging",
    read=lambda info: (
        info.components.grid_charging_allowed if info.components else None
    ),
    send=lambda client, site_id, allowed: client.set_grid_import_export(
        site_id, allow_grid_charging=allowed
    ),
    show=lambda info, allowed: _with_components(
        info, disallow_charge_from_grid_with_solar_installed=not allowed
    ),
    restore_order=4,
    entity_category=EntityCategory.CONFIG,
)
STORM_WATCH = SwitchControl(
    key="storm_watch",
    words="storm watch",
    what="storm watch {value}",
    exists=lambda info: bool(_components(info).storm_mode_capable),
    missing="no_storm_watch",
    read=lambda info: info.storm_mode_enabled,
    send=lambda client, site_id, enabled: client.set_storm_mode(site_id, enabled),
    show=lambda info, enabled: replace(
        info,
        user_settings=replace(
            info.user_settings or UserSettings(), storm_mode_enabled=enabled
        ),
    ),
    restore_order=5,
)
OFF_GRID_VEHICLE_CHARGING_RESERVE = PercentControl(
    key="off_grid_vehicle_charging_reserve",
    words="off-grid vehicle charging reserve",
    what="the off-grid vehicle charging reserve of {value}",
    exists=lambda info: bool(
        _components(info).off_grid_vehicle_charging_reserve_supported
    ),
    missing="no_off_grid_vehicle_charging_reserve",
    read=lambda info: info.off_grid_vehicle_charging_reserve_percent,
    send=lambda client, site_id, percent: client.set_off_grid_vehicle_charging_reserve(
        site_id, int(percent)
    ),
    show=lambda info, percent: replace(
        info, off_grid_vehicle_charging_reserve_percent=percent
    ),
    entity_category=EntityCategory.CONFIG,
)
TIME_OF_USE = TariffControl(
    key="time_of_use",
    words="time-of-use tariff",
    what="the time-of-use tariff",
    exists=lambda info: bool(_components(info).tou_capable),
    missing="not_tou_capable",
    read=_held_tariff,
    send=lambda client, site_id, tariff: client.set_time_of_use(
        site_id, tariff.to_dict()
    ),
)

# Every control, in the order settings are shown.
CONTROLS: tuple[Control[Any], ...] = (
    OPERATION_MODE,
    BACKUP_RESERVE,
    EXPORT_RULE,
    GRID_CHARGING,
    STORM_WATCH,
    OFF_GRID_VEHICLE_CHARGING_RESERVE,
    TIME_OF_USE,
)


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


def require(
    site: SiteCoordinators, control: Control[Any], *, unknown_refused: bool = False
) -> None:
    """Refuse (no request) when ``site`` does not have ``control``'s setting.

    A site whose site_info is not known yet is left to Tesla, unless
    ``unknown_refused`` (an override must know what it replaces).
    """
    info = site.info.latest
    if (info is None and unknown_refused) or (
        info is not None and not control.exists(info)
    ):
        raise validation_error(control.missing, site=site.name)


def validate[V](site: SiteCoordinators, control: Control[V], value: Any) -> V:
    """``value`` as ``control`` sends it to ``site``; or a translated refusal."""
    require(site, control)
    checked = control.checked(site, value)
    info = site.info.latest
    if control.rule is not None and info is not None:
        control.rule(info, checked)
    return checked


def checked_percent(value: float) -> int:
    """``value`` rounded half up to a whole percent, refused outside 0-100."""
    if not 0 <= value <= 100:
        raise validation_error("reserve_out_of_range", percent=f"{value:g}")
    return whole_percent(value)


def charge_level(site: SiteCoordinators, refusal: str = "no_battery_level") -> float:
    """The battery's present charge level; refused (``refusal``) when unknown."""
    live = site.live.latest
    level = live.percentage_charged if live is not None else None
    if level is None or not site.live.last_update_success:
        raise validation_error(refusal, site=site.name)
    return float(level)


def current_charge_level(site: SiteCoordinators) -> int:
    """The battery's present charge level, rounded half up; refused when unknown."""
    return whole_percent(charge_level(site))


async def async_option_label(site: SiteCoordinators, select: str, option: str) -> str:
    """The option's name as its select shows it (translated), else the key in words."""
    hass = site.info.hass
    strings = await async_get_translations(
        hass, hass.config.language, "entity", {DOMAIN}
    )
    label = strings.get(f"component.{DOMAIN}.entity.select.{select}.state.{option}")
    return label or option.replace("_", " ")


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


# --------------------------------------------------------------- commands


@_shows_site_value
async def async_set(site: SiteCoordinators, control: Control[Any], value: Any) -> None:
    """Set one control of ``site`` (the entities and the overrides call this)."""
    await _async_command(site, control, validate(site, control, value))


async def async_set_backup_reserve(
    site: SiteCoordinators, percent: float | Literal["current"]
) -> None:
    """Set the backup reserve (``"current"``: the battery's charge level)."""
    await async_set(site, BACKUP_RESERVE, percent)


async def async_set_time_of_use(
    site: SiteCoordinators, tariff: Tariff, *, strategy: str | None = None
) -> TariffConfirmation:
    """Send a validated tariff; tell whether the site holds what was sent.

    ``strategy``: time-based control's optimisation strategy sent with it
    (fleet/client.py ``set_time_of_use``); a dispatch and price sync send
    ``economics``.
    """
    control = TIME_OF_USE
    if strategy is not None:

        def _send(
            client: FleetClient, site_id: int, sent: Tariff
        ) -> Awaitable[CommandResult]:
            return client.set_time_of_use(site_id, sent.to_dict(), strategy=strategy)

        # (replace() of a generic row loses its value type for mypy)
        control = replace(TIME_OF_USE, send=cast("Any", _send))
    await _async_command(site, control, validate(site, control, tariff))
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


async def _async_command[V](
    site: SiteCoordinators, control: Control[V], value: V
) -> None:
    """Send one checked value for ``site``, show it and confirm it (module docstring)."""
    entry = site.info.config_entry
    what = control.what.format(value=await control.async_words(site, value))
    what = f"{what} for {site.name}"
    check_command_scope(site.info.hass, entry)
    site.usage.counts["commands"] += 1
    try:
        await control.send(site.info.client, site.site_id, value)
    except FleetError as err:
        await _async_reread(site)
        raise _command_error(site, err, what) from err
    async_scopes_proven(site.info.hass, entry, "command")
    if control.show is not None and site.info.latest is not None:
        site.info.async_set_updated_data(control.show(site.info.latest, value))
    await _async_reread(site)
    confirmed = site.info.latest
    if (
        confirmed is not None
        and site.info.last_update_success
        and not control.confirmed(confirmed, value)
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
