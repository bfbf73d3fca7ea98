"""A dispatch's temporary tariff (fleet/tariff/window.py): the window, and nothing else, changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
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


def test_no_free_period_name() -> None:
    """A tariff that uses all four names gets no window."""
    own = parse_tariff(default_tariff())
    seasons = {
        key: replace(
            season,
            periods={
                **season.periods,
                "PARTIAL_PEAK": (),
                "SUPER_OFF_PEAK": (),
            },
        )
        for key, season in own.buy.seasons.items()
    }
    full = replace(own, buy=replace(own.buy, seasons=seasons))
    assert free_period_name(full) is None
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
