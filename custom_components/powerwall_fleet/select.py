"""Selects: operation mode and energy export rule.

Descriptions and state only: validating and sending a choice is the control's
own (commands.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import async_set_export_rule, async_set_operation_mode
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities
from .fleet import EXPORT_RULES, OPERATION_MODES, SiteInfo
from .site import has_battery, has_solar

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


def _has_solar_and_battery(info: SiteInfo) -> bool:
    return has_solar(info) and has_battery(info)


@dataclass(frozen=True, kw_only=True)
class PowerwallSelectDescription(SelectEntityDescription):
    """A choice in site_info that a command changes."""

    value_fn: Callable[[SiteInfo], str | None]
    exists_fn: Callable[[SiteInfo], bool]
    select_fn: Callable[[SiteCoordinators, str], Awaitable[None]]


SELECTS: tuple[PowerwallSelectDescription, ...] = (
    PowerwallSelectDescription(
        key="operation_mode",
        translation_key="operation_mode",
        options=list(OPERATION_MODES),
        value_fn=lambda info: info.default_real_mode,
        exists_fn=has_battery,
        select_fn=async_set_operation_mode,
    ),
    PowerwallSelectDescription(
        key="export_rule",
        translation_key="export_rule",
        entity_category=EntityCategory.CONFIG,
        options=list(EXPORT_RULES),
        value_fn=lambda info: info.components.export_rule if info.components else None,
        exists_fn=_has_solar_and_battery,
        select_fn=async_set_export_rule,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Selects for every site, as its components allow."""

    def build(site: SiteCoordinators) -> list[PowerwallSelect]:
        info = site.info.latest
        if info is None:  # pragma: no cover - async_add_site_entities waits for it
            return []
        return [
            PowerwallSelect(site, description)
            for description in SELECTS
            if description.exists_fn(info)
        ]

    async_add_site_entities(entry, async_add_entities, build)


class PowerwallSelect(PowerwallFleetEntity[InfoCoordinator], SelectEntity):
    """A choice from site_info, changed by a command."""

    entity_description: PowerwallSelectDescription

    def __init__(
        self, site: SiteCoordinators, description: PowerwallSelectDescription
    ) -> None:
        """Read from the site's info coordinator."""
        super().__init__(site, site.info, description)

    @property
    def current_option(self) -> str | None:
        """The option the site reports; None when missing or not one we know."""
        info = self.coordinator.latest
        value = None if info is None else self.entity_description.value_fn(info)
        return value if value in self.options else None

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.current_option is not None

    async def async_select_option(self, option: str) -> None:
        """Validate, send, confirm; the state follows what the site reports."""
        await self.entity_description.select_fn(self.site, option)
