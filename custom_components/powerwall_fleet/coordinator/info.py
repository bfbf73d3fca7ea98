"""The site_info coordinator: the site's configuration, polled slowly.

Owns :class:`InfoCoordinator` (settings, components, time zone, installation date).
"""

from __future__ import annotations

from custom_components.powerwall_fleet.fleet import SiteInfo

from .base import FleetCoordinator


class InfoCoordinator(FleetCoordinator[SiteInfo]):
    """``site_info``: configuration, slow poll, re-read after every command."""

    endpoint = "site_info"

    async def _fetch(self) -> SiteInfo:
        return await self.client.site_info(self.site_id)
