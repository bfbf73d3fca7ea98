"""Button platform: each site's "Cancel override" button (overrides/entities.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SiteCoordinators
from .entity import async_add_site_entities
from .overrides.entities import CancelOverrideButton
from .overrides.model import has_override_settings
from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A "Cancel override" button for every site that can have an override."""

    def build(site: SiteCoordinators) -> list[CancelOverrideButton]:
        info = site.info.latest
        if info is None or not has_override_settings(info):
            return []
        return [CancelOverrideButton(entry, site)]

    async_add_site_entities(entry, async_add_entities, build)
