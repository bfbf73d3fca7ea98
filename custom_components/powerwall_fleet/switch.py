"""Switches: storm watch and charging from the grid.

Descriptions and state only: sending a turn is the control's own
(commands.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import async_set_grid_charging, async_set_storm_watch
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities
from .fleet import SiteInfo
from .site import has_battery, has_solar

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class PowerwallSwitchDescription(SwitchEntityDescription):
    """An on/off setting of site_info that a command changes."""

    value_fn: Callable[[SiteInfo], bool | None]
    exists_fn: Callable[[SiteInfo], bool]
    turn_fn: Callable[[SiteCoordinators, bool], Awaitable[None]]


SWITCHES: tuple[PowerwallSwitchDescription, ...] = (
    PowerwallSwitchDescription(
        key="storm_watch",
        translation_key="storm_watch",
        value_fn=lambda info: info.storm_mode_enabled,
        exists_fn=lambda info: bool(
            info.components and info.components.storm_mode_capable
        ),
        turn_fn=async_set_storm_watch,
    ),
    PowerwallSwitchDescription(
        key="grid_charging",
        translation_key="grid_charging",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda info: (
            info.components.grid_charging_allowed if info.components else None
        ),
        exists_fn=lambda info: has_battery(info) and has_solar(info),
        turn_fn=async_set_grid_charging,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Switches for every site, as its components allow."""

    def build(site: SiteCoordinators) -> list[PowerwallSwitch]:
        info = site.info.latest
        if info is None:  # pragma: no cover - async_add_site_entities waits for it
            return []
        return [
            PowerwallSwitch(site, description)
            for description in SWITCHES
            if description.exists_fn(info)
        ]

    async_add_site_entities(entry, async_add_entities, build)


class PowerwallSwitch(PowerwallFleetEntity[InfoCoordinator], SwitchEntity):
    """An on/off setting from site_info, changed by a command."""

    entity_description: PowerwallSwitchDescription

    def __init__(
        self, site: SiteCoordinators, description: PowerwallSwitchDescription
    ) -> None:
        """Read from the site's info coordinator."""
        super().__init__(site, site.info, description)

    @property
    def is_on(self) -> bool | None:
        """The setting, or None when the payload lacks it."""
        info = self.coordinator.latest
        return None if info is None else self.entity_description.value_fn(info)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.is_on is not None

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on; the state follows what the site reports."""
        await self.entity_description.turn_fn(self.site, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off; the state follows what the site reports."""
        await self.entity_description.turn_fn(self.site, False)
