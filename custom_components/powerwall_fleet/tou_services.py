"""Actions for time-of-use tariffs: ``set_time_of_use`` and ``get_time_of_use``.

``set_time_of_use`` takes one of three forms: a full ``tariff_content_v2``
(``tariff``), the simple form (``name``, ``utility``, ``currency``,
``seasons`` of periods with days, start, end, buy and sell price), or the
legacy schedule owners used (``schedule`` + ``prices``). Whatever the form,
the tariff is validated before any request (every problem listed in one
``ServiceValidationError``); after the write site_info is re-read and the
response tells, per site, whether the site holds what was sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from .commands import async_send_command, check_command_scope
from .const import DOMAIN, LOGGER
from .fleet import CommandResult, FleetClient
from .fleet.tariff import (
    Problem,
    Tariff,
    TariffError,
    check_tariff,
    differences,
    parse_tariff,
    period_table,
    resolve,
    tariff_from_legacy,
    tariff_from_simple,
)
from .services import resolve_targets
from .site import site_zone

if TYPE_CHECKING:
    import probatio as vol

    from .coordinator import SiteCoordinators
else:
    import voluptuous as vol

SERVICE_SET_TIME_OF_USE = "set_time_of_use"
SERVICE_GET_TIME_OF_USE = "get_time_of_use"

_TARGETS: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(cv.ensure_list, [cv.string]),
}
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
        **_TARGETS,
    }
)
GET_TIME_OF_USE_SCHEMA = vol.Schema(_TARGETS)


@callback
def async_setup_tou_services(hass: HomeAssistant) -> None:
    """Register the time-of-use actions (once, from async_setup)."""

    async def _set(call: ServiceCall) -> ServiceResponse:
        return await _async_set_time_of_use(hass, call)

    async def _get(call: ServiceCall) -> ServiceResponse:
        return _get_time_of_use(hass, call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_TIME_OF_USE,
        _set,
        schema=SET_TIME_OF_USE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_TIME_OF_USE,
        _get,
        schema=GET_TIME_OF_USE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _invalid(problems: list[Problem]) -> ServiceValidationError:
    return _error(
        "invalid_tariff", problems="; ".join(str(problem) for problem in problems)
    )


def _sites(hass: HomeAssistant, call: ServiceCall) -> list[SiteCoordinators]:
    """The targeted sites, each once; refused before any request."""
    return [site for _, site, _ in resolve_targets(hass, call)]


def _device_id(hass: HomeAssistant, site: SiteCoordinators) -> str | None:
    identifier = (DOMAIN, str(site.site_id))
    registry = dr.async_get(hass)
    entry_id = site.info.config_entry.entry_id
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if identifier in device.identifiers:
            return device.id
    return None  # pragma: no cover - every set-up site has its device


def tariff_from_call(data: dict[str, Any]) -> tuple[Tariff, list[Problem]]:
    """The tariff an action call describes, validated; or ServiceValidationError."""
    forms = [key for key in ("tariff", "seasons", "schedule") if key in data]
    if len(forms) != 1:
        raise _error("tariff_one_form")
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
        raise _invalid(list(err.problems)) from err


async def _async_set_time_of_use(
    hass: HomeAssistant, call: ServiceCall
) -> ServiceResponse:
    tariff, warnings = tariff_from_call(dict(call.data))
    sites = _sites(hass, call)
    for site in sites:
        info = site.info.latest
        if info is not None and not (info.components and info.components.tou_capable):
            raise _error("not_tou_capable", site=site.name)
    for site in sites:
        check_command_scope(site.info.config_entry)
    for warning in warnings:
        LOGGER.warning("Time-of-use tariff: %s", warning)
    payload = tariff.to_dict()
    results: list[dict[str, Any]] = []
    for site in sites:

        async def _send(
            client: FleetClient, site_id: int = site.site_id
        ) -> CommandResult:
            return await client.set_time_of_use(site_id, payload)

        await async_send_command(
            site,
            _send,
            what=f"the time-of-use tariff for {site.name}",
            confirm=lambda info: not _held_differences(tariff, info.tariff_content_v2),
        )
        held = site.info.latest.tariff_content_v2 if site.info.latest else None
        found = _held_differences(tariff, held)
        results.append(
            {
                "site_id": site.site_id,
                "device_id": _device_id(hass, site),
                "name": site.name,
                "confirmed": site.info.last_update_success and not found,
                "differences": found,
            }
        )
    return cast(
        "ServiceResponse",
        {"sites": results, "warnings": [str(warning) for warning in warnings]},
    )


def _held_differences(sent: Tariff, held: Any) -> list[str]:
    """What the site holds differently; ``tariff_content_v2`` when unreadable."""
    try:
        return differences(sent, parse_tariff(held))
    except TariffError:
        return ["tariff_content_v2"]


def _get_time_of_use(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
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
