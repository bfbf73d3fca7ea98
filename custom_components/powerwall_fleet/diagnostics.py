"""Diagnostics: what an owner can attach to a bug report without giving away secrets.

Owns what is redacted (tokens, the application's identity, the partner domain,
site ids, and whatever in Tesla's payloads identifies the owner or a device)
and what is kept: the payloads' shape and values, each coordinator's state
and the requests sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import CONF_PARTNER_DOMAIN, CONF_REGION, CONF_SITE_IDS, DOMAIN
from .fleet import token_scopes
from .issues import entry_issue_ids

if TYPE_CHECKING:
    from .coordinator import SiteCoordinators
    from .runtime import PowerwallFleetConfigEntry

# Config entry data: credentials and who the account is.
ENTRY_REDACT = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_id",
        "client_secret",
        "auth_implementation",  # named after the owner's developer application
        CONF_PARTNER_DOMAIN,
        CONF_SITE_IDS,
    }
)

# Fleet API payloads (products entry, site_info, live_status): anything that
# identifies the owner, the place or a device.
PAYLOAD_REDACT = frozenset(
    {
        # ids of the site and its hardware
        "id",
        "energy_site_id",
        "gateway_id",
        "asset_site_id",
        "site_id",
        "device_id",
        "warp_site_number",
        "din",
        "serial_number",
        "vin",
        "user_id",
        # the owner and the place
        "site_name",
        "display_name",
        "address",
        "geolocation",
        "latitude",
        "longitude",
        "installation_date",
    }
)

# Issue placeholders that name the entry or the site.
ISSUE_PLACEHOLDER_REDACT = frozenset({"title", "site_id", "site"})


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PowerwallFleetConfigEntry
) -> dict[str, Any]:
    """Diagnostics of one config entry, secrets and identities redacted."""
    data: dict[str, Any] = {
        "entry": {
            "title": REDACTED,
            "state": entry.state.value,
            "data": async_redact_data(dict(entry.data), ENTRY_REDACT),
            "options": dict(entry.options),
            "granted_scopes": _granted_scopes(entry.data.get("token")),
        },
        "issues": _issues(hass, entry),
    }
    if entry.state is not ConfigEntryState.LOADED:
        return data
    runtime = entry.runtime_data
    data["client"] = {
        "base_url": runtime.client.base_url,
        "region": entry.data.get(CONF_REGION),
        "request_counts": dict(sorted(runtime.client.request_counts.items())),
    }
    data["sites"] = [_site(runtime.sites[site_id]) for site_id in sorted(runtime.sites)]
    if runtime.prices is not None:
        # Per site (in the order of "sites"): state and the last pushed tariff.
        data["price_sync"] = runtime.prices.diagnostics()
    return data


def _site(site: SiteCoordinators) -> dict[str, Any]:
    info = site.info.latest
    live = site.live.latest
    return {
        "product": _redact(site.site.raw),
        "site_info": _redact(info.raw) if info is not None else None,
        "live_status": _redact(live.raw) if live is not None else None,
        "coordinators": {
            site.info.endpoint: site.info.health(),
            site.live.endpoint: site.live.health(),
            site.history.endpoint: site.history.health(),
        },
        # Buckets with energy whose price was unknown (no tariff then, price
        # entity unavailable): counted, never priced at a guess.
        "unpriced_buckets": site.history.ledger.unpriced,
        # The history back to the installation date, and the daily
        # comparison of a closed day with Tesla's buckets.
        "lifetime": site.lifetime.health(),
        "day_checks": dict(site.history.day_checks),
        "requests": {
            "since": site.usage.since.isoformat(),
            "total": site.usage.total,
            "by_endpoint": dict(sorted(site.usage.counts.items())),
        },
    }


def _redact(payload: Mapping[str, Any]) -> dict[str, Any]:
    return async_redact_data(_json_safe(dict(payload)), PAYLOAD_REDACT)


# JSON Home Assistant can write: orjson refuses integers beyond 64 bits and
# text with unpaired surrogates, which a hostile payload may carry in any field.
_INT_RANGE = range(-(2**63), 2**64)


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot carry replaced by a short note."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in _INT_RANGE else "(integer too large)"
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return "(invalid text)"
    return value


def _granted_scopes(token: Any) -> list[str] | None:
    """The scopes the access token carries (decoded, not verified)."""
    if not isinstance(token, Mapping):
        return None
    access_token = token.get("access_token")
    if not isinstance(access_token, str):
        return None
    return sorted(token_scopes(access_token))


def _issues(hass: HomeAssistant, entry: PowerwallFleetConfigEntry) -> list[Any]:
    """Open repair issues of the entry, without the ids they are named after."""
    owned = set(entry_issue_ids(entry.entry_id, entry.data.get(CONF_SITE_IDS, [])))
    found: list[dict[str, Any]] = [
        {
            "translation_key": issue.translation_key,
            "severity": issue.severity,
            "is_fixable": issue.is_fixable,
            "placeholders": async_redact_data(
                dict(issue.translation_placeholders or {}), ISSUE_PLACEHOLDER_REDACT
            ),
        }
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.active and issue_id in owned
    ]
    return sorted(found, key=lambda item: str(item["translation_key"]))
