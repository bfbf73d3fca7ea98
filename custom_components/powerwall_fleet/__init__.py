"""Set up and unload a Powerwall Fleet config entry.

Owns the entry's life: the OAuth session and token manager, the Fleet client,
each chosen site's coordinators and device, the first refreshes and the daily
check for sites added to or gone from the account; and, once in
``async_setup``, the actions and the public-key view.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .actions import async_setup_actions
from .const import (
    CONF_ALL_SITES,
    CONF_BASE_URL,
    CONF_SITE_IDS,
    DOMAIN,
    LOGGER,
    SITES_CHECK_INTERVAL,
)
from .coordinator import SiteCoordinators, build_site_coordinators
from .entity import remove_device, site_device_info
from .fleet import (
    FleetClient,
    FleetError,
    LoginRequired,
    MissingScopes,
    PartnerNotRegistered,
    Product,
    plain_words,
)
from .issues import async_clear_entry_issues
from .overrides.engine import OverrideManager, async_remove_store
from .prices.sync import PriceSync, async_restore_removed
from .runtime import PowerwallFleetConfigEntry, PowerwallFleetData
from .setup.oauth import EntryTokens, implementation_for_entry
from .setup.partner import async_register_public_key_view

PLATFORMS: list[Platform] = [
    # one per line, alphabetical
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Serve the partner public key; register the actions."""
    async_register_public_key_view(hass)
    async_setup_actions(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: PowerwallFleetConfigEntry
) -> bool:
    """Connect to the account and register its sites as devices."""
    try:
        implementation = await async_get_config_entry_implementation(hass, entry)
    except ValueError as err:
        # The application credentials were removed: the user has to pick or
        # add credentials again, which the reauth flow offers.
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="credentials_missing"
        ) from err
    session = OAuth2Session(
        hass, entry, implementation_for_entry(implementation, entry.data)
    )
    tokens = EntryTokens(hass, entry, session)

    @callback
    def _moved(base_url: str) -> None:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_BASE_URL: base_url}
        )

    client = FleetClient(
        async_get_clientsession(hass),
        tokens.access_token,
        entry.data[CONF_BASE_URL],
        on_token_rejected=tokens.token_rejected,
        on_base_url_change=_moved,
    )
    try:
        products = await client.energy_sites()
    except (LoginRequired, MissingScopes) as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="reauth_required"
        ) from err
    except PartnerNotRegistered as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="partner_not_registered"
        ) from err
    except FleetError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": plain_words(err)},
        ) from err

    sites = _followed_sites(hass, entry, products)
    coordinators = {
        site_id: build_site_coordinators(hass, entry, client, product)
        for site_id, product in sites.items()
    }
    # Each site on its own: a dead site must not keep the others from loading.
    # site_info first, since it decides which entities a site has.
    await asyncio.gather(*(site.info.async_refresh() for site in coordinators.values()))
    await asyncio.gather(*(site.live.async_refresh() for site in coordinators.values()))
    _sync_devices(hass, entry, coordinators)
    # The energy ledgers (local files, no request): sensors keep their totals.
    # History polls on its own schedule, just after Tesla's buckets close; a
    # backfill or catch-up goes on from there, one paced request at a time,
    # without holding up the setup.
    await asyncio.gather(
        *(
            load()
            for site in coordinators.values()
            for load in (site.history.async_load, site.lifetime.async_load)
        )
    )
    for site in coordinators.values():
        site.history.async_start()
        site.lifetime.async_start()
    # Running overrides (local file): their ends are armed again, and those
    # that ended while Home Assistant was down are restored now.
    overrides = OverrideManager(hass, entry)
    await overrides.async_load(coordinators)
    entry.async_on_unload(overrides.async_unload)
    prices = PriceSync(hass, entry)
    entry.runtime_data = PowerwallFleetData(
        client=client,
        tokens=tokens,
        overrides=overrides,
        sites=coordinators,
        prices=prices,
    )
    # Price sync: starts, or puts back what it replaced when switched off.
    await prices.async_load(
        coordinators, overrides.holds_tariff, overrides.async_add_listener
    )
    entry.async_on_unload(prices.async_unload)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)

    async def _check_sites(_now: datetime) -> None:
        """Pick up sites added to or removed from the account (one request a day)."""
        try:
            current = await client.energy_sites()
        except FleetError as err:
            LOGGER.debug("Could not check the account's sites: %s", err)
            return
        if _followed_sites(hass, entry, current, log=False).keys() != sites.keys():
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(
        async_track_time_interval(
            hass, _check_sites, timedelta(seconds=SITES_CHECK_INTERVAL)
        )
    )
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: PowerwallFleetConfigEntry
) -> bool:
    """Unload the entry's platforms."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Close the repair issues of an entry that no longer exists; drop its overrides.

    The tariffs price sync replaced are put back first.
    """

    async def _connect() -> FleetClient:
        implementation = await async_get_config_entry_implementation(hass, entry)
        session = OAuth2Session(
            hass, entry, implementation_for_entry(implementation, entry.data)
        )
        return FleetClient(
            async_get_clientsession(hass),
            EntryTokens(hass, entry, session).access_token,
            entry.data[CONF_BASE_URL],
        )

    await async_restore_removed(hass, entry.entry_id, _connect)
    await async_remove_store(hass, entry.entry_id)
    async_clear_entry_issues(hass, entry.entry_id, entry.data.get(CONF_SITE_IDS, []))


def _followed_sites(
    hass: HomeAssistant,
    entry: ConfigEntry,
    products: list[Product],
    *,
    log: bool = True,
) -> dict[int, Product]:
    """The account's sites this entry follows.

    The chosen sites that still exist; plus new sites with components when
    the owner chose every site (their ids are then added to the entry).
    """
    offered = {
        site_id: product
        for product in products
        if (site_id := product.energy_site_id) is not None
    }
    wanted = {int(site_id) for site_id in entry.data.get(CONF_SITE_IDS, [])}
    if entry.data.get(CONF_ALL_SITES):
        new = {
            site_id
            for site_id, product in offered.items()
            if site_id not in wanted and product.has_components
        }
        if new and log:
            LOGGER.info("New energy sites in the Tesla account: %s", sorted(new))
            wanted |= new
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_SITE_IDS: sorted(wanted)}
            )
        elif new:
            wanted |= new
    if log:
        for site_id in sorted(wanted - offered.keys()):
            LOGGER.warning("Energy site %s is no longer in the Tesla account", site_id)
    return {site_id: offered[site_id] for site_id in sorted(wanted & offered.keys())}


def _sync_devices(
    hass: HomeAssistant, entry: ConfigEntry, sites: dict[int, SiteCoordinators]
) -> None:
    """One device per site; devices of sites no longer set up go away.

    A device connected via a kept site (a Wall Connector) stays: which of
    those are gone, wall_connector.py decides from live_status.
    """
    registry = dr.async_get(hass)
    keep: set[str] = set()
    for site in sites.values():
        device = registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            **site_device_info(site.site, site.info.latest),
        )
        keep.add(device.id)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if device.id not in keep and device.via_device_id not in keep:
            remove_device(registry, device.id, entry.entry_id)
