"""Actions: set the backup reserve of sites, refresh sites now.

Both target energy sites by device (``device_id``) and/or by config entry
(``config_entry_id``: every site of the entry). Input and targets are checked
before any request is sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING, Any, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .commands import async_send_command, check_command_scope
from .const import DOMAIN, LOGGER
from .fleet import CommandResult, FleetClient
from .site import has_battery

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol

    from . import PowerwallFleetConfigEntry
    from .coordinator import SiteCoordinators
else:
    import voluptuous as vol

SERVICE_SET_BACKUP_RESERVE = "set_backup_reserve"
SERVICE_REFRESH = "refresh"
ATTR_PERCENT = "percent"
ATTR_CURRENT = "current"

# A manual refresh costs two requests per site; automations may not loop it.
REFRESH_INTERVAL = timedelta(seconds=60)
_LAST_REFRESH: HassKey[dict[int, datetime]] = HassKey(f"{DOMAIN}_last_refresh")

_TARGET_FIELDS: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(cv.ensure_list, [cv.string]),
}
SET_BACKUP_RESERVE_SCHEMA = vol.Schema(
    {
        # The range is checked with a translated message, not by the schema.
        vol.Optional(ATTR_PERCENT): vol.Coerce(float),
        vol.Optional(ATTR_CURRENT): cv.boolean,
        **_TARGET_FIELDS,
    }
)
REFRESH_SCHEMA = vol.Schema(_TARGET_FIELDS)

type Target = tuple[PowerwallFleetConfigEntry, SiteCoordinators, bool]


# ------------------------------------------- shared with the control entities

# Outside backup-only mode Tesla accepts 0-80 % or 100 % (FLEET_API.md).
MAX_RESERVE_OUTSIDE_BACKUP = 80


def whole_percent(value: float) -> int:
    """``value`` rounded half up to a whole percent, refused outside 0-100."""
    if not 0 <= value <= 100:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="reserve_out_of_range",
            translation_placeholders={"percent": f"{value:g}"},
        )
    return min(100, math.floor(value + 0.5))


def validate_backup_reserve(site: SiteCoordinators, value: float) -> int:
    """The reserve to send, or ``ServiceValidationError`` before any request."""
    percent = whole_percent(value)
    info = site.info.latest
    if (
        MAX_RESERVE_OUTSIDE_BACKUP < percent < 100
        and info is not None
        and info.default_real_mode is not None
        and info.default_real_mode != "backup"
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="reserve_needs_backup_mode",
            translation_placeholders={"percent": str(percent)},
        )
    return percent


async def async_set_backup_reserve(site: SiteCoordinators, percent: int) -> None:
    """Send a validated backup reserve and confirm it (see commands.py)."""

    async def _send(client: FleetClient) -> CommandResult:
        return await client.set_backup_reserve(site.site_id, percent)

    await async_send_command(
        site,
        _send,
        what=f"the backup reserve of {percent} % for {site.name}",
        patch=lambda info: replace(info, backup_reserve_percent=percent),
        confirm=lambda info: info.backup_reserve_percent == percent,
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, from async_setup)."""

    async def _set_backup_reserve(call: ServiceCall) -> None:
        await _async_set_backup_reserve(hass, call)

    async def _refresh(call: ServiceCall) -> None:
        await _async_refresh(hass, call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_BACKUP_RESERVE,
        _set_backup_reserve,
        schema=SET_BACKUP_RESERVE_SCHEMA,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_REFRESH, _refresh, schema=REFRESH_SCHEMA
    )


# ------------------------------------------------------------------ targets


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _loaded_entry(
    hass: HomeAssistant, entry_id: str, target: str
) -> PowerwallFleetConfigEntry:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _error("not_our_target", target=target)
    if entry.state is not ConfigEntryState.LOADED:
        raise _error("entry_not_loaded", title=entry.title)
    return cast("PowerwallFleetConfigEntry", entry)


def resolve_targets(hass: HomeAssistant, call: ServiceCall) -> list[Target]:
    """The targeted sites: (entry, site, targeted as a device) each once.

    Shared by every action that targets devices and/or config entries; refuses
    (ServiceValidationError) before any request.
    """
    device_ids: list[str] = call.data.get(ATTR_DEVICE_ID, [])
    entry_ids: list[str] = call.data.get(ATTR_CONFIG_ENTRY_ID, [])
    if not device_ids and not entry_ids:
        raise _error("no_target")
    targets: dict[int, Target] = {}
    registry = dr.async_get(hass)
    for device_id in device_ids:
        device = registry.async_get(device_id)
        site_ids = (
            [value for domain, value in device.identifiers if domain == DOMAIN]
            if device is not None
            else []
        )
        entry_id = next(
            (
                candidate
                for candidate in (device.config_entries if device else ())
                if (found := hass.config_entries.async_get_entry(candidate))
                and found.domain == DOMAIN
            ),
            None,
        )
        if not site_ids or entry_id is None:
            raise _error("not_our_target", target=device_id)
        entry = _loaded_entry(hass, entry_id, device_id)
        site = entry.runtime_data.sites.get(int(site_ids[0]))
        if site is None:  # a device left over from a site no longer set up
            raise _error("not_our_target", target=device_id)
        targets[site.site_id] = (entry, site, True)
    for entry_id in entry_ids:
        entry = _loaded_entry(hass, entry_id, entry_id)
        for site in entry.runtime_data.sites.values():
            targets.setdefault(site.site_id, (entry, site, False))
    return list(targets.values())


# ---------------------------------------------------------- set_backup_reserve


async def _async_set_backup_reserve(hass: HomeAssistant, call: ServiceCall) -> None:
    """Validate every target first, then send to each site."""
    percent: float | None = call.data.get(ATTR_PERCENT)
    current: bool = call.data.get(ATTR_CURRENT, False)
    if (percent is None) is not current:
        raise _error("percent_or_current")
    sites: list[Target] = []
    for entry, site, explicit in resolve_targets(hass, call):
        info = site.info.latest
        if info is not None and not has_battery(info):
            if explicit:
                raise _error("no_battery", site=site.name)
            continue  # an entry's solar-only site has no reserve to set
        sites.append((entry, site, explicit))
    if not sites:
        raise _error("no_battery", site=", ".join(_entry_titles(hass, call)))
    for entry in {id(entry): entry for entry, _, _ in sites}.values():
        check_command_scope(entry)
    planned = [
        (
            site,
            validate_backup_reserve(
                site, _charge_level(site) if percent is None else percent
            ),
        )
        for _, site, _ in sites
    ]
    failures: list[HomeAssistantError] = []
    for site, value in planned:
        try:
            await async_set_backup_reserve(site, value)
        except HomeAssistantError as err:
            failures.append(err)
    if failures:
        for failure in failures[1:]:
            LOGGER.error("Setting the backup reserve failed: %s", failure)
        raise failures[0]


def _charge_level(site: SiteCoordinators) -> float:
    """The battery's present charge level, rounded half up."""
    live = site.live.latest
    level = live.percentage_charged if live is not None else None
    if level is None or not site.live.last_update_success:
        raise _error("no_battery_level", site=site.name)
    return float(math.floor(level + 0.5))


def _entry_titles(hass: HomeAssistant, call: ServiceCall) -> list[str]:
    titles = []
    for entry_id in call.data.get(ATTR_CONFIG_ENTRY_ID, []):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None:
            titles.append(entry.title)
    return titles


# ------------------------------------------------------------------ refresh


async def _async_refresh(hass: HomeAssistant, call: ServiceCall) -> None:
    """Re-read live_status and site_info of the targeted sites now."""
    sites = [site for _, site, _ in resolve_targets(hass, call)]
    now = dt_util.utcnow()
    last = hass.data.setdefault(_LAST_REFRESH, {})
    for site in sites:
        previous = last.get(site.site_id)
        if previous is not None and now - previous < REFRESH_INTERVAL:
            raise _error(
                "refresh_too_soon",
                site=site.name,
                seconds=str(round(REFRESH_INTERVAL.total_seconds())),
            )
    for site in sites:
        last[site.site_id] = now
    coordinators = [c for site in sites for c in (site.info, site.live)]
    await asyncio.gather(*(coordinator.async_refresh() for coordinator in coordinators))
    for coordinator in coordinators:
        if not coordinator.last_update_success:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={
                    "endpoint": coordinator.endpoint,
                    "error": coordinator.last_error or "unknown",
                },
            )
