"""The bookkeeping of the import back to the installation date (energy/lifetime.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.powerwall_fleet.energy.energy_flows import COST
from custom_components.powerwall_fleet.energy.ledger import BucketPrices
from custom_components.powerwall_fleet.energy.lifetime import (
    LIFETIME_DAILY_CAP,
    LifetimeProgress,
    day_import,
    lifetime_requests,
)
from custom_components.powerwall_fleet.fleet import EnergyInterval

BUCKET = timedelta(minutes=5)


def _bucket(start: datetime, imported: int) -> tuple[datetime, EnergyInterval]:
    raw = {
        "timestamp": start.isoformat(),
        "grid_energy_imported": imported,
        "consumer_energy_imported_from_grid": imported,
        "total_home_usage": imported,
    }
    return start.astimezone(UTC), EnergyInterval.from_dict(raw)


def _day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def test_day_rows_run_from_zero_and_later_sums_grow_by_the_day() -> None:
    """Each hour's running total from 0; the next day's first hour is shifted, not written."""
    zone = ZoneInfo("Europe/Berlin")
    start, end = _day(date(2024, 3, 31), zone)  # 23 hours: summer time begins
    found = []
    when = start
    while when < end:
        found.append(_bucket(when, 10))
        when += BUCKET
    prices = BucketPrices(buy=dict.fromkeys([s for s, _ in found], 0.5))
    added = day_import(found, prices, start, end)
    assert len(added.rows) == 23
    assert added.shift_from == end
    hours = sorted(added.rows)
    assert added.rows[hours[0]]["grid_energy_imported"] == 120
    assert added.rows[hours[-1]]["grid_energy_imported"] == 23 * 120
    assert added.totals["grid_energy_imported"] == 23 * 120
    assert added.totals[COST] == pytest.approx(23 * 120 / 1000 * 0.5)


def test_half_hour_zone_shares_an_hour_with_the_next_day() -> None:
    """India: the last half hour of a day is in the hour the next day's row holds."""
    zone = ZoneInfo("Asia/Kolkata")
    start, end = _day(date(2024, 5, 1), zone)
    assert end.minute == 30
    found = []
    when = start
    while when < end:
        found.append(_bucket(when, 1))
        when += BUCKET
    added = day_import(found, None, start, end)
    assert max(added.rows) + timedelta(hours=1) == end.replace(minute=0)
    assert added.shift_from == end.replace(minute=0)
    # The rows stop before the shared hour; the totals hold the whole day.
    assert added.rows[max(added.rows)]["grid_energy_imported"] == 288 - 6
    assert added.totals["grid_energy_imported"] == 288


def test_progress_newest_first_to_the_stop_day_within_the_cap() -> None:
    """Days go back one at a time; the cap holds per local day; the file round-trips."""
    progress = LifetimeProgress()
    first, stop = date(2026, 10, 1), date(2026, 9, 28)
    assert progress.day_to_ask(first, stop) == date(2026, 9, 30)
    assert progress.share_done(first, stop) == 0.0
    progress.day_added(date(2026, 9, 30), {"grid_energy_imported": 5.0})
    assert progress.day_to_ask(first, stop) == date(2026, 9, 29)
    assert progress.days_left(first, stop) == 2
    assert progress.share_done(first, stop) == 33.3
    today = date(2026, 10, 30)
    for _ in range(LIFETIME_DAILY_CAP):
        assert progress.may_ask(today)
        progress.asking(today)
    assert not progress.may_ask(today)
    assert progress.may_ask(today + timedelta(days=1))
    again = LifetimeProgress.from_dict(progress.as_dict())
    assert again == progress
    progress.day_added(date(2026, 9, 29), {})
    progress.day_added(date(2026, 9, 28), {})
    assert progress.day_to_ask(first, stop) is None
    assert progress.share_done(first, stop) == 100.0
    assert LifetimeProgress.from_dict({"oldest": "x", "offset": [], "asked": -1}) == (
        LifetimeProgress()
    )


def test_one_off_cost() -> None:
    """One request per day between the stop day and the first day imported."""
    today = date(2026, 10, 30)
    assert lifetime_requests(date(2026, 9, 30), date(2023, 10, 30), today) == 1066
    assert lifetime_requests(None, date(2026, 1, 1), today) == 272
    assert lifetime_requests(date(2026, 9, 30), None, today) == 0
    assert lifetime_requests(date(2026, 9, 30), date(2026, 12, 1), today) == 0
