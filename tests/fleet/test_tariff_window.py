"""A dispatch's temporary tariff (fleet/tariff/window.py): the window, and nothing else, changes."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.powerwall_fleet.fleet.tariff import (
    errors_of,
    parse_tariff,
    resolve,
    validate_tariff,
)
from custom_components.powerwall_fleet.fleet.tariff.window import (
    free_period_name,
    top_price,
    windows_of,
    with_window,
)
from tests.simulator import default_tariff, night_tariff

ZONE = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 6, 22, 17, 10, 30, tzinfo=UTC)  # Monday 10:10:30 local


def test_the_window_is_the_dearest_period_and_the_rest_is_kept() -> None:
    """Inside: a free period name above every price; outside: the site's own prices."""
    own = parse_tariff(night_tariff())
    end = START + timedelta(hours=2)
    temporary = with_window(own, windows_of(START, end), ZONE)
    assert temporary is not None
    assert not errors_of(validate_tariff(temporary))
    name = free_period_name(own)
    price = resolve(temporary, START, ZONE)
    assert price.period == name
    assert price.buy == price.sell == round(top_price(own) + 0.1, 4)
    assert resolve(temporary, end - timedelta(seconds=1), ZONE).period == name
    # The minute the window began in belongs to it (floored); the minute after does not.
    assert resolve(temporary, START.replace(second=0), ZONE).period == name
    assert resolve(temporary, end + timedelta(minutes=1), ZONE).period != name
    for hours in range(3, 24 * 7, 5):
        when = START + timedelta(hours=hours)
        assert resolve(temporary, when, ZONE) == resolve(own, when, ZONE)
    # Tesla's JSON round trip keeps it.
    assert parse_tariff(temporary.to_dict()) == temporary


def test_a_window_across_midnight_and_a_tariff_without_sell_prices() -> None:
    """Windows split at midnight; a tariff with no sell side gains one priced 0 elsewhere."""
    own = replace(parse_tariff(default_tariff()), sell=None)
    start = datetime(2026, 6, 23, 6, 30, tzinfo=UTC)  # Monday 23:30 local
    temporary = with_window(own, windows_of(start, start + timedelta(hours=1)), ZONE)
    assert temporary is not None
    assert not errors_of(validate_tariff(temporary))
    name = free_period_name(own)
    assert resolve(temporary, start + timedelta(minutes=45), ZONE).period == name
    later = resolve(temporary, start + timedelta(hours=3), ZONE)
    assert later.sell == 0
    assert later.period != name


def _four_periods() -> dict[str, Any]:
    """The night tariff with 21:00-24:00 its own, fourth period (PARTIAL_PEAK)."""
    raw = copy.deepcopy(night_tariff())
    for side, extra in ((raw, 0.04), (raw["sell_tariff"], 0.04)):
        for key, season in side["seasons"].items():
            periods = season["tou_periods"]
            periods["OFF_PEAK"]["periods"] = [
                p for p in periods["OFF_PEAK"]["periods"] if p["fromHour"] != 21
            ]
            periods["PARTIAL_PEAK"] = {
                "periods": [
                    {
                        "fromDayOfWeek": 0,
                        "toDayOfWeek": 6,
                        "fromHour": 21,
                        "fromMinute": 0,
                        "toHour": 0,
                        "toMinute": 0,
                    }
                ]
            }
            rates = side["energy_charges"][key]["rates"]
            rates["PARTIAL_PEAK"] = round(rates["OFF_PEAK"] + extra, 4)
    return raw


def test_four_periods_merge_the_closest_two_for_the_window() -> None:
    """All four names used: the two closest-priced periods become one, the rest is kept."""
    own = parse_tariff(_four_periods())
    assert free_period_name(own) is None
    end = START + timedelta(hours=2)
    temporary = with_window(own, windows_of(START, end), ZONE)
    assert temporary is not None
    assert not errors_of(validate_tariff(temporary))
    price = resolve(temporary, START, ZONE)
    # The freed name (PARTIAL_PEAK: 4 cents from OFF_PEAK) is the window's.
    assert price.period == "PARTIAL_PEAK"
    assert price.buy == price.sell == round(top_price(own) + 0.1, 4)
    for hours in range(3, 24 * 7, 1):
        when = START + timedelta(hours=hours)
        before, after = resolve(own, when, ZONE), resolve(temporary, when, ZONE)
        if before.period == "PARTIAL_PEAK":  # merged into OFF_PEAK
            assert after.period == "OFF_PEAK"
            assert before.buy is not None
            assert after.buy is not None
            assert abs(before.buy - after.buy) <= 0.04 + 1e-9
        else:
            assert after == before
    assert parse_tariff(temporary.to_dict()) == temporary


def _side(periods: dict[str, list[tuple[int, int]]]) -> dict[str, Any]:
    return {
        name: {
            "periods": [
                {
                    "fromDayOfWeek": 0,
                    "toDayOfWeek": 6,
                    "fromHour": start,
                    "fromMinute": 0,
                    "toHour": end % 24,
                    "toMinute": 0,
                }
                for start, end in hours
            ]
        }
        for name, hours in periods.items()
    }


def test_a_merge_never_puts_a_sell_price_above_the_buy_price() -> None:
    """Buy and sell use different names: the merge Tesla would undo is skipped.

    Tesla raises a buy price below the same period's sell price; renaming the
    buy side's night (0.10) to the sell side's evening name (sold at 0.20)
    would make the night dearer, so the next merge is taken.
    """
    raw = copy.deepcopy(night_tariff())
    year = {"fromMonth": 1, "fromDay": 1, "toMonth": 12, "toDay": 31}
    raw["seasons"] = {
        "Year": {
            **year,
            "tou_periods": _side({"ON_PEAK": [(0, 6)], "PARTIAL_PEAK": [(6, 24)]}),
        }
    }
    raw["energy_charges"] = {
        "ALL": {"rates": {"ALL": 0}},
        "Year": {"rates": {"ON_PEAK": 0.1, "PARTIAL_PEAK": 0.3}},
    }
    raw["sell_tariff"]["seasons"] = {
        "Year": {
            **year,
            "tou_periods": _side(
                {"OFF_PEAK": [(16, 21)], "SUPER_OFF_PEAK": [(0, 16), (21, 24)]}
            ),
        }
    }
    raw["sell_tariff"]["energy_charges"] = {
        "ALL": {"rates": {"ALL": 0}},
        "Year": {"rates": {"OFF_PEAK": 0.2, "SUPER_OFF_PEAK": 0.05}},
    }
    raw["demand_charges"] = {"ALL": {"rates": {"ALL": 0}}, "Year": {"rates": {}}}
    own = parse_tariff(raw)
    assert free_period_name(own) is None
    temporary = with_window(own, windows_of(START, START + timedelta(hours=1)), ZONE)
    assert temporary is not None
    assert temporary.sell is not None
    assert resolve(temporary, START, ZONE).period == "ON_PEAK"
    for key, season in temporary.sell.seasons.items():
        for name in season.periods:
            if name in temporary.buy.seasons[key].periods:
                assert temporary.sell.price(key, name) <= temporary.buy.price(
                    key, name
                ), name
    # Outside the window every price is kept (a merge across sides costs 0).
    for hours in range(2, 24 * 7, 1):
        when = START + timedelta(hours=hours)
        before, after = resolve(own, when, ZONE), resolve(temporary, when, ZONE)
        assert (after.buy, after.sell) == (before.buy, before.sell)


def test_no_window_when_no_two_periods_can_merge() -> None:
    """Every period with a demand charge of its own: no name can be freed, no window."""
    own = parse_tariff(_four_periods())
    demand = {
        key: dict.fromkeys(season.periods, 5.0)
        for key, season in own.buy.seasons.items()
    }
    full = replace(own, buy=replace(own.buy, demand_charges=demand))
    assert (
        with_window(full, windows_of(START, START + timedelta(hours=1)), ZONE) is None
    )


def test_short_windows() -> None:
    """Cut into windows of the given length, one minute apart, up to the end."""
    cut = windows_of(START, START + timedelta(hours=1), length=timedelta(minutes=29))
    assert cut == [
        (START, START + timedelta(minutes=29)),
        (START + timedelta(minutes=30), START + timedelta(minutes=59)),
    ]
    longer = windows_of(START, START + timedelta(hours=2), length=timedelta(minutes=29))
    assert len(longer) == 4
    assert longer[-1] == (START + timedelta(minutes=90), START + timedelta(minutes=119))
    assert windows_of(START, START + timedelta(hours=1)) == [
        (START, START + timedelta(hours=1))
    ]
