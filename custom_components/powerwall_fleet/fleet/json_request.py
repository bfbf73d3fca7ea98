"""JSON over HTTP for the one-shot calls outside :class:`FleetClient`.

Owns the default timeout of those calls, the decoding of an answer's body and
the bearer-token request that the partner and region calls share. It imports
nothing from Home Assistant and never puts a token in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Any, Final

import aiohttp

from .errors import CannotConnect, InvalidResponse, error_from_response

DEFAULT_TIMEOUT: Final = 30.0


async def bearer_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str,
    *,
    timeout: float,
    json_body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
) -> Any:
    """Send a request with ``token`` as bearer; the answer's JSON object."""
    try:
        async with session.request(
            method,
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            json=json_body,
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            status = resp.status
            headers = dict(resp.headers)
            raw = await resp.read()
    except TimeoutError as err:
        raise CannotConnect("Timed out talking to the Fleet API") from err
    except aiohttp.ClientError as err:
        raise CannotConnect(
            f"Cannot reach the Fleet API: {type(err).__name__}"
        ) from err
    body = json_or_none(raw)
    if status >= 400:
        raise error_from_response(status, body, headers, secrets=(token,))
    if not isinstance(body, Mapping):
        raise InvalidResponse(
            "The Fleet API did not answer a JSON object", status=status
        )
    return body


def json_or_none(raw: bytes) -> Any:
    """The decoded JSON of a body; None when empty, the text when not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
