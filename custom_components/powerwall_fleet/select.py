"""Select entities: one per choice row of the control table (commands.py).

A site gets the ones it has (the row's component rule); reading, validating
and sending a choice are the row's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import CONTROLS, ChoiceControl, async_set
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class PowerwallSelectDescription(SelectEntityDescription):
    """A choice of the control table (commands.py)."""

    control: ChoiceControl


def _description(control: ChoiceControl) -> PowerwallSelectDescription:
    return PowerwallSelectDescription(
        key=control.key,
        translation_key=control.key,
        entity_category=control.entity_category,
        options=list(control.options),
        control=control,
    )


SELECTS: tuple[PowerwallSelectDescription, ...] = tuple(
    _description(control) for control in CONTROLS if isinstance(control, ChoiceControl)
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
            if description.control.exists(info)
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
        value = None if info is None else self.entity_description.control.read(info)
        return value if value in self.options else None

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.current_option is not None

    async def async_select_option(self, option: str) -> None:
        """Validate, send, confirm; the state follows what the site reports."""
        await async_set(self.site, self.entity_description.control, option)
