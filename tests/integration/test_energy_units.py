"""The ledger, flows and outage summary on their own (no Home Assistant)."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from custom_components.powerwall_fleet.energy import ledger as ledger_module
from custom_components.powerwall_fleet.energy.ledger import (
    FLOWS,
    HOUR,
    BucketPrices,
    EnergyLedger,
    OutageSummary,
    buckets,
    summarise_outages,
)
from custom_components.powerwall_fleet.fleet import (
    BackupHistory,
    EnergyHistory,
    EnergyInterval,
)
from tests.test_repository import _forbidden_imports

NOW = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def _flow(key: str):
    return next(flow for flow in FLOWS if flow.key == key)


def _bucket(**values: float) -> EnergyInterval:
    return EnergyInterval.from_dict(values)


def test_flow_falls_back_to_its_parts_and_never_goes_negative() -> None:
    """A missing total is the sum of its parts; negative or missing counts 0."""
    home = _flow("home_energy_consumed")
    assert home.energy(_bucket(total_home_usage=50)) == 50
    assert (
        home.energy(
            _bucket(
                consumer_energy_imported_from_grid=10,
                consumer_energy_imported_from_solar=5,
            )
        )
        == 15
    )
    assert home.energy(_bucket()) == 0
    assert home.energy(_bucket(total_home_usage=-3)) == 0


def test_buckets_in_utc_local_when_zoneless_skipped_without_time() -> None:
    """Tesla's bucket starts become UTC; a start without offset is the site's time."""
    history = EnergyHistory.from_dict(
        {
            "time_series": [
                {"timestamp": "2026-06-21T10:00:00+02:00", "grid_energy_imported": 1},
                {"timestamp": "2026-06-21T10:05:00", "grid_energy_imported": 2},
                {"grid_energy_imported": 3},
            ]
        }
    )
    found = buckets(history, ZoneInfo("Europe/Berlin"))
    assert [start for start, _ in found] == [
        datetime(2026, 6, 21, 8, 0, tzinfo=UTC),
        datetime(2026, 6, 21, 8, 5, tzinfo=UTC),
    ]
    assert [bucket.grid_energy_imported for _, bucket in found] == [1, 2]


def test_ledger_counts_each_closed_bucket_once_and_completes_hours() -> None:
    """Buckets counted before and open buckets are not counted; late ones are."""
    ledger = EnergyLedger()
    start = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
    buckets = [
        (start + timedelta(minutes=5 * i), _bucket(grid_energy_imported=1))
        for i in range(14)
    ]
    hours = ledger.add(buckets[:6], NOW)
    assert hours == {}  # 10:00 not complete yet
    assert ledger.written is None
    hours = ledger.add(buckets, NOW)  # the first six again: not counted twice
    assert list(hours) == [start]
    assert hours[start]["grid_energy_imported"] == 12
    assert ledger.totals["grid_energy_imported"] == 14
    # open bucket (ends after now) waits
    late = NOW - timedelta(minutes=2)
    assert ledger.add([(late, _bucket(grid_energy_imported=5))], NOW) == {}
    assert ledger.totals["grid_energy_imported"] == 14
    # a later hour completes the open one even if its last buckets never came
    later = start + timedelta(hours=2)
    hours = ledger.add(
        [(later, _bucket(grid_energy_imported=2))], NOW + timedelta(hours=1)
    )
    eleven = start + timedelta(hours=1)
    assert list(hours) == [eleven]
    assert hours[eleven]["grid_energy_imported"] == 14
    assert ledger.totals["grid_energy_imported"] == 16
    # a bucket that comes after a newer one is counted: its hour and every
    # later written one are rewritten (sums are cumulative)
    eleven_thirty = eleven + timedelta(minutes=30)
    hours = ledger.add(
        [(eleven_thirty, _bucket(grid_energy_imported=3))], NOW + timedelta(hours=1)
    )
    assert list(hours) == [eleven]
    assert hours[eleven]["grid_energy_imported"] == 17
    # a revised bucket replaces its old value, from its hour on
    hours = ledger.add(
        [(start, _bucket(grid_energy_imported=4))], NOW + timedelta(hours=1)
    )
    assert list(hours) == [start, eleven]
    assert hours[start]["grid_energy_imported"] == 15
    assert hours[eleven]["grid_energy_imported"] == 20
    assert ledger.totals["grid_energy_imported"] == 22
    # revised downwards: the totals follow, the sensors' value does not drop
    hours = ledger.add([(start, _bucket())], NOW + timedelta(hours=1))
    assert hours[eleven]["grid_energy_imported"] == 16
    assert ledger.totals["grid_energy_imported"] == 18
    assert ledger.shown("grid_energy_imported") == 22


def test_ledger_survives_its_store() -> None:
    """Saved and read back; a damaged file gives a sane ledger."""
    ledger = EnergyLedger(
        cursor=NOW,
        next_day=date(2026, 6, 21),
        first_day=date(2026, 5, 22),
        time_zone="Europe/Berlin",
        backfilled=True,
    )
    ledger.add(
        [(NOW - timedelta(minutes=5), _bucket(grid_energy_imported=3))],
        NOW,
        prices=BucketPrices(buy={NOW - timedelta(minutes=5): 0.5}, sell={}),
    )
    ledger.totals["solar_energy_produced"] = 7.0
    again = EnergyLedger.from_dict(ledger.as_dict())
    assert again.as_dict() == EnergyLedger.from_dict(again.as_dict()).as_dict()
    assert again.cursor == NOW
    assert again.totals["solar_energy_produced"] == 7.0
    assert again.window == ledger.window
    assert again.money["grid_energy_imported_cost"] == 0.0015
    assert again.written == NOW - timedelta(hours=1)

    # 1.2 had no window: the open hour's row is still to be written, nothing
    # up to the cursor is counted again.
    older = EnergyLedger.from_dict(
        {
            "cursor": NOW.isoformat(),
            "totals": {"grid_energy_imported": 3.0},
            "open_hour": NOW.isoformat(),
            "open_totals": {"grid_energy_imported": 3.0},
        }
    )
    assert older.written == NOW - timedelta(hours=1)
    assert older.floor == NOW + timedelta(minutes=5)
    assert older.add([(NOW, _bucket(grid_energy_imported=9))], NOW + HOUR) == {}
    hours = older.add(
        [(NOW + timedelta(minutes=5), _bucket(grid_energy_imported=1))],
        NOW + HOUR,
    )
    assert hours == {}  # the 12:00 hour is not complete
    hours = older.add(
        [(NOW + timedelta(minutes=55), _bucket(grid_energy_imported=1))],
        NOW + HOUR,
    )
    assert hours[NOW]["grid_energy_imported"] == 5.0

    broken = EnergyLedger.from_dict(
        {
            "cursor": "2026-06-21T12:00:00",  # no offset
            "next_day": "yesterday",
            "first_day": 5,
            "time_zone": 3,
            "totals": {"solar_energy_produced": "x", "unknown": 1},
            "open_hour": "2026-06-21T12:00:00",
            "window": [["x"], ["2026-06-21T12:00:00+00:00", "bad", 1, 1, 0]],
            "tariffs": [{"seen": "never"}],
        }
    )
    assert broken.cursor is None
    assert broken.next_day is None
    assert broken.first_day is None
    assert broken.time_zone is None
    assert broken.written is None
    assert broken.window == {}
    assert broken.tariffs.versions == []
    assert broken.totals["solar_energy_produced"] == 0.0
    assert "unknown" not in broken.totals


def test_outage_bookkeeping_once_a_day_and_after_a_grid_change() -> None:
    """Read once per local day; a grid change makes it due again; all stored."""
    ledger = EnergyLedger()
    today = date(2026, 6, 21)
    assert ledger.outages_wanted(today)  # never read
    ledger.grid_seen("Active")  # the first status seen is no change
    summary = OutageSummary(2, timedelta(minutes=90), NOW - timedelta(days=3))
    ledger.outages_now(summary, today)
    assert not ledger.outages_wanted(today)
    assert ledger.outages_wanted(today + timedelta(days=1))
    ledger.grid_seen("Active")
    assert not ledger.outages_wanted(today)
    ledger.grid_seen("Inactive")
    assert ledger.outages_wanted(today)

    again = EnergyLedger.from_dict(ledger.as_dict())
    assert again.outages == summary
    assert again.outages_read == today
    assert again.outages_due
    assert again.grid_status == "Inactive"
    again.outages_now(OutageSummary(None, None, None), today)
    assert EnergyLedger.from_dict(again.as_dict()).outages == OutageSummary(
        None, None, None
    )


def test_ledger_from_before_outage_bookkeeping_or_damaged() -> None:
    """An older file has no outage fields: never read. Damaged fields are dropped."""
    older = EnergyLedger.from_dict({"cursor": NOW.isoformat(), "backfilled": True})
    assert older.cursor == NOW
    assert older.outages is None
    assert older.outages_wanted(date(2026, 6, 21))
    assert older.grid_status is None

    damaged = EnergyLedger.from_dict(
        {
            "outages": {"count": True, "total_duration": -5, "last_start": 7},
            "outages_read": "2026-06-21",
            "grid_status": 1,
        }
    )
    assert damaged.outages == OutageSummary(None, None, None)
    assert damaged.outages_read == date(2026, 6, 21)
    assert damaged.grid_status is None
    no_summary = EnergyLedger.from_dict({"outages": "x", "outages_read": "2026-06-21"})
    assert no_summary.outages is None
    assert no_summary.outages_read is None  # nothing to show: read again


def test_outage_summary_tolerates_shapes() -> None:
    """Events without timestamps or durations, old events, no events at all."""
    history = BackupHistory.from_dict(
        {
            "events": [
                {"timestamp": "2026-06-20T08:00:00-07:00", "duration": 3_600_000},
                {"timestamp": "2026-06-01T08:00:00-07:00", "duration": 60_000},
                {"timestamp": "2026-04-01T08:00:00-07:00", "duration": 60_000},
                {"duration": "long"},
            ],
            "total_events": 4,
        }
    )
    summary = summarise_outages(history, NOW)
    assert summary.count == 3  # April is older than 30 days
    assert summary.total_duration == timedelta(minutes=61)
    assert summary.last_start == datetime.fromisoformat("2026-06-20T08:00:00-07:00")

    only_total = summarise_outages(BackupHistory.from_dict({"total_events": 2}), NOW)
    assert (only_total.count, only_total.total_duration, only_total.last_start) == (
        2,
        None,
        None,
    )
    nothing = summarise_outages(BackupHistory.from_dict("unexpected"), NOW)
    assert nothing.count is None


def test_ledger_imports_no_home_assistant() -> None:
    """ledger.py is pure Python: the fleet client's models only (types aside)."""
    path = Path(ledger_module.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        )
    ]
    # Its own parts are checked the same way (test_architecture.py).
    parts = ("buckets", "energy_flows", "outages", "pricing")
    assert [
        problem
        for problem in _forbidden_imports(ast.unparse(tree), ledger_module.__name__)
        if not problem.endswith(
            tuple(f"powerwall_fleet.energy.{part}" for part in parts)
        )
    ] == []
