"""Failure handling shared by every coordinator, and the request tally of a site.

Owns :class:`FleetCoordinator` (one endpoint of one site: one retry of a
transient failure, no re-send of an answer Tesla bills, a 429 pause until
``Retry-After``, reauth, the repair issues of a read) and :class:`SiteUsage`.
What an endpoint means is the subclasses' job.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from custom_components.powerwall_fleet.const import DOMAIN, LOGGER
from custom_components.powerwall_fleet.fleet import (
    FleetClient,
    FleetError,
    LoginRequired,
    MissingScopes,
    PartnerNotRegistered,
    Product,
    RateLimited,
    is_retryable,
    plain_words,
    site_is_unavailable,
)
from custom_components.powerwall_fleet.issues import (
    PARTNER_NOT_REGISTERED,
    RATE_LIMITED,
    READ_SCOPE,
    SITE_UNAVAILABLE,
    async_clear_issue,
    async_raise_issue,
    async_scopes_missing,
    async_scopes_proven,
    site_gone_long_enough,
)

if TYPE_CHECKING:
    from ..runtime import PowerwallFleetConfigEntry

# One more try inside an update for these, after this pause.
RETRY_DELAY = 2.0
DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 3600.0
THROTTLE_ISSUE_AFTER = timedelta(hours=1)

# How messages and log lines name what each endpoint holds.
ENDPOINT_WORDS = {
    "site_info": "the site's settings",
    "live_status": "the live status",
    "calendar_history": "the energy history",
}


class _GoneSince:
    """When each site was first seen gone, kept in storage across restarts.

    So an hour-long outage that spans a restart still counts as one.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._store: Store[dict[str, str]] = Store(hass, 1, f"{DOMAIN}.site_gone")
        self._since: dict[str, str] | None = None

    async def async_first_seen(self, site_id: int, now: datetime) -> datetime:
        """When ``site_id`` was first seen gone (``now`` if this is the first time)."""
        if self._since is None:
            self._since = dict(await self._store.async_load() or {})
        key = str(site_id)
        if key not in self._since:
            self._since[key] = now.isoformat()
            self._store.async_delay_save(self._data, 0)
        return dt_util.parse_datetime(self._since[key]) or now

    def clear(self, site_id: int) -> None:
        """The site answered: forget when it was gone."""
        if self._since is not None and str(site_id) in self._since:
            del self._since[str(site_id)]
            self._store.async_delay_save(self._data, 0)

    def _data(self) -> dict[str, str]:
        return dict(self._since or {})


_GONE_SINCE: HassKey[_GoneSince] = HassKey(f"{DOMAIN}_site_gone")


def _gone_since(hass: HomeAssistant) -> _GoneSince:
    if (tracker := hass.data.get(_GONE_SINCE)) is None:
        tracker = hass.data[_GONE_SINCE] = _GoneSince(hass)
    return tracker


@dataclass
class SiteUsage:
    """Requests this Home Assistant sent for one site since it started."""

    counts: Counter[str] = field(default_factory=Counter)
    since: datetime = field(default_factory=dt_util.utcnow)

    @property
    def total(self) -> int:
        """All requests, commands included."""
        return sum(self.counts.values())


class FleetCoordinator[T](DataUpdateCoordinator[T]):
    """Shared failure handling for one endpoint of one site."""

    config_entry: PowerwallFleetConfigEntry
    endpoint: str = ""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PowerwallFleetConfigEntry,
        *,
        client: FleetClient,
        site: Product,
        usage: SiteUsage,
        interval: timedelta,
    ) -> None:
        """Poll ``endpoint`` of ``site`` every ``interval``."""
        if site.energy_site_id is None:
            raise ValueError("not an energy site")
        self.site_id: int = site.energy_site_id
        self.client = client
        self.usage = usage
        self.interval = interval
        self.throttled_until: datetime | None = None
        self.throttled_since: datetime | None = None
        self.last_error: str | None = None
        # The last failure in plain words (what a user reads).
        self.last_problem: str | None = None
        self.last_success: datetime | None = None
        # Since when (and for how many polls) Tesla calls the site gone.
        self.gone_since: datetime | None = None
        self.gone_polls = 0
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{self.what} of energy site {self.site_id}",
            update_interval=interval,
        )

    @property
    def what(self) -> str:
        """What the endpoint holds, in plain words ("the live status")."""
        return ENDPOINT_WORDS.get(self.endpoint, self.endpoint.replace("_", " "))

    @property
    def latest(self) -> T | None:
        """The last data, or None before the first success (``data`` is typed as T)."""
        return self.data

    async def _fetch(self) -> T:
        raise NotImplementedError

    async def _counted_fetch(self) -> T:
        self.usage.counts[self.endpoint] += 1
        return await self._fetch()

    async def _async_update_data(self) -> T:
        now = dt_util.utcnow()
        if self.throttled_until is not None and now < self.throttled_until:
            # Still paused (a refresh was requested, or the timer fired a little
            # early): no request; wake up again when the pause ends.
            remaining = max((self.throttled_until - now).total_seconds(), 1.0)
            self.update_interval = timedelta(seconds=remaining)
            if self.data is None:
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="rate_limited",
                    retry_after=remaining,
                )
            return self.data
        try:
            try:
                data = await self._counted_fetch()
            except FleetError as err:
                if not is_retryable(err):
                    raise
                LOGGER.debug("%s failed (%s); trying once more", self.name, err)
                await asyncio.sleep(RETRY_DELAY)
                data = await self._counted_fetch()
        except RateLimited as err:
            return self._throttled(err, now)
        except LoginRequired as err:
            self.last_error = "login_required"
            self.last_problem = plain_words(err)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="reauth_required"
            ) from err
        except FleetError as err:
            if site_is_unavailable(err):
                await self._async_gone(now)
            self._failed(err, now)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={
                    "endpoint": self.what,
                    "error": plain_words(err),
                },
            ) from err
        self._recovered(now)
        return data

    # ----------------------------------------------------------- states

    def _throttled(self, err: RateLimited, now: datetime) -> T:
        wait = min(err.retry_after or DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER)
        wait = max(wait, 1.0)
        self.throttled_until = now + timedelta(seconds=wait)
        self.throttled_since = self.throttled_since or now
        self.last_error = "rate_limited"
        self.last_problem = plain_words(err)
        # Ask again when Tesla said we may; back to the normal pace after.
        self.update_interval = timedelta(seconds=wait)
        LOGGER.debug("%s rate limited; pausing %.0f s", self.name, wait)
        if now - self.throttled_since >= THROTTLE_ISSUE_AFTER:
            async_raise_issue(self.hass, RATE_LIMITED, self.config_entry)
        if self.data is None:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=wait,
            ) from err
        return self.data

    async def _async_gone(self, now: datetime) -> None:
        """Tesla calls the site gone: since when (kept across restarts, per site)."""
        if self.gone_since is None:
            self.gone_since = await _gone_since(self.hass).async_first_seen(
                self.site_id, now
            )

    def _failed(self, err: FleetError, now: datetime) -> None:
        self.last_error = type(err).__name__
        self.last_problem = plain_words(err)
        if site_is_unavailable(err):
            # Other failures in between (network, 5xx) do not prove the site
            # is back: only a success resets the count.
            self.gone_polls += 1
            if self.gone_since is not None and site_gone_long_enough(
                self.gone_since, self.gone_polls, now
            ):
                async_raise_issue(
                    self.hass, SITE_UNAVAILABLE, self.config_entry, self.site_id
                )
        elif isinstance(err, MissingScopes):
            async_scopes_missing(
                self.hass, self.config_entry, err.scopes or (READ_SCOPE,)
            )
        elif isinstance(err, PartnerNotRegistered):
            async_raise_issue(self.hass, PARTNER_NOT_REGISTERED, self.config_entry)

    def _recovered(self, now: datetime) -> None:
        self.last_success = now
        self.last_error = None
        self.last_problem = None
        if self.throttled_since is not None:
            self.throttled_since = None
            self.throttled_until = None
            self.update_interval = self.interval
            if not self._entry_still_throttled():
                async_clear_issue(self.hass, RATE_LIMITED, self.config_entry.entry_id)
        # A read that works proves the site, the scopes for reading (not
        # energy_cmds: see issues.py) and the partner registration are fine
        # again.
        self.gone_since = None
        self.gone_polls = 0
        _gone_since(self.hass).clear(self.site_id)
        async_clear_issue(self.hass, SITE_UNAVAILABLE, self.site_id)
        async_clear_issue(self.hass, PARTNER_NOT_REGISTERED, self.config_entry.entry_id)
        async_scopes_proven(self.hass, self.config_entry, "read")

    def _entry_still_throttled(self) -> bool:
        """Whether another coordinator of the entry is still rate limited.

        The repair issue is per entry; it goes only when all are through.
        """
        data = getattr(self.config_entry, "runtime_data", None)
        if data is None:
            return False
        return any(
            coordinator is not self and coordinator.throttled_since is not None
            for site in data.sites.values()
            for coordinator in (site.live, site.info, site.history, site.lifetime)
        )

    def health(self) -> dict[str, Any]:
        """Coordinator state for diagnostics."""
        return {
            "interval_seconds": self.interval.total_seconds(),
            "last_update_success": self.last_update_success,
            "last_success": self.last_success.isoformat()
            if self.last_success
            else None,
            "last_error": self.last_error,
            "throttled_until": (
                self.throttled_until.isoformat() if self.throttled_until else None
            ),
        }
