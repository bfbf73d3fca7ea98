"""Commands over real HTTP: every write reaches the site and reads back."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.powerwall_fleet.fleet import (
    FleetClient,
    InvalidArgument,
    InvalidRequest,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL


def _last_write(simulator: Simulator) -> Any:
    record = simulator.requests[-1]
    assert record.method == "POST"
    assert record.content_type == "application/json"
    assert record.authorization
    return record.json_body


async def test_set_backup_reserve(client: FleetClient, simulator: Simulator) -> None:
    """The reserve changes at the site; the Code/Message answer is accepted."""
    result = await client.set_backup_reserve(SITE_FULL, 42)
    assert _last_write(simulator) == {"backup_reserve_percent": 42}
    assert result.code == 200
    assert result.message
    info = await client.site_info(SITE_FULL)
    assert info.backup_reserve_percent == 42


async def test_backup_reserve_81_to_99_refused_outside_backup_mode(
    client: FleetClient,
) -> None:
    """The site refuses 81-99 % outside backup mode; backup mode takes it."""
    await client.set_operation_mode(SITE_FULL, "self_consumption")
    with pytest.raises(InvalidRequest) as err:
        await client.set_backup_reserve(SITE_FULL, 90)
    assert err.value.status == 400
    await client.set_operation_mode(SITE_FULL, "backup")
    await client.set_backup_reserve(SITE_FULL, 90)
    assert (await client.site_info(SITE_FULL)).backup_reserve_percent == 90


@pytest.mark.parametrize("mode", ["autonomous", "backup", "self_consumption"])
async def test_set_operation_mode(
    client: FleetClient, simulator: Simulator, mode: str
) -> None:
    """Every mode is accepted (backup too, though Tesla documents two)."""
    result = await client.set_operation_mode(SITE_FULL, mode)
    assert _last_write(simulator) == {"default_real_mode": mode}
    assert result.code == 201
    assert (await client.site_info(SITE_FULL)).default_real_mode == mode


@pytest.mark.parametrize("enabled", [True, False])
async def test_set_storm_mode(
    client: FleetClient, simulator: Simulator, enabled: bool
) -> None:
    """Storm watch follows the command; the result/reason answer is accepted."""
    result = await client.set_storm_mode(SITE_FULL, enabled)
    assert _last_write(simulator) == {"enabled": enabled}
    assert result.result is True
    assert (await client.site_info(SITE_FULL)).storm_mode_enabled is enabled


async def test_set_grid_import_export(
    client: FleetClient, simulator: Simulator
) -> None:
    """Either key alone or both; the empty-body answer counts as success."""
    result = await client.set_grid_import_export(SITE_FULL, allow_grid_charging=False)
    assert _last_write(simulator) == {
        "disallow_charge_from_grid_with_solar_installed": True
    }
    assert result.raw == {}
    components = (await client.site_info(SITE_FULL)).components
    assert components is not None
    assert components.grid_charging_allowed is False

    await client.set_grid_import_export(SITE_FULL, export_rule="never")
    assert _last_write(simulator) == {"customer_preferred_export_rule": "never"}
    components = (await client.site_info(SITE_FULL)).components
    assert components is not None
    assert components.export_rule == "never"

    await client.set_grid_import_export(
        SITE_FULL, allow_grid_charging=True, export_rule="battery_ok"
    )
    assert _last_write(simulator) == {
        "disallow_charge_from_grid_with_solar_installed": False,
        "customer_preferred_export_rule": "battery_ok",
    }
    components = (await client.site_info(SITE_FULL)).components
    assert components is not None
    assert components.export_rule == "battery_ok"
    assert components.grid_charging_allowed is True


async def test_set_off_grid_vehicle_charging_reserve(
    client: FleetClient, simulator: Simulator
) -> None:
    """The off-grid vehicle reserve changes at the site."""
    result = await client.set_off_grid_vehicle_charging_reserve(SITE_FULL, 30)
    assert _last_write(simulator) == {"off_grid_vehicle_charging_reserve_percent": 30}
    assert result.result is True
    info = await client.site_info(SITE_FULL)
    assert info.off_grid_vehicle_charging_reserve_percent == 30


async def test_set_time_of_use(client: FleetClient, simulator: Simulator) -> None:
    """A tariff is sent wrapped in tou_settings and reads back from site_info."""
    info = await client.site_info(SITE_FULL)
    assert info.tariff_content_v2 is not None
    tariff = dict(info.tariff_content_v2)
    tariff["name"] = "Pushed from Home Assistant"
    await client.set_time_of_use(SITE_FULL, tariff)
    assert _last_write(simulator) == {"tou_settings": {"tariff_content_v2": tariff}}
    read_back = (await client.site_info(SITE_FULL)).tariff_content_v2
    assert read_back is not None
    assert read_back["name"] == "Pushed from Home Assistant"


async def test_set_time_of_use_with_strategy(
    client: FleetClient, simulator: Simulator
) -> None:
    """A strategy goes beside the tariff and becomes the site's strategy."""
    simulator.site(SITE_FULL).optimization_strategy = "balanced"
    info = await client.site_info(SITE_FULL)
    assert info.tariff_content_v2 is not None
    tariff = dict(info.tariff_content_v2)
    await client.set_time_of_use(SITE_FULL, tariff, strategy="economics")
    assert _last_write(simulator) == {
        "tou_settings": {
            "tariff_content_v2": tariff,
            "optimization_strategy": "economics",
        }
    }
    assert simulator.site(SITE_FULL).optimization_strategy == "economics"


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("set_backup_reserve", (101,), {}),
        ("set_backup_reserve", (-1,), {}),
        ("set_backup_reserve", (True,), {}),
        ("set_backup_reserve", (50.5,), {}),
        ("set_backup_reserve", ("50",), {}),
        ("set_operation_mode", ("eco",), {}),
        ("set_storm_mode", ("yes",), {}),
        ("set_grid_import_export", (), {}),
        ("set_grid_import_export", (), {"export_rule": "always"}),
        ("set_grid_import_export", (), {"allow_grid_charging": "no"}),
        ("set_off_grid_vehicle_charging_reserve", (150,), {}),
        ("set_time_of_use", ("not a tariff",), {}),
        ("set_time_of_use", ({},), {"strategy": "cheapest"}),
    ],
)
async def test_bad_arguments_send_nothing(
    client: FleetClient,
    simulator: Simulator,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Invalid input raises InvalidArgument (a ValueError) and sends no request."""
    with pytest.raises(InvalidArgument) as err:
        await getattr(client, method)(SITE_FULL, *args, **kwargs)
    assert isinstance(err.value, ValueError)
    assert simulator.count() == 0


async def test_whole_float_percent_is_accepted(
    client: FleetClient, simulator: Simulator
) -> None:
    """50.0 (what a number entity gives) is sent as the integer 50."""
    await client.set_backup_reserve(SITE_FULL, 50.0)  # type: ignore[arg-type]
    assert _last_write(simulator) == {"backup_reserve_percent": 50}


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"response": {"result": True, "reason": ""}}},
        {"json": {"response": {"code": 201, "message": "Updated"}}},
        {"json": {"response": {"Code": 200, "Message": "Backup reserve updated"}}},
        {"body": ""},
        {"body": "OK"},
        {"json": {"response": None}},
        {"json": {"response": {"result": False, "reason": "later"}}},
    ],
)
async def test_every_2xx_write_answer_is_success(
    client: FleetClient, simulator: Simulator, answer: dict[str, Any]
) -> None:
    """Whatever the body of a 2xx, the write is reported, never raised."""
    simulator.add_fault(r"/backup$", method="POST", status=200, **answer)
    result = await client.set_backup_reserve(SITE_FULL, 20)
    if "json" in answer and isinstance(answer["json"].get("response"), dict):
        response = answer["json"]["response"]
        lowered = {key.lower(): value for key, value in response.items()}
        assert result.result == lowered.get("result")
        assert result.code == lowered.get("code")
        assert result.message == lowered.get("message")
    else:
        assert (result.result, result.code, result.message) == (None, None, None)


async def test_site_id_accepts_str(client: FleetClient) -> None:
    """Site ids may be given as text (as stored in config entries)."""
    info = await client.site_info(str(SITE_FULL))
    assert info.site_name == "Home"
