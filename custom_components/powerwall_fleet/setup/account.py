"""What signing in tells about the account, and how a failure is shown.

Owns the checks the config flow runs after Tesla's sign-in (a client on the
fresh token, one site_info per chosen site) and the abort reason and
placeholders of a Fleet error then.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..fleet import (
    CannotConnect,
    FleetClient,
    FleetError,
    LoginRequired,
    MissingScopes,
    PartnerNotRegistered,
    Product,
    RateLimited,
    WrongRegion,
    site_is_unavailable,
)
from ..issues import permission_names
from ..site import site_label
from .partner import error_detail


class SiteCheckFailed(Exception):
    """A chosen site did not answer: ``reason`` is the error/abort key."""

    def __init__(self, reason: str, site_name: str, scopes: str = "") -> None:
        """Remember what to show: the reason, the site and any missing scopes."""
        super().__init__(reason)
        self.reason = reason
        self.site_name = site_name
        self.scopes = scopes


@dataclass(frozen=True, slots=True)
class SignInFailure:
    """The abort a Fleet error after sign-in ends the flow with."""

    reason: str
    placeholders: dict[str, str] | None = None


def fleet_client(hass: HomeAssistant, access_token: str, base_url: str) -> FleetClient:
    """A client on a token the flow holds (no refresh: the flow is short)."""

    async def token() -> str:
        return access_token

    return FleetClient(async_get_clientsession(hass), token, base_url)


async def async_check_sites(client: FleetClient, sites: dict[int, Product]) -> None:
    """Read site_info of every site; raise :class:`SiteCheckFailed` for the first that fails."""
    for site_id, product in sites.items():
        try:
            await client.site_info(site_id)
        except FleetError as err:
            name = site_label(product)
            if site_is_unavailable(err):
                raise SiteCheckFailed("site_unavailable", name) from err
            if isinstance(err, MissingScopes):
                raise SiteCheckFailed(
                    "missing_scopes", name, permission_names(err.scopes) or "?"
                ) from err
            raise SiteCheckFailed("cannot_connect", name) from err


def sign_in_failure(err: FleetError) -> SignInFailure:
    """The abort reason (and placeholders) for a Fleet error after sign-in."""
    if isinstance(err, PartnerNotRegistered):
        return SignInFailure(reason="partner_not_registered")
    if isinstance(err, MissingScopes):
        return SignInFailure(
            reason="missing_scopes",
            placeholders={"scopes": permission_names(err.scopes) or "?"},
        )
    if isinstance(err, LoginRequired):
        return SignInFailure(reason="oauth_unauthorized")
    if isinstance(err, RateLimited):
        return SignInFailure(reason="rate_limited")
    if isinstance(err, WrongRegion):
        return SignInFailure(
            reason="wrong_region", placeholders={"detail": error_detail(err)}
        )
    if isinstance(err, CannotConnect):
        return SignInFailure(reason="cannot_connect")
    return SignInFailure(reason="api_error", placeholders={"detail": error_detail(err)})
