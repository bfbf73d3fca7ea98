"""A price entity with gaps prices the imports: hour by hour against the simulator.

The import price comes from a Home Assistant entity (``dynamic_prices.py``
reads its recorded states); exports keep the site's Tesla tariff. The entity
changes every hour, is ``unavailable`` for one, and did not exist during the
backfill: those buckets stay unpriced, are counted (also in the diagnostics),
and add nothing. The clocks start after the recorder did.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.powerwall_fleet.const import CONF_IMPORT_PRICE_ENTITY
from custom_components.powerwall_fleet.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.powerwall_fleet.energy.ledger import MONEY_KEYS
from tests.integration.test_energy import (
    HISTORY_MARKS,
    HOUR,
    Run,
    assert_hours_match,
    history_start,
    hourly_sums,
    last_complete_hour,
)
from tests.integration.test_energy_money import ZONE, money_truth, run_until
from tests.simulator import Simulator
from tests.simulator.clock import SimClock
from tests.simulator.history import final_buckets
from tests.simulator.scenario import SITE_FULL
from tests.simulator.tariff import default_tariff

COST, COMPENSATION = MONEY_KEYS
PRICE = "sensor.spot_price"

type PriceLog = list[tuple[datetime, float | None]]

pytestmark = HISTORY_MARKS


@pytest.fixture
def sim_clock() -> SimClock:
    """The evening (20:00 in California) after the recorder's run began."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + 2 * HOUR
    while start.astimezone(ZONE).hour != 20:
        start += HOUR
    return SimClock(start)


async def set_price(run: Run, value: float | None, log: PriceLog) -> None:
    """The price entity takes ``value`` now (None: unavailable)."""
    state = "unavailable" if value is None else str(value)
    run.hass.states.async_set(PRICE, state, {"unit_of_measurement": "USD/kWh"})
    await async_wait_recording_done(run.hass)
    log.append((run.now(), value))


def price_at(log: PriceLog, start: datetime) -> float | None:
    """The entity's price in force at ``start``."""
    found: float | None = None
    for when, value in log:
        if when <= start:
            found = value
    return found


async def test_price_entity_with_gaps(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Imports priced by the entity, unpriced in its gaps; exports by the tariff."""
    log: PriceLog = []
    run = Run(hass, simulator, freezer, [SITE_FULL])
    entry = await run.start()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_IMPORT_PRICE_ENTITY: PRICE}
    )
    t0 = run.now()
    await set_price(run, 0.30, log)
    await run.catch_up()
    for offset, value in (
        (HOUR, 0.45),
        (2 * HOUR, None),  # a gap of an hour
        (3 * HOUR, 0.12),
        (3 * HOUR + timedelta(minutes=20), 0.5),
    ):
        await run_until(run, t0 + offset, step=300)
        await set_price(run, value, log)
    await run_until(run, t0 + 6 * HOUR, step=300)

    history = run.history()
    first_day = history.ledger.first_day
    assert first_day is not None
    start = max(
        datetime.combine(first_day, time(), ZONE).astimezone(UTC),
        history_start(simulator, SITE_FULL),
    )
    end = last_complete_hour(history)
    assert end >= t0 + 5 * HOUR
    await assert_hours_match(hass, simulator, SITE_FULL, start, end)
    assert history.ledger.currencies == {COST: "USD", COMPENSATION: "USD"}

    changes = await hourly_sums(hass, SITE_FULL, MONEY_KEYS, end)
    tariffs = [(start, default_tariff())]
    unpriced = 0
    gap_import = 0
    hour = start
    priced_hours = 0
    while hour + HOUR <= end:
        cost = 0.0
        for bucket, fields in final_buckets(simulator, SITE_FULL, hour, hour + HOUR):
            price = price_at(log, bucket)
            if price is None:
                unpriced += fields["grid_energy_imported"] > 0
                if bucket >= t0:
                    gap_import += fields["grid_energy_imported"]
            else:
                cost += fields["grid_energy_imported"] / 1000 * price
        assert abs(changes[COST][hour] - cost) < 5e-9, hour
        priced_hours += cost > 0
        truth = money_truth(simulator, SITE_FULL, hour, tariffs, ZONE)
        assert abs(changes[COMPENSATION][hour] - truth[COMPENSATION]) < 5e-9, hour
        hour += HOUR
    assert priced_hours >= 4, priced_hours
    assert gap_import > 0  # the gap had imports: they stayed unpriced
    assert unpriced > 0
    assert history.ledger.unpriced == {"import": unpriced, "export": 0}
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert [site["unpriced_buckets"] for site in diagnostics["sites"]] == [
        {"import": unpriced, "export": 0}
    ]


async def test_price_entity_changing_currency_leaves_buckets_unpriced(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A running total in USD never adds euros: those buckets stay unpriced."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    entry = await run.start()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_IMPORT_PRICE_ENTITY: PRICE}
    )
    t0 = run.now()
    await set_price(run, 0.30, [])
    await run.catch_up()
    await run_until(run, t0 + HOUR, step=300)
    history = run.history()
    assert history.ledger.currencies[COST] == "USD"
    cost_before = history.ledger.money[COST]
    unpriced_before = history.ledger.unpriced["import"]

    hass.states.async_set(PRICE, "0.28", {"unit_of_measurement": "EUR/kWh"})
    await async_wait_recording_done(hass)
    t1 = run.now()
    await run_until(run, t0 + 3 * HOUR, step=300)

    assert history.ledger.currencies[COST] == "USD"
    imported_after = sum(
        fields["grid_energy_imported"]
        for _, fields in final_buckets(simulator, SITE_FULL, t1, run.now())
    )
    assert imported_after > 0
    # Only buckets before the switch (still priced in USD) may add cost.
    late_usd = sum(
        fields["grid_energy_imported"] / 1000 * 0.30
        for _, fields in final_buckets(simulator, SITE_FULL, t1 - HOUR, t1)
    )
    assert history.ledger.money[COST] - cost_before <= late_usd + 1e-9
    assert history.ledger.unpriced["import"] > unpriced_before
    warnings = [
        r for r in caplog.records if "Home Assistant's currency is USD" in r.message
    ]
    assert len(warnings) == 1, warnings
