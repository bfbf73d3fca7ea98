"""Every action of the integration, registered once from ``async_setup``.

settings.py holds the settings actions (backup reserve, refresh, time of
use), override.py the override actions, dispatch.py the dispatch action; target.py is the one target resolver
they all use.
"""

from __future__ import annotations

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)

from ..const import DOMAIN
from .dispatch import DISPATCH_SCHEMA, SERVICE_DISPATCH, async_handle_dispatch
from .override import (
    CANCEL_OVERRIDE_SCHEMA,
    SERVICE_CANCEL_OVERRIDE,
    SERVICE_OVERRIDE,
    async_handle_cancel_override,
    async_handle_override,
    override_schema,
)
from .settings import (
    GET_TIME_OF_USE_SCHEMA,
    REFRESH_SCHEMA,
    SERVICE_GET_TIME_OF_USE,
    SERVICE_REFRESH,
    SERVICE_SET_BACKUP_RESERVE,
    SERVICE_SET_TIME_OF_USE,
    SET_BACKUP_RESERVE_SCHEMA,
    SET_TIME_OF_USE_SCHEMA,
    async_handle_refresh,
    async_handle_set_backup_reserve,
    async_handle_set_time_of_use,
    handle_get_time_of_use,
)
from .target import TARGET_FIELDS


@callback
def async_setup_actions(hass: HomeAssistant) -> None:
    """Register every action of the integration (once, from async_setup)."""

    async def _set_backup_reserve(call: ServiceCall) -> None:
        await async_handle_set_backup_reserve(hass, call)

    async def _refresh(call: ServiceCall) -> None:
        await async_handle_refresh(hass, call)

    async def _set_time_of_use(call: ServiceCall) -> ServiceResponse:
        return await async_handle_set_time_of_use(hass, call)

    async def _get_time_of_use(call: ServiceCall) -> ServiceResponse:
        return handle_get_time_of_use(hass, call)

    async def _override(call: ServiceCall) -> ServiceResponse:
        return await async_handle_override(hass, call)

    async def _cancel_override(call: ServiceCall) -> ServiceResponse:
        return await async_handle_cancel_override(hass, call)

    async def _dispatch(call: ServiceCall) -> ServiceResponse:
        return await async_handle_dispatch(hass, call)

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
    hass.services.async_register(
        DOMAIN,
        SERVICE_OVERRIDE,
        _override,
        schema=override_schema(TARGET_FIELDS),
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CANCEL_OVERRIDE,
        _cancel_override,
        schema=CANCEL_OVERRIDE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_DISPATCH,
        _dispatch,
        schema=DISPATCH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
