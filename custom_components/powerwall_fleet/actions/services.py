"""Every action of the integration, with one target resolver.

``set_backup_reserve``, ``refresh``, ``set_time_of_use`` and
``get_time_of_use`` target energy sites by device (``device_id``) and/or by
config entry (``config_entry_id``: every site of the entry); so do
``override`` and ``cancel_override``, whose schemas and checks live in
override_actions.py and which are registered here with this module's one
target resolver. Targets and input
are checked for every site before any request is sent; the checks of a value
against a site, and the sending, are the controls' own (commands.py). This
module owns the action schemas, target resolution, per-call bookkeeping (the
refresh pace) and the response shapes. It may not hold a control's rule, and
no entity platform imports it.

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

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..commands import (
    BACKUP_RESERVE,
    TIME_OF_USE,
    async_set_backup_reserve,
    async_set_time_of_use,
    check_command_scope,
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
from .override import async_setup_override_actions

if TYPE_CHECKING:
    # Home Assistant 2026.10 validates with probatio and aliases voluptuous to
    # it; 2026.3 uses voluptuous itself. Type against the newer engine.
    import probatio as vol

    from ..coordinator import SiteCoordinators
    from ..runtime import PowerwallFleetConfigEntry
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

_TARGET_FIELDS: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(cv.ensure_list, [cv.string]),
}
SET_BACKUP_RESERVE_SCHEMA = vol.Schema(
    {
        # The range is checked with a translated message, not by the schema.
        vol.Optional(ATTR_PERCENT): vol.Coerce(float),
        vol.Optional(ATTR_CURRENT): cv.boolean,
        **_TARGET_FIELDS,
    }
)
REFRESH_SCHEMA = vol.Schema(_TARGET_FIELDS)
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
        **_TARGET_FIELDS,
    }
)
GET_TIME_OF_USE_SCHEMA = vol.Schema(_TARGET_FIELDS)

type Target = tuple[PowerwallFleetConfigEntry, SiteCoordinators, bool]


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration (once, from async_setup)."""

    async def _set_backup_reserve(call: ServiceCall) -> None:
        await _async_set_backup_reserve(hass, call)

    async def _refresh(call: ServiceCall) -> None:
        await _async_refresh(hass, call)

    async def _set_time_of_use(call: ServiceCall) -> ServiceResponse:
        return await _async_set_time_of_use(hass, call)

    async def _get_time_of_use(call: ServiceCall) -> ServiceResponse:
        return _get_time_of_use_response(hass, call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_BACKUP_RESERVE,
        _set_backup_reserve,
        schema=SET_BACKUP_RESERVE_SCHEMA,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_REFRESH, _refresh, schema=REFRESH_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_TIME_OF_USE,
        _set_time_of_use,
        schema=SET_TIME_OF_USE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_TIME_OF_USE,
        _get_time_of_use,
        schema=GET_TIME_OF_USE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    # override and cancel_override: their own module, the same targets.
    async_setup_override_actions(hass, resolve_targets, _TARGET_FIELDS)


# ------------------------------------------------------------------ targets


def _loaded_entry(
    hass: HomeAssistant, entry_id: str, target: str
) -> PowerwallFleetConfigEntry:
    # Not homeassistant.helpers.service.async_get_config_entry (in both
    # supported versions): it raises Home Assistant's own translation keys,
    # and the actions' refusals (not_our_target, entry_not_loaded) are kept.
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise validation_error("not_our_target", target=target)
    if entry.state is not ConfigEntryState.LOADED:
        raise validation_error("entry_not_loaded", title=entry.title)
    return cast("PowerwallFleetConfigEntry", entry)


def resolve_targets(hass: HomeAssistant, call: ServiceCall) -> list[Target]:
    """The targeted sites: (entry, site, targeted as a device) each once.

    Refuses (ServiceValidationError) before any request.
    """
    device_ids: list[str] = call.data.get(ATTR_DEVICE_ID, [])
    entry_ids: list[str] = call.data.get(ATTR_CONFIG_ENTRY_ID, [])
    if not device_ids and not entry_ids:
        raise validation_error("no_target")
    targets: dict[int, Target] = {}
    registry = dr.async_get(hass)
    for device_id in device_ids:
        device = registry.async_get(device_id)
        site_ids = (
            [value for domain, value in device.identifiers if domain == DOMAIN]
            if device is not None
            else []
        )
        entry_id = next(
            (
                candidate
                for candidate in (device.config_entries if device else ())
                if (found := hass.config_entries.async_get_entry(candidate))
                and found.domain == DOMAIN
            ),
            None,
        )
        if not site_ids or entry_id is None:
            raise validation_error("not_our_target", target=device_id)
        entry = _loaded_entry(hass, entry_id, device_id)
        # A Wall Connector's device (its DIN, not a site id) is no target.
        site = (
            entry.runtime_data.sites.get(int(site_ids[0]))
            if site_ids[0].isdigit()
            else None
        )
        if site is None:  # a device left over from a site no longer set up
            raise validation_error("not_our_target", target=device_id)
        targets[site.site_id] = (entry, site, True)
    for entry_id in entry_ids:
        entry = _loaded_entry(hass, entry_id, entry_id)
        for site in entry.runtime_data.sites.values():
            targets.setdefault(site.site_id, (entry, site, False))
    return list(targets.values())


def _sites(hass: HomeAssistant, call: ServiceCall) -> list[SiteCoordinators]:
    """The targeted sites, each once; refused before any request."""
    return [site for _, site, _ in resolve_targets(hass, call)]


def _check_command_scopes(sites: list[SiteCoordinators]) -> None:
    """Refuse the whole call when any targeted entry's login lacks commands."""
    entries = {id(site.info.config_entry): site.info for site in sites}
    for info in entries.values():
        check_command_scope(info.hass, info.config_entry)


def _device_id(hass: HomeAssistant, site: SiteCoordinators) -> str | None:
    identifier = (DOMAIN, str(site.site_id))
    registry = dr.async_get(hass)
    entry_id = site.info.config_entry.entry_id
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if identifier in device.identifiers:
            return device.id
    return None  # pragma: no cover - every set-up site has its device


# ---------------------------------------------------------- set_backup_reserve


async def _async_set_backup_reserve(hass: HomeAssistant, call: ServiceCall) -> None:
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
    _check_command_scopes(sites)
    failures: list[HomeAssistantError] = []
    for site, reserve in planned:
        try:
            await async_set_backup_reserve(site, reserve)
        except HomeAssistantError as err:
            failures.append(err)
    if failures:
        for failure in failures[1:]:
            LOGGER.error("Setting the backup reserve failed: %s", failure)
        raise failures[0]


def _entry_titles(hass: HomeAssistant, call: ServiceCall) -> list[str]:
    titles = []
    for entry_id in call.data.get(ATTR_CONFIG_ENTRY_ID, []):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None:
            titles.append(entry.title)
    return titles


# ------------------------------------------------------------------ refresh


async def _async_refresh(hass: HomeAssistant, call: ServiceCall) -> None:
    """Re-read live_status and site_info of the targeted sites now."""
    sites = _sites(hass, call)
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


async def _async_set_time_of_use(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    tariff, warnings = tariff_from_call(dict(call.data))
    sites = _sites(hass, call)
    for site in sites:
        require(site, TIME_OF_USE)
    _check_command_scopes(sites)
    for warning in warnings:
        LOGGER.warning("Time-of-use tariff: %s", warning)
    results: list[dict[str, Any]] = []
    for site in sites:
        held = await async_set_time_of_use(site, tariff)
        results.append(
            {
                "site_id": site.site_id,
                "device_id": _device_id(hass, site),
                "name": site.name,
                "confirmed": held.confirmed,
                "differences": held.differences,
            }
        )
    return cast(
        "ServiceResponse",
        {"sites": results, "warnings": [str(warning) for warning in warnings]},
    )


def _get_time_of_use_response(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    results: list[dict[str, Any]] = []
    for site in _sites(hass, call):
        info = site.info.latest
        raw = info.tariff_content_v2 if info is not None else None
        result: dict[str, Any] = {
            "site_id": site.site_id,
            "device_id": _device_id(hass, site),
            "name": site.name,
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
