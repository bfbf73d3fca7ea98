"""Forecast readers: the coming prices a price entity publishes in its attributes.

Owns the table of source shapes (:data:`SHAPES`) and :func:`read_forecast`,
which turns an entity's state into a :class:`Forecast`: intervals with a
price per kWh in one currency. Units are converted by
``energy/dynamic_prices.py`` (the money statistics' rules); a shape may name
the unit its source always uses when the entity has none (Octopus Energy's
event entities). Each shape cites where its attributes are documented.

No forecast, never a guess: an entity that is unavailable, whose state is
not a number, whose unit is not a price, or whose attributes match no shape
raises :class:`ForecastError`; an item without a usable time or price is left
out (the coverage check in sync.py then notices the gap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util

from ..energy.dynamic_prices import PriceUnit, parse_price_unit


@dataclass(frozen=True, kw_only=True)
class Shape:
    """How one source lays out its forecast in the entity's attributes."""

    key: str  # the source, in the sensor's attributes and the README
    # Attribute groups tried in turn; a group's lists are joined (today + tomorrow).
    attributes: tuple[tuple[str, ...], ...]
    start: str
    end: str | None
    # Price keys tried in turn -> the unit of that key (None: the entity's unit).
    values: tuple[tuple[str, str | None], ...]
    # The unit when the entity has none (the source documents one unit only).
    default_unit: str | None = None


SHAPES: tuple[Shape, ...] = (
    # Nord Pool, the HACS custom integration (custom-components/nordpool):
    # ``raw_today``/``raw_tomorrow`` lists of ``{start, end, value}`` in the
    # sensor's unit (its README; TheFes/cheapest-energy-hours
    # documentation/1-source_sensor.md defaults). Core's ``nordpool`` publishes
    # no forecast attributes (its prices come from an action).
    Shape(
        key="nordpool",
        attributes=(("raw_today", "raw_tomorrow"),),
        start="start",
        end="end",
        values=(("value", None),),
    ),
    # EPEX Spot (mampfes/ha_epex_spot): ``data`` list of ``{start_time,
    # end_time, price_per_kwh}``; older versions ``price_ct_per_kwh`` or
    # ``price_eur_per_mwh`` (its README and EPEXSpot test scripts).
    Shape(
        key="epex_spot",
        attributes=(("data",),),
        start="start_time",
        end="end_time",
        values=(
            ("price_per_kwh", None),
            ("price_ct_per_kwh", "ct/kWh"),
            ("price_eur_per_mwh", "EUR/MWh"),
        ),
    ),
    # ENTSO-e (JaccoR/hass-entso-e): ``prices`` (today and tomorrow) or
    # ``prices_today``/``prices_tomorrow``, lists of ``{time, price}`` in the
    # sensor's unit (its README: "forecast of the energy prices is in the
    # sensors attributes").
    Shape(
        key="entsoe",
        attributes=(("prices",), ("prices_today", "prices_tomorrow")),
        start="time",
        end=None,
        values=(("price", None),),
    ),
    # Octopus Energy (BottlecapDave/HomeAssistant-OctopusEnergy): the
    # ``event.…_current_day_rates``/``…_next_day_rates`` entities carry
    # ``rates``, lists of ``{start, end, value_inc_vat}`` in pounds per kWh
    # (its documentation, "Events" and "Current Rate": 1.01 = £1.01).
    Shape(
        key="octopus_energy",
        attributes=(("rates",),),
        start="start",
        end="end",
        values=(("value_inc_vat", None),),
        default_unit="GBP/kWh",
    ),
    # Amber Electric (core ``amber_electric``): the forecast sensors carry
    # ``forecasts``, lists of ``{start_time, end_time, per_kwh, …}`` in the
    # sensor's unit ($/kWh).
    Shape(
        key="amber",
        attributes=(("forecasts",),),
        start="start_time",
        end="end_time",
        values=(("per_kwh", None),),
    ),
    # Tibber: the price-list sensors built on Tibber's API
    # (klspn/tibber-future-prices and alike) carry ``today``/``tomorrow``,
    # lists of Tibber's ``priceInfo`` items ``{startsAt, total}``.
    Shape(
        key="tibber",
        attributes=(("today", "tomorrow"),),
        start="startsAt",
        end=None,
        values=(("total", None),),
    ),
    # Generic (a template sensor, any other source): ``forecast`` or
    # ``prices``, lists of ``{start, end?, price}``.
    Shape(
        key="generic",
        attributes=(("forecast",), ("prices",)),
        start="start",
        end="end",
        values=(("price", None),),
    ),
)
# What the options form names when a shape is not recognised.
EXPECTED = (
    "raw_today/raw_tomorrow (Nord Pool), data (EPEX Spot), prices or "
    "prices_today (ENTSO-e), rates (Octopus Energy), forecasts (Amber), "
    "today/tomorrow (Tibber), or forecast: a list of {start, end, price}"
)


class ForecastError(Exception):
    """No usable forecast; ``reason``: ``unavailable``, ``unit`` or ``shape``."""

    def __init__(self, reason: str) -> None:
        """Keep the reason (a translation key's last part)."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Interval:
    """One forecast price: ``[start, end)`` (UTC) at ``price`` per kWh."""

    start: datetime
    end: datetime
    price: float


@dataclass(frozen=True)
class Forecast:
    """The prices a source gives, in its currency, ordered by start."""

    source: str
    currency: str
    intervals: tuple[Interval, ...]

    @property
    def end(self) -> datetime | None:
        """The end of the last interval."""
        return self.intervals[-1].end if self.intervals else None

    def with_past(self, earlier: Forecast | None, since: datetime) -> Forecast:
        """The forecast after the intervals of ``earlier`` it no longer shows.

        Sources such as Amber drop the intervals that have passed; keeping
        them (from ``since`` on) keeps the tariff of the hours already past
        as it was, instead of a new push each time an interval passes.
        """
        if earlier is None or earlier.currency != self.currency or not self.intervals:
            return self
        first = self.intervals[0].start
        kept = tuple(
            interval
            for interval in earlier.intervals
            if interval.end <= first and interval.end > since
        )
        return (
            Forecast(self.source, self.currency, kept + self.intervals)
            if kept
            else self
        )

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` is priced throughout, without a gap."""
        reached = start
        for interval in self.intervals:
            if interval.end <= reached:
                continue
            if interval.start > reached:
                return False
            reached = interval.end
            if reached >= end:
                return True
        return reached >= end

    def mean(self, start: datetime, end: datetime) -> float | None:
        """The time-weighted price over ``[start, end)``; None unless covered."""
        if not self.covers(start, end):
            return None
        total = 0.0
        for interval in self.intervals:
            lo, hi = max(interval.start, start), min(interval.end, end)
            if hi > lo:
                total += interval.price * (hi - lo).total_seconds()
        return total / (end - start).total_seconds()


def shape_of(attributes: Mapping[str, Any]) -> tuple[Shape, list[Any]] | None:
    """The first shape the attributes match, with its items; None if none does."""
    for shape in SHAPES:
        for group in shape.attributes:
            lists = [attributes.get(name) for name in group]
            if not isinstance(lists[0], list):
                continue
            items = [
                item
                for part in lists
                if isinstance(part, list)
                for item in part
                if isinstance(item, Mapping)
            ]
            if any(_value(shape, item) is not None for item in items[:3]) or (
                not items and not lists[0]
            ):
                return shape, items
    return None


def read_forecast(hass: HomeAssistant, state: State | None) -> Forecast:
    """The forecast in ``state``'s attributes; :class:`ForecastError` when none."""
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN, ""):
        raise ForecastError("unavailable")
    found = shape_of(state.attributes)
    if found is None:
        raise ForecastError("shape")
    shape, items = found
    if state.domain != "event":
        # The current price must be a number (an event's state is its time).
        try:
            if not math.isfinite(float(state.state)):
                raise ForecastError("unavailable")
        except ValueError as err:
            raise ForecastError("unavailable") from err
    entity_unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or shape.default_unit
    units: dict[str | None, PriceUnit | None] = {}
    raw: list[tuple[datetime, datetime | None, float]] = []
    currency: str | None = None
    for item in items:
        start = _when(item.get(shape.start))
        found_value = _value(shape, item)
        if start is None or found_value is None:
            continue
        value, key_unit = found_value
        unit_text = key_unit or entity_unit
        if unit_text not in units:
            units[unit_text] = parse_price_unit(hass, unit_text)
        unit = units[unit_text]
        if unit is None:
            raise ForecastError("unit")
        if currency is None:
            currency = unit.currency
        elif unit.currency != currency:
            raise ForecastError("unit")
        end = _when(item.get(shape.end)) if shape.end else None
        raw.append((start, end, unit.per_kwh(value)))
    if currency is None:
        unit = parse_price_unit(hass, entity_unit)
        if unit is None:
            raise ForecastError("unit")
        currency = unit.currency
    return Forecast(shape.key, currency, _intervals(raw))


def _value(shape: Shape, item: Mapping[str, Any]) -> tuple[float, str | None] | None:
    for key, unit in shape.values:
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            return float(value), unit
    return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = dt_util.parse_datetime(value)
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


def _intervals(
    raw: Sequence[tuple[datetime, datetime | None, float]],
) -> tuple[Interval, ...]:
    """Items sorted, a missing end taken from the next start (or the last step)."""
    ordered = sorted(raw, key=lambda item: item[0])
    result: list[Interval] = []
    step = timedelta(hours=1)
    for index, (start, given, price) in enumerate(ordered):
        end = given
        if end is None:
            end = ordered[index + 1][0] if index + 1 < len(ordered) else start + step
        if end <= start:
            continue
        if result and start < result[-1].end:
            continue  # overlapping duplicates: the first one counts
        step = end - start
        result.append(Interval(start, end, price))
    return tuple(result)
