"""JSON over HTTP for the one-shot calls outside :class:`FleetClient`.

Owns their default timeout, sending one request and decoding its answer (token
endpoint, partner and region calls), and the bearer-token request they share.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import os
import socket
from typing import Any, Final

import aiohttp

from .errors import CannotConnect, InvalidResponse, error_from_response

DEFAULT_TIMEOUT: Final = 30.0


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    timeout: float,
    headers: Mapping[str, str],
    data: Mapping[str, str] | None = None,
    json_body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; its status, headers and raw body.

    A timeout or network error becomes :class:`CannotConnect` naming ``what``.
    """
    try:
        async with session.request(
            method,
            url,
            headers=dict(headers),
            data=None if data is None else dict(data),
            json=json_body,
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            return resp.status, dict(resp.headers), await resp.read()
    except TimeoutError as err:
        raise CannotConnect(f"Timed out talking to {what}") from err
    except aiohttp.ClientError as err:
        raise CannotConnect(f"Could not reach {what}: {network_reason(err)}") from err


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
    status, headers, raw = await fetch(
        session,
        method,
        url,
        what="the Fleet API",
        timeout=timeout,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        json_body=json_body,
        params=params,
    )
    body = json_or_none(raw)
    if status >= 400:
        raise error_from_response(status, body, headers, secrets=(token,))
    if not isinstance(body, Mapping):
        raise InvalidResponse(
            "The Fleet API did not answer a JSON object", status=status
        )
    return body


def network_reason(err: BaseException) -> str:
    """What went wrong on the way to a server, in words (never a class name)."""
    if isinstance(
        err, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)
    ):
        return "its certificate was not accepted"
    if isinstance(err, aiohttp.ClientConnectorError):
        where = f"{err.host}:{err.port}"
        if isinstance(err.os_error, socket.gaierror):
            return f"the name {err.host} was not found"
        return f"{_os_words(err.os_error)} ({where})"
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(err, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    if isinstance(err, aiohttp.InvalidURL):
        return "the URL is not valid"
    if isinstance(err, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(err, OSError):
        return _os_words(err)
    return "a network error"


def _os_words(err: OSError) -> str:
    """``connection refused``, not ``Connect call failed ('127.0.0.1', 1)``."""
    if err.errno:
        return os.strerror(err.errno).lower()
    return "a network error"


def json_or_none(raw: bytes) -> Any:
    """The decoded JSON of a body; None when empty, the text when not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
