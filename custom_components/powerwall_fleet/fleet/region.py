"""Which Fleet API region an account lives in.

Owns the regional base URLs, the region hint in an access token and the
``users/region`` call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import aiohttp

from .auth import decode_jwt_claims
from .errors import InvalidResponse
from .json_request import DEFAULT_TIMEOUT, bearer_request
from .models import Region

REGION_BASE_URLS: Final[Mapping[str, str]] = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}


def region_from_token(token: str) -> str | None:
    """Region hint from the token's ``ou_code`` (``na``/``eu``/``cn``)."""
    code = decode_jwt_claims(token).get("ou_code")
    if isinstance(code, str) and code.lower() in REGION_BASE_URLS:
        return code.lower()
    return None


async def discover_region(
    session: aiohttp.ClientSession,
    *,
    access_token: str,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Region:
    """Ask ``users/region`` which region and base URL the account uses.

    ``base_url`` defaults to the region named in the token (``ou_code``), else
    North America; ``users/region`` answers from any region.
    """
    if base_url is None:
        base_url = REGION_BASE_URLS[region_from_token(access_token) or "na"]
    body = await bearer_request(
        session,
        "GET",
        f"{base_url.rstrip('/')}/api/1/users/region",
        access_token,
        timeout=timeout,
    )
    response = body.get("response")
    if not isinstance(response, Mapping):
        raise InvalidResponse("users/region answered without a response object")
    region = Region.from_dict(response)
    if not region.fleet_api_base_url:
        raise InvalidResponse("users/region answered without a base URL")
    return region
