"""The energy folder's rules the history coordinator hands its reads to, on their own.

energy/money.py: which source prices a new bucket and the currency rules (money
only in Home Assistant's currency; one money statistic, one currency). energy/statistics.py: which statistics a site
gets and the site's name in them. The same rules over HTTP, with a recorder:
tests/integration/test_energy_money.py and test_energy_prices.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from zoneinfo import ZoneInfo

import pytest

from custom_components.powerwall_fleet.const import (
    CONF_EXPORT_PRICE_ENTITY,
    CONF_IMPORT_PRICE_ENTITY,
)
from custom_components.powerwall_fleet.energy.dynamic_prices import EntityPrices
from custom_components.powerwall_fleet.energy.energy_flows import (
    COMPENSATION,
    COST,
    FLOWS,
)
from custom_components.powerwall_fleet.energy.ledger import EnergyLedger
from custom_components.powerwall_fleet.energy.money import (
    BucketPricer,
    foreign_tariff_currency,
)
from custom_components.powerwall_fleet.energy.statistics import (
    site_statistics,
    statistics_site_name,
)
from custom_components.powerwall_fleet.fleet import SiteInfo
from tests.simulator.tariff import default_tariff

ZONE = ZoneInfo("America/Los_Angeles")
# 17:00 is on-peak in July (buy 0.62, sell 0.60), 03:00 off-peak (0.31, 0.29).
PEAK = datetime(2026, 7, 1, 17, tzinfo=ZONE).astimezone(UTC)
NIGHT = datetime(2026, 7, 1, 3, tzinfo=ZONE).astimezone(UTC)
STARTS = [NIGHT, PEAK]


def _ledger(currency: str | None = "USD") -> EnergyLedger:
    ledger = EnergyLedger()
    if currency is not None:
        ledger.tariffs.seen(
            default_tariff(currency=currency), NIGHT - timedelta(days=1)
        )
    return ledger


def test_the_tariff_prices_both_directions_in_its_currency() -> None:
    """Without a price entity, the tariff in force prices each bucket."""
    ledger = _ledger()
    prices = BucketPricer(1).prices(ledger, STARTS, ZONE, {}, "USD")
    assert prices is not None
    assert prices.buy == {NIGHT: 0.31, PEAK: 0.62}
    assert prices.sell == {NIGHT: 0.29, PEAK: 0.6}
    assert ledger.currencies == {COST: "USD", COMPENSATION: "USD"}


def test_nothing_priced_without_a_source() -> None:
    """No tariff and no entity: no prices and no currency."""
    ledger = _ledger(None)
    assert BucketPricer(1).prices(ledger, STARTS, ZONE, {}, "EUR") is None
    assert ledger.currencies == {COST: None, COMPENSATION: None}


def test_an_entity_prices_its_direction_the_tariff_the_other() -> None:
    """The import price entity wins over the tariff for imports only."""
    ledger = _ledger()
    entity = EntityPrices("USD", {NIGHT: 0.1, PEAK: None})
    prices = BucketPricer(1).prices(ledger, STARTS, ZONE, {COST: entity}, "USD")
    assert prices is not None
    assert prices.buy == {NIGHT: 0.1, PEAK: None}
    assert prices.sell == {NIGHT: 0.29, PEAK: 0.6}


def test_an_entity_that_priced_nothing_keeps_the_statistic_currency() -> None:
    """No currency from the entity: the statistic's, else Home Assistant's."""
    ledger = _ledger(None)
    silent = EntityPrices(None, dict.fromkeys(STARTS))
    pricer = BucketPricer(1)
    pricer.prices(ledger, STARTS, ZONE, {COST: silent}, "EUR")
    assert ledger.currencies[COST] == "EUR"
    ledger.currencies[COST] = "GBP"
    pricer.prices(ledger, STARTS, ZONE, {COST: silent}, "EUR")
    assert ledger.currencies[COST] == "GBP"


def test_a_statistic_with_a_total_keeps_its_currency(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Prices in another currency leave the buckets unpriced, warned once per change.

    Counted in dollars, then Home Assistant's currency and the entity's
    become euros: the dollar total never adds euros.
    """
    ledger = _ledger()
    pricer = BucketPricer(7001)
    pricer.prices(ledger, STARTS, ZONE, {}, "USD")
    ledger.money[COST] = 1.5
    ledger.tariffs.seen(default_tariff(currency="EUR"), NIGHT)
    other = {COST: EntityPrices("EUR", {NIGHT: 0.2, PEAK: 0.3})}
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            prices = pricer.prices(ledger, STARTS, ZONE, other, "EUR")
            assert prices is not None
            assert prices.buy == {NIGHT: None, PEAK: None}
            assert prices.sell == {NIGHT: 0.29, PEAK: 0.6}  # still at 0: euros
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "7001" in warnings[0].getMessage()
    assert "import price is now in EUR" in warnings[0].getMessage()
    assert ledger.currencies[COST] == "USD"

    # Back in the statistic's currency: priced again; a new change warns again.
    back = {COST: EntityPrices("USD", {NIGHT: 0.2, PEAK: 0.3})}
    prices = pricer.prices(ledger, STARTS, ZONE, back, "USD")
    assert prices is not None
    assert prices.buy == {NIGHT: 0.2, PEAK: 0.3}
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pricer.prices(ledger, STARTS, ZONE, other, "EUR")
    assert len(caplog.records) == 1


def test_a_statistic_still_at_zero_takes_the_new_currency() -> None:
    """Nothing counted yet: the statistic follows its source's currency."""
    ledger = _ledger()
    pricer = BucketPricer(1)
    pricer.prices(ledger, STARTS, ZONE, {}, "USD")
    entity = {COST: EntityPrices("EUR", {NIGHT: 0.2, PEAK: 0.3})}
    prices = pricer.prices(ledger, STARTS, ZONE, entity, "EUR")
    assert prices is not None
    assert prices.buy == {NIGHT: 0.2, PEAK: 0.3}
    assert ledger.currencies[COST] == "EUR"


def test_a_tariff_in_another_currency_than_home_assistant_prices_nothing() -> None:
    """A dollar tariff while Home Assistant counts in euros: unpriced, no statistic.

    The Energy dashboard would show those dollars as euros. An entity in
    euros still prices its direction; the tariff's currency is reported for
    the repair only while the tariff prices a direction.
    """
    ledger = _ledger("USD")
    prices = BucketPricer(1).prices(ledger, STARTS, ZONE, {}, "EUR")
    assert prices is not None
    assert prices.buy == {NIGHT: None, PEAK: None}
    assert prices.sell == {NIGHT: None, PEAK: None}
    assert ledger.currencies == {COST: None, COMPENSATION: None}
    assert foreign_tariff_currency(ledger, {}, "EUR") == "USD"

    euros = {COST: EntityPrices("EUR", {NIGHT: 0.2, PEAK: 0.3})}
    prices = BucketPricer(1).prices(ledger, STARTS, ZONE, euros, "EUR")
    assert prices is not None
    assert prices.buy == {NIGHT: 0.2, PEAK: 0.3}
    assert prices.sell == {NIGHT: None, PEAK: None}
    assert ledger.currencies == {COST: "EUR", COMPENSATION: None}
    one = {CONF_IMPORT_PRICE_ENTITY: "sensor.spot"}
    both = {**one, CONF_EXPORT_PRICE_ENTITY: "sensor.feed_in"}
    assert foreign_tariff_currency(ledger, one, "EUR") == "USD"
    assert foreign_tariff_currency(ledger, both, "EUR") is None
    assert foreign_tariff_currency(ledger, {}, "USD") is None
    assert foreign_tariff_currency(_ledger(None), {}, "EUR") is None


def test_an_entity_in_another_currency_than_home_assistant_prices_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The options form refuses such an entity; one that turns foreign later is unpriced.

    Warned once per change; priced again once it is back in Home
    Assistant's currency.
    """
    ledger = _ledger("EUR")
    pricer = BucketPricer(7001)
    dollars = {COMPENSATION: EntityPrices("USD", {NIGHT: 0.2, PEAK: 0.3})}
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            prices = pricer.prices(ledger, STARTS, ZONE, dollars, "EUR")
            assert prices is not None
            assert prices.sell == {NIGHT: None, PEAK: None}
            assert prices.buy == {NIGHT: 0.31, PEAK: 0.62}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "export price entity is in USD" in warnings[0]
    assert "Home Assistant's currency is EUR" in warnings[0]
    assert ledger.currencies == {COST: "EUR", COMPENSATION: None}

    euros = {COMPENSATION: EntityPrices("EUR", {NIGHT: 0.2, PEAK: 0.3})}
    prices = pricer.prices(ledger, STARTS, ZONE, euros, "EUR")
    assert prices is not None
    assert prices.sell == {NIGHT: 0.2, PEAK: 0.3}
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pricer.prices(ledger, STARTS, ZONE, dollars, "EUR")
    assert len(caplog.records) == 1


def _info(**components: bool) -> SiteInfo:
    return SiteInfo.from_dict({"components": components})


def test_a_site_gets_the_statistics_of_what_it_has() -> None:
    """Main flows of its components; every flow of them with the breakdown; money when priced."""
    battery_only = _info(battery=True, solar=False, grid=True)
    keys = [
        stat.key
        for stat in site_statistics(battery_only, breakdown=False, currencies={})
    ]
    assert keys == [
        "grid_energy_imported",
        "grid_energy_exported",
        "battery_energy_charged",
        "battery_energy_discharged",
        "home_energy_consumed",
    ]
    everything = site_statistics(
        _info(battery=True, solar=True, grid=True),
        breakdown=True,
        currencies={COST: "USD", COMPENSATION: None},
    )
    assert [stat.key for stat in everything] == [
        *(flow.key for flow in FLOWS),
        COST,
    ]
    assert everything[-1].unit == "USD"
    assert everything[-1].unit_class is None


def test_the_site_name_is_unique_within_the_entry() -> None:
    """A name another site of the entry has too gets the end of the site's id."""
    assert statistics_site_name("Home", 1234567, ["Cabin"]) == "Home"
    assert statistics_site_name("Home", 1234567, ["Cabin", "Home"]) == "Home (4567)"
    assert statistics_site_name("Home", 1234567, []) == "Home"
