"""The price-sync pusher: forecast → tariff → Tesla, with the fail-safe and restores.

Owns :class:`PriceSync`, one per config entry: the options (buy and sell
entity, the least time between pushes), each site's state (``off``,
``synced``, ``pending``, ``fallback``, ``error``), its file (the tariff each
site held when sync was switched on, kept until it is back) and the rules:

- The forecast is read again when a price entity changes and every minute; a
  built tariff is pushed only when the site holds something else, at most
  once per interval (default 30 minutes, at least 5), plus once at once when
  the forecast reaches 6 hours further than at the last push (new day-ahead
  prices). Each push sends ``optimization_strategy: economics`` (a push
  without one can leave "balanced", which never exports: FLEET_API.md
  Quirks, Predbat #4600) and is confirmed by reading ``tariff_content_v2``
  back (commands.py).
- Fail-safe: a price entity unavailable, not a number, of an unknown shape or
  unit, or whose forecast does not cover the next 2 hours never makes a
  tariff (PowerSync #13: a $0 feed-in gap charged a battery from the grid).
  The site gets its own tariff back, once; the state is ``fallback``; after
  an hour a repair issue names the entity. Sync resumes by itself.
- While an override holds the site's tariff (a dispatch's temporary tariff:
  ``OverrideManager.holds_tariff``) nothing is pushed and the state is
  ``pending``; the override's end puts back the tariff it found (the synced
  one) and sync resumes at once (the overrides' listener), pushing the
  current prices when they differ.
- Switching sync off (the entry reloads) puts the site's own tariff back and
  reads it back; until it is back the file keeps it and a retry follows every
  interval. While an override holds the tariff that waits (state
  ``pending``) until the override has put back what it found, so the own
  tariff is the last one pushed. Removing the entry puts it back too
  (:func:`async_restore_removed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..commands import TIME_OF_USE, async_set_time_of_use, held_differences
from ..const import (
    CONF_PRICE_SYNC,
    CONF_PRICE_SYNC_BUY,
    CONF_PRICE_SYNC_ENABLED,
    CONF_PRICE_SYNC_INTERVAL,
    CONF_PRICE_SYNC_SELL,
    DEFAULT_PRICE_SYNC_INTERVAL,
    DOMAIN,
    LOGGER,
    MIN_PRICE_SYNC_INTERVAL,
)
from ..fleet import FleetClient, FleetError
from ..fleet.tariff import Tariff, TariffError, check_tariff, next_change
from ..issues import (
    PRICE_SYNC_RESTORE,
    PRICE_SYNC_STALE,
    async_clear_issue,
    async_raise_issue,
)
from ..site import site_zone
from .builder import Built, build_tariff
from .forecast import Forecast, ForecastError, read_forecast

if TYPE_CHECKING:
    from ..coordinator import SiteCoordinators
    from ..runtime import PowerwallFleetConfigEntry

STATES = ("off", "synced", "pending", "fallback", "error")
STORAGE_VERSION = 1
# The forecast must cover this much from now, or the site gets its own tariff.
COVER_AHEAD = timedelta(hours=2)
# A repair issue names the entity when the forecast has been unusable this long.
STALE_ISSUE_AFTER = timedelta(hours=1)
# The forecast reaching this much further than at the last push: new day-ahead
# prices, pushed without waiting for the interval.
NEW_PRICES_REACH = timedelta(hours=6)
CHECK_EVERY = timedelta(minutes=1)
# A failed push of the site's own tariff (fail-safe) is tried again after this.
RETRY_AFTER = timedelta(minutes=5)
STRATEGIES = ("economics", "balanced")


@dataclass
class SiteSync:
    """What one site's sync shows (the sensor and diagnostics read it)."""

    state: str = "off"
    last_push: datetime | None = None
    built: Built | None = None
    next_change: datetime | None = None
    # Why the last attempt failed or the forecast is unusable (plain words).
    problem: str | None = None
    pushes: list[datetime] = field(default_factory=list)
    # The forecasts last read (their passed intervals are kept).
    seen_buy: Forecast | None = None
    seen_sell: Forecast | None = None
    # When a push was last tried, and whether it failed.
    last_attempt: datetime | None = None
    failed: bool = False
    # What ``built`` was built from (the same inputs build the same tariff).
    built_from: Any = None
    # The held tariff last compared with ``built``, its key, the differences.
    compared: tuple[Any, Any, list[str]] | None = None

    def attributes(self) -> dict[str, Any]:
        """The sensor's attributes."""
        built = self.built
        return {
            "last_push": self.last_push.isoformat() if self.last_push else None,
            "levels": [
                {"period": name, "price": price} for name, price in built.buy.names
            ]
            if built
            else [],
            "sell_levels": [
                {"period": name, "price": price} for name, price in built.sell.names
            ]
            if built and built.sell
            else [],
            "next_price_change": self.next_change.isoformat()
            if self.next_change
            else None,
            "problem": self.problem,
        }


def sync_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The price-sync section of an entry's options (empty: sync off)."""
    section = options.get(CONF_PRICE_SYNC)
    return dict(section) if isinstance(section, Mapping) else {}


class PriceSync:
    """Price sync of one config entry's sites (module docstring)."""

    def __init__(self, hass: HomeAssistant, entry: PowerwallFleetConfigEntry) -> None:
        """Read the options; nothing runs until :meth:`async_load`."""
        self.hass = hass
        self.entry = entry
        options = sync_options(entry.options)
        self.buy_entity: str | None = options.get(CONF_PRICE_SYNC_BUY)
        self.sell_entity: str | None = options.get(CONF_PRICE_SYNC_SELL)
        self.enabled = bool(options.get(CONF_PRICE_SYNC_ENABLED)) and bool(
            self.buy_entity
        )
        self.interval = timedelta(
            minutes=max(
                int(options.get(CONF_PRICE_SYNC_INTERVAL, DEFAULT_PRICE_SYNC_INTERVAL)),
                MIN_PRICE_SYNC_INTERVAL,
            )
        )
        self.sites: dict[int, SiteCoordinators] = {}
        self.status: dict[int, SiteSync] = {}
        # Whether an override holds a site's tariff (the entry's override
        # manager's, which sits beside this layer: passed in, not imported).
        self._holds_tariff: Callable[[int], bool] = lambda _site_id: False
        # Per site (str id): "own" (the tariff held when sync was switched on),
        # "strategy", "stale_since", "fallback" (done), "last_push", "pushed",
        # "reach" (the forecast's end at the last push).
        self.saved: dict[str, dict[str, Any]] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.price_sync.{entry.entry_id}"
        )
        self._unsubs: list[CALLBACK_TYPE] = []
        self._listeners: list[Callable[[], None]] = []
        self._locks: dict[int, asyncio.Lock] = {}
        self._again: set[int] = set()

    # ------------------------------------------------------------ lifecycle

    async def async_load(
        self,
        sites: dict[int, SiteCoordinators],
        holds_tariff: Callable[[int], bool],
        follow_overrides: Callable[[Callable[[], None]], CALLBACK_TYPE],
    ) -> None:
        """Read the file; start syncing, or put back what sync replaced.

        ``holds_tariff`` tells whether an override holds a site's tariff;
        ``follow_overrides`` calls back when overrides start or end.
        """
        self.sites = {
            site_id: site
            for site_id, site in sites.items()
            if site.info.latest is None or TIME_OF_USE.exists(site.info.latest)
        }
        self._holds_tariff = holds_tariff
        data = await self._store.async_load()
        saved = data.get("sites") if isinstance(data, dict) else None
        self.saved = dict(saved) if isinstance(saved, dict) else {}
        for site_id in self.sites:
            self.status[site_id] = SiteSync()
            if (record := self.saved.get(str(site_id))) and record.get("last_push"):
                last = dt_util.parse_datetime(record["last_push"])
                self.status[site_id].last_push = last
                self.status[site_id].last_attempt = last
        if self.enabled:
            for site_id, site in self.sites.items():
                # Switched on again: nothing is owed any more.
                async_clear_issue(self.hass, PRICE_SYNC_RESTORE, site_id)
                self.status[site_id].state = "pending"
                self._remember_own(site)
            await self._async_save()
            entities = [e for e in (self.buy_entity, self.sell_entity) if e]
            self._unsubs.append(
                async_track_state_change_event(self.hass, entities, self._changed)
            )
            self._unsubs.append(
                async_track_time_interval(self.hass, self._tick, CHECK_EVERY)
            )
        # On or off: an override ending lets sync resume, or lets the own
        # tariff go back after switching off (it waits for the override).
        self._unsubs.append(follow_overrides(self.async_check))
        self.async_check()

    def _remember_own(self, site: SiteCoordinators) -> None:
        """Keep the tariff the site holds now as its own (once per switch-on)."""
        info = site.info.latest
        if str(site.site_id) in self.saved or info is None:
            return
        self.saved[str(site.site_id)] = {
            "own": dict(info.tariff_content_v2)
            if info.tariff_content_v2 is not None
            else None,
            "strategy": info.tou_settings.optimization_strategy
            if info.tou_settings
            else None,
        }

    @callback
    def async_unload(self) -> None:
        """Stop listening; the file keeps what is to be restored."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``update`` whenever a site's sync state changes."""
        self._listeners.append(update)

        @callback
        def _remove() -> None:
            self._listeners.remove(update)

        return _remove

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    async def _async_save(self) -> None:
        await self._store.async_save({"sites": self.saved})

    # ------------------------------------------------------------- triggers

    @callback
    def _changed(self, _event: Event[EventStateChangedData]) -> None:
        self.async_check()

    @callback
    def _tick(self, _now: datetime) -> None:
        self.async_check()

    @callback
    def async_check(self) -> None:
        """Look at every site again (in the background)."""
        for site_id in self.sites:
            if self._lock(site_id).locked():
                self._again.add(site_id)
                continue
            self.entry.async_create_background_task(
                self.hass, self._async_run(site_id), f"{DOMAIN} price sync {site_id}"
            )

    def _lock(self, site_id: int) -> asyncio.Lock:
        return self._locks.setdefault(site_id, asyncio.Lock())

    async def _async_run(self, site_id: int) -> None:
        # Bounded: one attempt, and one more when something changed meanwhile.
        for _ in range(2):
            async with self._lock(site_id):
                self._again.discard(site_id)
                if self.enabled:
                    await self._async_sync(site_id)
                else:
                    await self._async_restore(site_id)
            self._notify()
            if site_id not in self._again:
                return

    # ------------------------------------------------------------- syncing

    async def _async_sync(self, site_id: int) -> None:
        site = self.sites[site_id]
        status = self.status[site_id]
        if str(site_id) not in self.saved and site.info.latest is not None:
            # Tesla could not be read at start-up: the own tariff is read now.
            self._remember_own(site)
            await self._async_save()
        record = self.saved.get(str(site_id))
        info = site.info.latest
        if record is None or info is None:
            status.state = "pending"
            return
        if self._holds_tariff(site_id):
            status.state = "pending"
            status.problem = "an override holds the tariff"
            return
        own = _tariff(record.get("own"))
        if own is None:
            status.state = "error"
            status.problem = "the site held no readable tariff when sync started"
            return
        now = dt_util.utcnow()
        try:
            buy = self._forecast(self.buy_entity, now)
            sell = self._forecast(self.sell_entity, now) if self.sell_entity else None
        except _Stale as stale:
            await self._async_fallback(site, record, own, stale, now)
            return
        if record.get("stale_since"):
            record.pop("stale_since", None)
            record.pop("fallback", None)
            async_clear_issue(self.hass, PRICE_SYNC_STALE, site_id)
            await self._async_save()
        zone = site_zone(info)
        # Intervals the sources no longer show (passed) keep their prices.
        since = now - timedelta(days=1)
        buy = status.seen_buy = buy.with_past(status.seen_buy, since)
        if sell is not None:
            sell = status.seen_sell = sell.with_past(status.seen_sell, since)
        # Built again only when the prices, the own tariff or the day changed.
        key = (buy, sell, id(record.get("own")), now.astimezone(zone).date())
        if status.built is None or status.built_from != key:
            try:
                status.built = build_tariff(buy, sell, own, zone, now)
            except TariffError as err:
                status.state = "error"
                status.problem = str(err)
                return
            status.built_from = key
        built = status.built
        if status.next_change is None or status.next_change <= now:
            change = next_change(built.tariff, now, zone)
            status.next_change = change[0] if change else None
        held = (info.tariff_content_v2, key)
        if (
            status.compared is None
            or status.compared[0] is not held[0]
            or (status.compared[1] != key)
        ):
            status.compared = (held[0], key, held_differences(built.tariff, held[0]))
        if not status.compared[2]:
            status.state = "synced"
            status.problem = None
            return
        reach = dt_util.parse_datetime(record.get("reach") or "")
        new_prices = buy.end is not None and (
            reach is None or buy.end - reach >= NEW_PRICES_REACH
        )
        # At most once per interval; new prices at once, unless the last
        # attempt failed (then the interval holds for them too).
        last = status.last_attempt
        if (
            last is not None
            and now - last < self.interval
            and (status.failed or not new_prices)
        ):
            status.state = "error" if status.failed else "pending"
            return
        if await self._async_push(site, built.tariff, "economics"):
            status.state = "synced"
            status.problem = None
            status.last_push = now
            status.pushes = [p for p in status.pushes if now - p < timedelta(days=1)]
            status.pushes.append(now)
            record["last_push"] = now.isoformat()
            record["pushed"] = built.tariff.to_dict()
            record["reach"] = buy.end.isoformat() if buy.end else None
            await self._async_save()

    def _forecast(self, entity_id: str | None, now: datetime) -> Forecast:
        if entity_id is None:
            raise _Stale("", "no price entity")
        try:
            forecast = read_forecast(self.hass, self.hass.states.get(entity_id))
        except ForecastError as err:
            raise _Stale(entity_id, err.reason) from err
        if not forecast.covers(now, now + COVER_AHEAD):
            raise _Stale(entity_id, "gap")
        return forecast

    async def _async_fallback(
        self,
        site: SiteCoordinators,
        record: dict[str, Any],
        own: Tariff,
        stale: _Stale,
        now: datetime,
    ) -> None:
        """The forecast is unusable: the site's own tariff, once; an issue later."""
        status = self.status[site.site_id]
        status.state = "fallback"
        status.problem = f"{stale.entity_id}: {stale.reason}"
        status.built = None
        since = dt_util.parse_datetime(record.get("stale_since") or "")
        if since is None:
            since = now
            record["stale_since"] = now.isoformat()
            await self._async_save()
        last = status.last_attempt
        if not record.get("fallback") and not (
            status.failed and last is not None and now - last < RETRY_AFTER
        ):
            info = site.info.latest
            held = info.tariff_content_v2 if info else None
            if not held_differences(own, held) or await self._async_push(
                site, own, record.get("strategy")
            ):
                record["fallback"] = True
                await self._async_save()
            else:
                status.state = "error"
        if now - since >= STALE_ISSUE_AFTER:
            async_raise_issue(
                self.hass,
                PRICE_SYNC_STALE,
                self.entry,
                site.site_id,
                site=site.name,
                entity=stale.entity_id,
            )

    async def _async_push(
        self, site: SiteCoordinators, tariff: Tariff, strategy: str | None
    ) -> bool:
        """Send ``tariff`` and read it back; False (state ``error``) otherwise."""
        status = self.status[site.site_id]
        status.last_attempt = dt_util.utcnow()
        status.failed = True
        try:
            result = await async_set_time_of_use(
                site, tariff, strategy=strategy if strategy in STRATEGIES else None
            )
        except HomeAssistantError as err:
            LOGGER.warning("Price sync for %s: %s", site.name, err)
            status.state = "error"
            status.problem = str(err)
            return False
        if not result.confirmed:
            LOGGER.warning(
                "Price sync for %s: the site holds a different tariff after the "
                "push (%s)",
                site.name,
                ", ".join(result.differences),
            )
            status.state = "error"
            status.problem = "not confirmed: " + ", ".join(result.differences)
            return False
        status.failed = False
        return True

    # ------------------------------------------------------------ restoring

    async def _async_restore(self, site_id: int) -> None:
        """Sync is off: put back the tariff the site held when it was switched on."""
        status = self.status[site_id]
        record = self.saved.get(str(site_id))
        if record is None:
            status.state = "off"
            return
        site = self.sites[site_id]
        own = _tariff(record.get("own"))
        if own is None:  # nothing readable to put back
            self.saved.pop(str(site_id))
            await self._async_save()
            status.state = "off"
            return
        if self._holds_tariff(site_id):
            # A dispatch's temporary tariff is on the site: pushing now would
            # end its export, and its end would put back the synced tariff it
            # found. The own tariff goes back once the override is over (its
            # end calls again through ``follow_overrides``); the file keeps it.
            status.state = "pending"
            status.problem = "waiting for the dispatch to end"
            return
        info = site.info.latest
        held = info.tariff_content_v2 if info else None
        if held_differences(own, held) and not await self._async_push(
            site, own, record.get("strategy")
        ):
            # Kept in the file; tried again after an interval (and at start-up);
            # a repair issue says so until it is back.
            async_raise_issue(
                self.hass, PRICE_SYNC_RESTORE, self.entry, site_id, site=site.name
            )
            self._unsubs.append(
                async_call_later(self.hass, self.interval, self._retry_restore)
            )
            return
        self.saved.pop(str(site_id))
        async_clear_issue(self.hass, PRICE_SYNC_STALE, site_id)
        async_clear_issue(self.hass, PRICE_SYNC_RESTORE, site_id)
        await self._async_save()
        status.state = "off"
        status.built = None

    @callback
    def _retry_restore(self, _now: datetime) -> None:
        self.async_check()

    # ---------------------------------------------------------- diagnostics

    def diagnostics(self) -> dict[str, Any]:
        """What the diagnostics show: per site the state and the last pushed tariff."""
        return {
            "enabled": self.enabled,
            "interval_minutes": self.interval.total_seconds() / 60,
            # In the order of the site ids, which diagnostics do not show.
            "sites": [
                {
                    "state": status.state,
                    **status.attributes(),
                    "last_pushed_tariff": self.saved.get(str(site_id), {}).get(
                        "pushed"
                    ),
                }
                for site_id, status in sorted(self.status.items())
            ],
        }


class _Stale(Exception):
    """The forecast of ``entity_id`` is unusable (``reason``)."""

    def __init__(self, entity_id: str, reason: str) -> None:
        super().__init__(reason)
        self.entity_id = entity_id
        self.reason = reason


def _tariff(raw: Any) -> Tariff | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return check_tariff(dict(raw))[0]
    except TariffError:
        return None


async def async_restore_removed(
    hass: HomeAssistant,
    entry_id: str,
    connect: Callable[[], Awaitable[FleetClient]],
) -> None:
    """The entry is being removed: put back each site's own tariff, read it back.

    No coordinator runs any more, so this talks to the client ``connect``
    returns (made only when a tariff is to be put back): one push and one
    read per site, each within a minute. What could not be put back is logged
    with the site; the file goes with the entry.
    """
    store: Store[dict[str, Any]] = Store(
        hass, STORAGE_VERSION, f"{DOMAIN}.price_sync.{entry_id}"
    )
    data = await store.async_load()
    saved = data.get("sites") if isinstance(data, dict) else None
    todo = {
        int(key): (own, record.get("strategy"))
        for key, record in (saved or {}).items()
        if isinstance(record, Mapping) and (own := _tariff(record.get("own")))
    }
    if todo:
        try:
            client = await connect()
        except (HomeAssistantError, FleetError, ValueError) as err:
            LOGGER.warning(
                "The tariffs price sync replaced could not be put back: %s", err
            )
            client = None
        for site_id, (own, strategy) in todo.items():
            if client is None:
                break
            try:
                async with asyncio.timeout(60):
                    await client.set_time_of_use(
                        site_id,
                        own.to_dict(),
                        strategy=strategy if strategy in STRATEGIES else None,
                    )
                    info = await client.site_info(site_id)
            except (FleetError, TimeoutError) as err:
                LOGGER.warning(
                    "The own tariff of energy site %s could not be put back: %s",
                    site_id,
                    err,
                )
                continue
            if found := held_differences(own, info.tariff_content_v2):
                LOGGER.warning(
                    "Energy site %s holds another tariff than its own after it was "
                    "put back (%s)",
                    site_id,
                    ", ".join(found),
                )
    await store.async_remove()
