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
``physics.py`` (physics and exact energy history), ``controller.py`` (what time-based
control makes of the tariff, and the owners' quirks), ``environment.py`` (sun, demand),
``auth.py`` (OAuth), ``partner.py`` (partner registration), ``tariff.py`` (the sites'
tariffs, Tesla's validation of a push, read-backs).  Note that
aiohttp's client retries an idempotent request once after a dropped connection: a
``drop=True`` fault on a GET needs ``times=2`` to reach an aiohttp caller.

Tesla's controller (what the battery does with the settings; sources in
``controller.py``, from owners' reports in FLEET_API.md):

* **Time-based control** (``autonomous``) follows the stored ``tariff_content_v2``
  (the default one, or one pushed with ``time_of_use_settings``), read in the site's
  zone with the integration's resolver: it exports at full power down to the reserve
  in a period whose sell price is the highest of the coming day and above its lowest
  buy price (only with export rule ``battery_ok`` and strategy ``economics``); it
  charges from the grid at full power, and does not discharge, in a period whose buy
  price is the lowest of the coming day with a dearer one to come (when grid charging
  is allowed); otherwise it is self-powered.  The Cabin (``SITE_PW3``) holds
  ``tariff.night_tariff()`` (super off-peak 00-06, peak 16-21): a grid charge at night
  and an export in the evening peak.  The other sites hold ``default_tariff()``
  (off-peak all day but the 16-21 peak: in time-based control they charge and hold
  from 21:00, export 16-21).
* **Self-powered** (``self_consumption``): solar surplus charges the battery, which
  covers the rest of the load down to the reserve.  **Backup-only** never discharges
  and charges at full power, from the grid when allowed.  Storm watch fills it.
* **Below the reserve** (self-powered and time-based control) the battery charges up
  to it, from the grid when allowed: reserve 100 % + grid charging forces a charge.
* The tariff and the strategy are settings like the others: site_info shows a push at
  once, the gateway follows it after ``apply_delay`` (per setting, default 0).

Quirks (``controller.Quirks``; all off by default; ``sim.set_quirks(site_id=...,
act_delay=True)``, ``site.set_quirks(...)``, ``SiteConfig(quirks=...)``, or
``POST /_sim/site {"site_id": ..., "set": {"quirks": {...}}}``): ``act_delay`` (mode,
tariff and strategy changes act 5-15 minutes late), ``lost_commands`` (the next N
commands never reach the gateway), ``reserve_ignored_in_peak`` (reserve changes wait
for the ``ON_PEAK`` period to end), ``reserve_81_99`` (``"refuse"`` or ``"snap"`` to
80 %), ``reserve_charge_limit_w`` (reserve-driven grid charging capped per Powerwall,
e.g. 1700), ``battery_export_forbidden`` (a utility's rule), ``balanced_after_push`` (a
push without ``optimization_strategy`` leaves "balanced", which never exports),
``late_discharge`` (an export only in the last 30 minutes of its period).
"""

from .clock import SimClock
from .controller import Quirks
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
from .tariff import default_tariff, night_tariff, validate_tariff

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
    "Quirks",
    "RequestRecord",
    "Scenario",
    "SimClock",
    "Simulator",
    "SiteConfig",
    "SiteState",
    "default_scenario",
    "default_tariff",
    "night_tariff",
    "validate_tariff",
]
