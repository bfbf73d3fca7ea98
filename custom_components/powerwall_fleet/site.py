"""Site facts: what an energy site is called, where its clock is, what it has.

One helper per fact, read from ``site_info`` (preferred) and the products
entry, so every entity, action, coordinator and statistic agrees: name, label
and entry title, time zone, battery, solar and grid, model and gateway names.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import lru_cache
import re
from typing import Literal

from homeassistant.util import dt as dt_util

from .const import LOGGER
from .fleet import Product, SiteInfo

# What an IANA zone name can look like ("America/Argentina/Buenos_Aires",
# "Etc/GMT+10"): no absolute paths, no "..", no NUL, nothing long. zoneinfo
# itself raises ValueError/OSError on many such names instead of "not found".
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_ZONE_NAME_MAX = 64

type Component = Literal["battery", "solar", "grid", "home", "grid_services"]


def site_name(product: Product, info: SiteInfo | None) -> str:
    """The site's name: site_info's, else the products entry's, else its id."""
    return (
        (info.site_name if info else None)
        or product.site_name
        or f"Energy site {product.energy_site_id}"
    )


def site_zone(info: SiteInfo | None) -> tzinfo:
    """The site's time zone, else Home Assistant's (every reader of the site's zone uses this)."""
    name = info.time_zone if info is not None else None
    zone = _valid_zone(name) if name else None
    return zone or dt_util.get_default_time_zone()


@lru_cache(maxsize=32)
def _valid_zone(name: str) -> tzinfo | None:
    """The zone called ``name``, or None (warned once per name) when it is not one."""
    zone: tzinfo | None = None
    if len(name) <= _ZONE_NAME_MAX and _ZONE_NAME.fullmatch(name):
        try:
            zone = dt_util.get_time_zone(name)
        except ValueError, OSError:
            zone = None
    if zone is None:
        LOGGER.warning(
            "The site reports an unknown time zone %r; using Home Assistant's",
            name[:_ZONE_NAME_MAX],
        )
    return zone


def site_zone_name(info: SiteInfo | None) -> str:
    """The IANA name of :func:`site_zone` (what Tesla's history endpoints take)."""
    return str(site_zone(info))


def has_battery(info: SiteInfo | None) -> bool:
    """Whether site_info lists a battery."""
    return bool(info and info.components and info.components.battery)


def has_solar(info: SiteInfo | None) -> bool:
    """Whether site_info lists solar."""
    return bool(info and info.components and info.components.solar)


def has_grid(info: SiteInfo | None) -> bool:
    """Whether site_info lists a grid connection."""
    return bool(info and info.components and info.components.grid)


def has_component(info: SiteInfo | None, component: Component) -> bool:
    """Whether the site has ``component`` (every site has a home; grid services need a battery and a grid)."""
    match component:
        case "home":
            return True
        case "battery":
            return has_battery(info)
        case "solar":
            return has_solar(info)
        case "grid":
            return has_grid(info)
        case "grid_services":
            return has_battery(info) and has_grid(info)


def model_name(product: Product, info: SiteInfo | None) -> str | None:
    """The device model: the one naming rule for what a site's hardware is.

    The battery part names, else the gateway's part name when the gateway is
    itself a Powerwall (a Powerwall 3 site may list no batteries), with the
    count when more than one; else Powerwall or Solar from the components.
    """
    components = info.components if info else None
    batteries = (components.batteries if components else None) or ()
    parts = sorted({b.part_name for b in batteries if b.part_name})
    count = len(batteries)
    if not parts and (gateway := gateway_name(info)) and _is_powerwall(gateway):
        parts = [gateway]
        count = (info.battery_count if info else None) or 1
    if parts:
        label = " + ".join(parts)
        return f"{label} x{count}" if count > 1 else label
    product_components = components or product.components
    if product_components is None:
        return None
    if product_components.battery:
        return "Powerwall"
    if product_components.solar:
        return "Solar"
    return None


def gateway_name(info: SiteInfo | None) -> str | None:
    """The first gateway's part name ("Gateway 2", "Powerwall 3"): the device's hardware."""
    components = info.components if info else None
    if components and components.gateways:
        return components.gateways[0].part_name or None
    return None


def _is_powerwall(part_name: str) -> bool:
    return part_name.casefold().startswith("powerwall")


def site_label(product: Product) -> str:
    """How the site picker names a site: its name and id."""
    return f"{product.site_name or 'Energy site'} ({product.energy_site_id})"


def entry_title(products: list[Product]) -> str:
    """A config entry's title from its sites: two names, or the first and a count."""
    names = [site_name(product, None) for product in products]
    if len(names) <= 2:
        return " & ".join(names)
    return f"{names[0]} & {len(names) - 1} more sites"
