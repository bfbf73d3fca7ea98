"""Numbers: backup reserve and off-grid vehicle charging reserve.

Descriptions and state only: validating and sending a value is the control's
own (commands.py), shared with the ``set_backup_reserve`` action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.number import (
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import (
    async_set_backup_reserve,
    async_set_off_grid_vehicle_charging_reserve,
)
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities
from .fleet import SiteInfo
from .site import has_battery

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class PowerwallNumberDescription(NumberEntityDescription):
    """A percentage setting of site_info that a command changes."""

    value_fn: Callable[[SiteInfo], float | None]
    exists_fn: Callable[[SiteInfo], bool]
    set_fn: Callable[[SiteCoordinators, float], Awaitable[None]]


NUMBERS: tuple[PowerwallNumberDescription, ...] = (
    PowerwallNumberDescription(
        key="backup_reserve",
        translation_key="backup_reserve",
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.BOX,
        native_unit_of_measurement=PERCENTAGE,
        value_fn=lambda info: info.backup_reserve_percent,
        exists_fn=has_battery,
        set_fn=async_set_backup_reserve,
    ),
    PowerwallNumberDescription(
        key="off_grid_vehicle_charging_reserve",
        translation_key="off_grid_vehicle_charging_reserve",
        entity_category=EntityCategory.CONFIG,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.BOX,
        native_unit_of_measurement=PERCENTAGE,
        value_fn=lambda info: info.off_grid_vehicle_charging_reserve_percent,
        exists_fn=lambda info: bool(
            info.components
            and info.components.off_grid_vehicle_charging_reserve_supported
        ),
        set_fn=async_set_off_grid_vehicle_charging_reserve,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Numbers for every site, as its components allow."""

    def build(site: SiteCoordinators) -> list[PowerwallNumber]:
        info = site.info.latest
        if info is None:  # pragma: no cover - async_add_site_entities waits for it
            return []
        return [
            PowerwallNumber(site, description)
            for description in NUMBERS
            if description.exists_fn(info)
        ]

    async_add_site_entities(entry, async_add_entities, build)


class PowerwallNumber(PowerwallFleetEntity[InfoCoordinator], NumberEntity):
    """A percentage from site_info, changed by a command."""

    entity_description: PowerwallNumberDescription

    def __init__(
        self, site: SiteCoordinators, description: PowerwallNumberDescription
    ) -> None:
        """Read from the site's info coordinator."""
        super().__init__(site, site.info, description)

    @property
    def native_value(self) -> float | None:
        """The setting, or None when the payload lacks it."""
        info = self.coordinator.latest
        return None if info is None else self.entity_description.value_fn(info)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.native_value is not None

    async def async_set_native_value(self, value: float) -> None:
        """Validate, send, confirm; the state follows what the site reports."""
        await self.entity_description.set_fn(self.site, value)
