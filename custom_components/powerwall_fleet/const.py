"""Constants: the domain, config entry and option keys, defaults and limits.

Also owns :func:`requests_per_day`, the request estimate the options form shows.
"""

from __future__ import annotations

import logging
from typing import Final

from .fleet import REGION_BASE_URLS, SCOPES, TOKEN_URL
from .fleet.auth import AUTHORIZE_URL

DOMAIN: Final = "powerwall_fleet"
LOGGER: Final = logging.getLogger(__package__)

# Config entry data
CONF_SERVER: Final = "server"
CONF_AUTHORIZE_URL: Final = "authorize_url"
CONF_TOKEN_URL: Final = "token_url"  # noqa: S105 - a key name
CONF_BASE_URL: Final = "base_url"
CONF_REGION: Final = "region"
CONF_PARTNER_DOMAIN: Final = "partner_domain"
CONF_SITE_IDS: Final = "site_ids"
CONF_ALL_SITES: Final = "all_sites"
# How often the account's list of sites is checked for new or removed sites.
SITES_CHECK_INTERVAL: Final = 24 * 3600

# Form fields only
CONF_DOMAIN_NAME: Final = "domain"
CONF_CUSTOM_BASE_URL: Final = "custom_base_url"
CONF_CUSTOM_AUTH_URL: Final = "custom_auth_url"
CONF_SITES: Final = "sites"

SERVER_TESLA: Final = "tesla"
SERVER_CUSTOM: Final = "custom"

DEFAULT_AUTHORIZE_URL: Final = AUTHORIZE_URL
DEFAULT_TOKEN_URL: Final = TOKEN_URL
DEFAULT_BASE_URL: Final = REGION_BASE_URLS["na"]
# Regions where the partner account is registered up front (China has its own
# auth host and is registered only when an account turns out to live there).
PARTNER_REGIONS: Final = ("na", "eu")
OAUTH_SCOPES: Final = SCOPES

# Set to 1 to offer custom Fleet-API-compatible servers (the simulator) in the
# config flow. Never needed by owners.
DEVELOPER_ENV: Final = "POWERWALL_FLEET_DEVELOPER"
# Home Assistant's OAuth callback (what the redirect URI ends with).
AUTH_CALLBACK_PATH: Final = "/auth/external/callback"
DEVELOPER_PORTAL_URL: Final = "https://developer.tesla.com/dashboard"
PRIVATE_KEY_FILE: Final = ".storage/powerwall_fleet.private_key.pem"

# Options: poll intervals
CONF_LIVE_INTERVAL: Final = "live_interval"
CONF_INFO_INTERVAL: Final = "info_interval"
CONF_HISTORY_INTERVAL: Final = "history_interval"
DEFAULT_LIVE_INTERVAL: Final = 30  # seconds
DEFAULT_INFO_INTERVAL: Final = 15  # minutes
DEFAULT_HISTORY_INTERVAL: Final = 5  # minutes
MIN_LIVE_INTERVAL: Final = 10
MAX_LIVE_INTERVAL: Final = 3600
MIN_INFO_INTERVAL: Final = 5
MAX_INFO_INTERVAL: Final = 1440
MIN_HISTORY_INTERVAL: Final = 5
MAX_HISTORY_INTERVAL: Final = 60
# Option (no form field): backfill from the installation date instead of the
# last 30 days.
CONF_BACKFILL_FROM_INSTALLATION: Final = "backfill_from_installation"
# Option (issue 20): import the history back to this day (an ISO date), not
# to the installation date.
CONF_HISTORY_FROM: Final = "import_history_from"

# Options: money and the statistics picker (issue 10). A price entity (its
# recorded state, currency/kWh or currency/MWh) prices the grid's imports or
# exports instead of the site's Tesla tariff; the breakdown flows (home from
# grid, battery charged from solar, ...) are imported only when asked for.
CONF_IMPORT_PRICE_ENTITY: Final = "import_price_entity"
CONF_EXPORT_PRICE_ENTITY: Final = "export_price_entity"
CONF_BREAKDOWN_STATISTICS: Final = "breakdown_statistics"
DEFAULT_BREAKDOWN_STATISTICS: Final = False

# Options: price sync (issue 22), one form section stored as one mapping: a
# price entity's forecast pushed into the sites' Tesla tariffs (prices/).
CONF_PRICE_SYNC: Final = "price_sync"
CONF_PRICE_SYNC_ENABLED: Final = "price_sync_enabled"
CONF_PRICE_SYNC_BUY: Final = "price_sync_buy_entity"
CONF_PRICE_SYNC_SELL: Final = "price_sync_sell_entity"
CONF_PRICE_SYNC_INTERVAL: Final = "price_sync_interval"
DEFAULT_PRICE_SYNC_INTERVAL: Final = 30  # minutes between pushes, at least
MIN_PRICE_SYNC_INTERVAL: Final = 5
MAX_PRICE_SYNC_INTERVAL: Final = 1440


def price_sync_requests_per_day(interval_min: float, sites: int = 1) -> int:
    """Most requests a day price sync makes for ``sites`` sites.

    A push at most every interval plus one after new day-ahead prices, each
    with its site_info read-back.
    """
    pushes = 1440 / max(interval_min, MIN_PRICE_SYNC_INTERVAL) + 1
    return round(2 * pushes * sites)


# Requests that do not follow the intervals: per site the outage history once
# a day and the energy history of the day before read once more (late and
# revised buckets), per entry the daily check of the account's sites.
OUTAGE_READS_PER_DAY: Final = 1
REREADS_PER_DAY: Final = 1
SITES_CHECKS_PER_DAY: Final = 86400 / SITES_CHECK_INTERVAL


def requests_per_day(
    live_s: float, info_min: float, history_min: float, sites: int = 1
) -> int:
    """Billable requests a day for an entry with ``sites`` sites at these intervals.

    Per site: live_status every ``live_s`` seconds, site_info every
    ``info_min`` minutes, one energy history request per history poll (polls
    follow Tesla's 5-minute buckets), the outage history and the day before's
    energy history once a day; per
    entry: the daily check of the account's sites. The day change costs no
    extra request when a history poll falls just after the site's midnight
    (intervals that divide an hour, sites whose zone is whole hours off UTC);
    otherwise it may cost one a day, which is left out.
    """
    history_min = max(history_min, MIN_HISTORY_INTERVAL)
    per_site = 86400 / live_s + 1440 / info_min + 1440 / history_min
    per_site += OUTAGE_READS_PER_DAY + REREADS_PER_DAY
    return round(per_site * sites + SITES_CHECKS_PER_DAY)
