"""Tolerant models of Fleet API payloads.

Frozen dataclasses whose attributes are Tesla's field names. A missing,
mistyped or impossible value is ``None`` (read through ``values.py``), the
untouched payload is kept in ``raw``, and building a model never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
import types
import typing
from typing import Any, ClassVar, Self, TypeAlias, Union, get_args, get_origin

from .values import (
    ANY_FLOAT,
    ANY_INT,
    CODE,
    COUNT,
    DURATION_MS,
    ENERGY,
    IDENTIFIER,
    PERCENT,
    POWER,
    Bounds,
    parse_timestamp,
    to_bool,
    to_float,
    to_int,
    to_mapping,
    to_str,
)

_Converter: TypeAlias = Callable[[Any], Any]

_BOUNDS = "bounds"


def reading(bounds: Bounds) -> Any:
    """Declare a number field and the range its kind of reading can have."""
    return field(default=None, metadata={_BOUNDS: bounds})


def _to_any(value: Any) -> Any:
    return value


def _converter_for(hint: Any, bounds: Bounds | None = None) -> _Converter:
    """Return a converter for a field annotation of the form ``T | None``."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(hint) if arg is not type(None)]
        hint = inner[0] if len(inner) == 1 else Any
        origin = get_origin(hint)
    if hint is int:
        return partial(to_int, bounds=bounds or ANY_INT)
    if hint is float:
        return partial(to_float, bounds=bounds or ANY_FLOAT)
    if hint is str:
        return to_str
    if hint is bool:
        return to_bool
    if isinstance(hint, type) and issubclass(hint, FleetModel):
        model = hint

        def _nested(value: Any) -> Any:
            return model.from_dict(value) if isinstance(value, Mapping) else None

        return _nested
    if origin is tuple:
        item_hint = get_args(hint)[0]
        if isinstance(item_hint, type) and issubclass(item_hint, FleetModel):
            item_model = item_hint

            def _models(value: Any) -> Any:
                if not isinstance(value, list | tuple):
                    return None
                return tuple(
                    item_model.from_dict(item)
                    for item in value
                    if isinstance(item, Mapping)
                )

            return _models
        item_converter = _converter_for(item_hint)

        def _items(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                return None
            converted = (item_converter(item) for item in value)
            return tuple(item for item in converted if item is not None)

        return _items
    if origin is not None and issubclass(origin, Mapping):
        return to_mapping
    return _to_any


@dataclass(frozen=True, kw_only=True)
class FleetModel:
    """Base of all payload models."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _converters: ClassVar[dict[type, tuple[tuple[str, _Converter], ...]]] = {}

    @classmethod
    def _field_converters(cls) -> tuple[tuple[str, _Converter], ...]:
        try:
            return FleetModel._converters[cls]
        except KeyError:
            hints = typing.get_type_hints(cls)
            converters = tuple(
                (f.name, _converter_for(hints[f.name], f.metadata.get(_BOUNDS)))
                for f in fields(cls)
                if f.name != "raw"
            )
            FleetModel._converters[cls] = converters
            return converters

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Build the model from a payload; anything not a mapping gives an empty model."""
        if not isinstance(data, Mapping):
            return cls()
        values = {
            name: converter(data[name])
            for name, converter in cls._field_converters()
            if name in data
        }
        return cls(raw=data, **values)


@dataclass(frozen=True, kw_only=True)
class WallConnector(FleetModel):
    """A Wall Connector as listed in live_status or site_info."""

    din: str | None = None
    vin: str | None = None
    part_name: str | None = None
    part_number: str | None = None
    serial_number: str | None = None
    wall_connector_state: int | None = reading(CODE)
    wall_connector_fault_state: int | None = reading(CODE)
    wall_connector_power: float | None = reading(POWER)
    ocpp_status: int | None = reading(CODE)
    powershare_session_state: int | None = reading(CODE)


@dataclass(frozen=True, kw_only=True)
class LiveStatus(FleetModel):
    """``GET /energy_sites/{id}/live_status``: instantaneous power flows (W)."""

    solar_power: float | None = reading(POWER)
    battery_power: float | None = reading(POWER)
    load_power: float | None = reading(POWER)
    grid_power: float | None = reading(POWER)
    grid_services_power: float | None = reading(POWER)
    generator_power: float | None = reading(POWER)
    percentage_charged: float | None = reading(PERCENT)
    energy_left: float | None = reading(ENERGY)
    total_pack_energy: float | None = reading(ENERGY)
    grid_status: str | None = None
    island_status: str | None = None
    backup_capable: bool | None = None
    grid_services_active: bool | None = None
    storm_mode_active: bool | None = None
    timestamp: str | None = None
    wall_connectors: tuple[WallConnector, ...] | None = None

    @property
    def timestamp_dt(self) -> datetime | None:
        """The report time as an aware datetime, when it parses."""
        return parse_timestamp(self.timestamp)


@dataclass(frozen=True, kw_only=True)
class Gateway(FleetModel):
    """A gateway in ``site_info.components.gateways``."""

    din: str | None = None
    part_name: str | None = None
    part_number: str | None = None
    part_type: int | None = reading(CODE)
    serial_number: str | None = None
    firmware_version: str | None = None
    is_active: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Battery(FleetModel):
    """A battery in ``site_info.components.batteries``."""

    din: str | None = None
    part_name: str | None = None
    part_number: str | None = None
    part_type: int | None = reading(CODE)
    serial_number: str | None = None
    nameplate_energy: float | None = reading(ENERGY)
    nameplate_max_charge_power: float | None = reading(POWER)
    nameplate_max_discharge_power: float | None = reading(POWER)


@dataclass(frozen=True, kw_only=True)
class Components(FleetModel):
    """What a site has (``components`` of site_info and of products)."""

    solar: bool | None = None
    solar_type: str | None = None
    battery: bool | None = None
    battery_type: str | None = None
    grid: bool | None = None
    backup: bool | None = None
    gateway: str | None = None
    load_meter: bool | None = None
    market_type: str | None = None
    tou_capable: bool | None = None
    storm_mode_capable: bool | None = None
    off_grid_vehicle_charging_reserve_supported: bool | None = None
    grid_services_enabled: bool | None = None
    configurable: bool | None = None
    flex_energy_request_capable: bool | None = None
    car_charging_data_supported: bool | None = None
    customer_preferred_export_rule: str | None = None
    disallow_charge_from_grid_with_solar_installed: bool | None = None
    non_export_configured: bool | None = None
    gateways: tuple[Gateway, ...] | None = None
    batteries: tuple[Battery, ...] | None = None
    wall_connectors: tuple[WallConnector, ...] | None = None

    @property
    def export_rule(self) -> str | None:
        """The effective export rule (``non_export_configured`` means never)."""
        if self.customer_preferred_export_rule is not None:
            return self.customer_preferred_export_rule
        if self.non_export_configured:
            return "never"
        return None

    @property
    def grid_charging_allowed(self) -> bool | None:
        """Whether charging from the grid is allowed; None when Tesla's flag is no boolean.

        Tesla leaves the flag out when charging is allowed (null counts as
        out); a string or a number is no answer either way.
        """
        disallowed = self.disallow_charge_from_grid_with_solar_installed
        if disallowed is not None:
            return not disallowed
        sent = self.raw.get("disallow_charge_from_grid_with_solar_installed")
        return True if sent is None else None


@dataclass(frozen=True, kw_only=True)
class UserSettings(FleetModel):
    """``site_info.user_settings``."""

    storm_mode_enabled: bool | None = None
    sync_grid_alert_enabled: bool | None = None
    breaker_alert_enabled: bool | None = None
    go_off_grid_test_banner_enabled: bool | None = None
    powerwall_onboarding_settings_set: bool | None = None
    off_grid_vehicle_charging_enabled: bool | None = None
    vpp_tour_enabled: bool | None = None


@dataclass(frozen=True, kw_only=True)
class TouSettings(FleetModel):
    """``site_info.tou_settings`` (legacy schedule kept as raw mappings)."""

    optimization_strategy: str | None = None
    schedule: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SiteInfo(FleetModel):
    """``GET /energy_sites/{id}/site_info``: configuration of a site."""

    id: str | None = None
    site_name: str | None = None
    backup_reserve_percent: float | None = reading(PERCENT)
    default_real_mode: str | None = None
    installation_date: str | None = None
    installation_time_zone: str | None = None
    version: str | None = None
    battery_count: int | None = reading(COUNT)
    nameplate_power: float | None = reading(POWER)
    nameplate_energy: float | None = reading(ENERGY)
    max_site_meter_power_ac: float | None = reading(POWER)
    min_site_meter_power_ac: float | None = reading(POWER)
    vpp_backup_reserve_percent: float | None = reading(PERCENT)
    off_grid_vehicle_charging_reserve_percent: float | None = reading(PERCENT)
    utility: str | None = None
    user_settings: UserSettings | None = None
    components: Components | None = None
    tou_settings: TouSettings | None = None
    tariff_content_v2: Mapping[str, Any] | None = None

    @property
    def firmware(self) -> str | None:
        """The firmware version without Tesla's build hash, or None when blank.

        ``"24.44.0 0f5e1ab8"`` is ``"24.44.0"``.
        """
        words = (self.version or "").split()
        return words[0] if words else None

    @property
    def time_zone(self) -> str | None:
        """The site's IANA zone, or None when Tesla left it empty."""
        return self.installation_time_zone or None

    @property
    def storm_mode_enabled(self) -> bool | None:
        """Whether storm watch is enabled (from user_settings)."""
        return self.user_settings.storm_mode_enabled if self.user_settings else None


@dataclass(frozen=True, kw_only=True)
class Product(FleetModel):
    """One entry of ``GET /products`` (energy site or vehicle)."""

    energy_site_id: int | None = reading(IDENTIFIER)
    resource_type: str | None = None
    site_name: str | None = None
    id: str | None = None
    gateway_id: str | None = None
    asset_site_id: str | None = None
    warp_site_number: str | None = None
    energy_left: float | None = reading(ENERGY)
    total_pack_energy: float | None = reading(ENERGY)
    percentage_charged: float | None = reading(PERCENT)
    battery_type: str | None = None
    backup_capable: bool | None = None
    battery_power: float | None = reading(POWER)
    storm_mode_enabled: bool | None = None
    powerwall_onboarding_settings_set: bool | None = None
    components: Components | None = None
    vin: str | None = None
    display_name: str | None = None

    @property
    def is_energy_site(self) -> bool:
        """Whether this product is an energy site."""
        return self.energy_site_id is not None

    @property
    def has_components(self) -> bool:
        """Whether the site reports any solar, battery or grid component."""
        c = self.components
        return bool(c and (c.solar or c.battery or c.grid))


@dataclass(frozen=True, kw_only=True)
class EnergyInterval(FleetModel):
    """One bucket of ``calendar_history kind=energy`` (Wh in the interval)."""

    timestamp: str | None = None
    solar_energy_exported: float | None = reading(ENERGY)
    generator_energy_exported: float | None = reading(ENERGY)
    grid_energy_imported: float | None = reading(ENERGY)
    grid_services_energy_imported: float | None = reading(ENERGY)
    grid_services_energy_exported: float | None = reading(ENERGY)
    grid_energy_exported_from_solar: float | None = reading(ENERGY)
    grid_energy_exported_from_generator: float | None = reading(ENERGY)
    grid_energy_exported_from_battery: float | None = reading(ENERGY)
    battery_energy_exported: float | None = reading(ENERGY)
    battery_energy_imported_from_grid: float | None = reading(ENERGY)
    battery_energy_imported_from_solar: float | None = reading(ENERGY)
    battery_energy_imported_from_generator: float | None = reading(ENERGY)
    consumer_energy_imported_from_grid: float | None = reading(ENERGY)
    consumer_energy_imported_from_solar: float | None = reading(ENERGY)
    consumer_energy_imported_from_battery: float | None = reading(ENERGY)
    consumer_energy_imported_from_generator: float | None = reading(ENERGY)
    total_home_usage: float | None = reading(ENERGY)
    total_battery_charge: float | None = reading(ENERGY)
    total_battery_discharge: float | None = reading(ENERGY)
    total_solar_generation: float | None = reading(ENERGY)
    total_grid_energy_exported: float | None = reading(ENERGY)

    @property
    def timestamp_dt(self) -> datetime | None:
        """The bucket start as an aware datetime, when it parses."""
        return parse_timestamp(self.timestamp)


ENERGY_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(EnergyInterval) if f.name not in ("raw", "timestamp")
)


@dataclass(frozen=True, kw_only=True)
class EnergyHistory(FleetModel):
    """``calendar_history kind=energy``."""

    period: str | None = None
    installation_time_zone: str | None = None
    time_series: tuple[EnergyInterval, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class BackupEvent(FleetModel):
    """A grid outage in ``calendar_history kind=backup`` (shape unverified)."""

    timestamp: str | None = None
    duration: float | None = reading(DURATION_MS)

    @property
    def timestamp_dt(self) -> datetime | None:
        """The outage start as an aware datetime, when it parses."""
        return parse_timestamp(self.timestamp)


@dataclass(frozen=True, kw_only=True)
class BackupHistory(FleetModel):
    """``calendar_history kind=backup``."""

    events: tuple[BackupEvent, ...] | None = None
    total_events: int | None = reading(COUNT)


@dataclass(frozen=True, kw_only=True)
class ChargeHistory(FleetModel):
    """``telemetry_history kind=charge`` (shape unverified; entries kept raw)."""

    charge_history: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Region(FleetModel):
    """``GET /users/region``."""

    region: str | None = None
    fleet_api_base_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class PartnerAccount(FleetModel):
    """``POST /partner_accounts`` answer."""

    client_id: str | None = None
    domain: str | None = None
    public_key: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    enterprise_tier: str | None = None


@dataclass(frozen=True, kw_only=True)
class CommandResult(FleetModel):
    """What a write answered; every 2xx counts as accepted.

    Tesla answers writes in several shapes (``result/reason``, ``code/message``,
    ``Code/Message`` or an empty body); this normalises them. A 2xx does not
    prove the site applied the change: read it back to confirm.
    """

    result: bool | None = None
    reason: str | None = None
    code: int | None = reading(CODE)
    message: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> CommandResult:
        """Build from a whole write answer (``{"response": {...}}``, anything)."""
        response = body.get("response") if isinstance(body, Mapping) else None
        if not isinstance(response, Mapping):
            return cls(raw=body if isinstance(body, Mapping) else {})
        lowered = {
            key.lower(): value
            for key, value in response.items()
            if isinstance(key, str)
        }
        return cls(
            raw=body,
            result=to_bool(lowered.get("result")),
            reason=to_str(lowered.get("reason")),
            code=to_int(lowered.get("code"), CODE),
            message=to_str(lowered.get("message")),
        )
