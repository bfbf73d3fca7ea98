"""The targets of every action: devices and config entries, resolved to sites.

Every action takes ``device_id`` (a site's device) and/or ``config_entry_id``
(every site of the entry). This module turns them into sites, each once, and
refuses what is not a loaded site of ours (a translated
``ServiceValidationError``) before any request. It also holds what every
action does with its sites: checking the logins' command scope, sending to
each site in turn (one failing does not stop the others) and naming a site in
a response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, device_registry as dr

from ..commands import check_command_scope, validation_error
from ..const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol

    from ..coordinator import SiteCoordinators
    from ..runtime import PowerwallFleetConfigEntry
else:
    import voluptuous as vol

# The fields every action's schema has.
TARGET_FIELDS: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(cv.ensure_list, [cv.string]),
}


class Target(NamedTuple):
    """One targeted site, with its entry and whether it was named as a device."""

    entry: PowerwallFleetConfigEntry
    site: SiteCoordinators
    explicit: bool


def _loaded(entry: ConfigEntry) -> PowerwallFleetConfigEntry:
    if entry.state is not ConfigEntryState.LOADED:
        raise validation_error("entry_not_loaded", title=entry.title)
    return cast("PowerwallFleetConfigEntry", entry)


def _entry_target(hass: HomeAssistant, entry_id: str) -> PowerwallFleetConfigEntry:
    # Not homeassistant.helpers.service.async_get_config_entry (in both
    # supported versions): it raises Home Assistant's own translation keys,
    # and the actions' refusals (not_our_target, entry_not_loaded) are kept.
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise validation_error("not_our_target", target=entry_id)
    return _loaded(entry)


def _device_target(hass: HomeAssistant, device_id: str) -> Target:
    """The site whose device this is, found among our entries' devices.

    A device's own entry field differs between the supported Home Assistant
    versions (``config_entries``, reported as deprecated from 2026.10 on;
    ``config_entry_id``, absent before): the entries' device lists are read
    instead, the same in both.
    """
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if device.id != device_id:
                continue
            site_ids = [
                value for domain, value in device.identifiers if domain == DOMAIN
            ]
            if not site_ids:
                break
            loaded = _loaded(entry)
            # A Wall Connector's device (its DIN, not a site id) is no target.
            site = (
                loaded.runtime_data.sites.get(int(site_ids[0]))
                if site_ids[0].isdigit()
                else None
            )
            if site is None:  # a device left over from a site no longer set up
                break
            return Target(loaded, site, True)
    raise validation_error("not_our_target", target=device_id)


def resolve_targets(hass: HomeAssistant, call: ServiceCall) -> list[Target]:
    """The targeted sites, each once: devices first, then every site of each entry.

    Refuses (ServiceValidationError) before any request.
    """
    device_ids: list[str] = call.data.get(ATTR_DEVICE_ID, [])
    entry_ids: list[str] = call.data.get(ATTR_CONFIG_ENTRY_ID, [])
    if not device_ids and not entry_ids:
        raise validation_error("no_target")
    targets: dict[int, Target] = {}
    for device_id in device_ids:
        target = _device_target(hass, device_id)
        targets[target.site.site_id] = target
    for entry_id in entry_ids:
        entry = _entry_target(hass, entry_id)
        for site in entry.runtime_data.sites.values():
            targets.setdefault(site.site_id, Target(entry, site, False))
    return list(targets.values())


def target_sites(hass: HomeAssistant, call: ServiceCall) -> list[SiteCoordinators]:
    """The targeted sites, each once; refused before any request."""
    return [site for _, site, _ in resolve_targets(hass, call)]


def check_command_scopes(sites: list[SiteCoordinators]) -> None:
    """Refuse the whole call when any targeted entry's login lacks commands."""
    entries = {id(site.info.config_entry): site.info for site in sites}
    for info in entries.values():
        check_command_scope(info.hass, info.config_entry)


def site_fields(hass: HomeAssistant, site: SiteCoordinators) -> dict[str, Any]:
    """How a response names a site: its id, its device's id and its name."""
    identifier = (DOMAIN, str(site.site_id))
    registry = dr.async_get(hass)
    entry_id = site.info.config_entry.entry_id
    device_id = next(
        (
            device.id
            for device in dr.async_entries_for_config_entry(registry, entry_id)
            if identifier in device.identifiers
        ),
        None,
    )
    return {"site_id": site.site_id, "device_id": device_id, "name": site.name}


async def async_for_each[T, R](
    items: Iterable[T], send: Callable[[T], Awaitable[R]], what: str
) -> list[R]:
    """``send`` each item in turn; one failing does not keep the others from theirs.

    Once every item was tried, the first failure is raised and the others are
    logged ("<what> failed: <error>"). The results come in the items' order.
    """
    results: list[R] = []
    failures: list[HomeAssistantError] = []
    for item in items:
        try:
            results.append(await send(item))
        except HomeAssistantError as err:
            failures.append(err)
    if failures:
        for failure in failures[1:]:
            LOGGER.error("%s failed: %s", what, failure)
        raise failures[0]
    return results
