"""Partner registration with the Fleet API.

Owns the partner (client-credentials) token, the partner domain check, the
public key's URL, registering the domain in a region and asking which public
key Tesla holds for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
from typing import Final

import aiohttp

from .auth import TOKEN_URL, TokenSet, token_request
from .errors import InvalidArgument, InvalidResponse, NotFound
from .json_request import DEFAULT_TIMEOUT, bearer_request
from .models import PartnerAccount

PARTNER_SCOPES: Final = ("openid", "energy_device_data", "energy_cmds")
PUBLIC_KEY_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


async def partner_token(
    session: aiohttp.ClientSession,
    *,
    client_id: str,
    client_secret: str,
    audience: str,
    scopes: Sequence[str] = PARTNER_SCOPES,
    token_url: str = TOKEN_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Client-credentials token for partner endpoints (lives ~8 h, free)."""
    return await token_request(
        session,
        token_url,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
            "scope": " ".join(scopes),
        },
        secrets=(client_secret,),
        timeout=timeout,
    )


def normalize_domain(domain: str) -> str:
    """Validate a partner domain as Tesla wants it: lowercase host, no scheme.

    Strips a scheme, path and trailing dot; raises :class:`InvalidArgument`
    (``error`` says why: ``invalid_domain`` or ``domain_contains_tesla``).
    """
    if not isinstance(domain, str):
        raise InvalidArgument("The domain must be text", error="invalid_domain")
    host = domain.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].rstrip(".")
    if ":" in host or "@" in host:
        raise InvalidArgument(
            "The domain must be a host name without port or user",
            error="invalid_domain",
        )
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
    ):
        raise InvalidArgument(
            f"{domain!r} is not a valid domain name", error="invalid_domain"
        )
    if "tesla" in host:
        raise InvalidArgument(
            "Tesla refuses partner domains that contain 'tesla'",
            error="domain_contains_tesla",
        )
    return host


def public_key_url(domain: str) -> str:
    """Where Tesla downloads the partner public key from."""
    return f"https://{normalize_domain(domain)}{PUBLIC_KEY_PATH}"


async def register_partner(
    session: aiohttp.ClientSession,
    *,
    partner_token: str,
    base_url: str,
    domain: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> PartnerAccount:
    """Register the application's domain (and so its public key) in a region."""
    host = normalize_domain(domain)
    body = await bearer_request(
        session,
        "POST",
        f"{base_url.rstrip('/')}/api/1/partner_accounts",
        partner_token,
        timeout=timeout,
        json_body={"domain": host},
    )
    response = body.get("response") if isinstance(body, Mapping) else None
    return PartnerAccount.from_dict(response)


async def partner_public_key(
    session: aiohttp.ClientSession,
    *,
    partner_token: str,
    base_url: str,
    domain: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> str | None:
    """Hex of the public key Tesla holds for ``domain`` in a region, or None."""
    host = normalize_domain(domain)
    try:
        body = await bearer_request(
            session,
            "GET",
            f"{base_url.rstrip('/')}/api/1/partner_accounts/public_key",
            partner_token,
            timeout=timeout,
            params={"domain": host},
        )
    except NotFound:
        return None
    response = body.get("response") if isinstance(body, Mapping) else None
    if not isinstance(response, Mapping):
        raise InvalidResponse("The public_key answer has no response object")
    key = response.get("public_key")
    if key is None or key == "":
        return None
    if not isinstance(key, str):
        raise InvalidResponse("The public_key answer is not text")
    return key.lower()
