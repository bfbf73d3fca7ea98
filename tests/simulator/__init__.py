"""Offline simulator of Tesla's OAuth server and Fleet API for Powerwall energy sites.

Quick start::

    async with Simulator(SimClock()) as sim:
        tokens = sim.issue_tokens()  # or go through sim.authorize_url like a browser
        base = sim.base_url("na")  # Fleet API: f"{base}/api/1/..."
        sim.clock.advance(3600)  # physics and history follow the simulated clock
        sim.add_fault("live_status", status=429, headers={"Retry-After": "60"})

Model and quirks: ``server.py`` (HTTP surface, check order, faults, accounting),
``state.py`` (what the simulator knows and the test-facing API), the ``*_routes.py``
modules (OAuth, partner, site reads, site commands, ``/_sim`` control), ``payloads.py``
(read answers), ``site.py`` (settings, and the lag before the gateway acts on them),
``physics.py`` (physics and exact energy history), ``environment.py`` (sun, demand),
``auth.py`` (OAuth), ``partner.py`` (partner registration), ``tariff.py`` (TOU
validation hook).  Note that
aiohttp's client retries an idempotent request once after a dropped connection: a
``drop=True`` fault on a GET needs ``times=2`` to reach an aiohttp caller.
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
