"""The ``price_sync`` sensor of a site: what price sync is doing.

An enum sensor (``off``, ``synced``, ``pending``, ``fallback``, ``error``)
reading the entry's :class:`~.sync.PriceSync` (no request), with the last
push, the levels and their prices and the next price change as attributes.
sensor.py adds it to every site that takes a time-of-use tariff. Local
state: available whether Tesla answers or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory

from ..coordinator import InfoCoordinator, SiteCoordinators
from ..entity import PowerwallFleetEntity
from .sync import STATES, PriceSync, SiteSync

if TYPE_CHECKING:
    from ..runtime import PowerwallFleetConfigEntry


class PriceSyncSensor(PowerwallFleetEntity[InfoCoordinator], SensorEntity):
    """The site's price-sync state."""

    def __init__(
        self, entry: PowerwallFleetConfigEntry, site: SiteCoordinators, sync: PriceSync
    ) -> None:
        """The "Price sync" sensor."""
        super().__init__(
            site,
            site.info,
            SensorEntityDescription(
                key="price_sync",
                translation_key="price_sync",
                device_class=SensorDeviceClass.ENUM,
                options=list(STATES),
                entity_category=EntityCategory.DIAGNOSTIC,
            ),
        )
        self.sync = sync

    @property
    def status(self) -> SiteSync | None:
        """The site's sync state."""
        return self.sync.status.get(self.site.site_id)

    @property
    def available(self) -> bool:
        """Local state: always there."""
        return True

    @property
    def native_value(self) -> str:
        """The state."""
        status = self.status
        return status.state if status is not None else "off"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Last push, levels and their prices, next price change."""
        status = self.status
        return status.attributes() if status is not None else {}

    async def async_added_to_hass(self) -> None:
        """Follow the sync as well as site_info."""
        await super().async_added_to_hass()
        self.async_on_remove(self.sync.async_add_listener(self.async_write_ha_state))
