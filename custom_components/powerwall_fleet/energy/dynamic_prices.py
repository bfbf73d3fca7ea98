"""Dynamic prices: what a Home Assistant price entity said at given instants.

Owns reading a price entity's recorded history (Nord Pool, Octopus Energy,
Amber, Tibber, a template, an ``input_number``...) and turning its units into
a currency and a price per kWh. The ledger and the statistics ask
:func:`async_entity_prices` for the price in force at each bucket's start; the
options form checks an entity with :func:`parse_price_unit` and
:func:`foreign_currency`. Reads the recorder through its public history API
only (no database tables, no SQL).

The price in force at an instant is the entity's last state recorded at or
before it (a change exactly at a bucket's start prices that bucket), in the
unit that state carried. No price (``None``), never a guess, when that state
is ``unknown``, ``unavailable``, not a number, without a unit or with one
:func:`parse_price_unit` refuses; when no state is recorded at or before the
instant (the entity did not exist yet, is not recorded, or the recorder no
longer holds that time); when the instant is later than now; and when the
state is in another currency than the reference (the currency of the newest
priced instant in the request), so one result never mixes currencies.

Home Assistant being down is not known: it records no state when it stops,
and the only record of its runs is the recorder's private run table (its own
history no longer reads it either). An entity's next recorded state is the
one it writes when it is back after the start, and that cannot be told from
an ordinary change. So, as Home Assistant's history and statistics do, the
state recorded before a stop stays in force until the entity's first state
after the start: a bucket while Home Assistant was down gets the price the
entity showed when it stopped (a price change during a long stop is seen
late). Unpricing every span that might hide a stop would drop correct prices
too, and a restart usually lasts a minute or two.

The recorder commits every few seconds; the entity's live state, when newer
than the last recorded one, is taken as recorded so a price that changed a
moment ago is not read as the old one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
import re
from typing import Final

from homeassistant.components.recorder import history
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.generated.currencies import ACTIVE_CURRENCIES
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

# Currency symbols that name exactly one currency.
SYMBOLS: Final[dict[str, str]] = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₩": "KRW",
    "₪": "ILS",
    "₺": "TRY",
    "฿": "THB",
    "₱": "PHP",
    "₫": "VND",
    "₴": "UAH",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "R$": "BRL",
    "US$": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "S$": "SGD",
    "HK$": "HKD",
}
# Symbols several currencies share: they mean Home Assistant's currency
# (Settings → System → General) when it is one of these, else nothing.
SHARED_SYMBOLS: Final[dict[str, frozenset[str]]] = {
    "$": frozenset(
        {"USD", "AUD", "CAD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP"}
    ),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "¥": frozenset({"JPY", "CNY"}),
}
# Hundredths: pence are British; cents and öre are those of Home Assistant's
# currency when it has them.
SUBUNITS: Final[dict[str, frozenset[str] | None]] = {
    "p": frozenset({"GBP"}),
    "pence": frozenset({"GBP"}),
    "c": None,
    "ct": None,
    "¢": None,
    "cent": None,
    "cents": None,
    "öre": frozenset({"SEK"}),
    "øre": frozenset({"NOK", "DKK"}),
}
CENT_CURRENCIES: Final = frozenset(
    {"EUR", "USD", "AUD", "CAD", "NZD", "SGD", "HKD", "ZAR", "CHF", "MXN"}
)
# Energy units: (multiplier, divisor) turning a price per that unit into a
# price per kWh.
ENERGY_UNITS: Final[dict[str, tuple[int, int]]] = {
    "kWh": (1, 1),
    "kwh": (1, 1),
    "KWh": (1, 1),
    "KWH": (1, 1),
    "MWh": (1, 1000),
    "MWH": (1, 1000),
    "Wh": (1000, 1),
}
_UNIT = re.compile(r"^\s*(?P<money>[^/\s](?:[^/]*[^/\s])?)\s*/\s*(?P<energy>\w+)\s*$")
# The recorder's query starts this much before the first instant asked for.
# It returns the rows strictly after its start and, without its time, the last
# one strictly before it: a state recorded exactly at its start would be in
# neither. An odd offset keeps that instant off whole seconds, where tests and
# clocks put states.
_MARGIN: Final = timedelta(seconds=1, microseconds=7)


@dataclass(frozen=True)
class PriceUnit:
    """What a price entity's unit means: a currency, and how to get a price per kWh."""

    currency: str
    multiplier: int
    divisor: int

    def per_kwh(self, value: float) -> float:
        """The price per kWh of a value in this unit."""
        return value * self.multiplier / self.divisor


@dataclass(frozen=True)
class EntityPrices:
    """The prices a price entity gave at the instants asked for."""

    # ISO 4217 code read from the entity's unit, None when no instant is priced.
    currency: str | None
    # Instant (UTC) -> price in ``currency`` per kWh; None = unknown then.
    prices: dict[datetime, float | None]


def parse_price_unit(hass: HomeAssistant, unit: object) -> PriceUnit | None:
    """The meaning of a price unit, or None when it is not one this integration accepts.

    Accepted: ``<money>/<energy>``, spaces allowed around the slash, where
    energy is kWh, MWh or Wh and money is an ISO 4217 code (``EUR/kWh``,
    ``NOK/MWh``), an unambiguous symbol (``€``, ``£``, ``A$``...), a shared
    symbol (``$``, ``kr``, ``¥``) when Home Assistant's currency is one it
    stands for, or hundredths: ``p`` (pence), ``c``/``ct``/``¢``/``cent``
    (cents of Home Assistant's currency), ``öre``/``øre``.
    """
    if not isinstance(unit, str) or not (match := _UNIT.match(unit)):
        return None
    if (energy := ENERGY_UNITS.get(match["energy"])) is None:
        return None
    money = match["money"]
    home = hass.config.currency
    divisor = 1
    currency: str | None
    if money.upper() in ACTIVE_CURRENCIES and money.isalpha():
        currency = money.upper()
    elif money in SYMBOLS:
        currency = SYMBOLS[money]
    elif money in SHARED_SYMBOLS:
        currency = home if home in SHARED_SYMBOLS[money] else None
    elif money in SUBUNITS:
        allowed = SUBUNITS[money]
        if allowed is None:
            currency = home if home in CENT_CURRENCIES else None
        else:
            currency = next(iter(allowed)) if len(allowed) == 1 else None
            if home in allowed:
                currency = home
        divisor = 100
    else:
        currency = None
    if currency is None:
        return None
    multiplier, energy_divisor = energy
    return PriceUnit(currency, multiplier, divisor * energy_divisor)


def foreign_currency(hass: HomeAssistant, unit: PriceUnit) -> str | None:
    """The unit's currency when it is not Home Assistant's, else None.

    The Energy dashboard shows every cost in Home Assistant's currency
    (Settings → System → General), so the options form refuses a price entity
    in another one.
    """
    return unit.currency if unit.currency != hass.config.currency else None


def state_price(hass: HomeAssistant, state: State) -> tuple[str, float] | None:
    """A state's currency and price per kWh, or None when it gives none."""
    if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE, ""):
        return None
    unit = parse_price_unit(hass, state.attributes.get("unit_of_measurement"))
    if unit is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return unit.currency, unit.per_kwh(value)


async def async_entity_prices(
    hass: HomeAssistant, entity_id: str, starts: Sequence[datetime]
) -> EntityPrices:
    """The price ``entity_id`` had at each of ``starts`` (aware datetimes).

    One recorder query covers the whole span. Without a recorder every
    instant is unpriced. Raises ValueError for a naive datetime; what the
    recorder raises (a database error) is passed on, so the caller can ask
    again later instead of leaving buckets unpriced.
    """
    if any(start.tzinfo is None for start in starts):
        raise ValueError("bucket starts must be timezone-aware")
    instants = sorted({dt_util.as_utc(start) for start in starts})
    unpriced: dict[datetime, float | None] = dict.fromkeys(instants)
    if not instants or "recorder" not in hass.config.components:
        return EntityPrices(None, unpriced)
    now = dt_util.utcnow()
    query_start = instants[0] - _MARGIN
    query_end = min(instants[-1], now) + _MARGIN
    if query_start >= query_end:  # every instant is in the future
        return EntityPrices(None, unpriced)
    states = await get_instance(hass).async_add_executor_job(
        _read_history, hass, entity_id, query_start, query_end
    )
    live = hass.states.get(entity_id)
    if live is not None and (not states or live.last_updated > states[-1].last_updated):
        states.append(live)
    times = [state.last_updated for state in states]
    priced: dict[datetime, tuple[str, float] | None] = {
        instant: _price_at(hass, instant, now=now, states=states, times=times)
        for instant in instants
    }
    currency = next(
        (found[0] for found in reversed(priced.values()) if found is not None), None
    )
    return EntityPrices(
        currency,
        {
            instant: found[1] if found is not None and found[0] == currency else None
            for instant, found in priced.items()
        },
    )


def _price_at(
    hass: HomeAssistant,
    instant: datetime,
    *,
    now: datetime,
    states: list[State],
    times: list[datetime],
) -> tuple[str, float] | None:
    """The currency and price in force at ``instant``, or None."""
    if instant > now:
        return None
    index = bisect_right(times, instant) - 1
    if index < 0:
        return None
    return state_price(hass, states[index])


def _read_history(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[State]:
    """The entity's states from ``start`` to ``end``, oldest first.

    Runs in the recorder's executor. Every state update counts (attributes
    too: the unit is an attribute), each at its last_updated time; the one in
    force at ``start`` comes first, its last_updated set to ``start``.
    """
    found = history.get_significant_states(
        hass,
        start,
        end,
        [entity_id],
        include_start_time_state=True,
        significant_changes_only=False,
        minimal_response=False,
        no_attributes=False,
    )
    return [state for state in found.get(entity_id, []) if isinstance(state, State)]


async def async_earliest_price(
    hass: HomeAssistant, entity_id: str, since: datetime
) -> tuple[str, float] | None:
    """The first price ``entity_id`` recorded from ``since`` on (currency, per kWh).

    What prices the days before the entity's recorded history (the import
    back to the installation date): the earliest state known stands in for
    the prices nobody recorded.
    """
    if "recorder" not in hass.config.components:
        return None
    states = await get_instance(hass).async_add_executor_job(
        _read_history, hass, entity_id, since, dt_util.utcnow()
    )
    live = hass.states.get(entity_id)
    for state in [*states, *([live] if live is not None else [])]:
        if (found := state_price(hass, state)) is not None:
            return found
    return None
