"""Dynamic prices: what a Home Assistant price entity said at given instants.

Placeholder with the interface agreed with the ``prices`` branch, which owns
this module (reading the entity's recorded states, units per kWh or MWh): it
answers "unknown" for every instant until that module replaces this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from homeassistant.core import HomeAssistant


@dataclass(frozen=True)
class EntityPrices:
    """Prices per kWh by bucket start (UTC); None = unknown then."""

    currency: str | None
    prices: dict[datetime, float | None]


async def async_entity_prices(
    hass: HomeAssistant, entity_id: str, starts: Sequence[datetime]
) -> EntityPrices:
    """The entity's price in force at each of ``starts`` (placeholder: unknown)."""
    return EntityPrices(None, dict.fromkeys(starts))
