"""Sending commands so that they never fail silently.

Order for every control and action: validate (``ServiceValidationError``
before any request), send, show the new value at once, re-read ``site_info``
and ``live_status`` to confirm. If the site reports something else, the
entities show what the site says and a warning is logged. A failed command
raises a translated ``HomeAssistantError`` and changes nothing shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN, LOGGER
from .fleet import (
    CannotConnect,
    CommandResult,
    DeviceOffline,
    FleetClient,
    FleetError,
    InvalidArgument,
    InvalidRequest,
    LoginRequired,
    MissingScopes,
    RateLimited,
    SiteInfo,
    token_scopes,
)

if TYPE_CHECKING:
    from . import PowerwallFleetConfigEntry
    from .coordinator import SiteCoordinators

COMMAND_SCOPE = "energy_cmds"

type Send = Callable[[FleetClient], Awaitable[CommandResult]]
type Patch = Callable[[SiteInfo], SiteInfo]
type Check = Callable[[SiteInfo], bool]


def check_command_scope(entry: PowerwallFleetConfigEntry) -> None:
    """Refuse before any request when the login lacks ``energy_cmds``."""
    scopes = token_scopes(entry.data["token"]["access_token"])
    if scopes and COMMAND_SCOPE not in scopes:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="missing_command_scope",
            translation_placeholders={"scope": COMMAND_SCOPE},
        )


async def async_send_command(
    site: SiteCoordinators,
    send: Send,
    *,
    what: str,
    patch: Patch | None = None,
    confirm: Check | None = None,
) -> None:
    """Send one command for ``site`` and confirm it (see module docstring)."""
    entry = site.info.config_entry
    check_command_scope(entry)
    site.usage.counts["commands"] += 1
    try:
        await send(site.info.client)
    except FleetError as err:
        await site.async_after_command()
        raise _command_error(site, err, what) from err
    if patch is not None and site.info.latest is not None:
        site.info.async_set_updated_data(patch(site.info.latest))
    await site.async_after_command()
    confirmed = site.info.latest
    if (
        confirm is not None
        and confirmed is not None
        and site.info.last_update_success
        and not confirm(confirmed)
    ):
        LOGGER.warning(
            "Tesla accepted %s for energy site %s, but the site still reports "
            "the previous setting; showing what the site reports",
            what,
            site.site_id,
        )


def _command_error(
    site: SiteCoordinators, err: FleetError, what: str
) -> HomeAssistantError:
    placeholders: dict[str, Any] = {
        "what": what,
        "error": err.error or type(err).__name__,
    }
    if isinstance(err, InvalidArgument):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders=placeholders,
        )
    if isinstance(err, MissingScopes):
        placeholders["scope"] = ", ".join(err.scopes) or COMMAND_SCOPE
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_missing_scope",
            translation_placeholders=placeholders,
        )
    if isinstance(err, LoginRequired):
        site.info.config_entry.async_start_reauth(site.info.hass)
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="reauth_required"
        )
    if isinstance(err, RateLimited):
        placeholders["seconds"] = str(round(err.retry_after or 60))
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_rate_limited",
            translation_placeholders=placeholders,
        )
    if isinstance(err, CannotConnect | DeviceOffline):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_unreachable",
            translation_placeholders=placeholders,
        )
    if isinstance(err, InvalidRequest):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_refused",
            translation_placeholders=placeholders,
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="command_failed",
        translation_placeholders=placeholders,
    )
