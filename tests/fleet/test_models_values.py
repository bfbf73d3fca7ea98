"""Models keep only sane values: numbers in their kind's range, clean text, real booleans."""

from __future__ import annotations

from dataclasses import fields
import math
import typing
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.powerwall_fleet.fleet import (
    BackupEvent,
    CommandResult,
    Components,
    EnergyInterval,
    FleetClient,
    LiveStatus,
    SiteInfo,
)
from custom_components.powerwall_fleet.fleet.models import FleetModel
from custom_components.powerwall_fleet.fleet.values import (
    MAX_TEXT,
    PERCENT,
    POWER,
    Bounds,
    parse_timestamp,
    to_float,
    to_int,
    to_str,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

# Every model of the client (a new one is checked without being listed here).
ALL_MODELS: tuple[type[FleetModel], ...] = tuple(
    sorted(FleetModel.__subclasses__(), key=lambda model: model.__name__)
)
HUGE = 10**309  # 1 followed by 309 zeros: more than a float holds


def _number_fields(model: type[FleetModel]) -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(model)
    return [
        (f.name, f.metadata.get("bounds"))
        for f in fields(model)
        if typing.get_args(hints[f.name])[:1] in ((int,), (float,))
    ]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_number_field_declares_its_kind(model: type[FleetModel]) -> None:
    """No number field falls back to the catch-all range: each says what it measures."""
    for name, bounds in _number_fields(model):
        assert isinstance(bounds, Bounds), f"{model.__name__}.{name} has no kind"


ABSURD = (HUGE, -HUGE, 10**20, math.inf, -math.inf, math.nan, 1e300)


@pytest.mark.parametrize(
    "model",
    [model for model in ALL_MODELS if _number_fields(model)],
    ids=lambda m: m.__name__,
)
def test_absurd_numbers_are_none(model: type[FleetModel]) -> None:
    """Too large for a float, not finite, or beyond any physical range: None."""
    for name, _ in _number_fields(model):
        for value in ABSURD:
            parsed = getattr(model.from_dict({name: value}), name)
            assert parsed is None, f"{model.__name__}.{name} kept {value!r}"


def test_command_code_bounded() -> None:
    """A write answer's code is an enumerated code, not any integer."""
    body = {"response": {"code": HUGE, "message": "ok"}}
    assert CommandResult.from_body(body).code is None
    assert CommandResult.from_body({"response": {"code": 201}}).code == 201


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("solar_power", 5_000, 5_000),
        ("solar_power", -2.5, -2.5),
        ("grid_power", 1e9, 1e9),  # the meter's "no limit" order of magnitude
        ("grid_power", 2e10, None),
        ("percentage_charged", 100.4, 100.4),
        ("percentage_charged", 0, 0),
        ("percentage_charged", 150, None),
        ("percentage_charged", -20, None),
        ("energy_left", 13_500, 13_500),
        ("energy_left", 1e12, None),
    ],
)
def test_live_status_ranges(field: str, value: Any, expected: Any) -> None:
    """Real readings pass unchanged (ints stay ints); impossible ones do not."""
    parsed = getattr(LiveStatus.from_dict({field: value}), field)
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("battery_count", 3, 3),
        ("battery_count", 3.0, 3),
        ("battery_count", -1, None),
        ("battery_count", 10**30, None),
        ("backup_reserve_percent", 20, 20),
        ("backup_reserve_percent", 1e5, None),
        ("max_site_meter_power_ac", 1000000000, 1000000000),
        ("min_site_meter_power_ac", -1000000000, -1000000000),
        ("nameplate_energy", 40_500, 40_500),
    ],
)
def test_site_info_ranges(field: str, value: Any, expected: Any) -> None:
    """What the simulator (and Tesla) sends passes; absurd values do not."""
    assert getattr(SiteInfo.from_dict({field: value}), field) == expected


def test_outage_duration_and_energy_bucket() -> None:
    """Durations are positive and bounded; history buckets are energies."""
    assert BackupEvent.from_dict({"duration": 60_000}).duration == 60_000
    assert BackupEvent.from_dict({"duration": -5}).duration is None
    assert BackupEvent.from_dict({"duration": 1e300}).duration is None
    bucket = EnergyInterval.from_dict(
        {"total_home_usage": 1e30, "grid_energy_imported": 12.5}
    )
    assert bucket.total_home_usage is None
    assert bucket.grid_energy_imported == 12.5


@pytest.mark.parametrize(
    "value",
    [
        "x" * (MAX_TEXT + 1),
        "24.44.0\x00",
        "\ud800",  # an unpaired surrogate: a valid JSON escape, no text
        "ok\udfff",
        42,
        ["24.44.0"],
    ],
)
def test_hostile_text_is_none(value: Any) -> None:
    """Text no Tesla field holds becomes None (a state can hold 255 characters)."""
    assert SiteInfo.from_dict({"version": value}).version is None
    assert SiteInfo.from_dict({"site_name": value}).site_name is None


@pytest.mark.parametrize(
    "value", ["", "Home", "x" * MAX_TEXT, "Zürich ☀️ 家", "../../etc/passwd"]
)
def test_ordinary_text_passes(value: str) -> None:
    """Any clean text up to 255 characters is kept as is (paths too: only text)."""
    assert SiteInfo.from_dict({"site_name": value}).site_name == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),  # null: as if left out
        (True, False),
        (False, True),
        ("true", None),
        ("false", None),
        (0, None),
        (1, None),
        ([], None),
        ({}, None),
    ],
)
def test_grid_charging_only_from_a_boolean(value: Any, expected: bool | None) -> None:
    """A flag of the wrong type gives no answer (the switch goes unavailable)."""
    components = Components.from_dict(
        {"disallow_charge_from_grid_with_solar_installed": value}
    )
    assert components.grid_charging_allowed is expected


def test_grid_charging_flag_left_out_means_allowed() -> None:
    """Tesla omits the flag while grid charging is allowed."""
    assert Components.from_dict({"battery": True}).grid_charging_allowed is True
    assert Components().grid_charging_allowed is True


def _boolean_fields(model: type[FleetModel]) -> list[str]:
    hints = typing.get_type_hints(model)
    return [f.name for f in fields(model) if hints[f.name] == bool | None]


@pytest.mark.parametrize(
    "model",
    [model for model in ALL_MODELS if _boolean_fields(model)],
    ids=lambda m: m.__name__,
)
def test_every_boolean_field_takes_only_booleans(model: type[FleetModel]) -> None:
    """Strings and numbers are never a yes or a no."""
    for name in _boolean_fields(model):
        for value in ("true", "false", 1, 0, 1.0, "", [True]):
            assert getattr(model.from_dict({name: value}), name) is None, name
        assert getattr(model.from_dict({name: True}), name) is True


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # converting to UTC would overflow
        "9999-12-31T23:59:59-12:00",
        "1969-07-20T20:17:00+00:00",
        "2026-06-21T12:00:00\x00",
        12345,
        None,
        "",
        "yesterday",
    ],
)
def test_timestamps_outside_reason_are_none(value: Any) -> None:
    """Only timestamps of years 2000-2999 are readings."""
    assert parse_timestamp(value) is None
    assert LiveStatus.from_dict({"timestamp": value}).timestamp_dt is None


def test_timestamp_parses() -> None:
    """An ordinary timestamp with its offset."""
    parsed = parse_timestamp("2026-06-21T05:00:00-07:00")
    assert parsed is not None
    assert parsed.utcoffset() is not None


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(),
        st.booleans(),
        st.text(max_size=5),
        st.none(),
    )
)
def test_numbers_never_overflow(value: Any) -> None:
    """Whatever comes in, a kept number converts to float and fits a state."""
    for converted in (to_float(value, POWER), to_int(value, PERCENT), to_float(value)):
        if converted is None:
            continue
        assert math.isfinite(float(converted))
        assert len(str(converted)) <= MAX_TEXT
    text = to_str(value)
    assert text is None or isinstance(text, str)


async def test_client_reads_absurd_numbers_as_none(
    client: FleetClient, simulator: Simulator
) -> None:
    """Over HTTP: a 309-digit reading is None and the rest of the payload is kept."""
    simulator.override_fields(
        SITE_FULL,
        "live_status",
        set={"solar_power": HUGE, "percentage_charged": float("nan")},
    )
    simulator.override_fields(
        SITE_FULL,
        "site_info",
        set={
            "backup_reserve_percent": HUGE,
            "battery_count": HUGE,
            "components.disallow_charge_from_grid_with_solar_installed": "yes",
        },
    )
    live = await client.live_status(SITE_FULL)
    assert live.solar_power is None
    assert live.percentage_charged is None
    assert live.load_power is not None
    assert live.grid_status == "Active"
    info = await client.site_info(SITE_FULL)
    assert info.backup_reserve_percent is None
    assert info.battery_count is None
    assert info.components is not None
    assert info.components.grid_charging_allowed is None
    assert info.components.battery is True
    assert info.site_name is not None


@pytest.mark.parametrize(
    ("version", "firmware"),
    [
        ("24.44.0 0f5e1ab8", "24.44.0"),
        ("24.44.0", "24.44.0"),
        (" 24.44.0", "24.44.0"),
        (" ", None),
        ("", None),
        (None, None),
    ],
)
def test_firmware_is_the_first_word(version: str | None, firmware: str | None) -> None:
    """Blank versions are no firmware (the sensor showed an empty state)."""
    assert SiteInfo.from_dict({"version": version}).firmware == firmware
