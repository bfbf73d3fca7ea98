"""Energy sensors (from the history ledger) and grid outage sensors.

Owns the descriptions of the energy and outage sensors and which a site gets.
Reads the ledger (``ledger.py``) through the history coordinator; may not
send requests or change the ledger.

The energy sensors are the ledger's running totals: they only grow by the
energy of Tesla's buckets, keep their value across midnight and restarts (the
ledger is stored) and never go back to ``unknown`` once the first backfill is
done. When Tesla revises a bucket downwards they hold their value until the
total passes it again (``total_increasing`` never goes down; the long-term
statistics carry the correction). They stay available while Tesla is unreachable: the totals are still
right, only not growing until the next successful poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy, UnitOfTime

from .coordinator import HistoryCoordinator, SiteCoordinators
from .entity import PowerwallFleetEntity
from .fleet import SiteInfo
from .ledger import FLOWS, EnergyFlow, OutageSummary
from .site import has_battery, has_component, has_grid


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


def energy_entities(site: SiteCoordinators, info: SiteInfo) -> list[SensorEntity]:
    """The energy and outage sensors a site's components call for."""
    history = site.history
    entities: list[SensorEntity] = [
        EnergySensor(site, history, description)
        for description in ENERGY_SENSORS
        if all(has_component(info, part) for part in description.flow.components)
    ]
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
