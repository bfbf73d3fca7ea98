"""Base entity and device info: one device per energy site, unique ids ``<site_id>_<key>``.

Owns the site device's identity (name, model, firmware, serial from site.py),
taking a device of the integration's off an entry, and adding a site's
entities once its components are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import FleetCoordinator, SiteCoordinators
from .fleet import Product, SiteInfo
from .site import gateway_name, model_name, site_name

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

MANUFACTURER = "Tesla"

# Home Assistant 2026.10 gives a device a single config entry
# (``DeviceEntry.config_entry_id``): another entry's device with the same
# identifiers is a device of its own. Before, a device listed every entry that
# had it (``config_entries``).
_ONE_ENTRY_PER_DEVICE = hasattr(dr.DeviceEntry, "config_entry_id")


def site_device_info(site: Product, info: SiteInfo | None) -> DeviceInfo:
    """Complete device info for a site, from products and site_info."""
    site_id = site.energy_site_id
    device = DeviceInfo(
        identifiers={(DOMAIN, str(site_id))},
        manufacturer=MANUFACTURER,
        name=site_name(site, info),
        model=model_name(site, info),
        configuration_url="https://www.tesla.com/teslaaccount",
    )
    if info is not None:
        if info.firmware:
            device["sw_version"] = info.firmware
        gateway = _gateway_din(info)
        if gateway:
            device["serial_number"] = gateway
        if hardware := gateway_name(info):
            device["hw_version"] = hardware
    elif site.gateway_id or site.id:
        device["serial_number"] = site.gateway_id or site.id
    return device


@callback
def remove_device(registry: dr.DeviceRegistry, device_id: str, entry_id: str) -> None:
    """Take the entry's device away; another entry's device stays.

    Since Home Assistant 2026.10 the device is the entry's own: it is removed
    (taking the entry off a device is reported as deprecated there). Before,
    the entry is taken off the device, which goes when no entry is left, so a
    device another entry shares stays with that entry.
    """
    if _ONE_ENTRY_PER_DEVICE:
        registry.async_remove_device(device_id)
    else:
        registry.async_update_device(device_id, remove_config_entry_id=entry_id)


def _gateway_din(info: SiteInfo) -> str | None:
    components = info.components
    if components and components.gateways:
        for gateway in components.gateways:
            if gateway.din:
                return gateway.din
    return info.id


class PowerwallFleetEntity[C: FleetCoordinator[Any]](CoordinatorEntity[C]):
    """An entity of one site, fed by one of its coordinators."""

    _attr_has_entity_name = True

    def __init__(
        self, site: SiteCoordinators, coordinator: C, description: EntityDescription
    ) -> None:
        """Attach to a site's coordinator."""
        super().__init__(coordinator)
        self.site = site
        self.entity_description = description
        self._attr_unique_id = f"{site.site_id}_{description.key}"
        self._attr_device_info = site_device_info(site.site, site.info.latest)

    @property
    def info(self) -> SiteInfo | None:
        """The site's latest site_info."""
        return self.site.info.latest


def async_add_site_entities(
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[SiteCoordinators], Iterable[Entity]],
) -> None:
    """Add each site's entities once its site_info is known.

    Which entities a site gets depends on its components (site_info). A site
    whose site_info is not known yet (Tesla down at start) gets them as soon as
    it is, without a restart.
    """
    for site in entry.runtime_data.sites.values():
        if site.info.latest is not None:
            async_add_entities(build(site))
        else:
            _add_when_known(entry, site, async_add_entities, build)


def _add_when_known(
    entry: PowerwallFleetConfigEntry,
    site: SiteCoordinators,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[SiteCoordinators], Iterable[Entity]],
) -> None:
    remove: Callable[[], None] | None = None

    @callback
    def _known() -> None:
        nonlocal remove
        if site.info.latest is None or remove is None:
            return
        remove()
        remove = None
        async_add_entities(build(site))

    remove = site.info.async_add_listener(_known)

    @callback
    def _unload() -> None:
        if remove is not None:
            remove()

    entry.async_on_unload(_unload)
