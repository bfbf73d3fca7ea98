"""The config entry's type and what a loaded entry keeps at run time.

Owns :data:`PowerwallFleetConfigEntry` and :class:`PowerwallFleetData` (the
Fleet client, the token manager, the override manager, each site's
coordinators and the price sync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    # What the entry holds, named for the type checker only: at run time this
    # module imports nothing of the package (docs/architecture.md).
    from .coordinator import SiteCoordinators
    from .fleet import FleetClient
    from .overrides.engine import OverrideManager
    from .prices.sync import PriceSync
    from .setup.oauth import EntryTokens


@dataclass
class PowerwallFleetData:
    """What a loaded entry keeps at run time."""

    client: FleetClient
    tokens: EntryTokens
    overrides: OverrideManager
    sites: dict[int, SiteCoordinators] = field(default_factory=dict)
    prices: PriceSync | None = None


type PowerwallFleetConfigEntry = ConfigEntry[PowerwallFleetData]
