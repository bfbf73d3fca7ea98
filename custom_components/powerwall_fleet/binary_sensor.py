"""Binary sensors: grid up, storm watch, backup capability, grid services, override active.

Owns their descriptions and value functions, read from live_status (the
override sensor itself is overrides/entities.py's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# 2026.10 moved the device classes to binary_sensor.const (2026.3 has no such
# module); the package re-exports them in both versions.
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import LiveCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities
from .fleet import LiveStatus, SiteInfo
from .overrides.entities import OverrideActiveSensor
from .overrides.model import has_override_settings
from .runtime import PowerwallFleetConfigEntry
from .site import has_battery, has_grid

# Reads only: the coordinators do the fetching.
PARALLEL_UPDATES = 0


def _grid_up(live: LiveStatus) -> bool | None:
    """On when the grid is there; unknown (solar-only sites) is no value."""
    return {"Active": True, "Inactive": False}.get(live.grid_status or "")


@dataclass(frozen=True, kw_only=True)
class PowerwallBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor read from live_status."""

    value_fn: Callable[[LiveStatus], bool | None]
    exists_fn: Callable[[SiteInfo], bool]


BINARY_SENSORS: tuple[PowerwallBinarySensorDescription, ...] = (
    PowerwallBinarySensorDescription(
        key="grid_status",
        translation_key="grid_status",
        device_class=BinarySensorDeviceClass.POWER,
        value_fn=_grid_up,
        exists_fn=lambda info: has_grid(info) and has_battery(info),
    ),
    PowerwallBinarySensorDescription(
        key="storm_mode_active",
        translation_key="storm_mode_active",
        value_fn=lambda live: live.storm_mode_active,
        exists_fn=lambda info: bool(
            info.components and info.components.storm_mode_capable
        ),
    ),
    PowerwallBinarySensorDescription(
        key="backup_capable",
        translation_key="backup_capable",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda live: live.backup_capable,
        exists_fn=has_battery,
    ),
    PowerwallBinarySensorDescription(
        key="grid_services_active",
        translation_key="grid_services_active",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda live: live.grid_services_active,
        exists_fn=has_battery,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Binary sensors for every site, as its components allow."""

    def build(site: SiteCoordinators) -> list[BinarySensorEntity]:
        info = site.info.latest
        if info is None:  # pragma: no cover - async_add_site_entities waits for it
            return []
        entities: list[BinarySensorEntity] = [
            PowerwallBinarySensor(site, description)
            for description in BINARY_SENSORS
            if description.exists_fn(info)
        ]
        if has_override_settings(info):
            entities.append(OverrideActiveSensor(entry, site))
        return entities

    async_add_site_entities(entry, async_add_entities, build)


class PowerwallBinarySensor(PowerwallFleetEntity[LiveCoordinator], BinarySensorEntity):
    """A flag from live_status."""

    entity_description: PowerwallBinarySensorDescription

    def __init__(
        self, site: SiteCoordinators, description: PowerwallBinarySensorDescription
    ) -> None:
        """Read from the site's live coordinator."""
        super().__init__(site, site.live, description)

    @property
    def is_on(self) -> bool | None:
        """The flag, or None when the payload lacks it."""
        data = self.coordinator.latest
        return None if data is None else self.entity_description.value_fn(data)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the flag is missing."""
        return super().available and self.is_on is not None
