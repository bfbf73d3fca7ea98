"""The energy flows: which Tesla history fields make each flow, and the buckets of an answer.

Owns :data:`FLOWS` (one row per flow: key, Tesla field or parts, components,
name, main or breakdown), the money statistics' keys and :func:`buckets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from ..fleet import EnergyHistory, EnergyInterval

if TYPE_CHECKING:
    from ..site import Component

BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class EnergyFlow:
    """One energy flow: a Tesla history field (or the sum of its parts)."""

    key: str
    field: str
    parts: tuple[str, ...] = ()
    components: tuple[Component, ...]
    name: str
    main: bool = False

    def energy(self, bucket: EnergyInterval) -> float:
        """Wh of this flow in ``bucket``; missing or negative counts as 0."""
        value: float | None = getattr(bucket, self.field)
        if value is None and self.parts:
            found = [getattr(bucket, part) for part in self.parts]
            if any(part is not None for part in found):
                value = sum(part or 0.0 for part in found)
        if value is None or value < 0:
            return 0.0
        return float(value)


FLOWS: tuple[EnergyFlow, ...] = (
    EnergyFlow(
        key="grid_energy_imported",
        field="grid_energy_imported",
        components=("grid",),
        name="Grid imported",
        main=True,
    ),
    EnergyFlow(
        key="grid_energy_exported",
        field="total_grid_energy_exported",
        parts=(
            "grid_energy_exported_from_solar",
            "grid_energy_exported_from_battery",
            "grid_energy_exported_from_generator",
        ),
        components=("grid",),
        name="Grid exported",
        main=True,
    ),
    EnergyFlow(
        key="solar_energy_produced",
        field="total_solar_generation",
        parts=("solar_energy_exported",),
        components=("solar",),
        name="Solar produced",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_charged",
        field="total_battery_charge",
        parts=(
            "battery_energy_imported_from_grid",
            "battery_energy_imported_from_solar",
            "battery_energy_imported_from_generator",
        ),
        components=("battery",),
        name="Battery charged",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_discharged",
        field="total_battery_discharge",
        parts=("battery_energy_exported",),
        components=("battery",),
        name="Battery discharged",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_consumed",
        field="total_home_usage",
        parts=(
            "consumer_energy_imported_from_grid",
            "consumer_energy_imported_from_solar",
            "consumer_energy_imported_from_battery",
            "consumer_energy_imported_from_generator",
        ),
        components=("home",),
        name="Home consumed",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_from_grid",
        field="consumer_energy_imported_from_grid",
        components=("grid",),
        name="Home from grid",
    ),
    EnergyFlow(
        key="home_energy_from_solar",
        field="consumer_energy_imported_from_solar",
        components=("solar",),
        name="Home from solar",
    ),
    EnergyFlow(
        key="home_energy_from_battery",
        field="consumer_energy_imported_from_battery",
        components=("battery",),
        name="Home from battery",
    ),
    EnergyFlow(
        key="battery_energy_from_grid",
        field="battery_energy_imported_from_grid",
        components=("battery", "grid"),
        name="Battery charged from grid",
    ),
    EnergyFlow(
        key="battery_energy_from_solar",
        field="battery_energy_imported_from_solar",
        components=("battery", "solar"),
        name="Battery charged from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_solar",
        field="grid_energy_exported_from_solar",
        components=("grid", "solar"),
        name="Grid exported from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_battery",
        field="grid_energy_exported_from_battery",
        components=("grid", "battery"),
        name="Grid exported from battery",
    ),
    EnergyFlow(
        key="generator_energy",
        field="generator_energy_exported",
        components=("home",),
        name="Generator",
    ),
    EnergyFlow(
        key="grid_services_energy_imported",
        field="grid_services_energy_imported",
        components=("grid_services",),
        name="Grid services imported",
    ),
    EnergyFlow(
        key="grid_services_energy_exported",
        field="grid_services_energy_exported",
        components=("grid_services",),
        name="Grid services exported",
    ),
)
FLOW_NAMES: dict[str, str] = {flow.key: flow.name for flow in FLOWS}


def buckets(
    history: EnergyHistory, zone: tzinfo
) -> list[tuple[datetime, EnergyInterval]]:
    """The buckets of an answer with their start in UTC (zone-less ones are local)."""
    found = []
    for bucket in history.time_series or ():
        start = bucket.timestamp_dt
        if start is None:
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        found.append((start.astimezone(UTC), bucket))
    return found


# The money statistics: what the grid's imports cost, what its exports earned.
COST = "grid_energy_imported_cost"
COMPENSATION = "grid_energy_exported_compensation"
MONEY_KEYS: tuple[str, str] = (COST, COMPENSATION)
MONEY_NAMES: dict[str, str] = {
    COST: "Grid import cost",
    COMPENSATION: "Grid export compensation",
}
# The flows money is counted on (Wh in FLOWS order).
IMPORTED = next(i for i, flow in enumerate(FLOWS) if flow.key == "grid_energy_imported")
EXPORTED = next(i for i, flow in enumerate(FLOWS) if flow.key == "grid_energy_exported")
