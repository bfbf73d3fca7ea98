"""The simulated world: accounts, app credentials and energy sites (all data in one place)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .controller import Quirks
from .tariff import night_tariff

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"
DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "energy_device_data",
    "energy_cmds",
)
KNOWN_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
    "energy_device_data",
    "energy_cmds",
)
APP_NAME = "Powerwall Fleet (simulated app)"

USER_MAIN = "user-main"
USER_EU = "user-eu"
USER_CHARGERS = "user-chargers"
USER_KINDS = "user-kinds"

PARTNER_DOMAIN = "powerwall.example.org"
# Deterministic private scalar of the pre-registered partner key (secp256r1).
PARTNER_KEY_SECRET = 0x5EED_0F_F1EE7_A11_C0FFEE_2026

SITE_FULL = 2252147483647001
SITE_SOLAR_ONLY = 2252147483647002
SITE_PW3 = 2252147483647003
SITE_DEAD = 2252147483647004
SITE_EU = 2252147483647005
SITE_CHARGERS = 2252147483647006
# The site compositions the others lack (USER_KINDS): a battery without solar,
# storm-capable or not, and a site with neither (a gateway whose batteries
# were removed: Tesla still lists it, with no components).
SITE_BATTERY_ONLY = 2252147483647007
SITE_BATTERY_NO_STORM = 2252147483647008
SITE_NO_COMPONENTS = 2252147483647009

VEHICLE_ID = 3744019283746501

# The Wall Connectors of SITE_CHARGERS: one charging a car, one idle.
WC_CHARGING = "1529455-02-D--PGT24111000A07"
WC_IDLE = "1529455-02-D--PGT24111000B08"
CHARGING_VIN = "7SAYGDEF5PF000421"


@dataclass(frozen=True, slots=True)
class UserConfig:
    """A Tesla account."""

    user_id: str
    region: str  # "na" | "eu"
    email: str
    full_name: str


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Static description of an energy site; the live state lives in ``SiteState``."""

    site_id: int
    user: str
    site_name: str | None
    time_zone: str  # reported installation_time_zone (may be "")
    physics_time_zone: str  # zone the household lives by (used when time_zone is "")
    latitude: float
    longitude: float
    gateway_id: str  # site_info.id / products.id (gateway DIN style)
    asset_site_id: str
    installation_date: str
    version: str = "24.44.0 eb113390"
    solar_w: int = 0
    battery_count: int = 0
    battery_part_name: str = ""
    battery_part_number: str = ""
    battery_energy_wh: int = 0  # per battery
    battery_power_w: int = 0  # per battery (charge and discharge)
    battery_type: str | None = None  # "ac_powerwall" | "solar_powerwall"
    report_energy_left: bool = True
    grid: bool = True
    backup: bool = False
    storm_capable: bool = False
    tou_capable: bool = False
    ogvcr_supported: bool = False
    load_meter: bool = True
    gateway_part_name: str = "Gateway 2"
    gateway_part_number: str = "1232100-00-E"
    gateway_serial: str = ""
    market_type: str = "residential"
    utility: str = "Pacific Gas & Electric Co"
    currency: str = "USD"
    wall_connectors: tuple[dict[str, Any], ...] = ()
    # live_status fields of a connector (by DIN) that differ from idle and
    # unplugged; a "wall_connector_power" is a car charging, drawn from the
    # home load.
    wall_connector_live: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead: bool = False
    load_scale: float = 1.0
    seed: int = 0
    # initial state
    initial_mode: str = "self_consumption"
    initial_reserve: int = 20
    initial_soc: float = 60.0
    initial_storm_mode: bool = False
    initial_export_rule: str | None = None
    initial_disallow_grid_charging: bool = False
    initial_ogvcr: int = 0
    # the tariff_content_v2 Tesla holds at the start (None: tariff.default_tariff)
    tariff: dict[str, Any] | None = None
    # time-based control's strategy ("economics" = the app's Cost Saving, or "balanced")
    optimization_strategy: str = "economics"
    # owners' reports switched on for this site (controller.Quirks; all off by default)
    quirks: Quirks = field(default_factory=Quirks)
    extra_products: dict[str, Any] = field(default_factory=dict)

    @property
    def capacity_wh(self) -> int:
        """Usable battery energy of the whole site (Wh)."""
        return self.battery_count * self.battery_energy_wh

    @property
    def battery_max_w(self) -> int:
        """Maximum charge/discharge power of the whole site (W)."""
        return self.battery_count * self.battery_power_w

    @property
    def charging_w(self) -> float:
        """Power (W) the cars charging at the Wall Connectors draw, part of the home load."""
        return float(
            sum(
                live.get("wall_connector_power", 0)
                for live in self.wall_connector_live.values()
            )
        )

    @property
    def has_battery(self) -> bool:
        """Whether the site has at least one battery."""
        return self.battery_count > 0

    @property
    def has_solar(self) -> bool:
        """Whether the site has solar."""
        return self.solar_w > 0

    @property
    def resource_type(self) -> str:
        """products.resource_type."""
        return "battery" if self.has_battery or self.dead else "solar"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the simulator serves."""

    users: dict[str, UserConfig]
    sites: dict[int, SiteConfig]
    vehicles: dict[str, list[dict[str, Any]]]


def _vehicle(user_numeric: int) -> dict[str, Any]:
    return {
        "id": VEHICLE_ID,
        "user_id": user_numeric,
        "vehicle_id": 1492931337,
        "vin": "5YJ3E1EA7NF000316",
        "color": None,
        "access_type": "OWNER",
        "display_name": "Roadrunner",
        "option_codes": None,
        "granular_access": {"hide_private": False},
        "tokens": None,
        "state": "asleep",
        "in_service": False,
        "id_s": str(VEHICLE_ID),
        "calendar_enabled": True,
        "api_version": 81,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "command_signing": "required",
    }


def _composition_sites() -> list[SiteConfig]:
    """USER_KINDS's sites: battery only (storm-capable or not), and neither."""
    garage = SiteConfig(
        site_id=SITE_BATTERY_ONLY,
        user=USER_KINDS,
        site_name="Garage",
        time_zone="America/Phoenix",
        physics_time_zone="America/Phoenix",
        latitude=33.45,
        longitude=-112.07,
        gateway_id="1232100-00-E--TG123888000F07",
        asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000007",
        installation_date="2023-10-05T09:30:00-07:00",
        battery_count=1,
        battery_part_name="Powerwall 2",
        battery_part_number="3012170-05-C",
        battery_energy_wh=13500,
        battery_power_w=5000,
        battery_type="ac_powerwall",
        backup=True,
        storm_capable=True,
        tou_capable=True,
        ogvcr_supported=True,
        gateway_serial="TG123888000F07",
        seed=7,
    )
    studio = replace(
        garage,
        site_id=SITE_BATTERY_NO_STORM,
        site_name="Studio",
        gateway_id="1232100-00-E--TG123889000G08",
        asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000008",
        storm_capable=False,
        tou_capable=False,
        ogvcr_supported=False,
        gateway_serial="TG123889000G08",
        seed=8,
        initial_soc=35.0,
    )
    barn = replace(
        studio,
        site_id=SITE_NO_COMPONENTS,
        site_name="Barn",
        gateway_id="1232100-00-E--TG123890000H09",
        asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000009",
        battery_count=0,
        battery_part_name="",
        battery_part_number="",
        battery_energy_wh=0,
        battery_power_w=0,
        battery_type=None,
        backup=False,
        gateway_serial="TG123890000H09",
        seed=9,
    )
    return [garage, studio, barn]


def default_scenario() -> Scenario:
    """Build the default world (fresh objects every call)."""
    users = {
        USER_MAIN: UserConfig(USER_MAIN, "na", "main@example.com", "Main Owner"),
        USER_EU: UserConfig(USER_EU, "eu", "eu@example.com", "EU Owner"),
        USER_CHARGERS: UserConfig(
            USER_CHARGERS, "na", "chargers@example.com", "Charging Owner"
        ),
        USER_KINDS: UserConfig(USER_KINDS, "na", "kinds@example.com", "Kinds Owner"),
    }
    sites = [
        SiteConfig(
            site_id=SITE_FULL,
            user=USER_MAIN,
            site_name="Home",
            time_zone="America/Los_Angeles",
            physics_time_zone="America/Los_Angeles",
            latitude=37.39,
            longitude=-122.08,
            gateway_id="1232100-00-E--TG123456000A01",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000001",
            installation_date="2023-03-14T10:02:41-07:00",
            solar_w=7600,
            battery_count=2,
            battery_part_name="Powerwall 2",
            battery_part_number="3012170-05-C",
            battery_energy_wh=13500,
            battery_power_w=5000,
            battery_type="ac_powerwall",
            backup=True,
            storm_capable=True,
            tou_capable=True,
            ogvcr_supported=True,
            gateway_part_name="Gateway 2",
            gateway_part_number="1232100-00-E",
            gateway_serial="TG123456000A01",
            wall_connectors=(
                {
                    "din": "1457768-02-G--PGT23456000W01",
                    "part_name": "Gen 3 Wall Connector",
                    "is_active": True,
                },
            ),
            seed=1,
            load_scale=1.4,
            initial_mode="self_consumption",
            initial_reserve=20,
            initial_soc=62.5,
            initial_storm_mode=True,
            initial_export_rule="pv_only",
        ),
        SiteConfig(
            site_id=SITE_SOLAR_ONLY,
            user=USER_MAIN,
            site_name=None,
            time_zone="",
            physics_time_zone="America/Denver",
            latitude=39.74,
            longitude=-104.99,
            gateway_id="STE20190611-00442",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000002",
            installation_date="2019-06-11T09:15:00-06:00",
            version="",
            solar_w=5200,
            gateway_part_name="",
            gateway_part_number="",
            load_meter=True,
            seed=2,
            initial_export_rule="pv_only",
            load_scale=0.8,
        ),
        SiteConfig(
            site_id=SITE_PW3,
            user=USER_MAIN,
            site_name="Cabin",
            time_zone="America/New_York",
            physics_time_zone="America/New_York",
            latitude=42.36,
            longitude=-71.06,
            gateway_id="1707000-11-J--TG124789000B02",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000003",
            installation_date="2024-11-02T13:40:12-04:00",
            version="25.10.1 7d8c2f1a",
            solar_w=11500,
            battery_count=1,
            battery_part_name="Powerwall 3",
            battery_part_number="1707000-11-J",
            battery_energy_wh=13500,
            battery_power_w=11500,
            battery_type="solar_powerwall",
            report_energy_left=False,
            backup=True,
            storm_capable=True,
            tou_capable=True,
            ogvcr_supported=False,
            gateway_part_name="Powerwall 3",
            gateway_part_number="1707000-11-J",
            gateway_serial="TG124789000B02",
            seed=3,
            initial_mode="autonomous",
            initial_reserve=30,
            initial_soc=80.0,
            initial_export_rule="battery_ok",
            # time-based control: a grid charge at night, export in the 16-21 peak
            tariff=night_tariff(),
            load_scale=0.7,
        ),
        SiteConfig(
            site_id=SITE_DEAD,
            user=USER_MAIN,
            site_name="Old House",
            time_zone="America/Chicago",
            physics_time_zone="America/Chicago",
            latitude=41.88,
            longitude=-87.63,
            gateway_id="1118431-00-L--TG118000000D04",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000004",
            installation_date="2018-05-02T08:00:00-05:00",
            grid=False,
            load_meter=False,
            dead=True,
            seed=4,
        ),
        SiteConfig(
            site_id=SITE_EU,
            user=USER_EU,
            site_name="Zuhause",
            time_zone="Europe/Berlin",
            physics_time_zone="Europe/Berlin",
            latitude=52.52,
            longitude=13.40,
            gateway_id="1232100-00-E--TG123999000E05",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000005",
            installation_date="2022-09-30T11:20:00+02:00",
            solar_w=9800,
            battery_count=1,
            battery_part_name="Powerwall 2",
            battery_part_number="3012170-25-E",
            battery_energy_wh=13500,
            battery_power_w=5000,
            battery_type="ac_powerwall",
            backup=True,
            storm_capable=False,
            tou_capable=True,
            ogvcr_supported=False,
            gateway_part_name="Gateway 2",
            gateway_part_number="1232100-10-E",
            gateway_serial="TG123999000E05",
            seed=5,
            utility="Stadtwerke Simulation",
            currency="EUR",
            initial_reserve=10,
            initial_soc=45.0,
            initial_export_rule="pv_only",
            load_scale=0.9,
        ),
        SiteConfig(
            site_id=SITE_CHARGERS,
            user=USER_CHARGERS,
            site_name="Carport",
            time_zone="America/Los_Angeles",
            physics_time_zone="America/Los_Angeles",
            latitude=34.05,
            longitude=-118.24,
            gateway_id="1232100-00-E--TG123777000C06",
            asset_site_id="a3c0f5d2-1b7e-4c55-9a1e-000000000006",
            installation_date="2024-04-20T15:30:00-07:00",
            solar_w=6400,
            battery_count=1,
            battery_part_name="Powerwall 2",
            battery_part_number="3012170-05-C",
            battery_energy_wh=13500,
            battery_power_w=5000,
            battery_type="ac_powerwall",
            backup=True,
            gateway_part_name="Gateway 2",
            gateway_part_number="1232100-00-E",
            gateway_serial="TG123777000C06",
            wall_connectors=(
                {
                    "din": WC_CHARGING,
                    "part_name": "Gen 3 Wall Connector",
                    "part_number": "1529455-02-D",
                    "is_active": True,
                },
                {
                    "din": WC_IDLE,
                    "part_name": "Gen 3 Wall Connector",
                    "part_number": "1529455-02-D",
                    "is_active": True,
                },
            ),
            wall_connector_live={
                WC_CHARGING: {
                    "wall_connector_state": 1,
                    "wall_connector_power": 9600,
                    "vin": CHARGING_VIN,
                },
            },
            seed=6,
            initial_soc=70.0,
            initial_export_rule="pv_only",
        ),
        *_composition_sites(),
    ]
    return Scenario(
        users=users,
        sites={site.site_id: site for site in sites},
        vehicles={USER_MAIN: [_vehicle(800001)]},
    )
