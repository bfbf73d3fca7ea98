"""Switch entities: one per on/off row of the control table (commands.py).

A site gets the ones it has (the row's component rule); reading and sending
a turn are the row's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import CONTROLS, SwitchControl, async_set
from .coordinator import InfoCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity, async_add_site_entities

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Commands: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class PowerwallSwitchDescription(SwitchEntityDescription):
    """An on/off row of the control table (commands.py)."""

    control: SwitchControl


def _description(control: SwitchControl) -> PowerwallSwitchDescription:
    return PowerwallSwitchDescription(
        key=control.key,
        translation_key=control.key,
        entity_category=control.entity_category,
        control=control,
    )


SWITCHES: tuple[PowerwallSwitchDescription, ...] = tuple(
    _description(control) for control in CONTROLS if isinstance(control, SwitchControl)
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
            if description.control.exists(info)
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
        return None if info is None else self.entity_description.control.read(info)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the setting is missing."""
        return super().available and self.is_on is not None

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on; the state follows what the site reports."""
        await async_set(self.site, self.entity_description.control, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off; the state follows what the site reports."""
        await async_set(self.site, self.entity_description.control, False)
