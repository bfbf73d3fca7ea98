"""The override entities of a site: "Override active", "Override ends", "Cancel override", "Dispatch".

Each reads the entry's :class:`~.engine.OverrideManager` (no request) and
updates when an override starts, changes or ends; the button cancels through
the manager. binary_sensor.py, sensor.py and button.py add them to the sites
that have a setting an override can change (:func:`~.model.has_override_settings`:
a solar-only site has none). The sensors are available while Home Assistant
runs, whether Tesla answers or not (the override is local state); the button
only while the site has an override to cancel. "Dispatch" shows what the
battery does about the site's dispatch (dispatch.py's states).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.helpers.entity import EntityDescription

from ..coordinator import InfoCoordinator, SiteCoordinators
from ..entity import PowerwallFleetEntity
from .dispatch import STATES
from .engine import OverrideManager
from .model import FIELDS, Override, not_restored_error

if TYPE_CHECKING:
    from ..runtime import PowerwallFleetConfigEntry


class _OverrideEntity(PowerwallFleetEntity[InfoCoordinator]):
    """An entity that shows or ends a site's override."""

    def __init__(
        self,
        entry: PowerwallFleetConfigEntry,
        site: SiteCoordinators,
        description: EntityDescription,
    ) -> None:
        """Attach to the site's device and the entry's overrides."""
        super().__init__(site, site.info, description)
        self.manager: OverrideManager = entry.runtime_data.overrides

    @property
    def override(self) -> Override | None:
        """The site's override, if any."""
        return self.manager.overrides.get(self.site.site_id)

    @property
    def available(self) -> bool:
        """Local state: always there."""
        return True

    async def async_added_to_hass(self) -> None:
        """Follow the overrides as well as site_info."""
        await super().async_added_to_hass()
        self.async_on_remove(self.manager.async_add_listener(self.async_write_ha_state))


class OverrideActiveSensor(_OverrideEntity, BinarySensorEntity):
    """On while the site has an override (or its restore is still to do)."""

    def __init__(
        self, entry: PowerwallFleetConfigEntry, site: SiteCoordinators
    ) -> None:
        """The "Override active" binary sensor."""
        super().__init__(
            entry,
            site,
            BinarySensorEntityDescription(
                key="override_active", translation_key="override_active"
            ),
        )

    @property
    def is_on(self) -> bool:
        """Whether an override is running or restoring."""
        return self.override is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """What is overridden, the values to restore, the end and the restore's state."""
        override = self.override
        if override is None:
            return {"overridden": {}, "restore": {}}
        return {
            "overridden": _ordered(override.values),
            "restore": _ordered(override.restore),
            "ends_at": override.ends_at.isoformat() if override.ends_at else None,
            "target_percent": override.target_percent,
            "restoring": override.restoring,
        }


class OverrideEndsSensor(_OverrideEntity, SensorEntity):
    """When the site's override ends; unknown without one or when only a level ends it."""

    def __init__(
        self, entry: PowerwallFleetConfigEntry, site: SiteCoordinators
    ) -> None:
        """The "Override ends" sensor."""
        super().__init__(
            entry,
            site,
            SensorEntityDescription(
                key="override_ends",
                translation_key="override_ends",
                device_class=SensorDeviceClass.TIMESTAMP,
            ),
        )

    @property
    def native_value(self) -> datetime | None:
        """The end time."""
        override = self.override
        return None if override is None else override.ends_at


class DispatchSensor(_OverrideEntity, SensorEntity):
    """What the site's dispatch achieves: idle, waiting, acting, not acting, ..."""

    def __init__(
        self, entry: PowerwallFleetConfigEntry, site: SiteCoordinators
    ) -> None:
        """The "Dispatch" sensor."""
        super().__init__(
            entry,
            site,
            SensorEntityDescription(
                key="dispatch",
                translation_key="dispatch",
                device_class=SensorDeviceClass.ENUM,
                options=list(STATES),
            ),
        )

    @property
    def native_value(self) -> str:
        """The dispatch's state."""
        return self.manager.dispatch_state(self.site.site_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Mode, strategy, since, observed power (kW) and end."""
        dispatch = self.manager.dispatch_of(self.site.site_id)
        if dispatch is None:
            return {}
        override = self.override
        power = dispatch.observed_power
        ends_at = override.ends_at if override is not None else None
        return {
            "mode": dispatch.mode,
            "strategy": dispatch.current.name,
            "since": dispatch.since.isoformat(),
            "observed_power": None if power is None else round(power / 1000, 3),
            "ends_at": ends_at.isoformat() if ends_at else None,
        }


class CancelOverrideButton(_OverrideEntity, ButtonEntity):
    """Ends the site's override now and restores what it replaced."""

    def __init__(
        self, entry: PowerwallFleetConfigEntry, site: SiteCoordinators
    ) -> None:
        """The "Cancel override" button."""
        super().__init__(
            entry,
            site,
            ButtonEntityDescription(
                key="cancel_override", translation_key="cancel_override"
            ),
        )

    @property
    def available(self) -> bool:
        """Pressable only while there is an override (or its restore) to cancel."""
        return self.override is not None

    async def async_press(self) -> None:
        """Cancel; a restore that fails is retried, and the error names what failed."""
        result = await self.manager.async_cancel(self.site)
        if (failure := await result.async_failure(self.site)) is not None:
            raise not_restored_error([failure])


def _ordered(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in FIELDS if name in values}
