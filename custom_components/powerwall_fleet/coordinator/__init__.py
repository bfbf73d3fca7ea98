"""Coordinators: one live, one info and one history coordinator per energy site.

``base.py`` failure handling and the request tally, ``info.py`` site_info,
``live.py`` live_status, ``history.py`` the energy history (driving the pure
``ledger.py``), ``sites.py`` a site's set. This package imports only the fleet
client, the site facts, the ledger and statistics: never entities, commands or
actions (they import it). This module only re-exports what others import.
"""

from __future__ import annotations

from .base import FleetCoordinator, SiteUsage
from .history import HistoryCoordinator
from .info import InfoCoordinator
from .live import LiveCoordinator
from .sites import SiteCoordinators, build_site_coordinators

__all__ = [
    "FleetCoordinator",
    "HistoryCoordinator",
    "InfoCoordinator",
    "LiveCoordinator",
    "SiteCoordinators",
    "SiteUsage",
    "build_site_coordinators",
]
