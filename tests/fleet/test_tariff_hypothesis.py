"""Property tests: valid tariffs round-trip; broken ones are refused by name."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.powerwall_fleet.fleet.tariff import (
    PERIOD_NAMES,
    TariffError,
    check_tariff,
    parse_tariff,
    resolve,
    validate_tariff,
)
from tests.simulator.tariff import tariff_read_back, validate_tariff as sim_validate

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_PRICE = st.floats(min_value=0, max_value=5, allow_nan=False).map(
    lambda value: round(value, 4)
)


@st.composite
def _day_groups(draw: st.DrawFn) -> list[tuple[int, int]]:
    """A partition of Monday..Sunday into contiguous runs."""
    cuts = sorted(draw(st.sets(st.integers(1, 6), max_size=3)))
    edges = [0, *cuts, 7]
    return [(edges[i], edges[i + 1] - 1) for i in range(len(edges) - 1)]


@st.composite
def _season_periods(
    draw: st.DrawFn,
) -> dict[str, list[dict[str, int]]]:
    periods: dict[str, list[dict[str, int]]] = {}
    for first, last in draw(_day_groups()):
        cuts = sorted(draw(st.sets(st.integers(1, 1439), max_size=4)))
        edges = [0, *cuts, 1440]
        for start, end in itertools.pairwise(edges):
            name = draw(st.sampled_from(PERIOD_NAMES))
            periods.setdefault(name, []).append(
                {
                    "fromDayOfWeek": first,
                    "toDayOfWeek": last,
                    "fromHour": start // 60,
                    "fromMinute": start % 60,
                    "toHour": (end % 1440) // 60,
                    "toMinute": end % 60,
                }
            )
    return periods


@st.composite
def valid_tariffs(draw: st.DrawFn) -> dict[str, Any]:
    """Random tariffs Tesla accepts: one or two seasons, full coverage, priced."""
    last_day = {2: draw(st.sampled_from([28, 29])), 4: 30, 6: 30, 9: 30, 11: 30}
    if draw(st.booleans()):
        start_month = draw(st.integers(2, 12))
        end_month = draw(st.integers(start_month, 12))
        dates = {"Summer": (start_month, 1, end_month, last_day.get(end_month, 31))}
        before = start_month - 1
        if end_month < 12:
            dates["Winter"] = (end_month + 1, 1, before, last_day.get(before, 31))
        else:
            dates["Winter"] = (1, 1, before, last_day.get(before, 31))
    else:
        dates = {"Summer": (1, 1, 12, 31)}
    seasons: dict[str, Any] = {}
    buy: dict[str, Any] = {"ALL": {"rates": {"ALL": 0}}}
    sell: dict[str, Any] = {"ALL": {"rates": {"ALL": 0}}}
    for name, (fm, fd, tm, td) in dates.items():
        periods = draw(_season_periods())
        seasons[name] = {
            "fromMonth": fm,
            "fromDay": fd,
            "toMonth": tm,
            "toDay": td,
            "tou_periods": {p: {"periods": w} for p, w in periods.items()},
        }
        prices = {p: draw(_PRICE) for p in periods}
        buy[name] = {"rates": prices}
        sell[name] = {
            "rates": {
                p: round(v * draw(st.sampled_from([0, 0.5, 1])), 4)
                for p, v in prices.items()
            }
        }
    tariff: dict[str, Any] = {
        "version": 1,
        "name": draw(st.text(max_size=10)),
        "utility": "Utility",
        "currency": draw(st.sampled_from(["USD", "EUR", "AUD"])),
        "daily_charges": [{"name": "Charge", "amount": draw(_PRICE)}],
        "energy_charges": buy,
        "seasons": seasons,
    }
    if draw(st.booleans()):
        tariff["demand_charges"] = {"ALL": {"rates": {"ALL": 0}}}
    if draw(st.booleans()):
        tariff["sell_tariff"] = {
            "name": "Export",
            "energy_charges": sell,
            "seasons": copy.deepcopy(seasons),
        }
    return tariff


@SETTINGS
@given(valid_tariffs())
def test_valid_tariffs_round_trip(data: dict[str, Any]) -> None:
    """Parse → dump → parse is the same tariff, also from a read-back omitting zeros."""
    tariff = parse_tariff(data)
    assert [p for p in validate_tariff(tariff) if p.severity == "error"] == []
    dumped = tariff.to_dict()
    assert parse_tariff(dumped) == tariff
    assert parse_tariff(tariff_read_back(dumped)) == tariff
    assert parse_tariff(copy.deepcopy(dumped)).to_dict() == dumped
    assert sim_validate(dumped) == []  # the simulated Tesla agrees


@SETTINGS
@given(valid_tariffs(), st.integers(0, 7 * 96 - 1))
def test_valid_tariffs_always_resolve(data: dict[str, Any], step: int) -> None:
    """Every instant of a valid tariff has a period and its buy price."""
    tariff = parse_tariff(data)
    zone = ZoneInfo("Europe/Berlin")
    when = datetime(2026, 3, 23, tzinfo=UTC) + timedelta(minutes=15 * step)
    point = resolve(tariff, when, zone)
    assert point.period is not None
    assert point.season is not None
    assert point.buy == data["energy_charges"][point.season]["rates"][point.period]


def _first_period(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    season = data["seasons"]["Summer"]
    name = next(iter(season["tou_periods"]))
    return name, season["tou_periods"][name]["periods"][0]


def _gap(data: dict[str, Any]) -> str:
    name, _ = _first_period(data)
    data["seasons"]["Summer"]["tou_periods"][name]["periods"].pop(0)
    return "is not covered by any period"


def _overlap(data: dict[str, Any]) -> str:
    _, period = _first_period(data)
    other = set(PERIOD_NAMES) - set(data["seasons"]["Summer"]["tou_periods"])
    extra = (
        min(other) if other else next(iter(data["seasons"]["Summer"]["tou_periods"]))
    )
    holder = data["seasons"]["Summer"]["tou_periods"].setdefault(extra, {"periods": []})
    holder["periods"].append(dict(period))
    data["energy_charges"]["Summer"]["rates"].setdefault(extra, 0.1)
    return "is covered more than once"


def _unpriced(data: dict[str, Any]) -> str:
    name, _ = _first_period(data)
    del data["energy_charges"]["Summer"]["rates"][name]
    return "has times but no price"


def _untimed(data: dict[str, Any]) -> str:
    data["energy_charges"]["Summer"]["rates"]["NOWHERE"] = 0.2
    return "NOWHERE: has a price but no times"


def _negative(data: dict[str, Any]) -> str:
    name, _ = _first_period(data)
    data["energy_charges"]["Summer"]["rates"][name] = -0.01
    return "is negative"


def _season_gap(data: dict[str, Any]) -> str:
    summer = data["seasons"]["Summer"]
    if (summer["fromMonth"], summer["fromDay"]) == (1, 1):
        summer["fromDay"] = 2
    else:
        summer["fromMonth"] += 0
        summer["fromDay"] = 2
    return "no season covers"


def _season_overlap(data: dict[str, Any]) -> str:
    data["seasons"]["Extra"] = copy.deepcopy(data["seasons"]["Summer"])
    data["energy_charges"]["Extra"] = copy.deepcopy(data["energy_charges"]["Summer"])
    return "overlap"


def _wrong_type(data: dict[str, Any]) -> str:
    _, period = _first_period(data)
    period["fromHour"] = "seven"
    return "fromHour: must be a whole number"


def _out_of_range(data: dict[str, Any]) -> str:
    _, period = _first_period(data)
    period["toDayOfWeek"] = 7
    return "toDayOfWeek: must be 0-6, not 7"


def _bad_date(data: dict[str, Any]) -> str:
    data["seasons"]["Summer"]["toMonth"] = 13
    return "is no date"


MUTATIONS = [
    _gap,
    _overlap,
    _unpriced,
    _untimed,
    _negative,
    _season_gap,
    _season_overlap,
    _wrong_type,
    _out_of_range,
    _bad_date,
]


@SETTINGS
@given(valid_tariffs(), st.sampled_from(MUTATIONS))
def test_broken_tariffs_refused_by_name(data: dict[str, Any], mutate: Any) -> None:
    """One thing broken: refused with a TariffError that names it."""
    broken = copy.deepcopy(data)
    expected = mutate(broken)
    with pytest.raises(TariffError) as err:
        check_tariff(broken)
    assert expected in str(err.value), (expected, str(err.value))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 100)
    | st.floats(allow_nan=True)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "seasons",
                    "tou_periods",
                    "periods",
                    "energy_charges",
                    "rates",
                    "Summer",
                    "ON_PEAK",
                    "fromHour",
                    "toDayOfWeek",
                    "sell_tariff",
                    "daily_charges",
                    "amount",
                    "fromMonth",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@SETTINGS
@given(_JSON)
def test_garbage_never_raises_anything_else(data: Any) -> None:
    """Any JSON: a tariff or a TariffError, never another exception."""
    try:
        check_tariff(data)
    except TariffError as err:
        problems = err.problems
    else:
        return
    assert problems
    assert all(str(problem) for problem in problems)
