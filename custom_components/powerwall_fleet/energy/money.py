"""The price of each new bucket, and the currency each money statistic counts in.

Each direction (imports: what they cost; exports: what they earned) is priced
by the price entity the options name, else by the tariff site_info reports
(``pricing.py``), else not at all.

The currency rule: an entity's prices are in the currency its unit says
(when it priced nothing, the statistic's currency, else Home Assistant's); a
tariff's in the tariff's currency (else Home Assistant's). Money is counted
only in Home Assistant's currency, the one the Energy dashboard shows every
cost in: buckets a source prices in another currency are left unpriced (and
counted as such), with one warning per change for an entity; for the tariff
the history coordinator raises a repair naming both currencies
(:func:`foreign_tariff_currency`). A money statistic is one running total:
once it has counted something, buckets priced in another currency are left
unpriced until the source is back in the statistic's currency, with one
warning per change. While its total is still 0, the statistic takes the new
currency.

The coordinator reads the price entities (``dynamic_prices.py``) and hands
what they said over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ..const import (
    CONF_EXPORT_PRICE_ENTITY,
    CONF_IMPORT_PRICE_ENTITY,
    CONF_PRICE_SYNC,
    CONF_PRICE_SYNC_BUY,
    CONF_PRICE_SYNC_ENABLED,
    CONF_PRICE_SYNC_SELL,
    LOGGER,
)
from .energy_flows import COMPENSATION, COST
from .ledger import BucketPrices, EnergyLedger

if TYPE_CHECKING:
    from .dynamic_prices import EntityPrices

# Which side of the tariff's (buy, sell) prices each money statistic takes.
TARIFF_SIDE: Mapping[str, int] = {COST: 0, COMPENSATION: 1}
# The option naming each money statistic's price entity.
PRICE_ENTITY_OPTION: Mapping[str, str] = {
    COST: CONF_IMPORT_PRICE_ENTITY,
    COMPENSATION: CONF_EXPORT_PRICE_ENTITY,
}


# Price sync's entity for each side: with sync on, the Tesla tariff holds
# grouped prices, so the money statistics price with the real entity.
SYNC_ENTITY_OPTION: Mapping[str, str] = {
    COST: CONF_PRICE_SYNC_BUY,
    COMPENSATION: CONF_PRICE_SYNC_SELL,
}


def price_entity(options: Mapping[str, Any], key: str) -> str | None:
    """The entity pricing money statistic ``key``: its option, else price sync's."""
    chosen = options.get(PRICE_ENTITY_OPTION[key])
    if isinstance(chosen, str) and chosen:
        return chosen
    sync = options.get(CONF_PRICE_SYNC)
    if isinstance(sync, Mapping) and sync.get(CONF_PRICE_SYNC_ENABLED):
        entity = sync.get(SYNC_ENTITY_OPTION[key])
        # An event entity's state is a time, not a price (Octopus Energy's
        # rate events): the tariff prices that side then.
        if isinstance(entity, str) and entity and not entity.startswith("event."):
            return entity
    return None


def foreign_tariff_currency(
    ledger: EnergyLedger, options: Mapping[str, Any], home_currency: str
) -> str | None:
    """The tariff's currency when it prices a money statistic and is not ``home_currency``.

    The tariff prices the directions without a price entity in ``options``;
    None without a tariff, with an entity for both, or in the same currency.
    """
    tariffs = ledger.tariffs
    if tariffs.current is None or all(
        price_entity(options, key) for key in PRICE_ENTITY_OPTION
    ):
        return None
    currency = tariffs.currency or home_currency
    return currency if currency != home_currency else None


class BucketPricer:
    """Prices a site's new buckets; remembers which currency changes it has warned of."""

    def __init__(self, site_id: int) -> None:
        """Price the buckets of ``site_id`` (named in the warning)."""
        self.site_id = site_id
        # Money statistics whose price source is in another currency now.
        self._other_currency: set[str] = set()
        # Money statistics whose price entity is not in Home Assistant's currency.
        self._foreign: set[str] = set()

    def prices(
        self,
        ledger: EnergyLedger,
        starts: Sequence[datetime],
        zone: tzinfo,
        entities: Mapping[str, EntityPrices],
        home_currency: str,
    ) -> BucketPrices | None:
        """The price of the buckets starting at ``starts``; None when nothing is priced.

        ``entities`` holds what the price entity of each money statistic said
        (none for a direction without one). Each priced direction's currency
        is remembered in the ledger for its statistic.
        """
        tariffs = ledger.tariffs
        sources: dict[str, dict[datetime, float | None] | None] = {}
        for key, side in TARIFF_SIDE.items():
            found = entities.get(key)
            if found is not None:
                sources[key] = dict(found.prices)
                currency = found.currency or ledger.currencies.get(key) or home_currency
                if found.currency not in (None, home_currency):
                    self._warn_foreign(key, found.currency, home_currency)
                    sources[key] = dict.fromkeys(starts)
                    continue
                self._foreign.discard(key)
            elif tariffs.current is not None:
                currency = tariffs.currency or home_currency
                if currency != home_currency:  # a repair says so
                    sources[key] = dict.fromkeys(starts)
                    continue
                sources[key] = {
                    start: tariffs.prices(start, zone)[side] for start in starts
                }
            else:
                sources[key] = None
                continue
            if not self._counts_in(ledger, key, currency):
                sources[key] = dict.fromkeys(starts)
        if all(prices is None for prices in sources.values()):
            return None
        return BucketPrices(buy=sources[COST], sell=sources[COMPENSATION])

    def _warn_foreign(self, key: str, currency: str | None, home_currency: str) -> None:
        """Warn once per change that ``key``'s price entity is not in Home Assistant's currency."""
        if key in self._foreign:
            return
        self._foreign.add(key)
        LOGGER.warning(
            "Energy site %s: the %s price entity is in %s, but Home Assistant's"
            " currency is %s; buckets priced in %s are left unpriced",
            self.site_id,
            "import" if key == COST else "export",
            currency,
            home_currency,
            currency,
        )

    def _counts_in(self, ledger: EnergyLedger, key: str, currency: str) -> bool:
        """Whether ``key``'s statistic may count prices in ``currency`` (it then counts in it)."""
        counted_in = ledger.currencies.get(key)
        if counted_in not in (None, currency) and ledger.money.get(key):
            if key not in self._other_currency:
                self._other_currency.add(key)
                LOGGER.warning(
                    "Energy site %s: the %s price is now in %s, but its"
                    " statistic counts in %s; buckets priced in %s are left"
                    " unpriced",
                    self.site_id,
                    "import" if key == COST else "export",
                    currency,
                    counted_in,
                    currency,
                )
            return False
        self._other_currency.discard(key)
        ledger.currencies[key] = currency
        return True
