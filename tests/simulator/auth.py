"""Simulated Tesla OAuth 2 server: authorize page, codes, token grants, token store."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import hashlib
import hmac
import html
import json
import secrets
from typing import Any

from .clock import SimClock
from .scenario import (
    APP_NAME,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SCOPES,
    KNOWN_SCOPES,
    Scenario,
)

CODE_LIFETIME = 600.0
REFRESH_LIFETIME = 90 * 86400.0
PARTNER_DEFAULT_SCOPES = ("openid", "energy_device_data", "energy_cmds")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """Decode a JWT payload without verifying it (helper for tests)."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims


@dataclass(slots=True)
class AccessToken:
    """An issued access token."""

    token: str
    subject: str  # user id, or the client id for partner tokens
    client_id: str
    scopes: frozenset[str]
    region: str | None
    partner: bool
    issued_at: float
    expires_at: float


@dataclass(slots=True)
class RefreshToken:
    """An issued refresh token (single use, rotates)."""

    token: str
    user: str
    client_id: str
    scopes: tuple[str, ...]
    region: str
    expires_at: float
    used_at: float | None = None


@dataclass(slots=True)
class AuthCode:
    """An authorization code waiting to be exchanged."""

    code: str
    user: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    used: bool = False


@dataclass(slots=True)
class OAuthClient:
    """A registered developer application."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI is accepted


@dataclass
class TokenError(Exception):
    """An OAuth error answer."""

    status: int
    error: str
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body Tesla's token endpoint sends."""
        return {
            "error": self.error,
            "error_description": self.description,
            **self.extra,
        }


class OAuthServer:
    """Token store and grant logic (HTTP-agnostic)."""

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        *,
        access_token_lifetime: int,
        url: Callable[[], str],
    ) -> None:
        """Create the server for ``scenario``; ``url`` returns the simulator's root URL."""
        self.scenario = scenario
        self.clock = clock
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_grace = 0.0  # seconds a rotated refresh token stays usable
        self._url = url
        self._key = secrets.token_bytes(32)
        self.clients: dict[str, OAuthClient] = {
            CLIENT_ID: OAuthClient(CLIENT_ID, CLIENT_SECRET, APP_NAME)
        }
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def issuer(self) -> str:
        """Token issuer (``iss``)."""
        return f"{self._url()}/oauth2/v3"

    def _jwt(self, claims: Mapping[str, Any]) -> str:
        header = _b64url(
            json.dumps({"alg": "RS256", "typ": "JWT", "kid": "sim-key"}).encode()
        )
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode()
        sig = _b64url(hmac.new(self._key, signing_input, hashlib.sha256).digest())
        return f"{header}.{payload}.{sig}"

    def _region_of(self, user: str) -> str:
        try:
            return self.scenario.users[user].region
        except KeyError:
            raise ValueError(f"unknown user {user!r}") from None

    def _check_client(
        self, client_id: str | None, secret: str | None, *, secret_required: bool
    ) -> OAuthClient:
        if not client_id:
            raise TokenError(400, "invalid_request", "client_id is required")
        client = self.clients.get(client_id)
        if client is None:
            raise TokenError(401, "invalid_client", "unknown client_id")
        if secret is None:
            if secret_required:
                raise TokenError(401, "invalid_client", "client_secret is required")
        elif not hmac.compare_digest(secret, client.client_secret):
            raise TokenError(401, "invalid_client", "client authentication failed")
        return client

    @staticmethod
    def parse_scopes(
        scope: str | Sequence[str] | None, default: Sequence[str] = DEFAULT_SCOPES
    ) -> tuple[str, ...]:
        """Normalize a space-separated scope string (unknown scopes dropped, order kept)."""
        if scope is None:
            return tuple(default)
        items = scope.split() if isinstance(scope, str) else list(scope)
        seen: list[str] = []
        for item in items:
            if item in KNOWN_SCOPES and item not in seen:
                seen.append(item)
        return tuple(seen)

    # ------------------------------------------------------------------ codes
    def issue_code(
        self,
        *,
        user: str,
        scopes: Sequence[str],
        client_id: str,
        redirect_uri: str,
        state: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
    ) -> str:
        """Create a single-use authorization code (valid 10 minutes)."""
        region = self._region_of(user)
        code = f"{region.upper()}_{secrets.token_hex(32)}"
        self.codes[code] = AuthCode(
            code=code,
            user=user,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=tuple(scopes),
            state=state,
            expires_at=self.clock.timestamp() + CODE_LIFETIME,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
        )
        return code

    # ------------------------------------------------------------------ tokens
    def issue_tokens(
        self,
        *,
        user: str,
        scopes: Sequence[str],
        client_id: str,
        state: str | None = None,
    ) -> dict[str, Any]:
        """Issue access (+ refresh + id) tokens for ``user`` like a code exchange does."""
        region = self._region_of(user)
        scopes = tuple(scopes)
        now = self.clock.timestamp()
        access = self._access_token(
            subject=user,
            client_id=client_id,
            scopes=scopes,
            region=region,
            partner=False,
        )
        result: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "token_type": "Bearer",
        }
        if "offline_access" in scopes:
            refresh = f"{region.upper()}_{secrets.token_hex(32)}"
            self.refresh_tokens[refresh] = RefreshToken(
                token=refresh,
                user=user,
                client_id=client_id,
                scopes=scopes,
                region=region,
                expires_at=now + REFRESH_LIFETIME,
            )
            result["refresh_token"] = refresh
        if "openid" in scopes:
            account = self.scenario.users[user]
            result["id_token"] = self._jwt(
                {
                    "iss": self.issuer,
                    "aud": client_id,
                    "sub": user,
                    "email": account.email,
                    "email_verified": True,
                    "name": account.full_name,
                    "iat": int(now),
                    "exp": int(now + self.access_token_lifetime),
                    "auth_time": int(now),
                }
            )
        if state is not None:
            result["state"] = state
        return result

    def _access_token(
        self,
        *,
        subject: str,
        client_id: str,
        scopes: Sequence[str],
        region: str | None,
        partner: bool,
    ) -> str:
        now = self.clock.timestamp()
        exp = now + self.access_token_lifetime
        root = self._url()
        claims: dict[str, Any] = {
            "iss": f"{self.issuer}/nts",
            "azp": client_id,
            "sub": subject,
            "aud": [f"{root}/na", f"{root}/eu", f"{root}/oauth2/v3/userinfo"],
            "scp": list(scopes),
            "amr": [] if partner else ["pwd", "mfa", "otp"],
            "exp": int(exp),
            "iat": int(now),
            "jti": secrets.token_hex(8),
        }
        if partner:
            claims["partner"] = True
            claims["account_type"] = "business"
        else:
            claims["ou_code"] = (region or "na").upper()
            claims["locale"] = "en-US"
            claims["account_type"] = "person"
            claims["open_source"] = False
            claims["auth_time"] = int(now)
        token = self._jwt(claims)
        self.access_tokens[token] = AccessToken(
            token=token,
            subject=subject,
            client_id=client_id,
            scopes=frozenset(scopes),
            region=region,
            partner=partner,
            issued_at=now,
            expires_at=exp,
        )
        return token

    def lookup_access(self, token: str) -> AccessToken | None:
        """The stored access token (even if expired), or None for unknown/revoked tokens."""
        return self.access_tokens.get(token)

    def revoke_user(self, user: str) -> None:
        """Password change: every token of ``user`` dies."""
        for key in [
            k
            for k, v in self.access_tokens.items()
            if not v.partner and v.subject == user
        ]:
            del self.access_tokens[key]
        for key in [k for k, v in self.refresh_tokens.items() if v.user == user]:
            del self.refresh_tokens[key]
        for key in [k for k, v in self.codes.items() if v.user == user]:
            del self.codes[key]

    # ------------------------------------------------------------------ grants
    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Run the token endpoint for ``form``; raises TokenError on failure."""
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._grant_code(form)
        if grant_type == "refresh_token":
            return self._grant_refresh(form)
        if grant_type == "client_credentials":
            return self._grant_client_credentials(form)
        if not grant_type:
            raise TokenError(400, "invalid_request", "grant_type is required")
        raise TokenError(
            400, "unsupported_grant_type", f"unsupported grant_type {grant_type!r}"
        )

    def _grant_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        code_value = form.get("code")
        redirect_uri = form.get("redirect_uri")
        if not code_value or not redirect_uri:
            raise TokenError(
                400, "invalid_request", "code and redirect_uri are required"
            )
        verifier = form.get("code_verifier")
        code = self.codes.get(code_value)
        pkce = code is not None and code.code_challenge is not None
        client = self._check_client(
            form.get("client_id"), form.get("client_secret"), secret_required=not pkce
        )
        now = self.clock.timestamp()
        if code is None or code.used or code.expires_at <= now:
            raise TokenError(
                400,
                "invalid_grant",
                "authorization code is invalid, expired or already used",
            )
        if code.client_id != client.client_id or code.redirect_uri != redirect_uri:
            raise TokenError(
                400,
                "invalid_grant",
                "authorization code was issued to another client or redirect_uri",
            )
        if code.code_challenge is not None:
            if not verifier:
                raise TokenError(400, "invalid_grant", "code_verifier is required")
            digest = _b64url(hashlib.sha256(verifier.encode()).digest())
            expected = digest if code.code_challenge_method == "S256" else verifier
            if expected != code.code_challenge:
                raise TokenError(400, "invalid_grant", "code_verifier does not match")
        code.used = True
        del self.codes[code_value]
        return self.issue_tokens(
            user=code.user,
            scopes=code.scopes,
            client_id=code.client_id,
            state=code.state,
        )

    def _grant_refresh(self, form: Mapping[str, str]) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise TokenError(400, "invalid_request", "refresh_token is required")
        client = self._check_client(
            form.get("client_id"), form.get("client_secret"), secret_required=False
        )
        record = self.refresh_tokens.get(token)
        now = self.clock.timestamp()
        login_required = TokenError(
            401, "login_required", "The refresh_token is invalid. Please log in again."
        )
        if (
            record is None
            or record.client_id != client.client_id
            or record.expires_at <= now
        ):
            raise login_required
        if (
            record.used_at is not None
            and now - record.used_at >= self.refresh_token_grace
        ):
            raise login_required
        if record.used_at is None:
            record.used_at = now
        return self.issue_tokens(
            user=record.user, scopes=record.scopes, client_id=record.client_id
        )

    def _grant_client_credentials(self, form: Mapping[str, str]) -> dict[str, Any]:
        client = self._check_client(
            form.get("client_id"), form.get("client_secret"), secret_required=True
        )
        scopes = self.parse_scopes(form.get("scope"), PARTNER_DEFAULT_SCOPES)
        access = self._access_token(
            subject=client.client_id,
            client_id=client.client_id,
            scopes=scopes,
            region=None,
            partner=True,
        )
        return {
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "token_type": "Bearer",
        }

    # ------------------------------------------------------------------ pages
    def authorize_page(self, params: Mapping[str, str], action: str) -> str:
        """The consent page (HTML) for a valid authorize request."""
        client = self.clients[params["client_id"]]
        scopes = self.parse_scopes(params.get("scope") or "")
        hint = params.get("login_hint", "")
        options = []
        for user in self.scenario.users.values():
            selected = " selected" if hint in (user.user_id, user.email) else ""
            options.append(
                f'<option value="{html.escape(user.user_id)}"{selected}>'
                f"{html.escape(user.full_name)} &lt;{html.escape(user.email)}&gt; ({user.region.upper()})</option>"
            )
        scope_items = "".join(
            f'<li><label><input type="checkbox" name="grant" value="{html.escape(s)}" checked> '
            f"{html.escape(s)}</label></li>"
            for s in scopes
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(params[k])}">'
            for k in (
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
            if k in params
        )
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tesla (simulated) - Authorize {html.escape(client.name)}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:3em auto}}button{{font-size:1.1em;margin:.5em}}</style>
</head><body>
<h1>Allow access</h1>
<p><strong>{html.escape(client.name)}</strong> (client id <code>{html.escape(client.client_id)}</code>)
would like to access your Tesla account.</p>
<form method="post" action="{html.escape(action)}">
{hidden}<input type="hidden" name="grant_form" value="1">
<p><label for="user">Account</label>
<select id="user" name="user">{"".join(options)}</select></p>
<p>Requested permissions:</p><ul>{scope_items}</ul>
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
<p><small>This is the Powerwall Fleet simulator, not Tesla.</small></p>
</body></html>
"""

    @staticmethod
    def error_page(message: str) -> str:
        """A plain error page."""
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>'
            f"<body><h1>Request error</h1><p>{html.escape(message)}</p></body></html>\n"
        )
