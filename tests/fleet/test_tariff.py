"""Tariffs: every schedule of seed 004 converts, validates and resolves as its author meant."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.powerwall_fleet.fleet import FleetClient
from custom_components.powerwall_fleet.fleet.tariff import (
    PricePoint,
    Problem,
    Tariff,
    TariffError,
    as_tesla_stores,
    changes,
    check_tariff,
    differences,
    next_change,
    parse_clock,
    parse_tariff,
    period_table,
    resolve,
    segments,
    tariff_from_legacy,
    tariff_from_simple,
    validate_tariff,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL
from tests.simulator.tariff import default_tariff, tariff_read_back

HOBART = ZoneInfo("Australia/Hobart")  # the seed site's installation_time_zone
PRICES = {
    "peak": {"buy": 0.45, "sell": 0.10},
    "off_peak": {"buy": 0.15, "sell": 0.05},
    "shoulder": {"buy": 0.25, "sell": 0.08},
}
BUY = {"ON_PEAK": 0.45, "OFF_PEAK": 0.15, "PARTIAL_PEAK": 0.25}
P, OFF, S = "ON_PEAK", "OFF_PEAK", "PARTIAL_PEAK"

WEEKDAYS = [1, 2, 3, 4, 5]  # legacy numbering: 0 = Sunday


def _entry(target: str, days: list[int], start: int | None, end: int | None) -> Any:
    return {
        "target": target,
        "week_days": days,
        "start_seconds": start,
        "end_seconds": end,
    }


# The schedules as posted in the seed (economics; balanced with timestamps;
# the 45-minute / two off-peak one; the P-O-S-O attempt; Tesla's read-back of it).
SEED_1 = {
    "tou_settings": {
        "optimization_strategy": "economics",
        "schedule": [
            _entry("peak", WEEKDAYS, 50400, 75600),
            _entry("off_peak", WEEKDAYS, 79200, 27000),
            _entry("peak", [0, 6], None, None),
            _entry("off_peak", [0, 6], 79200, 25200),
        ],
    }
}
SEED_2 = copy.deepcopy(SEED_1)
SEED_2["tou_settings"]["optimization_strategy"] = "balanced"
for _item in SEED_2["tou_settings"]["schedule"]:
    _item |= {"timestamp": 1533354852668, "receipt_timestamp": 1533354852668}
SEED_3 = {
    "tou_settings": {
        "optimization_strategy": "economics",
        "schedule": [
            _entry("off_peak", [6, 0], 2700, 21600),
            _entry("off_peak", [6, 0], 72000, 82800),
            _entry("peak", [6, 0], 82800, 2700),
            _entry("off_peak", WEEKDAYS, 2700, 21600),
            _entry("off_peak", WEEKDAYS, 72000, 82800),
            _entry("peak", WEEKDAYS, 82800, 2700),
        ],
    }
}
SEED_4 = {
    "optimization_strategy": "balanced",
    "schedule": [
        _entry("off_peak", [6, 0], 54000, 62100),
        _entry("peak", [6, 0], 62100, 67500),
        _entry("off_peak", [6, 0], 67500, 72000),
        _entry("peak", [6, 0], 72000, 54000),
    ],
}
SEED_5 = {
    "optimization_strategy": "balanced",
    "schedule": [
        _entry("off_peak", [6, 0], 67500, 72000),
        _entry("peak", [6, 0], 72000, 54000),
    ],
}
# The owner's "BAD" week_days order ([0, 6], refused by Tesla) means the same.
SEED_1_BAD_ORDER = copy.deepcopy(SEED_1)
for _item in SEED_1_BAD_ORDER["tou_settings"]["schedule"][2:]:
    _item["week_days"] = [0, 6]


def _h(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def _day(*spans: tuple[str, str, str]) -> list[tuple[int, int, str]]:
    return [(_h(a), _h(b), name) for a, b, name in spans]


# What each author meant, per weekday (0 = Monday), in the thread's own words.
_WEEKDAY_1 = _day(
    ("00:00", "07:30", OFF),
    ("07:30", "14:00", S),  # "shoulder on weekdays from 7:30 to 14:00"
    ("14:00", "21:00", P),
    ("21:00", "22:00", S),  # "and again from 21:00 to 22:00"
    ("22:00", "24:00", OFF),  # off-peak wraps midnight
)
_WEEKEND_1 = _day(  # "Weekend is shoulder and off peak, and no peak period"
    ("00:00", "07:00", OFF), ("07:00", "22:00", S), ("22:00", "24:00", OFF)
)
_EVERY_DAY_3 = _day(  # "two off-peak periods, and only one shoulder", 45-min mark
    ("00:00", "00:45", P),
    ("00:45", "06:00", OFF),
    ("06:00", "20:00", S),
    ("20:00", "23:00", OFF),
    ("23:00", "24:00", P),  # "peak wrap-around before-after midnight"
)
_WEEKEND_4 = _day(  # "Off-Peak 3pm-5:15pm, Peak 5:15pm-6:45pm, Off-Peak 6:45pm-8pm, Peak 8pm-3pm"
    ("00:00", "15:00", P),
    ("15:00", "17:15", OFF),
    ("17:15", "18:45", P),
    ("18:45", "20:00", OFF),
    ("20:00", "24:00", P),
)
_WEEKEND_5 = _day(  # what Tesla kept: shoulder where the first off-peak was
    ("00:00", "15:00", P),
    ("15:00", "18:45", S),
    ("18:45", "20:00", OFF),
    ("20:00", "24:00", P),
)
_ALL_SHOULDER = _day(("00:00", "24:00", S))  # days the schedule does not list

INTENT: dict[str, tuple[Any, list[list[tuple[int, int, str]]]]] = {
    "seed_1_economics": (SEED_1, [_WEEKDAY_1] * 5 + [_WEEKEND_1] * 2),
    "seed_2_balanced_timestamps": (SEED_2, [_WEEKDAY_1] * 5 + [_WEEKEND_1] * 2),
    "seed_1_week_days_0_6": (SEED_1_BAD_ORDER, [_WEEKDAY_1] * 5 + [_WEEKEND_1] * 2),
    "seed_3_two_off_peaks_45_min": (SEED_3, [_EVERY_DAY_3] * 7),
    "seed_4_p_o_s_o": (SEED_4, [_ALL_SHOULDER] * 5 + [_WEEKEND_4] * 2),
    "seed_5_read_back": (SEED_5, [_ALL_SHOULDER] * 5 + [_WEEKEND_5] * 2),
}


def _intended(table: list[list[tuple[int, int, str]]], local: datetime) -> str:
    minute = local.hour * 60 + local.minute
    for start, end, name in table[local.weekday()]:
        if start <= minute < end:
            return name
    raise AssertionError(local)  # pragma: no cover


@pytest.mark.parametrize("key", list(INTENT))
@pytest.mark.parametrize(
    "week_start",
    [
        datetime(2026, 6, 22, tzinfo=UTC),  # Hobart winter, no DST
        datetime(2026, 9, 30, tzinfo=UTC),  # DST starts Sunday 4 October
        datetime(2026, 4, 1, tzinfo=UTC),  # DST ends Sunday 5 April
    ],
    ids=["plain_week", "dst_starts", "dst_ends"],
)
def test_seed_schedules(key: str, week_start: datetime) -> None:
    """Each seed schedule: valid v2, and the intended period every 15 minutes."""
    schedule, table = INTENT[key]
    tariff = tariff_from_legacy(schedule, prices=PRICES, currency="AUD")
    assert [p for p in validate_tariff(tariff) if p.severity == "error"] == []
    dumped = tariff.to_dict()
    assert parse_tariff(dumped) == tariff
    assert "demand_charges" in dumped
    assert dumped["sell_tariff"]["demand_charges"]["ALL"] == {"rates": {"ALL": 0.0}}
    for windows in dumped["seasons"]["Summer"]["tou_periods"].values():
        for period in windows["periods"]:
            assert set(period) == {
                "fromDayOfWeek",
                "toDayOfWeek",
                "fromHour",
                "fromMinute",
                "toHour",
                "toMinute",
            }
            # never wraps: ends later the same day, or explicitly at midnight 0:00
            end = period["toHour"] * 60 + period["toMinute"]
            assert end == 0 or end > period["fromHour"] * 60 + period["fromMinute"]
    for step in range(7 * 96):
        instant = week_start + timedelta(minutes=15 * step)
        local = instant.astimezone(HOBART)
        point = resolve(tariff, instant, HOBART)
        expected = _intended(table, local)
        assert point.period == expected, (key, local.isoformat())
        assert point.buy == BUY[expected]


def test_seed_quirks_normalised() -> None:
    """Both off-peak periods survive (Tesla's legacy read-back kept only the last)."""
    tariff = tariff_from_legacy(SEED_4, prices=PRICES)
    off_peak = tariff.buy.seasons["Summer"].periods["OFF_PEAK"]
    assert len(off_peak) == 2
    assert {(p.start, p.end) for p in off_peak} == {(900, 1035), (1125, 1200)}
    assert all((p.from_day, p.to_day) == (5, 6) for p in off_peak)


async def test_seed_tariffs_accepted_by_simulator(
    client: FleetClient, simulator: Simulator
) -> None:
    """What the converter writes, the simulated Tesla accepts and reports back."""
    for schedule, _ in INTENT.values():
        tariff = tariff_from_legacy(schedule, prices=PRICES, currency="USD")
        await client.set_time_of_use(SITE_FULL, tariff.to_dict())
        info = await client.site_info(SITE_FULL)
        held = parse_tariff(info.tariff_content_v2)
        assert differences(tariff, held) == []


def test_legacy_problems_all_reported() -> None:
    """Bad entries are named; nothing but TariffError escapes."""
    with pytest.raises(TariffError) as err:
        tariff_from_legacy(
            [
                "x",
                _entry("mid_peak", [1], 0, 60),
                {"target": "peak", "week_days": [7], "start_seconds": 0},
                _entry("peak", [1], 30, 7200),
                _entry("off_peak", [1], 0, 60),
            ],
            prices={"peak": "cheap", "shoulder": {"buy": "x"}},
        )
    text = str(err.value)
    for part in (
        "schedule[0]: must be an object",
        "schedule[1].target",
        "schedule[2].week_days",
        "schedule[3].start_seconds",
        "prices.peak",
        "prices.shoulder.buy",
        "prices.off_peak: needs a buy price",
    ):
        assert part in text
    with pytest.raises(TariffError, match="schedule: must be a list"):
        tariff_from_legacy({"schedule": "x"}, prices={})


def test_legacy_overlap_caught_by_validator() -> None:
    """Overlapping legacy entries become a v2 error naming day, time and periods."""
    tariff = tariff_from_legacy(
        [
            _entry("peak", [1], 50400, 75600),
            _entry("off_peak", [1], 72000, 0),
        ],
        prices=PRICES,
    )
    problems = [str(p) for p in validate_tariff(tariff)]
    assert (
        "seasons.Summer: Monday 20:00-21:00 is covered more than once "
        "(ON_PEAK, OFF_PEAK)" in problems
    )


def _simple(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Dynamic",
        "utility": "Grid Co",
        "currency": "EUR",
        "seasons": [
            {
                "periods": [
                    {
                        "period": "off_peak",
                        "days": ["all"],
                        "start": "22:00",
                        "end": "07:00",
                        "buy": 0.2,
                        "sell": 0.05,
                    },
                    {
                        "period": "ON_PEAK",
                        "days": "weekdays",
                        "start": "07:00",
                        "end": "22:00",
                        "buy": 0.4,
                        "sell": 0.08,
                    },
                    {
                        "period": "PARTIAL_PEAK",
                        "days": ["sat", "Sunday"],
                        "start": "07:00",
                        "end": "22:00",
                        "buy": 0.3,
                    },
                ]
            }
        ],
    }
    data.update(overrides)
    return data


def test_simple_form() -> None:
    """The simple form builds a whole-year Summer season with split midnight."""
    tariff = tariff_from_simple(_simple())
    assert validate_tariff(tariff) == []
    assert tariff.currency == "EUR"
    assert tariff.name == "Dynamic"
    assert tariff.utility == "Grid Co"
    saturday_noon = datetime(2026, 6, 27, 12, tzinfo=UTC)
    assert resolve(tariff, saturday_noon, UTC) == PricePoint(
        "Summer", "PARTIAL_PEAK", 0.3, 0.0
    )
    monday_early = datetime(2026, 6, 22, 3, tzinfo=UTC)
    assert resolve(tariff, monday_early, UTC) == PricePoint(
        "Summer", "OFF_PEAK", 0.2, 0.05
    )
    table = period_table(tariff)
    assert {
        "season": "Summer",
        "season_dates": "01-01 to 12-31",
        "period": "OFF_PEAK",
        "days": "mon-sun",
        "start": "22:00",
        "end": "24:00",
        "buy": 0.2,
        "sell": 0.05,
    } in table


def test_simple_form_problems() -> None:
    """Every problem of the simple form at once."""
    broken = _simple(
        seasons=[
            {
                "name": "Summer",
                "from_month": "June",
                "periods": [
                    {"period": "ON_PEAK", "days": ["funday"], "start": "25:00"},
                    {"days": "all", "start": "00:00", "end": "24:00", "buy": 1},
                    "x",
                    {
                        "period": "OFF_PEAK",
                        "days": 3,
                        "start": "00:00",
                        "end": "12:00",
                        "buy": "1",
                    },
                    {"period": "P", "start": "00:00", "end": "12:00", "buy": 1},
                    {
                        "period": "P",
                        "start": "12:00",
                        "end": "00:00",
                        "buy": 2,
                        "sell": 1,
                    },
                ],
            },
            {"name": "Summer", "periods": []},
            "x",
            {"name": "Winter", "periods": "x"},
        ]
    )
    with pytest.raises(TariffError) as err:
        tariff_from_simple(broken)
    text = str(err.value)
    for part in (
        "seasons.Summer.from_month: must be a whole number",
        "'funday' is not a day",
        "'25:00' is not a time",
        "periods[1].period: is missing",
        "periods[2]: must be an object",
        "periods[3].days: must be a list",
        "periods[3].buy: must be a number",
        "P already has the buy price 1",
        "seasons[1]: season Summer is given twice",
        "seasons[2]: must be an object",
        "seasons.Winter.periods: must be a non-empty list",
    ):
        assert part in text
    with pytest.raises(TariffError, match="seasons: must be a non-empty list"):
        tariff_from_simple({"seasons": []})


def test_parse_clock() -> None:
    """Times as HH:MM, 24:00 allowed."""
    assert parse_clock("07:30", "x") == 450
    assert parse_clock("24:00", "x") == 1440
    assert parse_clock("06:00:00", "x") == 360
    for bad in ("24:30", "7", "07:60", None, "06:00:30"):
        with pytest.raises(TariffError):
            parse_clock(bad, "x")


def test_read_back_omitting_zeros_parses_the_same() -> None:
    """Tesla omits zero fields; missing toDayOfWeek is 6 (or 0 when only that fits)."""
    tariff = tariff_from_simple(
        _simple(
            seasons=[
                {
                    "periods": [
                        {
                            "period": "ON_PEAK",
                            "days": ["mon"],
                            "start": "00:00",
                            "end": "00:00",
                            "buy": 0.3,
                        },
                        {
                            "period": "OFF_PEAK",
                            "days": ["tue", "wed", "thu", "fri", "sat", "sun"],
                            "start": "00:00",
                            "end": "00:00",
                            "buy": 0.1,
                        },
                    ]
                }
            ]
        )
    )
    read_back = tariff_read_back(tariff.to_dict())
    monday = read_back["seasons"]["Summer"]["tou_periods"]["ON_PEAK"]["periods"][0]
    assert monday == {}  # Monday 00:00 to midnight: every field zero
    assert parse_tariff(read_back) == tariff
    # Tesla's default tariff read back: plain 0..6 days, explicit wrap to 0:00.
    default = default_tariff()
    assert parse_tariff(tariff_read_back(default)) == parse_tariff(default)
    assert validate_tariff(parse_tariff(default)) == []


def test_tesla_encodings_and_wraps() -> None:
    """ToHour 24 / toMinute 60 mean the next hour; a wrap covers both ends of the day."""
    tariff = parse_tariff(
        {
            "currency": "USD",
            "energy_charges": {"Summer": {"rates": {"A": 1, "B": 2}}},
            "seasons": {
                "Summer": {
                    "fromMonth": 1,
                    "fromDay": 1,
                    "toMonth": 12,
                    "toDay": 31,
                    "tou_periods": {
                        "A": {
                            "periods": [{"fromHour": 6, "toHour": 17, "toMinute": 60}]
                        },
                        "B": {"periods": [{"fromHour": 18, "toHour": 6}]},
                    },
                }
            },
        }
    )
    assert validate_tariff(tariff) == []
    a = tariff.buy.seasons["Summer"].periods["A"][0]
    assert (a.to_hour, a.to_minute) == (18, 0)
    at = datetime(2026, 1, 5, 3, tzinfo=UTC)
    assert resolve(tariff, at, UTC).period == "B"
    assert (
        parse_tariff(
            {"seasons": {"S": {"tou_periods": {"X": {"periods": [{"toHour": 24}]}}}}}
        )
        .buy.seasons["S"]
        .periods["X"][0]
        .end
        == 0
    )


def _two_season(**buy: float) -> dict[str, Any]:
    return copy.deepcopy(default_tariff()) | (
        {"energy_charges": {"Summer": {"rates": buy}}} if buy else {}
    )


def test_validator_names_every_problem() -> None:
    """Gaps, overlaps, unpriced and untimed periods, negative prices, bad dates."""
    data = default_tariff()
    data["seasons"]["Summer"]["toMonth"] = 8  # September: no season
    data["seasons"]["Winter"]["toMonth"] = 6  # June: both seasons
    data["seasons"]["Winter"]["toDay"] = 31  # 31 June is no date
    data["seasons"]["Summer"]["tou_periods"]["ON_PEAK"]["periods"][0]["toHour"] = 22
    data["seasons"]["Summer"]["tou_periods"]["OFF_PEAK"]["periods"][0][
        "fromDayOfWeek"
    ] = 1
    data["energy_charges"]["Winter"]["rates"] = {"ON_PEAK": -0.1, "SUPER": 0.1}
    data["sell_tariff"]["energy_charges"]["Summer"]["rates"]["ON_PEAK"] = 0.9
    data["seasons"]["Spring"] = {"tou_periods": {}}
    data["daily_charges"] = [{"name": "Meter", "amount": -1}]
    data["demand_charges"]["Autumn"] = {"rates": {"ALL": 1}}
    del data["currency"]
    problems = validate_tariff(parse_tariff(data))
    text = [str(p) for p in problems]
    expected = [
        "seasons.Winter: toMonth/toDay 6/31 is no date",
        (
            "seasons.Summer: Monday 21:00-22:00 is covered more than once "
            "(ON_PEAK, OFF_PEAK)"
        ),
        "seasons.Summer: Monday 00:00-16:00 is not covered by any period",
        "seasons.Winter.OFF_PEAK: has times but no price",
        "energy_charges.Winter.SUPER: has a price but no times",
        "energy_charges.Winter.ON_PEAK: price -0.1 is negative (Tesla would store 0)",
        "seasons.Spring: Monday 00:00-24:00 is not covered by any period",
        "seasons: Summer and Winter and Spring overlap 06-01 to 06-30",
        "seasons: Winter and Spring overlap 01-01 to 05-31",
        "daily_charges[0]: amount is negative",
        "demand_charges.Autumn: prices a season the tariff does not have",
        "currency: is missing",
        (
            "energy_charges.Summer.ON_PEAK: buy price 0.62 is below the sell "
            "price 0.9; Tesla raises it to the sell price"
        ),
    ]
    for line in expected:
        assert line in text, (line, text)
    warnings = {str(p) for p in problems if p.severity == "warning"}
    assert "seasons.Spring: the Tesla app expects seasons named Summer or Winter" in (
        warnings
    )
    with pytest.raises(TariffError) as err:
        check_tariff(data)
    assert all(p.severity == "error" for p in err.value.problems)
    no_seasons = validate_tariff(parse_tariff({"seasons": {}}))
    assert Problem("seasons", "no seasons") in no_seasons


def test_parse_reports_structure() -> None:
    """Wrong types anywhere are named with their path; nothing else is raised."""
    with pytest.raises(TariffError) as err:
        parse_tariff(
            {
                "version": "1",
                "code": 5,
                "daily_charges": "x",
                "energy_charges": {"Summer": {"rates": {"A": "1"}}, "W": 3},
                "demand_charges": {"Summer": {"rates": []}},
                "seasons": {
                    "Summer": {
                        "fromMonth": True,
                        "tou_periods": {
                            "A": {
                                "periods": [
                                    {"fromHour": 25},
                                    {"toHour": 24, "toMinute": 30},
                                    4,
                                ]
                            },
                            "B": {"periods": {}},
                            "C": 1,
                        },
                    },
                    "Winter": [],
                },
                "sell_tariff": [],
            }
        )
    text = str(err.value)
    for part in (
        "tariff_content_v2.version: must be a whole number",
        "code: must be text",
        "daily_charges: must be a list",
        "energy_charges.Summer.rates.A: must be a number",
        "energy_charges.W: must be an object",
        "demand_charges.Summer.rates: must be an object",
        "seasons.Summer.fromMonth: must be a whole number",
        "periods[0].fromHour: must be 0-23, not 25",
        "periods[1].toHour: ends after midnight",
        "periods[2]: must be an object",
        "tou_periods.B.periods: must be a list",
        "tou_periods.C: must be an object",
        "seasons.Winter: must be an object",
        "sell_tariff: must be an object",
    ):
        assert part in text, part
    with pytest.raises(TariffError, match="tariff_content_v2: must be an object"):
        parse_tariff(None)
    with pytest.raises(TariffError, match="daily_charges"):
        parse_tariff({"daily_charges": [1, {"name": 2, "amount": "x"}]})


def test_keeps_unknown_fields_and_names() -> None:
    """Fields this model does not know go back to Tesla unchanged."""
    data = default_tariff()
    data["monthly_minimum_bill"] = 10
    data["sell_tariff"]["restrictions"] = {"x": 1}
    del data["sell_tariff"]["seasons"]
    tariff = parse_tariff(data)
    dumped = tariff.to_dict()
    assert dumped["monthly_minimum_bill"] == 10
    assert dumped["sell_tariff"]["restrictions"] == {"x": 1}
    assert dumped["sell_tariff"]["seasons"] == dumped["seasons"]  # inherited
    assert tariff.period_names() == ["ON_PEAK", "OFF_PEAK"]
    flat = parse_tariff(
        {"seasons": {"Summer": {"tou_periods": {"ALL": {"periods": [{}]}}}}}
    )
    assert flat.buy.seasons["Summer"].contains(2, 29)
    assert flat.period_names() == ["ALL"]
    assert flat.to_dict()["seasons"]["Summer"]["fromMonth"] == 1


def test_resolver_and_changes_follow_dst() -> None:
    """Boundaries in local time; a skipped or repeated hour handled."""
    zone = ZoneInfo("America/Los_Angeles")
    tariff = tariff_from_simple(
        _simple(
            seasons=[
                {
                    "periods": [
                        {
                            "period": "OFF_PEAK",
                            "start": "01:30",
                            "end": "02:30",
                            "buy": 0.1,
                        },
                        {
                            "period": "ON_PEAK",
                            "start": "02:30",
                            "end": "01:30",
                            "buy": 0.5,
                        },
                    ]
                }
            ]
        )
    )
    # Spring forward, 8 March 2026: 02:00 PST jumps to 03:00 PDT.
    start = datetime(2026, 3, 8, 0, 0, tzinfo=zone)
    found = [
        (when.astimezone(zone).isoformat(), point.period)
        for when, point in changes(tariff, start, zone, days=2)
    ][:3]
    assert found == [
        ("2026-03-08T01:30:00-08:00", "OFF_PEAK"),
        ("2026-03-08T03:00:00-07:00", "ON_PEAK"),  # 02:30 never shows: at the jump
        ("2026-03-09T01:30:00-07:00", "OFF_PEAK"),
    ]
    # Fall back, 1 November 2026: 01:00-02:00 happens twice, so OFF_PEAK twice.
    start = datetime(2026, 11, 1, 0, 0, tzinfo=zone)
    found = [
        (when.astimezone(zone).isoformat(), point.period)
        for when, point in changes(tariff, start, zone, days=2)
    ][:4]
    assert found == [
        ("2026-11-01T01:30:00-07:00", "OFF_PEAK"),
        ("2026-11-01T01:00:00-08:00", "ON_PEAK"),  # clocks back to 01:00
        ("2026-11-01T01:30:00-08:00", "OFF_PEAK"),
        ("2026-11-01T02:30:00-08:00", "ON_PEAK"),
    ]
    # Every change found is where the resolver's answer really changes.
    for when, point in changes(tariff, start, zone, days=3):
        assert resolve(tariff, when, zone) == point
        assert resolve(tariff, when - timedelta(seconds=1), zone) != point


def test_next_change_and_segments() -> None:
    """Season boundaries count; a tariff that never changes has no next change."""
    tariff = parse_tariff(default_tariff())
    zone = ZoneInfo("America/Los_Angeles")
    before_summer = datetime(2026, 5, 31, 22, 0, tzinfo=zone)
    when, point = next_change(tariff, before_summer, zone) or (None, None)
    assert when == datetime(2026, 6, 1, 0, 0, tzinfo=zone)
    assert point == PricePoint("Summer", "OFF_PEAK", 0.31, 0.29)
    flat = parse_tariff(
        {
            "seasons": {"Summer": {"tou_periods": {"ALL": {"periods": [{}]}}}},
            "energy_charges": {"ALL": {"rates": {"ALL": 0.2}}},
        }
    )
    assert next_change(flat, before_summer, zone) is None
    assert resolve(flat, before_summer, zone).buy == 0.2
    day = datetime(2026, 6, 22, tzinfo=zone)
    spans = segments(tariff, day, day + timedelta(days=1), zone)
    assert [
        (a.astimezone(zone).hour, b.astimezone(zone).hour, p.period)
        for a, b, p in spans
    ] == [
        (0, 16, "OFF_PEAK"),
        (16, 21, "ON_PEAK"),
        (21, 0, "OFF_PEAK"),
    ]
    # Leap day follows 28 February; a tariff without seasons resolves to nothing.
    leap = datetime(2028, 2, 29, 12, tzinfo=zone)
    assert resolve(tariff, leap, zone).season == "Winter"
    empty = Tariff(buy=parse_tariff({"seasons": {}}).buy)
    assert resolve(empty, leap, zone) == PricePoint(None, None, None, None)


def test_differences_and_tesla_rules() -> None:
    """Confirmation compares what Tesla would keep with what the site holds."""
    sent = parse_tariff(default_tariff())
    assert differences(sent, parse_tariff(tariff_read_back(default_tariff()))) == []
    raised = default_tariff()
    raised["energy_charges"]["Summer"]["rates"]["ON_PEAK"] = 0.1  # below sell 0.6
    raised["sell_tariff"]["energy_charges"]["Winter"]["rates"]["ON_PEAK"] = -1
    stored = as_tesla_stores(parse_tariff(raised))
    assert stored.buy.energy_charges["Summer"]["ON_PEAK"] == 0.6
    assert stored.sell is not None
    assert stored.sell.energy_charges["Winter"]["ON_PEAK"] == 0.0
    other = default_tariff()
    other["currency"] = "EUR"
    other["seasons"]["Summer"]["toDay"] = 29
    other["energy_charges"]["Winter"]["rates"]["ON_PEAK"] = 1
    other["demand_charges"]["Summer"]["rates"] = {"ON_PEAK": 5}
    del other["sell_tariff"]
    assert differences(sent, parse_tariff(other)) == [
        "currency",
        "seasons",
        "energy_charges",
        "demand_charges",
        "sell_tariff",
    ]
    other["sell_tariff"] = default_tariff()["sell_tariff"]
    other["sell_tariff"]["seasons"]["Winter"]["fromDay"] = 2
    other["sell_tariff"]["energy_charges"]["Summer"]["rates"]["OFF_PEAK"] = 0
    assert "sell_tariff.seasons" in differences(sent, parse_tariff(other))
    assert "sell_tariff.energy_charges" in differences(sent, parse_tariff(other))


def test_period_table_without_sell_rates() -> None:
    """Rows carry the sell price only where the sell side prices that period."""
    data = default_tariff()
    data["sell_tariff"]["energy_charges"] = {"Summer": {"rates": {}}}
    rows = period_table(parse_tariff(data))
    assert all("sell" not in row for row in rows)
    assert rows[0]["days"] == "mon-sun"
    one_day = tariff_from_legacy([_entry("peak", [1], 0, 0)], prices=PRICES)
    assert period_table(one_day)[0]["days"] == "mon"
    assert date(2026, 6, 22).weekday() == 0  # the v2 numbering: 0 = Monday
