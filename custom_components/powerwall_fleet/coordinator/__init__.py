"""Coordinators: one live, one info, one history and one lifetime coordinator per energy site.

Re-exports what the rest of the integration uses from base, info, live,
history and sites.
"""

from __future__ import annotations

from .base import FleetCoordinator, SiteUsage
from .history import HistoryCoordinator
from .info import InfoCoordinator
from .lifetime import LifetimeCoordinator
from .live import LiveCoordinator
from .sites import SiteCoordinators, build_site_coordinators

__all__ = [
    "FleetCoordinator",
    "HistoryCoordinator",
    "InfoCoordinator",
    "LifetimeCoordinator",
    "LiveCoordinator",
    "SiteCoordinators",
    "SiteUsage",
    "build_site_coordinators",
]
