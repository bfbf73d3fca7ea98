"""Wall Connectors: a device per connector, its sensors, and connectors that come and go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet import LiveStatus, SiteInfo
from custom_components.powerwall_fleet.wall_connector import (
    WALL_CONNECTOR_SENSORS,
    WALL_CONNECTOR_STATES,
    wall_connectors,
)
from tests.integration.entity_helpers import new_entry, setup_sites, state_of
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CHARGING_VIN,
    SITE_CHARGERS,
    SITE_FULL,
    USER_CHARGERS,
    WC_CHARGING,
    WC_IDLE,
)

PACKAGE = Path(__file__).parents[2] / "custom_components" / "powerwall_fleet"
KEYS = (
    "wall_connector_state",
    "wall_connector_fault_state",
    "wall_connector_power",
    "wall_connector_vin",
)
NEW_DIN = "1529455-02-D--PGT24111000C09"

pytestmark = pytest.mark.platforms(Platform.SENSOR)


def _device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """The device of this integration with ``identifier`` (any entry)."""
    registry = dr.async_get(hass)
    return next(
        (
            device
            for entry in hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            if (DOMAIN, identifier) in device.identifiers
        ),
        None,
    )


def _entity_id(hass: HomeAssistant, din: str, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_CHARGERS}_{din}_{key}"
    )


def _state(hass: HomeAssistant, din: str, key: str) -> str:
    entity_id = _entity_id(hass, din, key)
    assert entity_id is not None, (din, key)
    return state_of(hass, entity_id)


def _listed(simulator: Simulator, *connectors: Any) -> None:
    simulator.override_fields(
        SITE_CHARGERS, "live_status", set={"wall_connectors": list(connectors)}
    )


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.sites[SITE_CHARGERS].live.async_refresh()
    await hass.async_block_till_done()


def _idle(din: str, **fields: Any) -> dict[str, Any]:
    return {
        "din": din,
        "wall_connector_state": 2,
        "wall_connector_fault_state": 2,
        "wall_connector_power": 0,
        **fields,
    }


async def test_a_device_per_connector_via_the_site(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Each connector is a device connected via its site's device."""
    await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    site_device = _device(hass, str(SITE_CHARGERS))
    assert site_device is not None
    for din, serial in ((WC_CHARGING, "PGT24111000A07"), (WC_IDLE, "PGT24111000B08")):
        device = _device(hass, din)
        assert device is not None
        assert device.via_device_id == site_device.id
        assert device.name == f"Wall Connector {serial[-4:]}"
        assert device.model == "Gen 3 Wall Connector"
        assert device.model_id == "1529455-02-D"
        assert device.serial_number == serial
        assert device.manufacturer == "Tesla"
        entities = er.async_entries_for_device(er.async_get(hass), device.id)
        assert {e.translation_key for e in entities} == set(KEYS)
        assert {e.unique_id for e in entities} == {
            f"{SITE_CHARGERS}_{din}_{key}" for key in KEYS
        }


async def test_charging_and_idle_connectors(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """The charging connector shows the car and its power; the idle one is unplugged."""
    await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    assert _state(hass, WC_CHARGING, "wall_connector_state") == "charging"
    assert _state(hass, WC_CHARGING, "wall_connector_power") == "9.6"
    assert _state(hass, WC_CHARGING, "wall_connector_vin") == CHARGING_VIN
    assert _state(hass, WC_CHARGING, "wall_connector_fault_state") == "2"
    assert _state(hass, WC_IDLE, "wall_connector_state") == "disconnected"
    assert _state(hass, WC_IDLE, "wall_connector_power") == "0.0"
    assert _state(hass, WC_IDLE, "wall_connector_vin") == STATE_UNKNOWN

    power = hass.states.get(_entity_id(hass, WC_CHARGING, "wall_connector_power") or "")
    assert power is not None
    assert power.attributes["unit_of_measurement"] == "kW"
    assert power.attributes["device_class"] == "power"
    assert power.attributes["state_class"] == "measurement"
    registry = er.async_get(hass)
    vin = registry.async_get(_entity_id(hass, WC_CHARGING, "wall_connector_vin") or "")
    assert vin is not None
    assert vin.entity_category == "diagnostic"
    state = hass.states.get(_entity_id(hass, WC_CHARGING, "wall_connector_state") or "")
    assert state is not None
    assert state.attributes["options"] == list(WALL_CONNECTOR_STATES.values())


async def test_site_load_includes_the_charging_car(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """The car's power is part of the home load, which still balances."""
    await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    load = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_CHARGERS}_load_power"
    )
    assert load is not None
    car = float(_state(hass, WC_CHARGING, "wall_connector_power"))
    assert float(state_of(hass, load)) >= car
    # The simulator's own books: the load without the car is the household's.
    site = simulator.site(SITE_CHARGERS)
    solar, load_w, battery = site.powers()
    assert load_w >= 9600
    assert site.live_powers()["load_power"] == round(solar) + round(battery) + round(
        load_w - solar - battery
    )


def test_every_state_and_key_is_translated() -> None:
    """Every key has a name, every state option a translated name and nothing else."""
    strings = json.loads((PACKAGE / "translations" / "en.json").read_text())
    sensors = strings["entity"]["sensor"]
    icons = json.loads((PACKAGE / "icons.json").read_text())["entity"]["sensor"]
    assert {d.translation_key for d in WALL_CONNECTOR_SENSORS} == set(KEYS)
    for key in KEYS:
        assert sensors[key]["name"]
        assert key in icons
    names = sensors["wall_connector_state"]["state"]
    assert set(names) == set(WALL_CONNECTOR_STATES.values())
    assert all(names.values())
    assert set(icons["wall_connector_state"]["state"]) <= set(names)
    assert set(WALL_CONNECTOR_STATES.values()) == {
        "booting",
        "charging",
        "disconnected",
        "connected",
        "scheduled",
        "negotiating",
        "error",
        "charging_finished",
        "waiting_car",
        "charging_reduced",
    }


async def test_connector_appearing_and_going_without_reload(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A new connector gets its device and entities; a gone one loses its device."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    assert _device(hass, NEW_DIN) is None

    _listed(simulator, _idle(WC_CHARGING), _idle(WC_IDLE), _idle(NEW_DIN, vin="X"))
    await _refresh(hass, entry)
    device = _device(hass, NEW_DIN)
    assert device is not None
    assert device.model_id == "1529455-02-D"  # from the DIN: site_info lists it not
    assert _state(hass, NEW_DIN, "wall_connector_state") == "disconnected"
    assert _state(hass, WC_CHARGING, "wall_connector_state") == "disconnected"

    _listed(simulator, _idle(WC_CHARGING))
    await _refresh(hass, entry)
    assert _device(hass, NEW_DIN) is None
    assert _device(hass, WC_IDLE) is None
    assert _entity_id(hass, WC_IDLE, "wall_connector_power") is None
    assert _entity_id(hass, NEW_DIN, "wall_connector_state") is None
    assert not [
        state
        for state in hass.states.async_all("sensor")
        if state.entity_id.startswith("sensor.wall_connector_0b08")
    ]
    assert _state(hass, WC_CHARGING, "wall_connector_state") == "disconnected"

    # Back again: a fresh device and entities.
    _listed(simulator, _idle(WC_CHARGING), _idle(WC_IDLE, wall_connector_state=4))
    await _refresh(hass, entry)
    assert _device(hass, WC_IDLE) is not None
    assert _state(hass, WC_IDLE, "wall_connector_state") == "connected"


async def test_no_list_keeps_devices_but_unavailable(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """A live_status without a list of connectors removes nothing; they are unavailable."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    simulator.override_fields(
        SITE_CHARGERS, "live_status", set={"wall_connectors": "garbage"}
    )
    await _refresh(hass, entry)
    assert _device(hass, WC_IDLE) is not None
    assert _state(hass, WC_IDLE, "wall_connector_state") == STATE_UNAVAILABLE
    simulator.clear_overrides()
    await _refresh(hass, entry)
    assert _state(hass, WC_IDLE, "wall_connector_state") == "disconnected"


@pytest.mark.parametrize(
    "listed",
    [
        pytest.param([1, 2], id="numbers"),
        pytest.param([None, None], id="nulls"),
        pytest.param([{"wall_connector_state": 2}, {"vin": "X"}], id="no-din"),
        pytest.param([{"din": None}, {"din": ""}, {"din": 7}], id="bad-din"),
    ],
)
async def test_garbage_list_removes_nothing(
    hass: HomeAssistant, simulator: Simulator, credentials: None, listed: list[Any]
) -> None:
    """A non-empty list with no readable connector is garbage: every device stays."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    _listed(simulator, *listed)
    await _refresh(hass, entry)
    for din in (WC_CHARGING, WC_IDLE):
        assert _device(hass, din) is not None, din
        assert _entity_id(hass, din, "wall_connector_state") is not None
        assert _state(hass, din, "wall_connector_state") == STATE_UNAVAILABLE
    simulator.clear_overrides()
    await _refresh(hass, entry)
    assert _state(hass, WC_CHARGING, "wall_connector_state") == "charging"
    assert _state(hass, WC_IDLE, "wall_connector_state") == "disconnected"


async def test_empty_list_removes_every_connector(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """An empty list says the site has no connectors (any more): their devices go."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    _listed(simulator)
    await _refresh(hass, entry)
    assert _device(hass, WC_CHARGING) is None
    assert _device(hass, WC_IDLE) is None


async def test_failed_poll_makes_connectors_unavailable(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Tesla down: the connectors' entities are unavailable, their devices stay."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    simulator.add_fault(r"/live_status$", status=503, times=None)
    await _refresh(hass, entry)
    assert _state(hass, WC_CHARGING, "wall_connector_power") == STATE_UNAVAILABLE
    assert _device(hass, WC_IDLE)


@pytest.mark.parametrize("code", [3, 11, 99, -1, 2**40, "1", None, 1.5])
async def test_unknown_state_code_is_unknown(
    hass: HomeAssistant, simulator: Simulator, credentials: None, code: Any
) -> None:
    """A code not in the table (or not a code) shows unknown; the rest carry on."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    _listed(
        simulator,
        _idle(WC_CHARGING, wall_connector_state=code, wall_connector_power=7200),
        _idle(WC_IDLE),
    )
    await _refresh(hass, entry)
    assert _state(hass, WC_CHARGING, "wall_connector_state") == STATE_UNKNOWN
    assert _state(hass, WC_CHARGING, "wall_connector_power") == "7.2"
    assert _state(hass, WC_IDLE, "wall_connector_state") == "disconnected"


async def test_garbage_fields_show_unknown(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Wrong types in a connector's fields: those values are unknown, nothing crashes."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    _listed(
        simulator,
        "not a connector",
        {"din": 42, "wall_connector_state": 1},
        {
            "din": WC_CHARGING,
            "wall_connector_state": "charging",
            "wall_connector_fault_state": [1],
            "wall_connector_power": "lots",
            "vin": {"vin": CHARGING_VIN},
        },
        _idle(WC_IDLE),
        _idle(WC_IDLE, wall_connector_state=1),  # a duplicate: the first counts
    )
    await _refresh(hass, entry)
    for key in KEYS:
        assert _state(hass, WC_CHARGING, key) == STATE_UNKNOWN, key
    assert _state(hass, WC_IDLE, "wall_connector_state") == "disconnected"


async def test_devices_survive_a_reload(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Reloading keeps the connectors' devices (and their entities' registry entries)."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    before = _device(hass, WC_IDLE)
    entity_id = _entity_id(hass, WC_IDLE, "wall_connector_state")
    assert before is not None
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    after = _device(hass, WC_IDLE)
    assert after is not None
    assert after.id == before.id
    assert _entity_id(hass, WC_IDLE, "wall_connector_state") == entity_id


async def test_full_site_connector(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """The main account's full site lists one idle connector: it is a device too."""
    await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    device = _device(hass, "1457768-02-G--PGT23456000W01")
    assert device is not None
    assert device.model == "Gen 3 Wall Connector"


async def test_vin_redacted_in_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    credentials: None,
) -> None:
    """The connected car's VIN and the connectors' DINs are not in the diagnostics."""
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    diagnostics: Any = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (CHARGING_VIN, WC_CHARGING, WC_IDLE, "PGT24111000A07"):
        assert secret not in text
    listed = diagnostics["sites"][0]["live_status"]["wall_connectors"]
    assert listed[0]["vin"] == REDACTED
    assert listed[0]["din"] == REDACTED
    assert listed[0]["wall_connector_power"] == 9600
    assert "vin" not in listed[1]


@pytest.mark.parametrize(
    "listed",
    [
        None,
        "wall",
        42,
        {"din": WC_IDLE},
        [None, 1, "x", [], {}],
        [{"din": None}, {"din": ""}, {"din": ["x"]}, {"din": "\x00"}],
        [
            {
                "din": WC_IDLE,
                "wall_connector_state": True,
                "wall_connector_fault_state": 1e300,
                "wall_connector_power": float("nan"),
                "vin": 17,
                "part_number": {},
                "ocpp_status": "1",
                "powershare_session_state": [],
            }
        ],
    ],
)
def test_model_tolerates_garbage(listed: Any) -> None:
    """Whatever Tesla sends as wall_connectors, the model builds and drops what is wrong."""
    live = LiveStatus.from_dict({"load_power": 100, "wall_connectors": listed})
    found = wall_connectors(live)
    assert found is None or set(found) <= {WC_IDLE}
    for connector in (found or {}).values():
        assert connector.wall_connector_state is None
        assert connector.wall_connector_fault_state is None
        assert connector.wall_connector_power is None
        assert connector.vin is None
        assert connector.part_number is None
        assert connector.ocpp_status is None
        assert connector.powershare_session_state is None
    info = SiteInfo.from_dict({"components": {"wall_connectors": listed}})
    assert info.components is not None


def test_model_reads_every_field() -> None:
    """A well-formed connector keeps Tesla's values."""
    live = LiveStatus.from_dict(
        {
            "wall_connectors": [
                {
                    "din": WC_CHARGING,
                    "vin": CHARGING_VIN,
                    "wall_connector_state": 1,
                    "wall_connector_fault_state": 2,
                    "wall_connector_power": 9600.5,
                    "ocpp_status": 1,
                    "powershare_session_state": 0,
                    "part_number": "1529455-02-D",
                }
            ]
        }
    )
    found = wall_connectors(live)
    assert found is not None
    connector = found[WC_CHARGING]
    assert connector.vin == CHARGING_VIN
    assert connector.wall_connector_state == 1
    assert connector.wall_connector_fault_state == 2
    assert connector.wall_connector_power == 9600.5
    assert connector.ocpp_status == 1
    assert connector.powershare_session_state == 0
    assert connector.part_number == "1529455-02-D"


async def test_connectors_wait_for_site_info(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """Like the site's entities, a connector's come once site_info is known."""
    simulator.add_fault(r"/site_info$", status=503, times=2)
    entry = await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    assert _entity_id(hass, WC_CHARGING, "wall_connector_state") is None
    await entry.runtime_data.sites[SITE_CHARGERS].info.async_refresh()
    await hass.async_block_till_done()
    assert _state(hass, WC_CHARGING, "wall_connector_state") == "charging"
    device = _device(hass, WC_CHARGING)
    assert device is not None
    assert device.model == "Gen 3 Wall Connector"


@pytest.mark.usefixtures("no_retry_delay")
async def test_a_connector_is_no_action_target(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """An action aimed at a Wall Connector's device is refused, nothing is sent."""
    await setup_sites(
        hass, new_entry(simulator, user=USER_CHARGERS), SITE_CHARGERS, enable_all=True
    )
    device = _device(hass, WC_IDLE)
    assert device is not None
    before = simulator.count()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "refresh", {"device_id": device.id}, blocking=True
        )
    assert err.value.translation_key == "not_our_target"
    assert simulator.count() == before
