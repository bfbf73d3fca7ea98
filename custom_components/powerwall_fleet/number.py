"""Number entities: one per percentage row of the control table (commands.py).

A site gets the ones it has (the row's component rule); reading, validating
and sending a value are the row's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.number import (
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import CONTROLS, PercentControl, async_set
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class PowerwallNumberDescription(NumberEntityDescription):
    """A percentage of the control table (commands.py)."""

    control: PercentControl


def _description(control: PercentControl) -> PowerwallNumberDescription:
    return PowerwallNumberDescription(
        key=control.key,
        translation_key=control.key,
        entity_category=control.entity_category,
        native_min_value=control.minimum,
        native_max_value=control.maximum,
        native_step=1,
        mode=NumberMode.BOX,
        native_unit_of_measurement=PERCENTAGE,
        control=control,
    )


NUMBERS: tuple[PowerwallNumberDescription, ...] = tuple(
    _description(control) for control in CONTROLS if isinstance(control, PercentControl)
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
            if description.control.exists(info)
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
        return None if info is None else self.entity_description.control.read(info)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.native_value is not None

    async def async_set_native_value(self, value: float) -> None:
        """Validate, send, confirm; the state follows what the site reports."""
        await async_set(self.site, self.entity_description.control, value)
