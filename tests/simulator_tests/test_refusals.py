"""The refusals owners meet, answered as Tesla does (400 with Tesla's error body).

Reserve 81-99 % outside backup-only mode (2025 firmware), settings a site lacks the
component for (battery, solar, storm watch, time of use, off-grid vehicle reserve).  A
refused command changes nothing and schedules nothing.
"""

from __future__ import annotations

import pytest

from tests.simulator import SITE_EU, SITE_FULL, SITE_SOLAR_ONLY, USER_EU, Simulator
from tests.simulator_tests.helpers import Api

NO_BATTERY = {
    "response": None,
    "error": "invalid_field",
    "error_description": "site has no battery",
}


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("backup", {"backup_reserve_percent": 50}),
        ("operation", {"default_real_mode": "backup"}),
        (
            "grid_import_export",
            {"disallow_charge_from_grid_with_solar_installed": False},
        ),
        (
            "grid_import_export",
            {
                "disallow_charge_from_grid_with_solar_installed": True,
                "customer_preferred_export_rule": "never",
            },
        ),
    ],
)
async def test_site_without_battery_refuses_battery_settings(
    simulator: Simulator, api: Api, endpoint: str, body: dict[str, object]
) -> None:
    """Mode, reserve and grid charging need a battery; nothing changes on a refusal."""
    before = simulator.site(SITE_SOLAR_ONLY).snapshot()
    status, answer, _ = await api.post(
        f"energy_sites/{SITE_SOLAR_ONLY}/{endpoint}", body
    )
    assert (status, answer) == (400, NO_BATTERY)
    after = simulator.site(SITE_SOLAR_ONLY).snapshot()
    assert after["pending"] == []
    for key in (
        "customer_preferred_export_rule",
        "disallow_charge_from_grid_with_solar_installed",
        "default_real_mode",
        "backup_reserve_percent",
    ):
        assert after[key] == before[key]


async def test_site_without_battery_keeps_its_export_rule(
    simulator: Simulator, api: Api
) -> None:
    """The export rule alone is a solar setting: a solar-only site takes it."""
    status, _, _ = await api.post(
        f"energy_sites/{SITE_SOLAR_ONLY}/grid_import_export",
        {"customer_preferred_export_rule": "never"},
    )
    assert status == 200
    assert simulator.site(SITE_SOLAR_ONLY).export_rule == "never"


async def test_storm_watch_and_capabilities(simulator: Simulator, api: Api) -> None:
    """Storm watch, off-grid vehicle reserve and tariffs need the site to be capable."""
    eu = Api(simulator, api.http, simulator.issue_tokens(user=USER_EU)["access_token"])
    eu.region = "eu"
    for site_id, endpoint, body, text in (
        (SITE_EU, "storm_mode", {"enabled": True}, "storm watch capable"),
        (SITE_SOLAR_ONLY, "storm_mode", {"enabled": True}, "storm watch capable"),
        (
            SITE_EU,
            "off_grid_vehicle_charging_reserve",
            {"off_grid_vehicle_charging_reserve_percent": 20},
            "not supported",
        ),
        (
            SITE_SOLAR_ONLY,
            "time_of_use_settings",
            {"tou_settings": {}},
            "time-of-use capable",
        ),
    ):
        client = eu if site_id == SITE_EU else api
        status, answer, _ = await client.post(
            f"energy_sites/{site_id}/{endpoint}", body
        )
        assert status == 400, endpoint
        assert answer["response"] is None
        assert answer["error"] == "invalid_field"
        assert text in answer["error_description"]


@pytest.mark.parametrize("value", [81, 85, 90, 99])
async def test_reserve_81_to_99_needs_backup_only_mode(
    simulator: Simulator, api: Api, value: int
) -> None:
    """Outside backup-only mode 81-99 % is refused; 80 and 100 are taken; in backup all are."""
    site = simulator.site(SITE_FULL)
    path = f"energy_sites/{SITE_FULL}/backup"
    for mode in ("self_consumption", "autonomous"):
        site.mode = mode
        status, answer, _ = await api.post(path, {"backup_reserve_percent": value})
        assert (status, answer) == (
            400,
            {
                "response": None,
                "error": "invalid_field",
                "error_description": (
                    "backup_reserve_percent must be 0-80 or 100 outside backup mode"
                ),
            },
        )
        assert site.reserve == 20
        for ok in (80, 100, 20):
            status, _, _ = await api.post(path, {"backup_reserve_percent": ok})
            assert status == 200
            assert site.reserve == ok
    status, _, _ = await api.post(
        f"energy_sites/{SITE_FULL}/operation", {"default_real_mode": "backup"}
    )
    assert status == 200
    status, _, _ = await api.post(path, {"backup_reserve_percent": value})
    assert status == 200
    assert site.reserve == value


async def test_reserve_81_to_99_snaps_to_80_on_other_firmware(
    simulator: Simulator, api: Api
) -> None:
    """The "snap" variant answers 200 and stores 80 %, also when backup-only ends."""
    site = simulator.site(SITE_FULL)
    simulator.set_reserve_81_99("snap", site_id=SITE_FULL)
    path = f"energy_sites/{SITE_FULL}"
    status, body, _ = await api.post(f"{path}/backup", {"backup_reserve_percent": 90})
    assert (status, body) == (
        200,
        {"response": {"Code": 200, "Message": "Backup reserve updated"}},
    )
    assert (await api.info())["backup_reserve_percent"] == 80
    await api.post(f"{path}/operation", {"default_real_mode": "backup"})
    await api.post(f"{path}/backup", {"backup_reserve_percent": 95})
    assert site.reserve == 95  # backup-only takes it
    status, _, _ = await api.post(
        f"{path}/operation", {"default_real_mode": "self_consumption"}
    )
    assert status == 200
    info = await api.info()
    assert (info["default_real_mode"], info["backup_reserve_percent"]) == (
        "self_consumption",
        80,
    )
    # "refuse" (the default) keeps a held 95 % when the mode changes
    simulator.set_reserve_81_99("refuse")
    site.mode = "backup"
    site.reserve = 95
    await api.post(f"{path}/operation", {"default_real_mode": "autonomous"})
    assert site.reserve == 95
    with pytest.raises(ValueError, match="refuse, snap"):
        simulator.set_reserve_81_99("round")
    async with api.http.post(
        f"{simulator.url}/_sim/site",
        json={"site_id": SITE_FULL, "set": {"reserve_81_99": "snap"}},
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["state"]["reserve_81_99"] == "snap"
    async with api.http.post(
        f"{simulator.url}/_sim/site",
        json={"site_id": SITE_FULL, "set": {"reserve_81_99": "round"}},
    ) as resp:
        assert resp.status == 400
