"""Reads over real HTTP against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
from zoneinfo import ZoneInfo

import pytest

from custom_components.powerwall_fleet.fleet import (
    ENERGY_FIELDS,
    FleetClient,
    InvalidArgument,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY


async def test_products_and_energy_sites(client: FleetClient) -> None:
    """Products include the vehicle; energy_sites keeps only energy entries."""
    products = await client.products()
    sites = await client.energy_sites()
    assert len(products) == len(sites) + 1
    assert any(not p.is_energy_site for p in products)
    ids = {site.energy_site_id for site in sites}
    assert {SITE_FULL, SITE_SOLAR_ONLY, SITE_PW3, SITE_DEAD} <= ids
    by_id = {site.energy_site_id: site for site in sites}
    assert by_id[SITE_FULL].has_components
    full_components = by_id[SITE_FULL].components
    assert full_components is not None
    assert full_components.battery is True
    assert not by_id[SITE_DEAD].has_components
    assert client.request_counts["products"] == 2


async def test_region(client: FleetClient, simulator: Simulator) -> None:
    """users/region names the account's region and base URL."""
    region = await client.region()
    assert region.region == "na"
    assert region.fleet_api_base_url == simulator.base_url("na")


async def test_live_status_full_site(client: FleetClient) -> None:
    """A full site reports every power flow and they balance."""
    live = await client.live_status(SITE_FULL)
    assert live.solar_power is not None
    assert live.battery_power is not None
    assert live.grid_power is not None
    assert live.load_power is not None
    assert (
        abs(live.solar_power + live.battery_power + live.grid_power - live.load_power)
        <= 2
    )
    assert live.percentage_charged is not None
    assert 0 <= live.percentage_charged <= 100
    assert live.energy_left is not None
    assert live.total_pack_energy is not None
    assert live.grid_status == "Active"
    assert live.timestamp_dt is not None
    assert live.timestamp_dt.utcoffset() is not None
    assert live.raw["solar_power"] == live.solar_power


async def test_live_status_powerwall3_lacks_pack_energy(client: FleetClient) -> None:
    """Powerwall 3 sites do not report energy_left/total_pack_energy."""
    live = await client.live_status(SITE_PW3)
    assert live.percentage_charged is not None
    assert live.energy_left is None
    assert live.total_pack_energy is None
    assert "energy_left" not in live.raw


async def test_live_status_solar_only(client: FleetClient) -> None:
    """A solar-only site says its grid status is unknown."""
    live = await client.live_status(SITE_SOLAR_ONLY)
    assert live.grid_status == "Unknown"
    assert live.solar_power is not None


async def test_site_info(client: FleetClient) -> None:
    """site_info parses configuration, components and nested lists."""
    info = await client.site_info(SITE_FULL)
    assert info.site_name == "Home"
    assert info.time_zone == "America/Los_Angeles"
    assert info.default_real_mode in ("self_consumption", "autonomous", "backup")
    assert info.backup_reserve_percent is not None
    assert info.battery_count == 2
    assert info.components is not None
    assert info.components.solar is True
    assert info.components.batteries is not None
    assert len(info.components.batteries) == 2
    assert info.components.batteries[0].part_name == "Powerwall 2"
    assert info.components.gateways
    assert info.components.gateways[0].din
    assert info.components.export_rule in ("battery_ok", "pv_only", "never")
    assert info.storm_mode_enabled is not None
    assert isinstance(info.tariff_content_v2, dict)


async def test_site_info_solar_only_empty_zone(client: FleetClient) -> None:
    """An empty installation_time_zone is reported as no zone."""
    info = await client.site_info(SITE_SOLAR_ONLY)
    assert info.installation_time_zone == ""
    assert info.time_zone is None
    assert info.site_name is None


async def test_energy_history_matches_ground_truth(
    client: FleetClient, simulator: Simulator
) -> None:
    """The day's buckets sum to the simulator's integrated energy."""
    zone = ZoneInfo("America/Los_Angeles")
    simulator.clock.advance(6 * 3600)
    now_local = simulator.clock.now().astimezone(zone)
    day_end = now_local.replace(hour=23, minute=59, second=59, microsecond=0)
    history = await client.energy_history(
        SITE_FULL, period="day", end=day_end, time_zone="America/Los_Angeles"
    )
    assert history.period == "day"
    series = history.time_series
    assert series
    stamps = [interval.timestamp_dt for interval in series]
    assert all(stamp is not None for stamp in stamps)
    first = stamps[0]
    assert first is not None
    assert first.astimezone(zone).hour == 0
    assert first.astimezone(zone).minute == 0
    for earlier, later in itertools.pairwise(stamps):
        assert earlier is not None
        assert later is not None
        assert later - earlier == timedelta(minutes=5)
    last = stamps[-1]
    assert last is not None
    truth = simulator.energy_totals(SITE_FULL, first, last + timedelta(minutes=5))
    for name in ENERGY_FIELDS:
        total = sum(getattr(interval, name) or 0 for interval in series)
        assert total == truth[name], name
    assert sum(i.total_solar_generation or 0 for i in series) > 0


async def test_energy_history_midnight_quirk(client: FleetClient) -> None:
    """An end of exactly local midnight returns nothing (Tesla's quirk)."""
    zone = ZoneInfo("America/Los_Angeles")
    midnight = datetime(2026, 6, 21, 0, 0, tzinfo=zone)
    history = await client.energy_history(
        SITE_FULL, period="day", end=midnight, time_zone="America/Los_Angeles"
    )
    assert history.time_series == ()


@pytest.mark.parametrize(
    ("period", "end", "time_zone"),
    [
        ("day", datetime(2026, 6, 21, 23, 59), "UTC"),  # noqa: DTZ001 - naive on purpose
        ("hour", datetime(2026, 6, 21, 23, 59, tzinfo=UTC), "UTC"),
        ("day", datetime(2026, 6, 21, 23, 59, tzinfo=UTC), ""),
    ],
)
async def test_history_bad_arguments_send_nothing(
    client: FleetClient,
    simulator: Simulator,
    period: str,
    end: datetime,
    time_zone: str,
) -> None:
    """Naive datetimes, unknown periods and empty zones fail before any request."""
    with pytest.raises(InvalidArgument):
        await client.energy_history(
            SITE_FULL, period=period, end=end, time_zone=time_zone
        )
    assert simulator.count() == 0


async def test_backup_history_records_outage(
    client: FleetClient, simulator: Simulator
) -> None:
    """A simulated grid outage shows up in the backup history."""
    simulator.set_grid_outage(SITE_FULL, True)
    simulator.clock.advance(1800)
    live = await client.live_status(SITE_FULL)
    assert live.grid_status == "Inactive"
    simulator.set_grid_outage(SITE_FULL, False)
    simulator.clock.advance(600)
    zone = ZoneInfo("America/Los_Angeles")
    end = simulator.clock.now().astimezone(zone).replace(hour=23, minute=59, second=59)
    history = await client.backup_history(
        SITE_FULL, period="day", end=end, time_zone="America/Los_Angeles"
    )
    assert history.events
    assert history.total_events == len(history.events)
    event = history.events[-1]
    assert event.timestamp_dt is not None
    assert event.duration is not None
    assert event.duration >= 1800 * 1000 - 120_000


async def test_charge_history(client: FleetClient, simulator: Simulator) -> None:
    """telemetry_history answers and parses (shape unverified upstream)."""
    now = simulator.clock.now()
    history = await client.charge_history(
        SITE_FULL, start=now - timedelta(days=1), end=now, time_zone="UTC"
    )
    assert history.charge_history is not None


@pytest.mark.parametrize("digits", [309, 4400, 20000])
async def test_a_number_too_long_drops_only_its_field(
    client: FleetClient, simulator: Simulator, digits: int
) -> None:
    """A field with thousands of digits is None; the rest of the answer is read."""
    body = '{"response": {"solar_power": 1' + "0" * digits + ', "battery_power": 1500}}'
    simulator.add_fault(r"/live_status$", status=200, body=body)
    live = await client.live_status(SITE_FULL)
    assert live.solar_power is None
    assert live.battery_power == 1500
