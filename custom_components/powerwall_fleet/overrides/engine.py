"""Battery overrides: settings changed for a while, then restored, surviving restarts.

Owns the running overrides of one config entry (:class:`OverrideManager`):
what each override set, the values it replaced (read from ``site_info`` when
it started), its end (a time and/or a battery level), its file
(``homeassistant.helpers.storage.Store``), its timers, the restore, and the
retries when Tesla refuses or cannot be reached at the end. Every change,
made or restored, goes through commands.py (validate, send, show, read back);
this module holds no control's rule. The action schemas, presets and the
checks of a call are actions/override.py's; the entities only read the state
here and call :meth:`OverrideManager.async_cancel`; the repair's fix flow
(repairs.py) calls :meth:`OverrideManager.async_keep_site_values`.

Rules:

- A second override on a site that has one running merges into it: its values
  are set, its end replaces the running one's (also when earlier), and the
  values to restore stay the first override's for the fields the first one
  set (for a field only the second sets, the value before the second).
- At the end each field is put back to the value it replaced, unless the
  owner changed it meanwhile (the site no longer holds what the override
  set): that field is left as the owner set it, with an info log line.
- A restore obligation never ends silently. A restore that fails is retried
  1, 3, 8, 18, 30 and 60 minutes after the end, then every 30 minutes; the
  schedule counts from the end and is saved, so a restart moves no attempt.
  When the attempt an hour after the end still fails (at once when the owner
  cancelled), a repair issue names the values not restored. Cancelling tries
  once more and keeps the schedule. The obligation ends only when the values
  are back, or when the owner chooses in the repair's fix flow to keep what
  the site holds.
- An override whose end passed while Home Assistant was down is restored at
  start-up; a retry that fell due while it was down is made at start-up.

A dispatch (dispatch.py: an override with an expected behaviour) is run
here too: each live poll of its site is judged; a strategy that does not act
within ``confirm_within`` gives way to the next; after the last the dispatch
ends, everything is restored (its temporary tariff included, sent with the
strategy the site held) and the ``dispatch_not_acting`` repair issue is
raised. Every change of a site's dispatch state fires the
``powerwall_fleet_dispatch`` event.

The record and the settings are model.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..issues import (
    DISPATCH_NOT_ACTING,
    OVERRIDE_RESTORE,
    async_clear_issue,
    async_raise_issue,
)
from .dispatch import (
    ACTING,
    IDLE,
    NOT_ACTING,
    RESTORING,
    TIME_OF_USE,
    Dispatch,
    Observation,
)
from .model import (
    RESTORABLE,
    Override,
    RestoreResult,
    Value,
    async_describe,
    async_send_setting,
    read_setting,
    same_value,
    send_order,
)

if TYPE_CHECKING:
    from ..coordinator import SiteCoordinators
    from ..runtime import PowerwallFleetConfigEntry

STORAGE_VERSION = 1

# A failed restore is tried again these many minutes after the end, then
# every RETRY_EVERY.
RETRY_AFTER_END = (1, 3, 8, 18, 30, 60)
RETRY_EVERY = timedelta(minutes=30)
# The repair issue is raised when a restore still fails this long after the end.
REPAIR_AFTER = timedelta(hours=1)
# Fired on every change of a site's dispatch state.
EVENT_DISPATCH = f"{DOMAIN}_dispatch"
# A dispatch's tariff is pushed with this strategy (Cost Saving): a push
# without one can leave "balanced", which never exports (Predbat #4600).
DISPATCH_STRATEGY = "economics"


def next_retry(ended_at: datetime, now: datetime) -> datetime:
    """The first restore attempt of the schedule that is after ``now``.

    The schedule counts from the end, not from the last attempt, so neither a
    restart nor a slow attempt moves it.
    """
    for minutes in RETRY_AFTER_END:
        due = ended_at + timedelta(minutes=minutes)
        if due > now:
            return due
    last = ended_at + timedelta(minutes=RETRY_AFTER_END[-1])
    return last + ((now - last) // RETRY_EVERY + 1) * RETRY_EVERY


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the file of an entry that no longer exists."""
    await Store[dict[str, Any]](
        hass, STORAGE_VERSION, f"{DOMAIN}.override.{entry_id}"
    ).async_remove()


class OverrideManager:
    """The overrides of one config entry's sites: state, file, timers, restore."""

    def __init__(self, hass: HomeAssistant, entry: PowerwallFleetConfigEntry) -> None:
        """Nothing is read until :meth:`async_load`."""
        self.hass = hass
        self.entry = entry
        self.sites: dict[int, SiteCoordinators] = {}
        self.overrides: dict[int, Override] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.override.{entry.entry_id}"
        )
        self._timers: dict[int, list[CALLBACK_TYPE]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._locks: dict[int, asyncio.Lock] = {}
        self._unloaded = False
        # The last dispatch of a site that gave up (shown until the next one).
        self.outcomes: dict[int, Dispatch] = {}
        self._shown: dict[int, str] = {}

    # ------------------------------------------------------------ lifecycle

    async def async_load(self, sites: dict[int, SiteCoordinators]) -> None:
        """Read the saved overrides; arm their ends; restore the ones due."""
        self.sites = sites
        data = await self._store.async_load()
        saved = data.get("overrides", {}) if isinstance(data, dict) else {}
        for key, raw in saved.items():
            site_id = int(key)
            if site_id not in sites:
                LOGGER.warning(
                    "Energy site %s had an override but is no longer set up; "
                    "its values were not restored: %s",
                    site_id,
                    raw.get("restore"),
                )
                continue
            self.overrides[site_id] = Override.from_dict(raw)
        now = dt_util.utcnow()
        for site_id, override in self.overrides.items():
            due = override.next_attempt
            if override.restoring and due is not None and due > now:
                # A restore still failing: its next attempt as scheduled.
                self._arm_retry(site_id, due)
            elif override.restoring or (
                override.ends_at is not None and override.ends_at <= now
            ):
                # The end, or a retry, passed while Home Assistant was down:
                # restore now, without holding up setup.
                self._end_soon(site_id)
            else:
                self._arm(site_id, override)
        if len(self.overrides) != len(saved):
            await self._async_save()

    @callback
    def async_unload(self) -> None:
        """Stop every timer and watch; the file keeps what is needed."""
        self._unloaded = True
        for site_id in list(self._timers):
            self._disarm(site_id)

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``update`` whenever an override starts, changes or ends."""
        self._listeners.append(update)

        @callback
        def _remove() -> None:
            self._listeners.remove(update)

        return _remove

    def holds_tariff(self, site_id: int) -> bool:
        """Whether an override (running or restoring) holds the site's tariff.

        Price sync (prices/) pushes nothing while this is True and resumes after.
        A dispatch whose strategy sets a tariff holds it from its start, also
        while that push is on its way (before the tariff to restore is kept).
        """
        override = self.overrides.get(site_id)
        if override is None:
            return False
        if TIME_OF_USE in override.restore:
            return True
        dispatch = override.dispatch
        return (
            dispatch is not None
            and not override.restoring
            and TIME_OF_USE in dispatch.current.values
        )

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()
        for site_id in self.sites:
            state = self.dispatch_state(site_id)
            previous = self._shown.get(site_id, IDLE)
            if state == previous:
                continue
            self._shown[site_id] = state
            dispatch = self.dispatch_of(site_id)
            self.hass.bus.async_fire(
                EVENT_DISPATCH,
                {
                    "site_id": site_id,
                    "state": state,
                    "previous": previous,
                    "mode": dispatch.mode if dispatch else None,
                    "strategy": dispatch.current.name if dispatch else None,
                },
            )

    # ------------------------------------------------------------ dispatch state

    def dispatch_of(self, site_id: int) -> Dispatch | None:
        """The site's running dispatch, else the last one that gave up."""
        override = self.overrides.get(site_id)
        if override is not None and override.dispatch is not None:
            return override.dispatch
        return self.outcomes.get(site_id)

    def dispatch_state(self, site_id: int) -> str:
        """The state the ``dispatch`` sensor shows."""
        override = self.overrides.get(site_id)
        if override is not None and override.dispatch is not None:
            return RESTORING if override.restoring else override.dispatch.state
        return NOT_ACTING if site_id in self.outcomes else IDLE

    async def _async_save(self) -> None:
        await self._store.async_save(
            {
                "overrides": {
                    str(site_id): override.as_dict()
                    for site_id, override in self.overrides.items()
                }
            }
        )

    def _lock(self, site_id: int) -> asyncio.Lock:
        return self._locks.setdefault(site_id, asyncio.Lock())

    # ------------------------------------------------------------ start

    async def async_start(
        self,
        site: SiteCoordinators,
        values: dict[str, Value],
        *,
        ends_at: datetime | None,
        target_percent: float | None,
        target_rising: bool,
        dispatch: Dispatch | None = None,
    ) -> tuple[dict[str, Value], Override]:
        """Set ``values`` on ``site`` (already validated) and remember the override.

        Returns the values the site held before this call, and the override.
        A change Tesla refuses raises; the changes made before it stay in the
        override and are restored at its end.
        """
        async with self._lock(site.site_id):
            info = site.info.latest
            previous = {name: read_setting(info, name) for name in values}
            running = self.overrides.get(site.site_id)
            if running is not None and running.restoring:
                # The old override's restore is still failing: the new one
                # replaces its end; its values to restore are kept.
                running.ended_at = None
                running.attempts = 0
                running.next_attempt = None
                async_clear_issue(self.hass, OVERRIDE_RESTORE, site.site_id)
            override = running or Override(values={}, restore={})
            override.ends_at = ends_at
            override.target_percent = target_percent
            override.target_rising = target_rising
            if dispatch is not None:
                # The strategy to restore with the tariff: the one the site held
                # before the first dispatch (a second one finds its own).
                held = info.tou_settings if info is not None else None
                dispatch.strategy = (
                    override.dispatch.strategy
                    if override.dispatch is not None
                    else (held.optimization_strategy if held else None)
                )
                override.dispatch = dispatch
                self.outcomes.pop(site.site_id, None)
            self.overrides[site.site_id] = override
            try:
                await self._async_send(site, override, values, previous)
            finally:
                if not override.values:
                    del self.overrides[site.site_id]
                    self._disarm(site.site_id)
                else:
                    self._arm(site.site_id, override)
                await self._async_save()
                self._notify()
            return {k: v for k, v in previous.items() if v is not None}, override

    async def _async_send(
        self,
        site: SiteCoordinators,
        override: Override,
        values: dict[str, Value],
        previous: dict[str, Value | None],
    ) -> None:
        """Send what differs from the site's values; remember what to restore."""
        for name in send_order(values):
            before = previous[name]
            if before is None:  # pragma: no cover - refused by the checks
                continue
            if not same_value(name, before, values[name]):
                await async_send_setting(
                    site, name, values[name], strategy=DISPATCH_STRATEGY
                )
            override.restore.setdefault(name, before)
            override.values[name] = values[name]

    # ------------------------------------------------------------ end

    def _arm(self, site_id: int, override: Override) -> None:
        """(Re)start the override's end timer and battery watch."""
        self._disarm(site_id)
        if self._unloaded:
            return
        timers: list[CALLBACK_TYPE] = []
        if override.ends_at is not None:

            @callback
            def _due(_now: datetime) -> None:
                self._end_soon(site_id)

            timers.append(
                async_track_point_in_utc_time(self.hass, _due, override.ends_at)
            )
        site = self.sites.get(site_id)
        if override.target_percent is not None and site is not None:

            @callback
            def _level() -> None:
                if self._target_reached(site, override):
                    self._end_soon(site_id)

            timers.append(site.live.async_add_listener(_level))
        if override.dispatch is not None and site is not None:

            @callback
            def _poll() -> None:
                self._observe(site, override)

            timers.append(site.live.async_add_listener(_poll))
        self._timers[site_id] = timers

    @callback
    def _observe(self, site: SiteCoordinators, override: Override) -> None:
        """Judge the poll that just arrived against the running dispatch."""
        dispatch = override.dispatch
        live = site.live.latest
        if dispatch is None or override.restoring or live is None:
            return
        if not site.live.last_update_success:
            return
        before = (dispatch.state, dispatch.step)
        verdict = dispatch.observe(
            Observation(
                battery_power=live.battery_power,
                grid_power=live.grid_power,
                level=live.percentage_charged,
                grid_up=live.grid_status != "Inactive",
            ),
            dt_util.utcnow(),
        )
        if dispatch.state == ACTING and before[0] != ACTING:
            async_clear_issue(self.hass, DISPATCH_NOT_ACTING, site.site_id)
        if verdict != "none":
            self._disarm(site.site_id)
            job = self._async_escalate if verdict == "escalate" else self._async_give_up
            self.entry.async_create_background_task(
                self.hass, job(site.site_id), f"{DOMAIN} dispatch {site.site_id}"
            )
        elif before != (dispatch.state, dispatch.step):
            self.entry.async_create_background_task(
                self.hass, self._async_save(), f"{DOMAIN} dispatch save"
            )
        self._notify()

    async def _async_escalate(self, site_id: int) -> None:
        """The strategy did not act in time: send the next one."""
        async with self._lock(site_id):
            override = self.overrides.get(site_id)
            if override is None or override.dispatch is None or self._unloaded:
                return
            site = self.sites[site_id]
            step = override.dispatch.next_step(dt_util.utcnow())
            LOGGER.info(
                "The battery of %s did not %s; trying the next strategy (%s)",
                site.name,
                override.dispatch.mode,
                step.name,
            )
            await site.info.async_refresh()
            info = site.info.latest
            previous = {name: read_setting(info, name) for name in step.values}
            try:
                await self._async_send(site, override, step.values, previous)
            except HomeAssistantError as err:
                LOGGER.warning(
                    "Could not send the next strategy to %s: %s", site.name, err
                )
            finally:
                self._arm(site_id, override)
                await self._async_save()
                self._notify()

    async def _async_give_up(self, site_id: int) -> None:
        """The last strategy did not act: end, restore, raise the repair issue."""
        async with self._lock(site_id):
            override = self.overrides.get(site_id)
            dispatch = override.dispatch if override else None
            if override is None or dispatch is None or self._unloaded:
                return
            site = self.sites[site_id]
            dispatch.state = NOT_ACTING
            dispatch.since = dt_util.utcnow()
            self.outcomes[site_id] = dispatch
            async_raise_issue(
                self.hass,
                DISPATCH_NOT_ACTING,
                self.entry,
                site_id,
                site=site.name,
                mode=dispatch.mode,
                strategies=", ".join(dispatch.tried),
                powers=", ".join(f"{power / 1000:.2f} kW" for power in dispatch.powers)
                or "-",
            )
            LOGGER.warning(
                "The battery of %s did not %s after every strategy (%s); ending the"
                " dispatch and restoring",
                site.name,
                dispatch.mode,
                ", ".join(dispatch.tried),
            )
            if override.ended_at is None:
                override.ended_at = dt_util.utcnow()
            await self._async_restore(site_id, override, cancelled=False)

    def _disarm(self, site_id: int) -> None:
        for cancel in self._timers.pop(site_id, []):
            cancel()

    @staticmethod
    def _target_reached(site: SiteCoordinators, override: Override) -> bool:
        live = site.live.latest
        level = live.percentage_charged if live is not None else None
        if level is None or override.target_percent is None:
            return False
        if override.target_rising:
            return level >= override.target_percent
        return level <= override.target_percent

    @callback
    def _end_soon(self, site_id: int) -> None:
        self._disarm(site_id)
        self.entry.async_create_background_task(
            self.hass, self._async_end(site_id), f"{DOMAIN} override end {site_id}"
        )

    async def _async_end(self, site_id: int) -> None:
        """The end is reached: restore, and retry later when that fails."""
        async with self._lock(site_id):
            override = self.overrides.get(site_id)
            if override is None or self._unloaded:
                return
            if override.ended_at is None:
                override.ended_at = dt_util.utcnow()
            await self._async_restore(site_id, override, cancelled=False)

    async def async_cancel(self, site: SiteCoordinators) -> RestoreResult:
        """End the site's override now and restore (the cancel action and button).

        What fails is retried as scheduled from the end (a restore already
        failing keeps its schedule), and the repair issue is raised at once:
        the owner asked for the values back now, and the issue's fix flow is
        where they can choose to keep what the site holds instead.
        """
        async with self._lock(site.site_id):
            override = self.overrides.get(site.site_id)
            if override is None:
                return RestoreResult()
            if override.ended_at is None:
                override.ended_at = dt_util.utcnow()
            self._disarm(site.site_id)
            return await self._async_restore(site.site_id, override, cancelled=True)

    async def async_keep_site_values(self, site_id: int) -> dict[str, Value]:
        """The owner keeps what the site holds: the restore obligation ends.

        Only the repair's fix flow calls this (the owner's explicit choice).
        Returns the values that are no longer restored.
        """
        async with self._lock(site_id):
            override = self.overrides.pop(site_id, None)
            if override is None:
                return {}
            self._disarm(site_id)
            site = self.sites[site_id]
            LOGGER.info(
                "Keeping the settings %s holds, as its owner chose; no longer"
                " restoring: %s",
                site.name,
                await async_describe(site, override.restore),
            )
            async_clear_issue(self.hass, OVERRIDE_RESTORE, site_id)
            await self._async_save()
            self._notify()
            return dict(override.restore)

    async def _async_restore(
        self, site_id: int, override: Override, *, cancelled: bool
    ) -> RestoreResult:
        """One restore attempt (the site's lock is held)."""
        site = self.sites[site_id]
        result = RestoreResult()
        # What the site holds now decides what was changed by the owner.
        await site.info.async_refresh()
        info = site.info.latest
        strategy = override.dispatch.strategy if override.dispatch else None
        for name in send_order(override.restore):
            before = override.restore[name]
            now = read_setting(info, name)
            if now is not None and not same_value(name, now, override.values.get(name)):
                if not same_value(name, now, before):
                    LOGGER.info(
                        "The %s of %s was changed during the override (now: %s);"
                        " leaving it as set instead of restoring %s",
                        RESTORABLE[name].words,
                        site.name,
                        await async_describe(site, {name: now}),
                        await async_describe(site, {name: before}),
                    )
                    result.kept[name] = now
                else:
                    result.restored[name] = before
                continue
            try:
                if not same_value(name, now, before):
                    await async_send_setting(site, name, before, strategy=strategy)
            except HomeAssistantError as err:
                result.failed[name] = before
                result.error = result.error or err
            else:
                result.restored[name] = before
        if not result.failed:
            self.overrides.pop(site_id, None)
            async_clear_issue(self.hass, OVERRIDE_RESTORE, site_id)
        else:
            for name in (*result.restored, *result.kept):
                override.restore.pop(name, None)
                override.values.pop(name, None)
            self._retry_later(
                site,
                override,
                result,
                await async_describe(site, result.failed),
                repair_now=cancelled,
            )
        await self._async_save()
        self._notify()
        return result

    def _retry_later(
        self,
        site: SiteCoordinators,
        override: Override,
        result: RestoreResult,
        not_restored: str,
        *,
        repair_now: bool,
    ) -> None:
        """Schedule the next attempt; raise the repair issue when it is time."""
        now = dt_util.utcnow()
        ended = override.ended_at or now
        override.attempts += 1
        override.next_attempt = next_retry(ended, now)
        LOGGER.warning(
            "Could not restore %s of %s after the override (%s); retrying in %s min",
            not_restored,
            site.name,
            result.error,
            round((override.next_attempt - now) / timedelta(minutes=1)),
        )
        if repair_now or now - ended >= REPAIR_AFTER:
            async_raise_issue(
                self.hass,
                OVERRIDE_RESTORE,
                self.entry,
                site.site_id,
                site=site.name,
                values=not_restored,
            )
        self._arm_retry(site.site_id, override.next_attempt)

    def _arm_retry(self, site_id: int, when: datetime) -> None:
        """Try the restore again at ``when``."""
        self._disarm(site_id)
        if self._unloaded:
            return

        @callback
        def _again(_now: datetime) -> None:
            self._timers.pop(site_id, None)
            self.entry.async_create_background_task(
                self.hass, self._async_end(site_id), f"{DOMAIN} override retry"
            )

        self._timers[site_id] = [async_track_point_in_utc_time(self.hass, _again, when)]
