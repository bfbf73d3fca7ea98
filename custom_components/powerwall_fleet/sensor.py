"""Sensors: power flows, battery, site facts, requests, energy totals and grid outages.

Owns their descriptions and value functions (live_status, site_info, the
request tally, the ledger). Energy totals only grow and stay available while
Tesla is unreachable. The time-of-use and Wall Connector sensors are tou.py's
and wall_connector.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import (
    FleetCoordinator,
    HistoryCoordinator,
    LifetimeCoordinator,
    SiteCoordinators,
)
from .energy.ledger import FLOWS, EnergyFlow, OutageSummary
from .entity import PowerwallFleetEntity, async_add_site_entities
from .fleet import LiveStatus, SiteInfo
from .overrides.entities import DispatchSensor, OverrideEndsSensor
from .overrides.model import has_override_settings
from .prices.entities import PriceSyncSensor
from .runtime import PowerwallFleetConfigEntry
from .site import has_battery, has_component, has_grid, has_solar
from .tou import async_add_tou_entities, tou_sensors
from .wall_connector import async_add_wall_connectors

# Reads only: the coordinators do the fetching.
PARALLEL_UPDATES = 0

ISLAND_STATES = [
    "on_grid",
    "off_grid",
    "off_grid_intentional",
    "off_grid_unintentional",
    "island_status_unknown",
]


def _has_battery(info: SiteInfo, live: LiveStatus | None) -> bool:
    return has_battery(info)


def _has_solar(info: SiteInfo, live: LiveStatus | None) -> bool:
    return has_solar(info)


def _has_grid(info: SiteInfo, live: LiveStatus | None) -> bool:
    return has_grid(info)


def _always(info: SiteInfo, live: LiveStatus | None) -> bool:
    return True


def _reported(field: str) -> Callable[[SiteInfo, LiveStatus | None], bool]:
    """Only when the site reports ``field`` (Powerwall 3 dropped some)."""

    def _exists(info: SiteInfo, live: LiveStatus | None) -> bool:
        return _has_battery(info, live) and live is not None and field in live.raw

    return _exists


@dataclass(frozen=True, kw_only=True)
class PowerwallSensorDescription(SensorEntityDescription):
    """A sensor read from live_status or site_info."""

    source: Literal["live", "info"] = "live"
    value_fn: Callable[[Any], StateType]
    exists_fn: Callable[[SiteInfo, LiveStatus | None], bool] = _always


def _power(
    key: str, exists: Callable[[SiteInfo, LiveStatus | None], bool], **kwargs: Any
) -> PowerwallSensorDescription:
    return PowerwallSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda live: getattr(live, key),
        exists_fn=exists,
        **kwargs,
    )


SENSORS: tuple[PowerwallSensorDescription, ...] = (
    _power("solar_power", _has_solar),
    _power("battery_power", _has_battery),
    _power("grid_power", _has_grid),
    _power("load_power", _always),
    _power("generator_power", _always, entity_registry_enabled_default=False),
    _power("grid_services_power", _has_battery, entity_registry_enabled_default=False),
    PowerwallSensorDescription(
        key="percentage_charged",
        translation_key="percentage_charged",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda live: live.percentage_charged,
        exists_fn=_has_battery,
    ),
    PowerwallSensorDescription(
        key="energy_left",
        translation_key="energy_left",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda live: live.energy_left,
        exists_fn=_reported("energy_left"),
    ),
    PowerwallSensorDescription(
        key="total_pack_energy",
        translation_key="total_pack_energy",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda live: live.total_pack_energy,
        exists_fn=_reported("total_pack_energy"),
    ),
    PowerwallSensorDescription(
        key="island_status",
        translation_key="island_status",
        device_class=SensorDeviceClass.ENUM,
        options=ISLAND_STATES,
        value_fn=lambda live: (
            live.island_status if live.island_status in ISLAND_STATES else None
        ),
        exists_fn=_has_battery,
    ),
    PowerwallSensorDescription(
        key="version",
        translation_key="version",
        source="info",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda info: info.firmware,
        exists_fn=lambda info, live: info.version is not None,
    ),
    PowerwallSensorDescription(
        key="battery_count",
        translation_key="battery_count",
        source="info",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda info: info.battery_count,
        exists_fn=_has_battery,
    ),
    PowerwallSensorDescription(
        key="nameplate_power",
        translation_key="nameplate_power",
        source="info",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda info: info.nameplate_power,
        exists_fn=_has_battery,
    ),
    PowerwallSensorDescription(
        key="nameplate_energy",
        translation_key="nameplate_energy",
        source="info",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda info: info.nameplate_energy,
        exists_fn=_has_battery,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Sensors for every site, as its components allow."""

    def build(site: SiteCoordinators) -> list[SensorEntity]:
        info = site.info.latest
        if info is None:  # pragma: no cover - async_add_site_entities waits for it
            return []
        entities: list[SensorEntity] = [
            PowerwallSensor(site, description)
            for description in SENSORS
            if description.exists_fn(info, site.live.latest)
        ]
        entities.append(RequestCounterSensor(site))
        if has_override_settings(info):
            entities.append(OverrideEndsSensor(entry, site))
        if has_battery(info):
            entities.append(DispatchSensor(entry, site))
        entities.extend(energy_entities(site, info))
        if (prices := entry.runtime_data.prices) and site.site_id in prices.status:
            entities.append(PriceSyncSensor(entry, site, prices))
        return entities

    async_add_site_entities(entry, async_add_entities, build)
    async_add_tou_entities(entry, async_add_entities, tou_sensors)
    async_add_wall_connectors(hass, entry, async_add_entities)


class PowerwallSensor(PowerwallFleetEntity[FleetCoordinator[Any]], SensorEntity):
    """A value from live_status or site_info."""

    entity_description: PowerwallSensorDescription

    def __init__(
        self, site: SiteCoordinators, description: PowerwallSensorDescription
    ) -> None:
        """Read from the coordinator the description names."""
        coordinator: FleetCoordinator[Any] = (
            site.info if description.source == "info" else site.live
        )
        super().__init__(site, coordinator, description)

    @property
    def native_value(self) -> StateType:
        """The value, or None when the payload lacks it."""
        data = self.coordinator.latest
        return None if data is None else self.entity_description.value_fn(data)

    @property
    def available(self) -> bool:
        """Unavailable when the poll failed or the field is missing/malformed."""
        return super().available and self.native_value is not None


class RequestCounterSensor(PowerwallFleetEntity[FleetCoordinator[Any]], SensorEntity):
    """Fleet API requests sent for this site since Home Assistant started."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_entity_registry_enabled_default = False
    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_native_unit_of_measurement = "requests"

    def __init__(self, site: SiteCoordinators) -> None:
        """Count what the site's coordinators and commands sent."""
        super().__init__(
            site,
            site.live,
            SensorEntityDescription(key="api_requests", translation_key="api_requests"),
        )

    @property
    def available(self) -> bool:
        """Counting works even while Tesla is down."""
        return True

    @property
    def native_value(self) -> int:
        """All requests so far."""
        return self.site.usage.total

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Requests per endpoint and since when they are counted."""
        return {
            "since": self.site.usage.since.isoformat(),
            **dict(sorted(self.site.usage.counts.items())),
        }


# Energy sensors (the history ledger's running totals) and grid outage sensors.


@dataclass(frozen=True, kw_only=True)
class EnergySensorDescription(SensorEntityDescription):
    """A running energy total of one flow."""

    flow: EnergyFlow


@dataclass(frozen=True, kw_only=True)
class OutageSensorDescription(SensorEntityDescription):
    """A figure of the last 30 days' grid outages."""

    value_fn: Callable[[OutageSummary], float | int | datetime | None]


ENERGY_SENSORS: tuple[EnergySensorDescription, ...] = tuple(
    EnergySensorDescription(
        key=flow.key,
        translation_key=flow.key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        entity_registry_enabled_default=flow.main,
        flow=flow,
    )
    for flow in FLOWS
)

OUTAGE_SENSORS: tuple[OutageSensorDescription, ...] = (
    OutageSensorDescription(
        key="grid_outages",
        translation_key="grid_outages",
        native_unit_of_measurement="outages",
        value_fn=lambda summary: summary.count,
    ),
    OutageSensorDescription(
        key="grid_outage_duration",
        translation_key="grid_outage_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda summary: (
            None
            if summary.total_duration is None
            else round(summary.total_duration.total_seconds() / 60, 1)
        ),
    ),
    OutageSensorDescription(
        key="last_grid_outage",
        translation_key="last_grid_outage",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda summary: summary.last_start,
    ),
)


HISTORY_IMPORTED_FROM = SensorEntityDescription(
    key="history_imported_from",
    translation_key="history_imported_from",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


def energy_entities(site: SiteCoordinators, info: SiteInfo) -> list[SensorEntity]:
    """The energy and outage sensors a site's components call for."""
    history = site.history
    entities: list[SensorEntity] = [
        EnergySensor(site, history, description)
        for description in ENERGY_SENSORS
        if all(has_component(info, part) for part in description.flow.components)
    ]
    entities.append(
        HistoryImportedFromSensor(site, site.lifetime, HISTORY_IMPORTED_FROM)
    )
    if has_battery(info) and has_grid(info):
        entities.extend(
            OutageSensor(site, history, description) for description in OUTAGE_SENSORS
        )
    return entities


class EnergySensor(PowerwallFleetEntity[HistoryCoordinator], SensorEntity):
    """Energy of one flow since the ledger started (kWh, only growing)."""

    entity_description: EnergySensorDescription

    @property
    def available(self) -> bool:
        """The totals stay right while Tesla is unreachable."""
        return True

    @property
    def native_value(self) -> float | None:
        """The running total, once the first backfill is complete."""
        ledger = self.coordinator.ledger
        if not ledger.backfilled:
            return None
        return round(ledger.shown(self.entity_description.flow.key) / 1000, 3)


class HistoryImportedFromSensor(
    PowerwallFleetEntity[LifetimeCoordinator], SensorEntity
):
    """The start of the oldest day of energy history imported.

    While older days are still being imported, the share done (%) and the
    days left are its attributes.
    """

    @property
    def available(self) -> bool:
        """Local knowledge: stays while Tesla is unreachable."""
        return True

    @property
    def native_value(self) -> datetime | None:
        """The oldest day's start, once the recent past is in."""
        return self.coordinator.imported_from()

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The share done and the days left, while importing."""
        return self.coordinator.running()


class OutageSensor(PowerwallFleetEntity[HistoryCoordinator], SensorEntity):
    """Grid outages of the last 30 days."""

    entity_description: OutageSensorDescription

    @property
    def available(self) -> bool:
        """Available once the outage history was read."""
        return self.coordinator.ledger.outages is not None

    @property
    def native_value(self) -> float | int | datetime | None:
        """The figure, when Tesla's answer had it."""
        outages = self.coordinator.ledger.outages
        return None if outages is None else self.entity_description.value_fn(outages)
