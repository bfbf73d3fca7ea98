"""JSON responses shared by the simulator's HTTP routes.

Owns how a JSON answer and a Tesla-style error answer are written.  No routing and no
simulator state: every ``*_routes.py`` module and ``server.py`` build their answers here.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .faults import tesla_error


def json_response(data: Any, status: int = 200) -> web.Response:
    """``data`` as an application/json response."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def error_response(
    status: int, error: str | None = None, description: str = ""
) -> web.Response:
    """Tesla's error body (see ``faults.tesla_error``) with ``status``."""
    return json_response(tesla_error(status, error, description), status)
