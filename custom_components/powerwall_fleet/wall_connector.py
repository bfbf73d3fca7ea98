"""Wall Connectors: a device per connector a site lists in live_status, and its sensors.

Owns the connectors' devices (by DIN, via the site's device), their four
sensors (state, fault state, power, the connected vehicle's VIN) and following
connectors that appear or disappear without a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import DOMAIN
from .coordinator import LiveCoordinator, SiteCoordinators
from .entity import MANUFACTURER, PowerwallFleetEntity, remove_device
from .fleet import LiveStatus, WallConnector

if TYPE_CHECKING:
    from .runtime import PowerwallFleetConfigEntry

# Tesla's numeric ``wall_connector_state`` in live_status. Taken from Home
# Assistant core: tessie/const.py ``TessieWallConnectorStates`` (the same
# table as teslemetry/sensor.py ``WallConnectorStates``, which calls 2
# "not_connected"). Code 3 is in neither; the connector's local API
# (tesla_wall_connector ``EVSE_STATE``) numbers its states differently. A code
# not listed here shows as unknown.
WALL_CONNECTOR_STATES: dict[int, str] = {
    0: "booting",
    1: "charging",
    2: "disconnected",
    4: "connected",
    5: "scheduled",
    6: "negotiating",
    7: "error",
    8: "charging_finished",
    9: "waiting_car",
    10: "charging_reduced",
}

# A DIN is "<part number>--<serial number>".
_DIN_SEPARATOR = "--"
# Home Assistant 2026.8 links a device to its parent by the parent's id
# (``via_device_id``) instead of its identifier (``via_device``).
_VIA_DEVICE_ID = "via_device_id" in DeviceInfo.__optional_keys__


def wall_connectors(live: LiveStatus | None) -> dict[str, WallConnector] | None:
    """The connectors of a live_status by DIN (first one per DIN; one without a DIN is skipped).

    None when live_status is not known, carries no list of connectors or a
    list in which no connector is readable (``[1, 2]``, entries without a
    DIN): then nothing can be said about which connectors exist. Only an
    empty list says the site has none.
    """
    if live is None or live.wall_connectors is None:
        return None
    found: dict[str, WallConnector] = {}
    for connector in live.wall_connectors:
        if connector.din and connector.din not in found:
            found[connector.din] = connector
    if not found and live.raw.get("wall_connectors"):
        return None
    return found


def wall_connector_device_info(
    site: SiteCoordinators, connector: WallConnector, site_device_id: str
) -> DeviceInfo:
    """The device of a Wall Connector: named after its serial, connected via its site's device."""
    din = connector.din or ""
    part, _, serial = din.rpartition(_DIN_SEPARATOR)
    serial = connector.serial_number or serial or din
    listed = _listed(site, din)
    device = DeviceInfo(
        identifiers={(DOMAIN, din)},
        manufacturer=MANUFACTURER,
        name=f"Wall Connector {serial[-4:]}",
        model=connector.part_name
        or (listed.part_name if listed else None)
        or "Wall Connector",
        serial_number=serial,
    )
    model_id = connector.part_number or (listed.part_number if listed else None) or part
    if model_id:
        device["model_id"] = model_id
    if _VIA_DEVICE_ID:
        device["via_device_id"] = site_device_id
    else:  # pragma: no cover - Home Assistant before 2026.8
        device["via_device"] = (DOMAIN, str(site.site_id))  # type: ignore[typeddict-unknown-key]
    return device


def _listed(site: SiteCoordinators, din: str) -> WallConnector | None:
    """The connector as site_info's components list it (part name and number)."""
    info = site.info.latest
    if info is None or not info.components or not info.components.wall_connectors:
        return None
    return next((c for c in info.components.wall_connectors if c.din == din), None)


def _state(connector: WallConnector) -> str | None:
    code = connector.wall_connector_state
    return None if code is None else WALL_CONNECTOR_STATES.get(code)


@dataclass(frozen=True, kw_only=True)
class WallConnectorSensorDescription(SensorEntityDescription):
    """A value of one Wall Connector in live_status."""

    value_fn: Callable[[WallConnector], StateType]


WALL_CONNECTOR_SENSORS: tuple[WallConnectorSensorDescription, ...] = (
    WallConnectorSensorDescription(
        key="wall_connector_state",
        translation_key="wall_connector_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(WALL_CONNECTOR_STATES.values()),
        value_fn=_state,
    ),
    # No public table of the fault codes: the code itself is shown.
    WallConnectorSensorDescription(
        key="wall_connector_fault_state",
        translation_key="wall_connector_fault_state",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda connector: connector.wall_connector_fault_state,
    ),
    WallConnectorSensorDescription(
        key="wall_connector_power",
        translation_key="wall_connector_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda connector: connector.wall_connector_power,
    ),
    WallConnectorSensorDescription(
        key="wall_connector_vin",
        translation_key="wall_connector_vin",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda connector: connector.vin or None,
    ),
)


class WallConnectorSensor(PowerwallFleetEntity[LiveCoordinator], SensorEntity):
    """A value of one Wall Connector; unavailable while the site does not list it."""

    entity_description: WallConnectorSensorDescription

    def __init__(
        self,
        site: SiteCoordinators,
        connector: WallConnector,
        description: WallConnectorSensorDescription,
        device_info: DeviceInfo,
    ) -> None:
        """Attach to the site's live coordinator and the connector's device."""
        super().__init__(site, site.live, description)
        self.din = connector.din or ""
        self._attr_unique_id = f"{site.site_id}_{self.din}_{description.key}"
        self._attr_device_info = device_info

    @property
    def connector(self) -> WallConnector | None:
        """The connector in the latest live_status, if listed."""
        found = wall_connectors(self.coordinator.latest)
        return found.get(self.din) if found else None

    @property
    def available(self) -> bool:
        """Available while the poll works and the site lists the connector."""
        return super().available and self.connector is not None

    @property
    def native_value(self) -> StateType:
        """The value; None (unknown) when missing, malformed or an unknown code."""
        connector = self.connector
        return (
            None if connector is None else self.entity_description.value_fn(connector)
        )


def async_add_wall_connectors(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every site's Wall Connectors now and follow them on each live update."""
    for site in entry.runtime_data.sites.values():
        follow = _ConnectorFollower(hass, entry, site, async_add_entities)
        follow.update()
        entry.async_on_unload(site.live.async_add_listener(follow.update))
        entry.async_on_unload(site.info.async_add_listener(follow.update))


class _ConnectorFollower:
    """Which connectors of one site have entities, kept in step with live_status."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PowerwallFleetConfigEntry,
        site: SiteCoordinators,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.site = site
        self.async_add_entities = async_add_entities
        self.known: set[str] = set()

    @callback
    def update(self) -> None:
        """Add the entities of new connectors; remove the devices of gone ones.

        Only a live_status that lists connectors counts: a failed poll or a
        payload without a (well-formed) list keeps everything as it is. Like
        the site's own entities, nothing is added before site_info is known.
        """
        if not self.site.live.last_update_success or self.site.info.latest is None:
            return
        found = wall_connectors(self.site.live.latest)
        registry = dr.async_get(self.hass)
        devices = dr.async_entries_for_config_entry(registry, self.entry.entry_id)
        site_identifier = (DOMAIN, str(self.site.site_id))
        site_device = next(
            (d for d in devices if site_identifier in d.identifiers), None
        )
        if found is None or site_device is None:
            return
        new = [connector for din, connector in found.items() if din not in self.known]
        if new:
            self.known.update(connector.din or "" for connector in new)
            self.async_add_entities(
                WallConnectorSensor(
                    self.site,
                    connector,
                    description,
                    wall_connector_device_info(self.site, connector, site_device.id),
                )
                for connector in new
                for description in WALL_CONNECTOR_SENSORS
            )
        self._remove_gone(registry, devices, site_device.id, set(found))

    def _remove_gone(
        self,
        registry: dr.DeviceRegistry,
        devices: list[dr.DeviceEntry],
        site_device_id: str,
        listed: set[str],
    ) -> None:
        for device in devices:
            if device.via_device_id != site_device_id:
                continue
            dins = {value for domain, value in device.identifiers if domain == DOMAIN}
            if dins & listed:
                continue
            remove_device(registry, device.id, self.entry.entry_id)
            self.known -= dins
