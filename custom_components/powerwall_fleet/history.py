"""Energy history: every one of Tesla's 5-minute buckets counted exactly once.

``calendar_history kind=energy period=day`` answers one local day of 5-minute
buckets (Wh each). The :class:`EnergyLedger` remembers the last bucket it has
accounted for (``cursor``, a UTC instant, so DST changes cannot confuse it) and
the next local day to ask for. A poll adds only the closed buckets after the
cursor, in order, to running totals per flow; the ledger is saved
(``homeassistant.helpers.storage.Store``) after every batch. Polls, midnight,
DST, restarts and outages therefore neither lose nor repeat a bucket: after
downtime the coordinator catches up one day per request, and on first setup it
backfills the last 30 days the same way, checkpointed and paced.

Each batch also writes the hourly statistics of the hours it touched
(``statistics.py``), with the hours the buckets carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL, DOMAIN, LOGGER
from .coordinator import FleetCoordinator, InfoCoordinator, LiveCoordinator
from .fleet import (
    BackupHistory,
    EnergyHistory,
    EnergyInterval,
    FleetError,
    Product,
    SiteInfo,
)
from .fleet.models import parse_timestamp
from .site import Component, site_name, site_zone
from .statistics import async_import_hours

STORAGE_VERSION = 1
BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)
# Ask this long after a bucket closed (Tesla needs a moment to publish it).
POLL_DELAY = timedelta(seconds=45)
# Between the requests of a catch-up or backfill: at most 12 a minute, well
# below the ~60 data requests a minute Tesla allows per device.
PACE = timedelta(seconds=5)
# A past day whose last bucket never came is given up this long after its end.
DAY_GRACE = timedelta(hours=1)
BACKFILL_DAYS = 30
OUTAGE_WINDOW = timedelta(days=30)
# Option: backfill from the installation date instead of the last 30 days.
CONF_BACKFILL_FROM_INSTALLATION = "backfill_from_installation"


@dataclass(frozen=True, kw_only=True)
class EnergyFlow:
    """One energy flow: a Tesla history field (or the sum of its parts)."""

    key: str
    field: str
    parts: tuple[str, ...] = ()
    components: tuple[Component, ...]
    name: str
    main: bool = False

    def energy(self, bucket: EnergyInterval) -> float:
        """Wh of this flow in ``bucket``; missing or negative counts as 0."""
        value: float | None = getattr(bucket, self.field)
        if value is None and self.parts:
            found = [getattr(bucket, part) for part in self.parts]
            if any(part is not None for part in found):
                value = sum(part or 0.0 for part in found)
        if value is None or value < 0:
            return 0.0
        return float(value)


FLOWS: tuple[EnergyFlow, ...] = (
    EnergyFlow(
        key="grid_energy_imported",
        field="grid_energy_imported",
        components=("grid",),
        name="Grid imported",
        main=True,
    ),
    EnergyFlow(
        key="grid_energy_exported",
        field="total_grid_energy_exported",
        parts=(
            "grid_energy_exported_from_solar",
            "grid_energy_exported_from_battery",
            "grid_energy_exported_from_generator",
        ),
        components=("grid",),
        name="Grid exported",
        main=True,
    ),
    EnergyFlow(
        key="solar_energy_produced",
        field="total_solar_generation",
        parts=("solar_energy_exported",),
        components=("solar",),
        name="Solar produced",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_charged",
        field="total_battery_charge",
        parts=(
            "battery_energy_imported_from_grid",
            "battery_energy_imported_from_solar",
            "battery_energy_imported_from_generator",
        ),
        components=("battery",),
        name="Battery charged",
        main=True,
    ),
    EnergyFlow(
        key="battery_energy_discharged",
        field="total_battery_discharge",
        parts=("battery_energy_exported",),
        components=("battery",),
        name="Battery discharged",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_consumed",
        field="total_home_usage",
        parts=(
            "consumer_energy_imported_from_grid",
            "consumer_energy_imported_from_solar",
            "consumer_energy_imported_from_battery",
            "consumer_energy_imported_from_generator",
        ),
        components=("home",),
        name="Home consumed",
        main=True,
    ),
    EnergyFlow(
        key="home_energy_from_grid",
        field="consumer_energy_imported_from_grid",
        components=("grid",),
        name="Home from grid",
    ),
    EnergyFlow(
        key="home_energy_from_solar",
        field="consumer_energy_imported_from_solar",
        components=("solar",),
        name="Home from solar",
    ),
    EnergyFlow(
        key="home_energy_from_battery",
        field="consumer_energy_imported_from_battery",
        components=("battery",),
        name="Home from battery",
    ),
    EnergyFlow(
        key="battery_energy_from_grid",
        field="battery_energy_imported_from_grid",
        components=("battery", "grid"),
        name="Battery charged from grid",
    ),
    EnergyFlow(
        key="battery_energy_from_solar",
        field="battery_energy_imported_from_solar",
        components=("battery", "solar"),
        name="Battery charged from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_solar",
        field="grid_energy_exported_from_solar",
        components=("grid", "solar"),
        name="Grid exported from solar",
    ),
    EnergyFlow(
        key="grid_energy_exported_from_battery",
        field="grid_energy_exported_from_battery",
        components=("grid", "battery"),
        name="Grid exported from battery",
    ),
    EnergyFlow(
        key="generator_energy",
        field="generator_energy_exported",
        components=("home",),
        name="Generator",
    ),
    EnergyFlow(
        key="grid_services_energy_imported",
        field="grid_services_energy_imported",
        components=("grid_services",),
        name="Grid services imported",
    ),
    EnergyFlow(
        key="grid_services_energy_exported",
        field="grid_services_energy_exported",
        components=("grid_services",),
        name="Grid services exported",
    ),
)
FLOW_NAMES: dict[str, str] = {flow.key: flow.name for flow in FLOWS}


def _totals(raw: Any) -> dict[str, float]:
    totals = dict.fromkeys(FLOW_NAMES, 0.0)
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in totals and isinstance(value, int | float):
                totals[key] = float(value)
    return totals


def _hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day(iso: Any) -> date | None:
    try:
        return date.fromisoformat(iso) if isinstance(iso, str) else None
    except ValueError:
        return None


@dataclass
class EnergyLedger:
    """Which buckets are accounted for, and the running totals (Wh) per flow."""

    cursor: datetime | None = None
    next_day: date | None = None
    first_day: date | None = None
    time_zone: str | None = None
    backfilled: bool = False
    totals: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(FLOW_NAMES, 0.0)
    )
    # The hour (UTC) of the cursor while its statistics row is not written
    # yet, and the totals at its last bucket so far.
    open_hour: datetime | None = None
    open_totals: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyLedger:
        """Read what :meth:`as_dict` saved (tolerating a damaged file)."""
        cursor = parse_timestamp(data.get("cursor"))
        if cursor is not None and cursor.tzinfo is None:
            cursor = None
        open_hour = parse_timestamp(data.get("open_hour"))
        if open_hour is not None and open_hour.tzinfo is None:
            open_hour = None
        zone = data.get("time_zone")
        return cls(
            cursor=cursor.astimezone(UTC) if cursor else None,
            next_day=_day(data.get("next_day")),
            first_day=_day(data.get("first_day")),
            time_zone=zone if isinstance(zone, str) else None,
            backfilled=bool(data.get("backfilled")),
            totals=_totals(data.get("totals")),
            open_hour=open_hour.astimezone(UTC) if open_hour else None,
            open_totals=_totals(data.get("open_totals")) if open_hour else {},
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state for the Store."""
        return {
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "next_day": self.next_day.isoformat() if self.next_day else None,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "time_zone": self.time_zone,
            "backfilled": self.backfilled,
            "totals": dict(self.totals),
            "open_hour": self.open_hour.isoformat() if self.open_hour else None,
            "open_totals": dict(self.open_totals),
        }

    @property
    def started(self) -> bool:
        """Whether any bucket has been accounted for."""
        return self.cursor is not None

    def add(
        self, buckets: Iterable[tuple[datetime, EnergyInterval]], now: datetime
    ) -> dict[datetime, dict[str, float]]:
        """Account for the closed buckets after the cursor, oldest first.

        Returns the hours (UTC) now complete, with the totals at their end:
        an hour is complete once its last bucket is counted or a later one is.
        """
        hours: dict[datetime, dict[str, float]] = {}
        for start, bucket in sorted(buckets, key=lambda item: item[0]):
            if self.cursor is not None and start <= self.cursor:
                continue  # already counted
            if start + BUCKET > now:
                break  # still open: counted once it has closed
            hour = _hour(start)
            if self.open_hour is not None and self.open_hour != hour:
                hours[self.open_hour] = self.open_totals
            for flow in FLOWS:
                self.totals[flow.key] += flow.energy(bucket)
            self.cursor = start
            self.open_hour = hour
            self.open_totals = dict(self.totals)
            if start + BUCKET == hour + HOUR:
                hours[hour] = self.open_totals
                self.open_hour = None
                self.open_totals = {}
        return hours


@dataclass(frozen=True)
class OutageSummary:
    """Grid outages in the last 30 days."""

    count: int | None
    total_duration: timedelta | None
    last_start: datetime | None


def summarise_outages(history: BackupHistory, now: datetime) -> OutageSummary:
    """Count the outages of the last 30 days (response shape unverified).

    ``duration`` is taken as milliseconds. Events without a timestamp count
    (Tesla was asked for the window only) but cannot be the last one.
    """
    if history.events is None:
        return OutageSummary(history.total_events, None, None)
    since = now - OUTAGE_WINDOW
    count = 0
    total = timedelta()
    last: datetime | None = None
    for event in history.events:
        start = event.timestamp_dt
        if start is not None and start.tzinfo is not None:
            if not since <= start <= now:
                continue
            if last is None or start > last:
                last = start
        count += 1
        if event.duration is not None and event.duration > 0:
            total += timedelta(milliseconds=event.duration)
    return OutageSummary(count, total, last)


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
        self.outages: OutageSummary | None = None
        self.store: Store[dict[str, Any]] = Store(
            self.hass, STORAGE_VERSION, f"{DOMAIN}.history.{self.site_id}"
        )
        self.requests = 0
        self._outages_day: date | None = None
        self._outages_due = True
        self._grid_status: str | None = None
        self._hurry = False

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

    @callback
    def _live_updated(self) -> None:
        """A grid outage started or ended: read the outage history again."""
        live = self.live.latest
        status = live.grid_status if live else None
        if status is None:
            return
        if self._grid_status is not None and status != self._grid_status:
            self._outages_due = True
        self._grid_status = status

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
        minutes = self.config_entry.options.get(
            CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL
        )
        step = max(int(minutes * 60), int(BUCKET.total_seconds()))
        offset = POLL_DELAY.total_seconds()
        stamp = now.timestamp()
        following = ((stamp - offset) // step + 1) * step + offset
        return timedelta(seconds=max(following - stamp, 1.0))

    async def _fetch(self) -> EnergyLedger:
        info = self.info.latest
        if info is None:
            return self.ledger  # zone and installation date not known yet
        zone = site_zone(info)
        name = str(zone)
        now = dt_util.utcnow()
        ledger = self.ledger
        today = now.astimezone(zone).date()
        if ledger.time_zone != name:
            self._rezone(name, zone, today)
        if ledger.next_day is None:
            ledger.first_day = ledger.next_day = self._backfill_start(info, zone, today)
        ledger.next_day = min(ledger.next_day, today)
        day = ledger.next_day
        if day == today and not self._may_have_new(now):
            ledger.backfilled = True
            await self._maybe_fetch_outages(name, zone, now)
            return ledger
        history = await self._request_day(day, name, zone)
        hours = ledger.add(self._buckets(history, zone), now)
        if day < today and self._day_done(day, zone, now):
            ledger.next_day = day + timedelta(days=1)
            self._hurry = True
        if day == today:
            # Sensors show totals only once the backfill reached today: the
            # first value is the whole backfill, no pile-up in one hour.
            ledger.backfilled = True
        async_import_hours(
            self.hass, self.site_id, site_name(self.product, info), FLOW_NAMES, hours
        )
        await self.store.async_save(ledger.as_dict())
        if not self._hurry:
            await self._maybe_fetch_outages(name, zone, now)
        return ledger

    def _rezone(self, name: str, zone: tzinfo, today: date) -> None:
        """The site's zone changed (or is first known): days follow the new zone."""
        ledger = self.ledger
        if ledger.time_zone is not None and ledger.cursor is not None:
            ledger.next_day = min(
                (ledger.cursor + BUCKET).astimezone(zone).date(), today
            )
        ledger.time_zone = name

    def _backfill_start(self, info: SiteInfo, zone: tzinfo, today: date) -> date:
        start = today - timedelta(days=BACKFILL_DAYS)
        if self.config_entry.options.get(CONF_BACKFILL_FROM_INSTALLATION):
            installed = parse_timestamp(info.installation_date)
            if installed is not None and installed.tzinfo is not None:
                start = min(installed.astimezone(zone).date(), today)
        return start

    def _may_have_new(self, now: datetime) -> bool:
        """Whether a bucket closed since the last one counted."""
        cursor = self.ledger.cursor
        if cursor is None:
            return True
        step = BUCKET.total_seconds()
        last_closed = (now.timestamp() // step) * step - step
        return cursor.timestamp() < last_closed

    def _day_done(self, day: date, zone: tzinfo, now: datetime) -> bool:
        """A past day is done once its last bucket is in, or surely never comes."""
        end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        cursor = self.ledger.cursor
        return (cursor is not None and cursor >= end - BUCKET) or now >= end + DAY_GRACE

    async def _request_day(self, day: date, name: str, zone: tzinfo) -> EnergyHistory:
        # An end of exactly midnight answers nothing: ask up to 23:59:59.
        end = datetime.combine(day, time(23, 59, 59), zone)
        self.usage.counts[self.endpoint] += 1
        self.requests += 1
        return await self.client.energy_history(
            self.site_id, period="day", end=end, time_zone=name
        )

    @staticmethod
    def _buckets(
        history: EnergyHistory, zone: tzinfo
    ) -> list[tuple[datetime, EnergyInterval]]:
        buckets = []
        for bucket in history.time_series or ():
            start = bucket.timestamp_dt
            if start is None:
                continue
            if start.tzinfo is None:
                start = start.replace(tzinfo=zone)
            buckets.append((start.astimezone(UTC), bucket))
        return buckets

    async def _maybe_fetch_outages(
        self, name: str, zone: tzinfo, now: datetime
    ) -> None:
        """Read the outage history once a day and when the grid came or went."""
        today = now.astimezone(zone).date()
        if not self._outages_due and self._outages_day == today:
            return
        self.usage.counts[self.endpoint] += 1
        self.requests += 1
        try:
            history = await self.client.backup_history(
                self.site_id,
                period="month",
                start=(now - OUTAGE_WINDOW).astimezone(zone),
                end=now.astimezone(zone),
                time_zone=name,
            )
        except FleetError as err:
            # The energy ledger matters more: try again with the next poll.
            LOGGER.debug("Outage history of %s failed: %s", self.site_id, err)
            return
        self.outages = summarise_outages(history, now)
        self._outages_day = today
        self._outages_due = False
