"""Site facts: one helper each for name, time zone, components and model."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from homeassistant.util import dt as dt_util
import pytest

from custom_components.powerwall_fleet.entity import site_device_info
from custom_components.powerwall_fleet.fleet import Product, SiteInfo
from custom_components.powerwall_fleet.site import (
    has_battery,
    has_component,
    has_grid,
    has_solar,
    model_name,
    site_name,
    site_zone,
    site_zone_name,
)

PRODUCT = Product.from_dict(
    {"energy_site_id": 42, "site_name": "Garage", "components": {"solar": True}}
)


def _info(**raw: object) -> SiteInfo:
    return SiteInfo.from_dict(raw)


def test_site_name_prefers_site_info_then_products_then_id() -> None:
    """site_info's name wins, then the products entry's, then the id."""
    assert site_name(PRODUCT, _info(site_name="Home")) == "Home"
    assert site_name(PRODUCT, _info()) == "Garage"
    assert site_name(PRODUCT, None) == "Garage"
    assert site_name(Product.from_dict({"energy_site_id": 7}), None) == "Energy site 7"


def test_site_zone_is_the_sites_else_home_assistants() -> None:
    """A missing or unknown zone falls back to Home Assistant's."""
    original = dt_util.get_default_time_zone()
    dt_util.set_default_time_zone(ZoneInfo("America/Denver"))
    try:
        sydney = _info(installation_time_zone="Australia/Sydney")
        assert site_zone(sydney) == ZoneInfo("Australia/Sydney")
        assert site_zone_name(sydney) == "Australia/Sydney"
        assert site_zone_name(None) == "America/Denver"
        assert site_zone_name(_info(installation_time_zone="")) == "America/Denver"
        assert site_zone_name(_info(installation_time_zone="Not/AZone")) == (
            "America/Denver"
        )
    finally:
        dt_util.set_default_time_zone(original)


@pytest.mark.parametrize(
    ("components", "battery", "solar", "grid"),
    [
        ({"battery": True, "solar": True, "grid": True}, True, True, True),
        ({"solar": True, "grid": True}, False, True, True),
        ({"battery": True}, True, False, False),
        ({"battery": "yes", "solar": 1}, False, False, False),
        (None, False, False, False),
    ],
)
def test_components(
    components: dict[str, object] | None, battery: bool, solar: bool, grid: bool
) -> None:
    """Only real booleans count; grid services need a battery and a grid."""
    info = _info(components=components) if components is not None else _info()
    assert (has_battery(info), has_solar(info), has_grid(info)) == (
        battery,
        solar,
        grid,
    )
    assert has_component(info, "battery") is battery
    assert has_component(info, "solar") is solar
    assert has_component(info, "grid") is grid
    assert has_component(info, "home") is True
    assert has_component(info, "grid_services") is (battery and grid)
    assert not has_battery(None)


def test_model_name() -> None:
    """Battery part names and count, else what the site has."""
    two = _info(
        components={
            "battery": True,
            "batteries": [{"part_name": "Powerwall 3"}, {"part_name": "Powerwall 3"}],
        }
    )
    assert model_name(PRODUCT, two) == "Powerwall 3 x2"
    mixed = _info(
        components={
            "batteries": [{"part_name": "Powerwall 2"}, {"part_name": "Powerwall 3"}]
        }
    )
    assert model_name(PRODUCT, mixed) == "Powerwall 2 + Powerwall 3 x2"
    assert model_name(PRODUCT, _info(components={"battery": True})) == "Powerwall"
    assert model_name(PRODUCT, None) == "Solar"
    assert model_name(Product.from_dict({"energy_site_id": 1}), None) is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [("24.44.0 0f5e1ab8", "24.44.0"), ("25.10.1", "25.10.1"), (" ", None), ("", None)],
)
def test_device_firmware(version: str, expected: str | None) -> None:
    """The device shows the firmware without its build hash, and none when blank."""
    device = site_device_info(PRODUCT, _info(version=version))
    assert device.get("sw_version") == expected


@pytest.mark.parametrize(
    "components",
    [
        pytest.param(
            {"battery": True, "batteries": [{"part_name": "Powerwall 3"}]},
            id="batteries-listed",
        ),
        pytest.param({"battery": True, "batteries": []}, id="batteries-empty"),
    ],
)
def test_model_name_powerwall_3_either_payload_shape(
    components: dict[str, object],
) -> None:
    """A Powerwall 3 reads the same whether or not site_info lists its batteries.

    It is its own gateway (issue 11 §4: "Powerwall" beside "Powerwall 3").
    """
    info = _info(
        battery_count=1,
        components={**components, "gateways": [{"part_name": "Powerwall 3"}]},
    )
    assert model_name(PRODUCT, info) == "Powerwall 3"
    device = site_device_info(PRODUCT, info)
    assert device["model"] == "Powerwall 3"
    assert device["hw_version"] == "Powerwall 3"
    # Two of them, batteries not listed: the count comes from battery_count.
    two = _info(
        battery_count=2,
        components={**components, "gateways": [{"part_name": "Powerwall 3"}]},
    )
    expected = "Powerwall 3 x2" if not components["batteries"] else "Powerwall 3"
    assert model_name(PRODUCT, two) == expected
    # A Powerwall 2 behind a Gateway 2 with no batteries listed stays "Powerwall".
    gateway_2 = _info(
        components={"battery": True, "gateways": [{"part_name": "Gateway 2"}]}
    )
    assert model_name(PRODUCT, gateway_2) == "Powerwall"
