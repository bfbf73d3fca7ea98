"""The history coordinator: asks Tesla for energy and outage history, drives the ledger.

``calendar_history kind=energy period=day`` answers one local day of 5-minute
buckets (Wh each). This coordinator owns when and what to ask: polls aligned
just after Tesla's buckets close, a catch-up after downtime (one day per
request, paced) and the 30-day backfill on first setup; each closed day once
more the next day (late and revised buckets; one request a day); the outage
history once a day and when the grid came or went. With the re-read, the
closed day's statistic increases are compared with Tesla's buckets: a day
total (or an hour) more than ``DAY_CHECK_TOLERANCE`` off rewrites the rows
from the first hour that differs (counted in diagnostics). It fetches what prices
the new buckets (the price entities of the options) and saves the ledger
after every batch, so restarts neither lose nor repeat a bucket.

What the fetched data means is the energy folder's: the bookkeeping (which
buckets count, totals, days done, outage summary) is ``ledger.py``'s, the
price of a bucket and the currency rule ``money.py``'s, which statistics a
site gets, their names and the hourly import ``statistics.py``'s. Failure
handling is ``base.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from custom_components.powerwall_fleet.const import (
    CONF_BACKFILL_FROM_INSTALLATION,
    CONF_BREAKDOWN_STATISTICS,
    DEFAULT_BREAKDOWN_STATISTICS,
    DOMAIN,
    LOGGER,
)
from custom_components.powerwall_fleet.energy.buckets import hour_rows, hour_start
from custom_components.powerwall_fleet.energy.dynamic_prices import (
    EntityPrices,
    async_entity_prices,
)
from custom_components.powerwall_fleet.energy.energy_flows import (
    COMPENSATION,
    COST,
    FLOWS,
    HOUR,
)
from custom_components.powerwall_fleet.energy.ledger import (
    BUCKET,
    OUTAGE_WINDOW,
    BucketPrices,
    EnergyLedger,
    backfill_start,
    buckets,
    summarise_outages,
)
from custom_components.powerwall_fleet.energy.money import (
    BucketPricer,
    foreign_tariff_currency,
    price_entity,
)
from custom_components.powerwall_fleet.energy.statistics import (
    Statistic,
    async_hour_changes,
    async_import_hours,
    recorder_running,
    site_statistics,
    statistics_site_name,
)
from custom_components.powerwall_fleet.fleet import (
    EnergyHistory,
    EnergyInterval,
    FleetError,
    Product,
    SiteInfo,
)
from custom_components.powerwall_fleet.fleet.values import parse_timestamp
from custom_components.powerwall_fleet.issues import async_tariff_currency
from custom_components.powerwall_fleet.site import site_name, site_zone, site_zone_name

from .base import FleetCoordinator
from .info import InfoCoordinator
from .live import LiveCoordinator

STORAGE_VERSION = 1
# 2: the outage summary and when it was read are stored with the ledger.
# 3: the window of recent buckets with their prices, money totals, the
# tariff history, the day to read again (1.2 loads as it is: see the ledger).
STORAGE_MINOR_VERSION = 3
# Ask this long after a bucket closed (Tesla needs a moment to publish it).
POLL_DELAY = timedelta(seconds=45)
# Between the requests of a catch-up or backfill: at most 12 a minute, well
# below the ~60 data requests a minute Tesla allows per device.
PACE = timedelta(seconds=5)
# A closed day whose statistics differ from Tesla's buckets by more than this
# (Wh, any flow, the day's total or one hour's) is written again from the
# first hour that differs.
DAY_CHECK_TOLERANCE = 100.0
# An hour differs by more than rounding (Wh).
HOUR_TOLERANCE = 0.5


class _LedgerStore(Store[dict[str, Any]]):
    """The ledger's file; older minor versions load as they are."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> dict[str, Any]:
        # 1.1 had no outage bookkeeping: the ledger reads that as "never read".
        # 1.2 had no window: every bucket up to its cursor stays counted.
        return dict(old_data) if isinstance(old_data, dict) else {}


class HistoryCoordinator(FleetCoordinator[EnergyLedger]):
    """``calendar_history``: the site's energy ledger and its grid outages."""

    endpoint = "calendar_history"

    def __init__(
        self,
        *args: Any,
        info: InfoCoordinator,
        live: LiveCoordinator,
        **kwargs: Any,
    ) -> None:
        """Also know site_info (time zone, installation date) and live status."""
        super().__init__(*args, **kwargs)
        self.product: Product = kwargs["site"]
        self.info = info
        self.live = live
        self.ledger = EnergyLedger()
        self.store: Store[dict[str, Any]] = _LedgerStore(
            self.hass,
            STORAGE_VERSION,
            f"{DOMAIN}.history.{self.site_id}",
            minor_version=STORAGE_MINOR_VERSION,
        )
        self._hurry = False
        self.pricer = BucketPricer(self.site_id)
        # What the days before the ledger's first day add to every sum (the
        # lifetime coordinator's; empty until it imported a day).
        self.sum_offset: dict[str, float] = {}
        # The daily comparison of a closed day with Tesla's buckets.
        self.day_checks: dict[str, Any] = {
            "checked": 0,
            "rewrites": 0,
            "last_rewrite": None,
        }

    @property
    def catching_up(self) -> bool:
        """Whether days are being caught up (the next poll comes at once)."""
        return self._hurry

    # ------------------------------------------------------------ lifecycle

    async def async_load(self) -> None:
        """Read the ledger saved by the last run (no request)."""
        data = await self.store.async_load()
        if isinstance(data, dict):
            self.ledger = EnergyLedger.from_dict(data)

    @callback
    def async_start(self) -> None:
        """Poll aligned to Tesla's buckets, and import statistics, until unload."""
        self.update_interval = self._next_delay(dt_util.utcnow())
        # The first "listener" keeps the coordinator polling with no entity:
        # statistics are imported whether or not the sensors are enabled.
        self.config_entry.async_on_unload(self.async_add_listener(lambda: None))
        self.config_entry.async_on_unload(
            self.live.async_add_listener(self._live_updated)
        )
        self.config_entry.async_on_unload(
            self.info.async_add_listener(self._info_updated)
        )
        self.config_entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._check_currency)
        )
        self._info_updated()

    @callback
    def _info_updated(self) -> None:
        """Remember the tariff site_info reports, from the moment it is first seen."""
        info = self.info.latest
        if info is not None:
            self.ledger.tariffs.seen(info.tariff_content_v2, dt_util.utcnow())
        self._check_currency()

    @callback
    def _check_currency(self, _event: Event[Any] | None = None) -> None:
        """The repair while the tariff prices money in another currency than Home Assistant's."""
        async_tariff_currency(
            self.hass,
            self.config_entry,
            self.site_id,
            site_name(self.product, self.info.latest),
            foreign_tariff_currency(
                self.ledger, self.config_entry.options, self.hass.config.currency
            ),
        )

    @callback
    def _live_updated(self) -> None:
        """A grid outage started or ended: read the outage history again."""
        live = self.live.latest
        if live is not None and live.grid_status is not None:
            self.ledger.grid_seen(live.grid_status)

    # ------------------------------------------------------------ polling

    async def _counted_fetch(self) -> EnergyLedger:
        # One update may send several requests: each is counted where sent.
        return await self._fetch()

    async def _async_update_data(self) -> EnergyLedger:
        self._hurry = False
        try:
            return await super()._async_update_data()
        finally:
            now = dt_util.utcnow()
            if self.throttled_until is None or self.throttled_until <= now:
                self.update_interval = self._next_delay(now)

    def _next_delay(self, now: datetime) -> timedelta:
        """Soon while catching up, else just after the next bucket closes."""
        if self._hurry:
            return PACE
        step = max(int(self.interval.total_seconds()), int(BUCKET.total_seconds()))
        offset = POLL_DELAY.total_seconds()
        stamp = now.timestamp()
        following = ((stamp - offset) // step + 1) * step + offset
        return timedelta(seconds=max(following - stamp, 1.0))

    async def _fetch(self) -> EnergyLedger:
        info = self.info.latest
        if info is None:
            return self.ledger  # zone and installation date not known yet
        zone = site_zone(info)
        zone_name = site_zone_name(info)
        now = dt_util.utcnow()
        today = now.astimezone(zone).date()
        ledger = self.ledger
        ledger.tariffs.seen(info.tariff_content_v2, now)
        day = ledger.day_to_ask(
            zone_name, zone, today, self._backfill_start(info, zone, today)
        )
        changed = False
        if day == today and not ledger.may_have_new(now):
            ledger.backfilled = True
        else:
            history = await self._request_day(day, zone_name, zone)
            found = buckets(history, zone)
            prices = await self._prices(ledger.unseen(found, now), zone)
            hours = ledger.add_day(day, found, zone, now, prices)
            self._hurry = ledger.next_day != day
            self._import(info, hours)
            changed = True
        if not self._hurry and (again := ledger.reread_due(now, zone)) is not None:
            changed = (
                await self._read_again(again, info, zone_name, zone, now) or changed
            )
        if not self._hurry and ledger.outages_wanted(today):
            changed = await self._read_outages(zone_name, zone, now) or changed
        if changed:
            await self.store.async_save(ledger.as_dict())
        return ledger

    async def _read_again(
        self, day: date, info: SiteInfo, zone_name: str, zone: tzinfo, now: datetime
    ) -> bool:
        """Read a closed day once more: late and revised buckets; whether that worked."""
        try:
            history = await self._request_day(day, zone_name, zone)
        except FleetError as err:
            LOGGER.debug("Reading %s of %s again failed: %s", day, self.site_id, err)
            return False
        found = buckets(history, zone)
        prices = await self._prices(self.ledger.unseen(found, now), zone)
        self._import(info, self.ledger.add(found, now, zone, prices))
        self.ledger.reread_done()
        await self._check_day(day, found, info, zone)
        return True

    async def _check_day(
        self,
        day: date,
        found: Sequence[tuple[datetime, EnergyInterval]],
        info: SiteInfo,
        zone: tzinfo,
    ) -> None:
        """Compare the day's statistic increases with Tesla's buckets; rewrite when off.

        Only hours wholly inside the local day are compared (a zone half an
        hour off UTC shares one with the next day).
        """
        ledger = self.ledger
        start = datetime.combine(day, time(), zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        first_hour = hour_start(start + HOUR - timedelta(microseconds=1))
        last_end = hour_start(end)
        flows = [flow for flow in FLOWS if flow.key in self._energy_keys(info)]
        if (
            not flows
            or first_hour >= last_end
            or ledger.written is None
            or not recorder_running(self.hass)
        ):
            return
        keys = [flow.key for flow in flows]
        tesla: dict[datetime, dict[str, float]] = {}
        for bucket_start, interval in found:
            if first_hour <= bucket_start < last_end:
                sums = tesla.setdefault(
                    hour_start(bucket_start), dict.fromkeys(keys, 0.0)
                )
                for flow in flows:
                    sums[flow.key] += flow.energy(interval)
        recorded = await async_hour_changes(
            self.hass, self.site_id, keys, first_hour, last_end
        )
        hours: list[datetime] = []
        while (hours[-1] + HOUR if hours else first_hour) < last_end:
            hours.append(hours[-1] + HOUR if hours else first_hour)
        self.day_checks["checked"] += 1

        def off(key: str, hour: datetime) -> float:
            """Recorded less Tesla's (Wh)."""
            got = recorded.get(key, {}).get(hour, 0.0) * 1000
            return got - tesla.get(hour, {}).get(key, 0.0)

        if all(
            abs(sum(off(key, hour) for hour in hours)) <= DAY_CHECK_TOLERANCE
            and all(abs(off(key, hour)) <= DAY_CHECK_TOLERANCE for hour in hours)
            for key in keys
        ):
            return
        first = next(
            hour
            for hour in hours
            if any(abs(off(key, hour)) > HOUR_TOLERANCE for key in keys)
        )
        if ledger.floor is not None and first < ledger.floor:
            return  # no longer in the window: nothing to rewrite from
        LOGGER.debug(
            "Energy site %s: statistics of %s differ from Tesla's; rewriting from %s",
            self.site_id,
            day,
            first,
        )
        self._import(
            info,
            hour_rows(
                {**ledger.totals, **ledger.money}, ledger.window, first, ledger.written
            ),
        )
        self.day_checks["rewrites"] += 1
        self.day_checks["last_rewrite"] = {
            "day": day.isoformat(),
            "from": first.isoformat(),
        }

    def _energy_keys(self, info: SiteInfo) -> set[str]:
        return {
            statistic.key
            for statistic in self.statistics(info)
            if statistic.unit_class is not None
        }

    async def _prices(
        self, starts: Sequence[datetime], zone: tzinfo
    ) -> BucketPrices | None:
        """The price of each new bucket: what the price entities said, else the tariff's."""
        entities: dict[str, EntityPrices] = {}
        for key in (COST, COMPENSATION):
            # The option's entity, else price sync's (money stays exact).
            if entity_id := price_entity(self.config_entry.options, key):
                entities[key] = await async_entity_prices(self.hass, entity_id, starts)
        return self.pricer.prices(
            self.ledger, starts, zone, entities, self.hass.config.currency
        )

    @callback
    def _import(self, info: SiteInfo, hours: dict[datetime, dict[str, float]]) -> None:
        self.import_rows(info, hours, self.sum_offset)

    def statistics(self, info: SiteInfo) -> list[Statistic]:
        """The statistics the site gets now."""
        return site_statistics(
            info,
            breakdown=self.config_entry.options.get(
                CONF_BREAKDOWN_STATISTICS, DEFAULT_BREAKDOWN_STATISTICS
            ),
            currencies=self.ledger.currencies,
        )

    @callback
    def import_rows(
        self,
        info: SiteInfo,
        hours: dict[datetime, dict[str, float]],
        offset: dict[str, float],
    ) -> None:
        """Write hourly rows of the site's statistics, ``offset`` added to each total."""
        runtime = getattr(self.config_entry, "runtime_data", None)
        sites: dict[int, Any] = getattr(runtime, "sites", None) or {}
        others = [
            site_name(other.site, other.info.latest)
            for other_id, other in sites.items()
            if other_id != self.site_id
        ]
        async_import_hours(
            self.hass,
            self.site_id,
            statistics_site_name(site_name(self.product, info), self.site_id, others),
            self.statistics(info),
            hours,
            offset=offset,
        )

    def _backfill_start(self, info: SiteInfo, zone: tzinfo, today: date) -> date:
        installed = None
        if self.config_entry.options.get(CONF_BACKFILL_FROM_INSTALLATION):
            installed = parse_timestamp(info.installation_date)
        return backfill_start(today, zone, installed)

    async def _request_day(
        self, day: date, zone_name: str, zone: tzinfo
    ) -> EnergyHistory:
        # An end of exactly midnight answers nothing: ask up to 23:59:59.
        end = datetime.combine(day, time(23, 59, 59), zone)
        self.usage.counts[self.endpoint] += 1
        return await self.client.energy_history(
            self.site_id, period="day", end=end, time_zone=zone_name
        )

    async def _read_outages(self, zone_name: str, zone: tzinfo, now: datetime) -> bool:
        """Read the outage history; whether that worked."""
        self.usage.counts[self.endpoint] += 1
        try:
            history = await self.client.backup_history(
                self.site_id,
                period="month",
                start=(now - OUTAGE_WINDOW).astimezone(zone),
                end=now.astimezone(zone),
                time_zone=zone_name,
            )
        except FleetError as err:
            # The energy ledger matters more: try again with the next poll.
            LOGGER.debug("Outage history of %s failed: %s", self.site_id, err)
            return False
        self.ledger.outages_now(
            summarise_outages(history, now), now.astimezone(zone).date()
        )
        return True
