"""HTTP side of the simulated OAuth server: ``/oauth2/v3/authorize`` and ``/oauth2/v3/token``.

Owns the request checks and the answers (consent page, redirects, token JSON).  Codes,
tokens and grants themselves live in ``auth.OAuthServer``; this module never touches
the Fleet API or the sites.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from .auth import TokenError
from .responses import json_response
from .scenario import USER_MAIN
from .state import OAUTH_PREFIX, SimulatorState


class OAuthRoutes:
    """The authorize and token endpoints over ``sim``'s OAuth server."""

    def __init__(self, sim: SimulatorState) -> None:
        """Answer for ``sim``."""
        self.sim = sim

    async def authorize(
        self, request: web.Request, form: dict[str, str] | None
    ) -> web.StreamResponse:
        """GET: the consent page; POST: the decision, answered by a redirect with a code."""
        if request.method == "GET":
            params = dict(request.query)
        elif request.method == "POST":
            params = (
                form
                if form is not None
                else {k: str(v) for k, v in (await request.post()).items()}
            )
        else:
            return web.Response(status=405, text="method not allowed")
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id not in self.sim.oauth.clients:
            return _html(
                400, self.sim.oauth.error_page(f"Unknown client_id {client_id!r}.")
            )
        client = self.sim.oauth.clients[client_id]
        parts = urlsplit(redirect_uri)
        if (
            not redirect_uri
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            return _html(
                400, self.sim.oauth.error_page("A valid redirect_uri is required.")
            )
        if client.redirect_uris and redirect_uri not in client.redirect_uris:
            return _html(
                400,
                self.sim.oauth.error_page(
                    "redirect_uri is not registered for this client."
                ),
            )
        state = params.get("state")
        if params.get("response_type", "code") != "code":
            return _redirect(
                redirect_uri, {"error": "unsupported_response_type", "state": state}
            )
        if request.method == "GET":
            return _html(
                200, self.sim.oauth.authorize_page(params, f"{OAUTH_PREFIX}/authorize")
            )
        # aiohttp caches the parsed form; getall() sees the multi-valued "grant"
        post = await request.post()
        decision = params.get("decision", "approve")
        if decision != "approve":
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        user = params.get("user") or USER_MAIN
        if user not in self.sim.scenario.users:
            return _html(400, self.sim.oauth.error_page(f"Unknown user {user!r}."))
        requested = self.sim.oauth.parse_scopes(params.get("scope") or "")
        if params.get("grant_form"):
            granted_list = {str(v) for v in post.getall("grant", [])} | {"openid"}
            scopes = tuple(s for s in requested if s in granted_list)
        else:
            scopes = requested
        code = self.sim.oauth.issue_code(
            user=user,
            scopes=scopes,
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
        query = {
            "locale": "en-US",
            "code": code,
            "state": state,
            "issuer": self.sim.oauth.issuer,
        }
        return _redirect(redirect_uri, query)

    def token(
        self, raw: bytes, json_body: Any, form: dict[str, str] | None
    ) -> web.Response:
        """The token endpoint: a form (or JSON object) run through ``OAuthServer.grant``."""
        if form is None:
            if isinstance(json_body, dict):
                form = {
                    k: v if isinstance(v, str) else json.dumps(v)
                    for k, v in json_body.items()
                }
            elif raw:
                return json_response(
                    {
                        "error": "invalid_request",
                        "error_description": "unreadable body",
                    },
                    400,
                )
            else:
                form = {}
        try:
            answer = self.sim.oauth.grant(form)
        except TokenError as err:
            return json_response(err.body(), err.status)
        except ValueError as err:
            return json_response(
                {"error": "invalid_request", "error_description": str(err)}, 400
            )
        return json_response(answer)


def _html(status: int, text: str) -> web.Response:
    """An HTML page."""
    return web.Response(status=status, text=text, content_type="text/html")


def _redirect(uri: str, params: Mapping[str, str | None]) -> web.Response:
    """A 302 to ``uri`` with ``params`` (None values left out) added to its query."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return web.Response(status=302, headers={"Location": location})
