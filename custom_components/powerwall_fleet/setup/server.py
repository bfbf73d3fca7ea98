"""Which Fleet API server a config flow or entry talks to.

Owns the server settings an entry stores (Tesla's, or for developers a custom
Fleet-API-compatible server such as the simulator), what a custom server's
URLs must look like and which region URLs may receive the account's token.
"""

from __future__ import annotations

from collections.abc import Mapping
import os
from typing import Any
from urllib.parse import urlsplit

from ..const import (
    CONF_AUTHORIZE_URL,
    CONF_BASE_URL,
    CONF_SERVER,
    CONF_TOKEN_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_URL,
    DEVELOPER_ENV,
    SERVER_CUSTOM,
    SERVER_TESLA,
)
from ..fleet import REGION_BASE_URLS, WrongRegion


def developer_mode() -> bool:
    """Whether custom (non-Tesla) servers may be chosen.

    Home Assistant 2026.10 dropped "advanced mode" for flows, so the choice of
    a Fleet-API-compatible server (the simulator) hides behind an explicit
    switch that only developers set: ``POWERWALL_FLEET_DEVELOPER=1``.
    """
    return os.environ.get(DEVELOPER_ENV) == "1"


def server_from_entry(data: Mapping[str, Any]) -> dict[str, str]:
    """The server an entry's data names; Tesla's (North America) for what it lacks."""
    return {
        CONF_SERVER: data.get(CONF_SERVER, SERVER_TESLA),
        CONF_BASE_URL: data.get(CONF_BASE_URL, REGION_BASE_URLS["na"]),
        CONF_AUTHORIZE_URL: data.get(CONF_AUTHORIZE_URL, DEFAULT_AUTHORIZE_URL),
        CONF_TOKEN_URL: data.get(CONF_TOKEN_URL, DEFAULT_TOKEN_URL),
    }


def tesla_server() -> dict[str, str]:
    """Tesla's server, starting in North America."""
    return server_from_entry({})


def custom_server(base_url: str, auth_url: str) -> dict[str, str]:
    """A Fleet-API-compatible server at ``base_url``, signing in at ``auth_url``."""
    return {
        CONF_SERVER: SERVER_CUSTOM,
        CONF_BASE_URL: base_url,
        CONF_AUTHORIZE_URL: f"{auth_url}/oauth2/v3/authorize",
        CONF_TOKEN_URL: f"{auth_url}/oauth2/v3/token",
    }


def is_http_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL with a host."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def trusted_base(server: Mapping[str, str], reported: str | None) -> str:
    """The region's base URL, if it belongs to the chosen server.

    Tesla's regions are https hosts under tesla.com or tesla.cn; a custom
    server's stay on its own scheme and host. Anything else raises
    :class:`WrongRegion` before the account's token is sent there.
    """
    current = server[CONF_BASE_URL]
    if not reported:
        return current
    reported = reported.rstrip("/")
    new, old = urlsplit(reported), urlsplit(current)
    if server[CONF_SERVER] == SERVER_TESLA:
        trusted = new.scheme == "https" and (new.hostname or "").endswith(
            (".tesla.com", ".tesla.cn")
        )
    else:
        trusted = (new.scheme, new.hostname) == (old.scheme, old.hostname)
    if not trusted:
        raise WrongRegion(
            f"Untrusted region URL {reported}", base_url=reported, description=reported
        )
    return reported
