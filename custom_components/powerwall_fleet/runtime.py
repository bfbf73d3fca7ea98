"""The config entry's type and what a loaded entry keeps at runtime.

Owns :data:`PowerwallFleetConfigEntry` and :class:`PowerwallFleetData` (the
Fleet client, the token manager, the override manager and one set of
coordinators per site). Every module that needs the entry's type imports it
from here, never from the package ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry

from .coordinator import SiteCoordinators
from .fleet import FleetClient
from .overrides.engine import OverrideManager
from .setup.oauth import EntryTokens


@dataclass
class PowerwallFleetData:
    """What a loaded entry keeps at runtime."""

    client: FleetClient
    tokens: EntryTokens
    overrides: OverrideManager
    sites: dict[int, SiteCoordinators] = field(default_factory=dict)


type PowerwallFleetConfigEntry = ConfigEntry[PowerwallFleetData]
