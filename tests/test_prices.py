"""Price sync without Home Assistant running: forecast shapes, the grouping rule, the builder.

The figures the README states (worst grouping error per kWh over a
real-shaped day, per source) are checked here too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant, State
import pytest

from custom_components.powerwall_fleet.energy.energy_flows import COMPENSATION, COST
from custom_components.powerwall_fleet.energy.money import price_entity
from custom_components.powerwall_fleet.fleet.tariff import (
    check_tariff,
    parse_tariff,
    resolve,
)
from custom_components.powerwall_fleet.prices.builder import build_tariff
from custom_components.powerwall_fleet.prices.forecast import (
    Forecast,
    ForecastError,
    Interval,
    read_forecast,
)
from custom_components.powerwall_fleet.prices.levels import group
from tests.simulator.tariff import night_tariff

HASS = cast("HomeAssistant", SimpleNamespace(config=SimpleNamespace(currency="EUR")))
ZONE = ZoneInfo("Europe/Berlin")
DAY = datetime(2026, 3, 2, tzinfo=ZONE)
# A real-shaped EPEX DE-LU day in quarter hours (EUR/MWh): each hour's price
# with a ramp inside the hour, as 15-minute products trade since October 2025.
HOURS = [
    92.1, 88.4, 85.0, 83.2, 84.9, 91.7, 108.3, 131.5, 139.8, 124.6, 110.2, 98.7,
    93.1, 90.4, 95.8, 104.3, 121.9, 148.6, 162.3, 151.2, 132.7, 118.4, 106.5, 97.9,
]  # fmt: skip
QUARTERS = [price + ramp for price in HOURS for ramp in (-4.1, -1.3, 1.2, 4.4)]


def state(
    attributes: dict[str, Any], value: str = "0.1", entity: str = "sensor.x"
) -> State:
    """A price entity's state."""
    return State(entity, value, attributes)


def iso(hours: float) -> str:
    """DAY plus ``hours``, as the sources write times."""
    return (DAY + timedelta(hours=hours)).isoformat()


# One day in each source's shape: (state, expected price per kWh of 01:00-02:00).
SHAPES: dict[str, tuple[State, float]] = {
    "nordpool": (
        state(
            {
                "unit_of_measurement": "EUR/MWh",
                "raw_today": [
                    {"start": iso(h), "end": iso(h + 1), "value": p}
                    for h, p in enumerate(HOURS)
                ],
                "raw_tomorrow": [],
            }
        ),
        0.0884,
    ),
    "epex_spot": (
        state(
            {
                "unit_of_measurement": "EUR/kWh",
                "data": [
                    {
                        "start_time": iso(h),
                        "end_time": iso(h + 1),
                        "price_ct_per_kwh": p / 10,
                    }
                    for h, p in enumerate(HOURS)
                ],
            }
        ),
        0.0884,
    ),
    "entsoe": (
        state(
            {
                "unit_of_measurement": "€/kWh",
                "prices": [
                    {"time": iso(h), "price": p / 1000} for h, p in enumerate(HOURS)
                ],
            }
        ),
        0.0884,
    ),
    "octopus_energy": (
        State(
            "event.octopus_energy_electricity_x_current_day_rates",
            iso(0),
            {
                "rates": [
                    {"start": iso(h / 2), "end": iso(h / 2 + 0.5), "value_inc_vat": p}
                    for h, p in enumerate(0.2 + i / 100 for i in range(48))
                ]
            },
        ),
        (0.22 + 0.23) / 2,
    ),
    "amber": (
        state(
            {
                "unit_of_measurement": "EUR/kWh",
                "forecasts": [
                    {
                        "start_time": iso(h / 12),
                        "end_time": iso((h + 1) / 12),
                        "per_kwh": 0.1 + (h // 12) / 100,
                    }
                    for h in range(12 * 24)
                ],
            }
        ),
        0.11,
    ),
    "tibber": (
        state(
            {
                "unit_of_measurement": "EUR/kWh",
                "today": [
                    {"startsAt": iso(h), "total": p / 1000} for h, p in enumerate(HOURS)
                ],
                "tomorrow": [],
            }
        ),
        0.0884,
    ),
    "generic": (
        state(
            {
                "unit_of_measurement": "c/kWh",
                "forecast": [
                    {"start": iso(h), "price": p / 10} for h, p in enumerate(HOURS)
                ],
            }
        ),
        0.0884,
    ),
}


@pytest.mark.parametrize("source", list(SHAPES))
def test_each_source_shape_is_read(source: str) -> None:
    """Each shape gives its source's prices per kWh, in the right currency."""
    entity_state, expected = SHAPES[source]
    forecast = read_forecast(HASS, entity_state)
    assert forecast.source == source
    one = (DAY + timedelta(hours=1)).astimezone(UTC)
    price = forecast.mean(one, one + timedelta(hours=1))
    assert price == pytest.approx(expected)
    assert forecast.currency == ("GBP" if source == "octopus_energy" else "EUR")
    assert forecast.end == (DAY + timedelta(hours=24)).astimezone(UTC)


@pytest.mark.parametrize(
    ("attributes", "value", "reason"),
    [
        ({"unit_of_measurement": "EUR/kWh", "something": [1, 2]}, "0.1", "shape"),
        (
            {"unit_of_measurement": "EUR/kWh", "data": [{"start_time": iso(0)}]},
            "0.1",
            "shape",
        ),
        (
            {"unit_of_measurement": "W", "forecast": [{"start": iso(0), "price": 1}]},
            "1",
            "unit",
        ),
        (
            {"unit_of_measurement": "EUR/kWh", "forecast": []},
            "unavailable",
            "unavailable",
        ),
        ({"unit_of_measurement": "EUR/kWh", "forecast": []}, "n/a", "unavailable"),
    ],
)
def test_no_forecast_is_never_guessed(
    attributes: dict[str, Any], value: str, reason: str
) -> None:
    """An unknown shape, a unit that is no price, an unusable state: an error."""
    with pytest.raises(ForecastError) as err:
        read_forecast(HASS, state(attributes, value))
    assert err.value.reason == reason


def test_forecast_coverage_and_gaps() -> None:
    """A missing hour is a gap: not covered, no price made up."""
    start = DAY.astimezone(UTC)
    hour = timedelta(hours=1)
    forecast = Forecast(
        "generic",
        "EUR",
        (
            Interval(start, start + hour, 0.1),
            Interval(start + 2 * hour, start + 3 * hour, 0.2),
        ),
    )
    assert forecast.covers(start, start + hour)
    assert not forecast.covers(start, start + 2 * hour)
    assert forecast.mean(start + hour, start + 2 * hour) is None


def test_grouping_keeps_order_and_sign_with_the_smallest_worst_error() -> None:
    """At most four levels; order kept; 0 and negatives at exactly 0; optimal."""
    prices = [-0.05, 0.0, 0.01, 0.02, 0.1, 0.11, 0.3, 0.31, 0.5, 0.9]
    levels = group(prices)
    assert len(levels.names) <= 4
    for a, b in itertools.combinations(sorted(prices), 2):
        assert levels.of[a] <= levels.of[b]
    assert levels.of[-0.05] == levels.of[0.0] == 0
    assert all(levels.of[p] > 0 for p in prices if p > 0)
    # The positives in three runs: no cut of them does better than this.
    best = min(
        max(
            (run[-1] - run[0]) / 2
            for run in (
                sorted(p for p in prices if p > 0)[:i],
                sorted(p for p in prices if p > 0)[i:j],
                sorted(p for p in prices if p > 0)[j:],
            )
            if run
        )
        for i in range(1, 8)
        for j in range(i + 1, 8)
    )
    assert levels.worst_error == pytest.approx(best, abs=1e-5)


def build_day(forecast: Forecast) -> tuple[float, int]:
    """Build from ``forecast``; its worst error and the levels used."""
    own = parse_tariff(night_tariff(currency="EUR"))
    own = own.__class__(buy=own.buy, sell=None, currency="EUR", code=own.code)
    built = build_tariff(
        forecast, None, own, ZONE, DAY.astimezone(UTC) + timedelta(minutes=5)
    )
    check_tariff(built.tariff.to_dict())
    return built.worst_error, len(built.buy.names)


def quarter_forecast(prices: list[float], minutes: int) -> Forecast:
    """Prices per ``minutes`` from DAY (EUR/MWh)."""
    start = DAY.astimezone(UTC)
    step = timedelta(minutes=minutes)
    return Forecast(
        "x",
        "EUR",
        tuple(
            Interval(start + i * step, start + (i + 1) * step, p / 1000)
            for i, p in enumerate(prices)
        ),
    )


@pytest.mark.parametrize(
    ("name", "prices", "minutes", "worst"),
    [
        # Hourly day-ahead (Nord Pool, ENTSO-e, Tibber, EPEX until 2025).
        ("hourly", HOURS, 60, 0.0088),
        # Quarter-hourly day-ahead (EPEX and Nord Pool since October 2025).
        ("quarter-hourly", QUARTERS, 15, 0.01055),
        # Half-hourly (Octopus Agile, Amber): each hour's price twice.
        ("half-hourly", [p for p in HOURS for _ in range(2)], 30, 0.0088),
    ],
)
def test_worst_error_of_a_real_shaped_day(
    name: str, prices: list[float], minutes: int, worst: float
) -> None:
    """The figures in the README: the worst per-kWh error of the grouping."""
    error, count = build_day(quarter_forecast(prices, minutes))
    assert count == 4
    assert error == pytest.approx(worst, abs=5e-5), name


def test_built_tariff_orders_hours_and_covers_every_day() -> None:
    """The built tariff orders the forecast's hours like the prices and validates."""
    forecast = quarter_forecast(HOURS, 60)
    own = parse_tariff(night_tariff(currency="EUR"))
    built = build_tariff(forecast, None, own, ZONE, DAY.astimezone(UTC))
    tariff, _ = check_tariff(built.tariff.to_dict())
    data = built.tariff.to_dict()
    assert set(data["seasons"]) == {"Summer"}
    assert "demand_charges" in data
    assert "sell_tariff" in data
    levels = [
        (p, resolve(tariff, DAY + timedelta(hours=h, minutes=1), ZONE).buy)
        for h, p in enumerate(HOURS)
    ]
    for (a, la), (b, lb) in itertools.combinations(levels, 2):
        assert la is not None
        assert lb is not None
        assert (a < b) <= (la <= lb)
    # A Sunday, outside the forecast, follows the site's own tariff's order.
    sunday = DAY + timedelta(days=6)
    night = resolve(tariff, sunday + timedelta(hours=2), ZONE).buy
    peak = resolve(tariff, sunday + timedelta(hours=17), ZONE).buy
    assert night is not None
    assert peak is not None
    assert night <= peak


@pytest.mark.parametrize(
    "day", [datetime(2026, 3, 29, tzinfo=ZONE), datetime(2026, 10, 25, tzinfo=ZONE)]
)
def test_clock_change_days_build_a_valid_tariff(day: datetime) -> None:
    """A 23- or 25-hour day still covers every day of the week exactly once."""
    start = day.astimezone(UTC)
    hours = round((day + timedelta(days=2) - day).total_seconds() / 3600)
    forecast = Forecast(
        "x",
        "EUR",
        tuple(
            Interval(
                start + timedelta(hours=h),
                start + timedelta(hours=h + 1),
                0.05 + (h % 24) / 100,
            )
            for h in range(hours)
        ),
    )
    own = parse_tariff(night_tariff(currency="EUR"))
    built = build_tariff(forecast, None, own, ZONE, start + timedelta(hours=1))
    check_tariff(built.tariff.to_dict())
    assert built.covered >= 4 * 46


@pytest.mark.parametrize(
    ("options", "cost", "compensation"),
    [
        ({}, None, None),
        (
            {
                "price_sync": {
                    "price_sync_enabled": True,
                    "price_sync_buy_entity": "sensor.b",
                }
            },
            "sensor.b",
            None,
        ),
        (
            {
                "import_price_entity": "sensor.own",
                "price_sync": {
                    "price_sync_enabled": True,
                    "price_sync_buy_entity": "sensor.b",
                    "price_sync_sell_entity": "sensor.s",
                },
            },
            "sensor.own",
            "sensor.s",
        ),
        (
            {
                "price_sync": {
                    "price_sync_enabled": False,
                    "price_sync_buy_entity": "sensor.b",
                }
            },
            None,
            None,
        ),
        (
            {
                "price_sync": {
                    "price_sync_enabled": True,
                    "price_sync_buy_entity": "event.rates",
                }
            },
            None,
            None,
        ),
    ],
)
def test_money_prices_with_the_real_entity(
    options: dict[str, Any], cost: str | None, compensation: str | None
) -> None:
    """The money statistics use the chosen price entity, else price sync's real one."""
    assert price_entity(options, COST) == cost
    assert price_entity(options, COMPENSATION) == compensation
