"""The lifetime coordinator: the energy history back to the installation date.

Once the history coordinator has the last 30 days (its ledger ``backfilled``
and not catching up), this coordinator asks ``calendar_history`` for the day
before the oldest one imported, one local day per request, newest first, at
most one request every ``LIFETIME_PACE`` and ``LIFETIME_DAILY_CAP`` requests a
local day, until the installation date (``site_info.installation_date``) or
the day the owner chose (option ``import_history_from``). It waits while the
history coordinator catches up or is paused; a 429 pauses it until
``Retry-After`` and any other failure until the history's next regular poll,
as the history coordinator does. Its progress is saved after every day, so a
restart resumes at the next older day: no day twice, none left out.

Older days are priced with the earliest tariff or price-entity state known
(Tesla reports only the tariff in force now). What a day adds and how later
sums stay right is ``energy/lifetime.py``'s and ``energy/statistics.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from custom_components.powerwall_fleet.const import (
    CONF_EXPORT_PRICE_ENTITY,
    CONF_HISTORY_FROM,
    CONF_IMPORT_PRICE_ENTITY,
    DOMAIN,
)
from custom_components.powerwall_fleet.energy.dynamic_prices import (
    EntityPrices,
    async_earliest_price,
    async_entity_prices,
)
from custom_components.powerwall_fleet.energy.energy_flows import COMPENSATION, COST
from custom_components.powerwall_fleet.energy.ledger import BucketPrices, buckets
from custom_components.powerwall_fleet.energy.lifetime import (
    LIFETIME_PACE,
    LifetimeProgress,
    day_import,
    lifetime_requests,
)
from custom_components.powerwall_fleet.energy.statistics import async_shift_sums
from custom_components.powerwall_fleet.fleet import SiteInfo
from custom_components.powerwall_fleet.fleet.values import parse_timestamp
from custom_components.powerwall_fleet.site import site_zone, site_zone_name

from .base import FleetCoordinator
from .history import HistoryCoordinator

STORAGE_VERSION = 1
# Nothing left to import: look again this often (a new stop date reloads).
IDLE = timedelta(hours=6)


def stop_day(info: SiteInfo, zone: tzinfo, chosen: Any) -> date | None:
    """The oldest day to import: the installation's, or the owner's later one.

    None without an installation date (nothing says where the history starts).
    """
    installed = parse_timestamp(info.installation_date)
    if installed is None or installed.tzinfo is None:
        return None
    stop = installed.astimezone(zone).date()
    if isinstance(chosen, str):
        with suppress(ValueError):
            stop = max(stop, date.fromisoformat(chosen))
    return stop


class LifetimeCoordinator(FleetCoordinator[LifetimeProgress]):
    """``calendar_history`` for the days before the ledger's first day."""

    endpoint = "calendar_history"

    def __init__(self, *args: Any, history: HistoryCoordinator, **kwargs: Any) -> None:
        """Import under ``history``'s statistics, after its ledger's first day."""
        super().__init__(*args, **kwargs)
        self.history = history
        self.progress = LifetimeProgress()
        self.store: Store[dict[str, Any]] = Store(
            self.hass, STORAGE_VERSION, f"{DOMAIN}.lifetime.{self.site_id}"
        )
        # The earliest price each price entity recorded (read once a run).
        self._earliest: dict[str, tuple[str, float] | None] = {}
        self._wait: timedelta = LIFETIME_PACE
        self.update_interval = None  # no polling before async_start

    async def async_load(self) -> None:
        """Read the progress saved by the last run (no request)."""
        self.progress = LifetimeProgress.from_dict(await self.store.async_load())
        self.history.sum_offset = self.progress.offset

    @callback
    def async_start(self) -> None:
        """Import, paced, until nothing is left (or unload)."""
        self.update_interval = LIFETIME_PACE
        self.config_entry.async_on_unload(self.async_add_listener(lambda: None))

    # ------------------------------------------------------------ progress

    def stop(self) -> date | None:
        """The oldest day to import (None: not known)."""
        info = self.history.info.latest
        if info is None:
            return None
        return stop_day(
            info, site_zone(info), self.config_entry.options.get(CONF_HISTORY_FROM)
        )

    def requests_left(self, chosen: Any) -> int:
        """The requests still to send to import back to ``chosen`` (a stop date option)."""
        info = self.history.info.latest
        if info is None:
            return 0
        zone = site_zone(info)
        first_day = self.progress.imported_from(self.history.ledger.first_day)
        today = dt_util.utcnow().astimezone(zone).date()
        return lifetime_requests(first_day, stop_day(info, zone, chosen), today)

    def imported_from(self) -> datetime | None:
        """The start of the oldest day imported (the site's local midnight)."""
        info = self.history.info.latest
        day = self.progress.imported_from(self.history.ledger.first_day)
        if info is None or day is None or not self.history.ledger.backfilled:
            return None
        return datetime.combine(day, time(), site_zone(info))

    def running(self) -> dict[str, float | int] | None:
        """The share done (%) and the days left while days are left to import."""
        first_day = self.history.ledger.first_day
        stop = self.stop()
        if first_day is None or stop is None:
            return None
        left = self.progress.days_left(first_day, stop)
        if left == 0:
            return None
        return {
            "share_done": self.progress.share_done(first_day, stop),
            "days_left": left,
        }

    # ------------------------------------------------------------ polling

    async def _counted_fetch(self) -> LifetimeProgress:
        # Counted where a request is sent: most updates send none.
        return await self._fetch()

    async def _async_update_data(self) -> LifetimeProgress:
        self._wait = self.history.interval  # after a failure: the next regular poll
        try:
            return await super()._async_update_data()
        finally:
            now = dt_util.utcnow()
            if self.throttled_until is None or self.throttled_until <= now:
                self.update_interval = self._wait

    async def _fetch(self) -> LifetimeProgress:
        history = self.history
        ledger = history.ledger
        info = history.info.latest
        now = dt_util.utcnow()
        if history.throttled_until is not None and history.throttled_until > now:
            self._wait = history.throttled_until - now  # Tesla said to wait
            return self.progress
        if (
            info is None
            or ledger.first_day is None
            or not ledger.backfilled
            or history.catching_up
        ):
            self._wait = LIFETIME_PACE  # the recent past comes first
            return self.progress
        zone = site_zone(info)
        stop = stop_day(info, zone, self.config_entry.options.get(CONF_HISTORY_FROM))
        day = None if stop is None else self.progress.day_to_ask(ledger.first_day, stop)
        if day is None:
            self._wait = IDLE
            return self.progress
        today = now.astimezone(zone).date()
        if not self.progress.may_ask(today):
            # Today's cap is spent: on with the next local day.
            midnight = datetime.combine(today + timedelta(days=1), time(), zone)
            self._wait = max(midnight - now, LIFETIME_PACE)
            return self.progress
        zone_name = site_zone_name(info)
        end = datetime.combine(day, time(23, 59, 59), zone)
        self.progress.asking(today)
        self.usage.counts[self.endpoint] += 1
        answer = await self.client.energy_history(
            self.site_id, period="day", end=end, time_zone=zone_name
        )
        found = buckets(answer, zone)
        day_start = datetime.combine(day, time(), zone)
        next_start = datetime.combine(day + timedelta(days=1), time(), zone)
        prices = await self._prices([start for start, _ in found], zone)
        added = day_import(
            found,
            prices,
            dt_util.as_utc(day_start),
            dt_util.as_utc(next_start),
        )
        # Rows, the raise of every later sum and the new offset in one go:
        # the recorder runs them in this order, before any later row.
        statistics = history.statistics(info)
        history.import_rows(info, added.rows, offset={})
        async_shift_sums(
            self.hass, self.site_id, statistics, added.shift_from, added.totals
        )
        self.progress.day_added(day, added.totals)
        history.sum_offset = self.progress.offset
        await self.store.async_save(self.progress.as_dict())
        self._wait = LIFETIME_PACE
        return self.progress

    async def _prices(
        self, starts: Sequence[datetime], zone: tzinfo
    ) -> BucketPrices | None:
        """Prices of older buckets: the entity's where recorded, else its earliest; else the tariff's.

        The tariff history's earliest version prices every bucket before it.
        """
        entities: dict[str, EntityPrices] = {}
        first_day = self.history.ledger.first_day
        for key, option in (
            (COST, CONF_IMPORT_PRICE_ENTITY),
            (COMPENSATION, CONF_EXPORT_PRICE_ENTITY),
        ):
            entity_id = self.config_entry.options.get(option)
            if not isinstance(entity_id, str) or not entity_id:
                continue
            found = await async_entity_prices(self.hass, entity_id, starts)
            if entity_id not in self._earliest and first_day is not None:
                since = dt_util.as_utc(datetime.combine(first_day, time(), zone))
                self._earliest[entity_id] = await async_earliest_price(
                    self.hass, entity_id, since
                )
            earliest = self._earliest.get(entity_id)
            if earliest is not None and found.currency in (None, earliest[0]):
                found = EntityPrices(
                    earliest[0],
                    {
                        start: earliest[1] if price is None else price
                        for start, price in found.prices.items()
                    },
                )
            entities[key] = found
        history = self.history
        return history.pricer.prices(
            history.ledger, starts, zone, entities, self.hass.config.currency
        )

    def health(self) -> dict[str, Any]:
        """Coordinator state and progress for diagnostics."""
        imported_from = self.imported_from()
        return {
            **super().health(),
            "imported_from": imported_from.isoformat() if imported_from else None,
            "stop": (stop.isoformat() if (stop := self.stop()) else None),
            "requests": self.progress.requests,
            "requests_today": self.progress.asked,
            "running": self.running(),
        }
