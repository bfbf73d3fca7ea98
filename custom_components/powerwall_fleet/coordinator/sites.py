"""The coordinators of one energy site, built with the entry's intervals.

Owns :class:`SiteCoordinators` (live, info, history and the history back to
the installation date of a site, with its request tally) and
:func:`build_site_coordinators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant

from custom_components.powerwall_fleet.const import (
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    DEFAULT_HISTORY_INTERVAL,
    DEFAULT_INFO_INTERVAL,
    DEFAULT_LIVE_INTERVAL,
)
from custom_components.powerwall_fleet.energy.lifetime import LIFETIME_PACE
from custom_components.powerwall_fleet.fleet import FleetClient, Product
from custom_components.powerwall_fleet.site import site_name

from .base import SiteUsage
from .history import HistoryCoordinator
from .info import InfoCoordinator
from .lifetime import LifetimeCoordinator
from .live import LiveCoordinator

if TYPE_CHECKING:
    from ..runtime import PowerwallFleetConfigEntry


@dataclass
class SiteCoordinators:
    """Everything polled for one site."""

    site: Product
    live: LiveCoordinator
    info: InfoCoordinator
    usage: SiteUsage
    history: HistoryCoordinator
    lifetime: LifetimeCoordinator

    @property
    def site_id(self) -> int:
        """The energy site id."""
        return self.live.site_id

    @property
    def name(self) -> str:
        """The site's name, as its device shows it."""
        return site_name(self.site, self.info.latest)


def build_site_coordinators(
    hass: HomeAssistant,
    entry: PowerwallFleetConfigEntry,
    client: FleetClient,
    site: Product,
) -> SiteCoordinators:
    """Coordinators for one site with the entry's intervals."""
    usage = SiteUsage()
    options = entry.options
    info = InfoCoordinator(
        hass,
        entry,
        client=client,
        site=site,
        usage=usage,
        interval=timedelta(
            minutes=options.get(CONF_INFO_INTERVAL, DEFAULT_INFO_INTERVAL)
        ),
    )
    live = LiveCoordinator(
        hass,
        entry,
        client=client,
        site=site,
        usage=usage,
        interval=timedelta(
            seconds=options.get(CONF_LIVE_INTERVAL, DEFAULT_LIVE_INTERVAL)
        ),
        info=info,
    )
    history = HistoryCoordinator(
        hass,
        entry,
        client=client,
        site=site,
        usage=usage,
        interval=timedelta(
            minutes=options.get(CONF_HISTORY_INTERVAL, DEFAULT_HISTORY_INTERVAL)
        ),
        info=info,
        live=live,
    )
    lifetime = LifetimeCoordinator(
        hass,
        entry,
        client=client,
        site=site,
        usage=usage,
        interval=LIFETIME_PACE,
        history=history,
    )
    return SiteCoordinators(
        site=site,
        live=live,
        info=info,
        usage=usage,
        history=history,
        lifetime=lifetime,
    )
