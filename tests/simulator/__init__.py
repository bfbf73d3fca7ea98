"""Offline simulator of Tesla's OAuth server and Fleet API for Powerwall energy sites.

Use :class:`Simulator` (an aiohttp application) with a :class:`SimClock`; see
``tests/simulator/README`` in the docstrings of ``server.py`` and ``site.py`` for the model.
"""

from .clock import SimClock
from .faults import DEFAULT, Fault, RequestRecord
from .scenario import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    SITE_DEAD,
    SITE_EU,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
    USER_MAIN,
    VEHICLE_ID,
    Scenario,
    SiteConfig,
    default_scenario,
)
from .server import Simulator
from .site import HISTORY_FIELD_NAMES, SiteState
from .tariff import default_tariff, validate_tariff

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT",
    "DEFAULT_SCOPES",
    "HISTORY_FIELD_NAMES",
    "PARTNER_DOMAIN",
    "SITE_DEAD",
    "SITE_EU",
    "SITE_FULL",
    "SITE_PW3",
    "SITE_SOLAR_ONLY",
    "USER_EU",
    "USER_MAIN",
    "VEHICLE_ID",
    "Fault",
    "RequestRecord",
    "Scenario",
    "SimClock",
    "Simulator",
    "SiteConfig",
    "SiteState",
    "default_scenario",
    "default_tariff",
    "validate_tariff",
]
