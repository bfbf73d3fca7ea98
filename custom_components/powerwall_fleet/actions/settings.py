"""The settings actions: ``set_backup_reserve``, ``refresh``, ``set_time_of_use``, ``get_time_of_use``.

Their schemas, the per-call bookkeeping (the refresh pace) and the response
shapes; the checks of a value against a site, and the sending, are the
controls' own (commands.py), and targets come from target.py. Every site is
checked before any request is sent.

``set_time_of_use`` takes one of three forms: a full ``tariff_content_v2``
(``tariff``), the simple form (``name``, ``utility``, ``currency``,
``seasons`` of periods with days, start, end, buy and sell price), or the
legacy schedule owners used (``schedule`` + ``prices``). Whatever the form,
the tariff is validated before any request (every problem listed in one
``ServiceValidationError``); after the write site_info is re-read and the
response tells, per site, whether the site holds what was sent.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..commands import (
    BACKUP_RESERVE,
    TIME_OF_USE,
    async_set_backup_reserve,
    async_set_time_of_use,
    require,
    validate,
    validation_error,
)
from ..const import DOMAIN, LOGGER
from ..fleet.tariff import (
    Problem,
    Tariff,
    TariffError,
    check_tariff,
    parse_tariff,
    period_table,
    resolve,
    tariff_from_legacy,
    tariff_from_simple,
)
from ..site import site_zone
from .target import (
    TARGET_FIELDS,
    async_for_each,
    check_command_scopes,
    resolve_targets,
    site_fields,
    target_sites,
)

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol

    from ..coordinator import SiteCoordinators
else:
    import voluptuous as vol

SERVICE_SET_BACKUP_RESERVE = "set_backup_reserve"
SERVICE_REFRESH = "refresh"
SERVICE_SET_TIME_OF_USE = "set_time_of_use"
SERVICE_GET_TIME_OF_USE = "get_time_of_use"
ATTR_PERCENT = "percent"
ATTR_CURRENT = "current"

# A manual refresh costs two requests per site; automations may not loop it.
REFRESH_INTERVAL = timedelta(seconds=60)
_LAST_REFRESH: HassKey[dict[int, datetime]] = HassKey(f"{DOMAIN}_last_refresh")

SET_BACKUP_RESERVE_SCHEMA = vol.Schema(
    {
        # The range is checked with a translated message, not by the schema.
        vol.Optional(ATTR_PERCENT): vol.Coerce(float),
        vol.Optional(ATTR_CURRENT): cv.boolean,
        **TARGET_FIELDS,
    }
)
REFRESH_SCHEMA = vol.Schema(TARGET_FIELDS)
SET_TIME_OF_USE_SCHEMA = vol.Schema(
    {
        # Content is checked by the tariff validator, with every problem named.
        vol.Optional("tariff"): dict,
        vol.Optional("name"): cv.string,
        vol.Optional("utility"): cv.string,
        vol.Optional("currency"): cv.string,
        vol.Optional("code"): cv.string,
        vol.Optional("seasons"): list,
        vol.Optional("schedule"): vol.Any(list, dict),
        vol.Optional("prices"): dict,
        **TARGET_FIELDS,
    }
)
GET_TIME_OF_USE_SCHEMA = vol.Schema(TARGET_FIELDS)

# ---------------------------------------------------------- set_backup_reserve


async def async_handle_set_backup_reserve(
    hass: HomeAssistant, call: ServiceCall
) -> None:
    """Validate every target first, then send to each site."""
    percent: float | None = call.data.get(ATTR_PERCENT)
    current: bool = call.data.get(ATTR_CURRENT, False)
    if (percent is None) is not current:
        raise validation_error("percent_or_current")
    value: float | Literal["current"] = "current" if percent is None else percent
    sites = [
        site
        for _, site, explicit in resolve_targets(hass, call)
        # An entry's solar-only site has no reserve to set; a device is checked.
        if explicit
        or site.info.latest is None
        or BACKUP_RESERVE.exists(site.info.latest)
    ]
    if not sites:
        raise validation_error("no_battery", site=", ".join(_entry_titles(hass, call)))
    planned = [(site, validate(site, BACKUP_RESERVE, value)) for site in sites]
    check_command_scopes(sites)

    async def _send(plan: tuple[SiteCoordinators, float]) -> None:
        await async_set_backup_reserve(*plan)

    await async_for_each(planned, _send, "Setting the backup reserve")


def _entry_titles(hass: HomeAssistant, call: ServiceCall) -> list[str]:
    titles = []
    for entry_id in call.data.get(ATTR_CONFIG_ENTRY_ID, []):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None:
            titles.append(entry.title)
    return titles


# ------------------------------------------------------------------ refresh


async def async_handle_refresh(hass: HomeAssistant, call: ServiceCall) -> None:
    """Re-read live_status and site_info of the targeted sites now."""
    sites = target_sites(hass, call)
    now = dt_util.utcnow()
    last = hass.data.setdefault(_LAST_REFRESH, {})
    for site in sites:
        previous = last.get(site.site_id)
        if previous is not None and now - previous < REFRESH_INTERVAL:
            raise validation_error(
                "refresh_too_soon",
                site=site.name,
                seconds=str(round(REFRESH_INTERVAL.total_seconds())),
            )
    for site in sites:
        last[site.site_id] = now
    coordinators = [c for site in sites for c in (site.info, site.live)]
    await asyncio.gather(*(coordinator.async_refresh() for coordinator in coordinators))
    for coordinator in coordinators:
        if not coordinator.last_update_success:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={
                    "endpoint": coordinator.what,
                    "error": coordinator.last_problem or "no answer",
                },
            )


# ----------------------------------------------------- set/get_time_of_use


def tariff_from_call(data: dict[str, Any]) -> tuple[Tariff, list[Problem]]:
    """The tariff an action call describes, validated; or ServiceValidationError."""
    forms = [key for key in ("tariff", "seasons", "schedule") if key in data]
    if len(forms) != 1:
        raise validation_error("tariff_one_form")
    try:
        if "tariff" in data:
            return check_tariff(data["tariff"])
        if "seasons" in data:
            return check_tariff(tariff_from_simple(data))
        return check_tariff(
            tariff_from_legacy(
                data["schedule"],
                prices=data.get("prices", {}),
                name=data.get("name", "Time of use"),
                utility=data.get("utility", ""),
                currency=data.get("currency", "USD"),
                code=data.get("code"),
            )
        )
    except TariffError as err:
        raise validation_error(
            "invalid_tariff",
            problems="; ".join(str(problem) for problem in err.problems),
        ) from err


async def async_handle_set_time_of_use(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    """Validate the tariff and every site first, then write it to each site."""
    tariff, warnings = tariff_from_call(dict(call.data))
    sites = target_sites(hass, call)
    for site in sites:
        require(site, TIME_OF_USE)
    check_command_scopes(sites)
    for warning in warnings:
        LOGGER.warning("Time-of-use tariff: %s", warning)

    async def _send(site: SiteCoordinators) -> dict[str, Any]:
        held = await async_set_time_of_use(site, tariff)
        return {
            **site_fields(hass, site),
            "confirmed": held.confirmed,
            "differences": held.differences,
        }

    results = await async_for_each(sites, _send, "Setting the time-of-use tariff")
    return cast(
        "ServiceResponse",
        {"sites": results, "warnings": [str(warning) for warning in warnings]},
    )


def handle_get_time_of_use(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Each targeted site's tariff as Tesla holds it, with the period now."""
    results: list[dict[str, Any]] = []
    for site in target_sites(hass, call):
        info = site.info.latest
        raw = info.tariff_content_v2 if info is not None else None
        result: dict[str, Any] = {
            **site_fields(hass, site),
            "time_zone": str(site_zone(info)),
            "tariff": dict(raw) if raw is not None else None,
        }
        if raw is not None:
            try:
                tariff = parse_tariff(raw)
            except TariffError as err:
                result["problems"] = [str(problem) for problem in err.problems]
            else:
                point = resolve(tariff, dt_util.utcnow(), site_zone(info))
                result["currency"] = tariff.currency
                result["periods"] = period_table(tariff)
                result["current"] = {
                    "season": point.season,
                    "period": point.period,
                    "buy": point.buy,
                    "sell": point.sell,
                }
        results.append(result)
    return cast("ServiceResponse", {"sites": results})
