"""Calendar: the periods of the site's time-of-use tariff, with their prices.

Owns the calendar entity and its events, built from the parsed tariff in the
site's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import SiteCoordinators
from .fleet.tariff import PricePoint, segments
from .runtime import PowerwallFleetConfigEntry
from .tou import TouEntity, async_add_tou_entities, has_tariff

# Reads only: the info coordinator does the fetching.
PARALLEL_UPDATES = 0

# A calendar view asks for weeks or months; more than this is not a view.
MAX_SPAN = timedelta(days=400)
# How far back the current event may have started (a period lasts < a week).
LOOK_BACK = timedelta(days=8)

TARIFF_CALENDAR = CalendarEntityDescription(key="tariff", translation_key="tariff")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A tariff calendar for every site that reports a tariff (now or later)."""

    def build(site: SiteCoordinators) -> list[CalendarEntity]:
        info = site.info.latest
        if info is None or not has_tariff(info):
            return []
        return [TariffCalendar(site, TARIFF_CALENDAR)]

    async_add_tou_entities(entry, async_add_entities, build)


def _wall(when: datetime) -> datetime:
    return dt_util.as_local(when).replace(tzinfo=None)


class TariffCalendar(TouEntity, CalendarEntity):
    """One event per stretch of a period (and price) of the tariff."""

    entity_description: CalendarEntityDescription

    @property
    def event(self) -> CalendarEvent | None:
        """The stretch of the tariff that applies now."""
        now = dt_util.utcnow()
        for start, end, point in self._segments(now - LOOK_BACK, now + LOOK_BACK):
            if start <= now < end:
                return self._event(start, end, point)
        return None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The tariff's stretches between two instants."""
        end_date = min(end_date, start_date + MAX_SPAN)
        return [
            self._event(start, end, point)
            for start, end, point in self._segments(start_date, end_date)
        ]

    def _segments(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, PricePoint]]:
        tariff = self.tariff
        if tariff is None or end <= start:
            return []
        # Home Assistant checks an event's length in its own wall-clock time:
        # a stretch inside the hour repeated when clocks go back would look
        # empty or negative there and is left out.
        return [
            span
            for span in segments(tariff, start, end, self.zone)
            if span[2].period is not None and _wall(span[1]) > _wall(span[0])
        ]

    def _event(
        self, start: datetime, end: datetime, point: PricePoint
    ) -> CalendarEvent:
        tariff = self.tariff
        currency = (tariff.currency if tariff is not None else None) or ""
        unit = f" {currency}/kWh" if currency else "/kWh"
        name = (point.period or "").replace("_", " ").capitalize()
        prices = [f"buy {point.buy:g}{unit}"] if point.buy is not None else []
        if point.sell is not None:
            prices.append(f"sell {point.sell:g}{unit}")
        lines = [f"Season: {point.season}", f"Period: {point.period}", *prices]
        # In UTC: within one zone Python subtracts wall clock times, which
        # makes the stretch before clocks go back look negative.
        return CalendarEvent(
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
            summary=f"{name}: {', '.join(prices)}" if prices else name,
            description="\n".join(lines),
            uid=f"{self.site.site_id}_{point.period}_{start.isoformat()}",
        )
