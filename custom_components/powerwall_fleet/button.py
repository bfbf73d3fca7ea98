"""Button platform: each site's "Cancel override" button (overrides/entities.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SiteCoordinators
from .entity import async_add_site_entities
from .overrides.entities import CancelOverrideButton
from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A "Cancel override" button for every site."""

    def build(site: SiteCoordinators) -> list[CancelOverrideButton]:
        return [CancelOverrideButton(entry, site)]

    async_add_site_entities(entry, async_add_entities, build)
