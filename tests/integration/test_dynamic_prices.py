"""Dynamic prices read from a real recorder: the state in force at each bucket's start.

States are written at known times (the frozen clock moves forward only, from
just after the recorder started) and read back through the recorder, as the
ledger reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.db_schema import RecorderRuns
from homeassistant.components.recorder.tasks import RecorderTask
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance, session_scope
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from sqlalchemy import update

from custom_components.powerwall_fleet.energy.dynamic_prices import (
    EntityPrices,
    async_entity_prices,
    parse_price_unit,
)

PRICE = "sensor.electricity_price"
FIVE = timedelta(minutes=5)


pytestmark = pytest.mark.recorder


@pytest.fixture
async def t0(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> datetime:
    """The next whole hour after the recorder started, the clock frozen there."""
    await async_wait_recording_done(hass)
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    freezer.move_to(start)
    return start


class Writer:
    """Sets the price entity's state at given times, in order."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        """Nothing written yet."""
        self.hass = hass
        self.freezer = freezer

    async def at(
        self, when: datetime, state: str, unit: str | None = "EUR/kWh", **extra: Any
    ) -> None:
        """The entity takes ``state`` (in ``unit``) at ``when``."""
        assert when >= dt_util.utcnow()
        self.freezer.move_to(when)
        attributes = {**extra}
        if unit is not None:
            attributes["unit_of_measurement"] = unit
        self.hass.states.async_set(PRICE, state, attributes)
        await async_wait_recording_done(self.hass)


@pytest.fixture
def writer(hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime) -> Writer:
    """Writes the price entity's states."""
    return Writer(hass, freezer)


def _buckets(start: datetime, count: int) -> list[datetime]:
    return [start + FIVE * index for index in range(count)]


async def _prices(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    starts: list[datetime],
    now: datetime,
) -> EntityPrices:
    freezer.move_to(now)
    return await async_entity_prices(hass, PRICE, starts)


async def test_price_in_force_at_each_start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """Each start gets the state at or before it; a change exactly at a start counts."""
    await writer.at(t0 + timedelta(minutes=2), "0.20")
    await writer.at(t0 + timedelta(minutes=10), "0.30")  # exactly at a start
    await writer.at(t0 + timedelta(minutes=17, seconds=30), "0.25")
    starts = _buckets(t0, 6)
    result = await _prices(hass, freezer, starts, t0 + timedelta(hours=1))
    assert result.currency == "EUR"
    assert result.prices == {
        t0: None,  # nothing recorded before the first state
        t0 + FIVE: 0.20,
        t0 + 2 * FIVE: 0.30,
        t0 + 3 * FIVE: 0.30,
        t0 + 4 * FIVE: 0.25,
        t0 + 5 * FIVE: 0.25,
    }


async def test_state_just_before_the_first_start(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """A state written a whole second before the first start is the one in force."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    await writer.at(t0 + FIVE - timedelta(seconds=1), "0.40")
    result = await _prices(hass, freezer, [t0 + FIVE], t0 + timedelta(hours=1))
    assert result.prices == {t0 + FIVE: 0.40}


async def test_one_query_for_the_span(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """A whole day of buckets costs one job in the recorder's executor."""
    await writer.at(t0 + timedelta(seconds=1), "0.10")
    starts = _buckets(t0 + FIVE, 288)
    instance = get_instance(hass)
    calls: list[object] = []
    original = instance.async_add_executor_job

    def counting(target: Any, *args: Any) -> Any:
        calls.append(target)
        return original(target, *args)

    instance.async_add_executor_job = counting  # type: ignore[method-assign]
    try:
        result = await _prices(hass, freezer, starts, t0 + timedelta(days=2))
    finally:
        instance.async_add_executor_job = original  # type: ignore[method-assign]
    assert len(calls) == 1
    assert set(result.prices.values()) == {0.10}
    assert list(result.prices) == starts


def test_units(hass: HomeAssistant) -> None:
    """What the unit parser accepts and refuses."""
    hass.config.currency = "AUD"
    accepted = {
        "EUR/kWh": ("EUR", 1.0),
        "eur/kWh": ("EUR", 1.0),
        "NOK / MWh": ("NOK", 0.001),
        "€/kWh": ("EUR", 1.0),
        "£/kWh": ("GBP", 1.0),
        "$/kWh": ("AUD", 1.0),
        "c/kWh": ("AUD", 0.01),
        "p/kWh": ("GBP", 0.01),
        "GBP/Wh": ("GBP", 1000.0),
    }
    for unit, (currency, factor) in accepted.items():
        parsed = parse_price_unit(hass, unit)
        assert parsed is not None, unit
        assert (parsed.currency, parsed.per_kwh(1.0)) == (currency, factor), unit
    refused: tuple[object, ...] = (
        None,
        "",
        "kWh",
        "EUR",
        "EUR/kW",
        "XYZ/kWh",
        "kr/kWh",
        "¥/kWh",
        "1/kWh",
        5,
    )
    for odd in refused:
        assert parse_price_unit(hass, odd) is None, odd
    hass.config.currency = "EUR"
    assert parse_price_unit(hass, "$/kWh") is None  # "$" is not the euro


async def test_mwh_converted(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """A price per MWh is divided by 1000; the unit of each state counts."""
    await writer.at(t0 + timedelta(seconds=1), "85.3", unit="EUR/MWh")
    await writer.at(t0 + FIVE, "0.0901", unit="EUR/kWh")
    await writer.at(t0 + 2 * FIVE, "-12", unit="€/MWh")
    result = await _prices(
        hass, freezer, _buckets(t0 + timedelta(minutes=1), 3), t0 + timedelta(hours=1)
    )
    assert result.currency == "EUR"
    assert list(result.prices.values()) == [0.0853, 0.0901, -0.012]


async def test_gaps_are_unpriced(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """Unavailable, unknown, non-numeric and unit-less states price nothing."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    await writer.at(t0 + FIVE, "unavailable")
    await writer.at(t0 + 2 * FIVE, "0.22")
    await writer.at(t0 + 3 * FIVE, "unknown")
    await writer.at(t0 + 4 * FIVE, "n/a")
    await writer.at(t0 + 5 * FIVE, "0.24", unit=None)
    await writer.at(t0 + 6 * FIVE, "0.25", unit="EUR/kW")
    await writer.at(t0 + 7 * FIVE, "0.26")
    starts = _buckets(t0 + timedelta(minutes=1), 8)
    result = await _prices(hass, freezer, starts, t0 + timedelta(hours=1))
    assert result.currency == "EUR"
    assert list(result.prices.values()) == [
        0.20,
        None,  # unavailable
        0.22,
        None,  # unknown
        None,  # not a number
        None,  # no unit
        None,  # not a price unit
        0.26,
    ]


async def test_entity_never_existed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime
) -> None:
    """An entity the recorder never saw prices nothing, and names no currency."""
    starts = _buckets(t0, 3)
    result = await _prices(hass, freezer, starts, t0 + timedelta(hours=1))
    assert result == EntityPrices(None, dict.fromkeys(starts))


async def test_future_and_empty(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """A start later than now has no price yet; no starts, no query."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    now = t0 + timedelta(minutes=7)
    result = await _prices(hass, freezer, _buckets(t0 + FIVE, 2), now)
    assert result.prices == {t0 + FIVE: 0.20, t0 + 2 * FIVE: None}
    assert await async_entity_prices(hass, PRICE, []) == EntityPrices(None, {})


async def test_starts_in_other_time_zones(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """Aware starts in any zone are keyed in UTC; naive ones are refused."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    local = (t0 + FIVE).astimezone(dt_util.get_time_zone("America/Los_Angeles"))
    result = await _prices(hass, freezer, [local], t0 + timedelta(hours=1))
    assert result.prices == {t0 + FIVE: 0.20}
    assert next(iter(result.prices)).tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        await async_entity_prices(hass, PRICE, [datetime(2026, 1, 1)])  # noqa: DTZ001


async def test_different_currencies(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """One result, one currency: the newest priced start's; others are unpriced."""
    await writer.at(t0 + timedelta(seconds=1), "0.20", unit="SEK/kWh")
    await writer.at(t0 + FIVE, "0.02", unit="EUR/kWh")
    starts = _buckets(t0 + timedelta(minutes=1), 2)
    result = await _prices(hass, freezer, starts, t0 + timedelta(hours=1))
    assert result == EntityPrices("EUR", {starts[0]: None, starts[1]: 0.02})
    result = await async_entity_prices(hass, PRICE, starts[:1])
    assert result == EntityPrices("SEK", {starts[0]: 0.20})


async def test_home_assistant_down(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """While Home Assistant was down, the price it had when it stopped is not used.

    The recorder's runs are rewritten as if Home Assistant stopped at t0+10
    and started again at t0+25 (the current run): a bucket in the gap, and a
    bucket after the restart before the entity's first state in the new run,
    have no price.
    """
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    await writer.at(t0 + timedelta(minutes=31), "0.30")
    stopped = t0 + 2 * FIVE
    restarted = t0 + 5 * FIVE
    instance = get_instance(hass)

    def rewrite_runs() -> None:
        with session_scope(hass=hass) as session:
            current = session.query(RecorderRuns).filter(RecorderRuns.end.is_(None))
            run_id = current.one().run_id
            session.execute(
                update(RecorderRuns)
                .where(RecorderRuns.run_id == run_id)
                .values(start=restarted)
            )
            session.add(
                RecorderRuns(
                    start=t0 - timedelta(hours=2),
                    end=stopped,
                    created=t0,
                    closed_incorrect=False,
                )
            )

    await instance.async_add_executor_job(rewrite_runs)
    result = await _prices(
        hass, freezer, _buckets(t0 + FIVE, 7), t0 + timedelta(hours=1)
    )
    assert list(result.prices.values()) == [
        0.20,  # t0+5: recorded in the old run
        None,  # t0+10: Home Assistant down
        None,
        None,
        None,  # t0+25: restarted, the entity has no state in this run yet
        None,  # t0+30
        0.30,  # t0+35
    ]


async def test_no_recorder(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """Without the recorder loaded nothing is priced, even with a live state."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    starts = _buckets(t0 + FIVE, 2)
    freezer.move_to(t0 + timedelta(hours=1))
    hass.config.components.remove("recorder")
    try:
        result = await async_entity_prices(hass, PRICE, starts)
    finally:
        hass.config.components.add("recorder")
    assert result == EntityPrices(None, dict.fromkeys(starts))
    assert (await async_entity_prices(hass, PRICE, starts)).currency == "EUR"


class _Hold(RecorderTask):
    """Keeps the recorder's thread busy until released."""

    commit_before = False

    def __init__(self) -> None:
        """Not started, not released."""
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, instance: Recorder) -> None:
        """Wait for the release (at most 10 s)."""
        self.started.set()
        self.release.wait(10)


async def test_live_state_not_yet_committed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, t0: datetime, writer: Writer
) -> None:
    """A change the recorder has not written yet is read from the live state."""
    await writer.at(t0 + timedelta(seconds=1), "0.20")
    freezer.move_to(t0 + FIVE)
    instance = get_instance(hass)
    hold = _Hold()
    instance.queue_task(hold)
    await hass.async_add_executor_job(hold.started.wait, 10)
    try:
        hass.states.async_set(PRICE, "0.50", {"unit_of_measurement": "EUR/kWh"})
        freezer.move_to(t0 + FIVE + timedelta(seconds=2))
        starts = [t0 + timedelta(minutes=1), t0 + FIVE]
        result = await async_entity_prices(hass, PRICE, starts)
    finally:
        hold.release.set()
    assert list(result.prices.values()) == [0.20, 0.50]
    await async_wait_recording_done(hass)
    # Once written, the recorder says the same.
    assert await async_entity_prices(hass, PRICE, starts) == result
