"""The live_status coordinator: power flows and battery level, polled fast.

Owns :class:`LiveCoordinator` and when a live change calls for a fresh
``site_info`` (storm watch, grid and backup capability changes).
"""

from __future__ import annotations

from typing import Any

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet import LiveStatus

from .base import FleetCoordinator
from .info import InfoCoordinator


class LiveCoordinator(FleetCoordinator[LiveStatus]):
    """``live_status``: power flows and battery level, fast poll."""

    endpoint = "live_status"

    def __init__(self, *args: Any, info: InfoCoordinator, **kwargs: Any) -> None:
        """Also know the site's info coordinator, to refresh it when needed."""
        super().__init__(*args, **kwargs)
        self.info = info

    async def _fetch(self) -> LiveStatus:
        return await self.client.live_status(self.site_id)

    async def _async_update_data(self) -> LiveStatus:
        previous = self.data
        data = await super()._async_update_data()
        if (
            previous is not None
            and data is not previous
            and _explained_by_info(previous, data)
        ):
            # Storm watch started/ended or the grid went away: site_info says why.
            self.config_entry.async_create_background_task(
                self.hass,
                self.info.async_request_refresh(),
                f"{DOMAIN} site_info refresh {self.site_id}",
            )
        return data


def _explained_by_info(before: LiveStatus, after: LiveStatus) -> bool:
    return (
        before.storm_mode_active != after.storm_mode_active
        or before.grid_status != after.grid_status
        or before.backup_capable != after.backup_capable
    )
