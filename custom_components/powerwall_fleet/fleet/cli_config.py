"""The command-line tool's config file and the live connection built from it.

Owns ``.fleetapi.config`` (JSON, written atomically with mode 0600), the
endpoints it may override (so the tool can talk to a simulator), the token
manager whose rotated refresh tokens are saved before use, the
:class:`FleetClient` the commands share, site selection (id, name in any
case, unique start of a name), the usage error (exit status 2) and the
unfinished-setup error (exit status 3), and what the tool says when a
request fails: one table from a :class:`FleetError` to what happened and
what to do, in plain words (never a class name), used by every command and
by ``doctor``. Command logic lives in ``cli.py``, ``cli_setup.py`` and
``cli_doctor.py``. No Home Assistant import; no secret in a message or log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import json
import logging
import os
from pathlib import Path
import tempfile
from typing import Any, Final

import aiohttp

from .auth import AUTHORIZE_URL, TOKEN_URL, TokenManager, TokenSet, permission_name
from .client import FleetClient
from .errors import (
    CannotConnect,
    DeviceOffline,
    FleetError,
    InvalidClient,
    InvalidRequest,
    InvalidResponse,
    LoginRequired,
    MissingScopes,
    NotFound,
    PartnerNotRegistered,
    PaymentRequired,
    RateLimited,
    ServerError,
    TokenExpired,
    WrongRegion,
)
from .partner import PUBLIC_KEY_PATH, normalize_domain, partner_token
from .region import REGION_BASE_URLS

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONFIG: Final = ".fleetapi.config"
DEFAULT_KEY_FILE: Final = "fleetapi-private-key.pem"
# Regions a partner registers in. China needs a separate developer account.
PARTNER_REGIONS: Final = ("na", "eu")

_FIELDS: Final = (  # the keys of the file, in order
    "client_id",
    "client_secret",
    "domain",
    "redirect_uri",
    "key_file",
    "authorize_url",
    "token_url",
    "fleet_api_urls",
    "domain_origin",
    "region",
    "base_url",
    "site_id",
    "sites",
    "tokens",
    "sign_in_state",
)


class UsageError(Exception):
    """Bad input from the user: exit status 2; nothing was changed.

    Raised before any request, or after the one read that shows the input
    cannot work (a reserve the site's mode does not allow).
    """


class SetupIncomplete(Exception):
    """Setup stopped at a step only the user can do: exit status 3; the message says what."""


@dataclass(kw_only=True)
class Config:
    """What ``setup`` stores; every endpoint can be overridden in the file."""

    path: Path
    client_id: str = ""
    client_secret: str = ""
    domain: str = ""
    redirect_uri: str = ""
    key_file: str = DEFAULT_KEY_FILE
    authorize_url: str = AUTHORIZE_URL
    token_url: str = TOKEN_URL
    fleet_api_urls: dict[str, str] = field(
        default_factory=lambda: {r: REGION_BASE_URLS[r] for r in PARTNER_REGIONS}
    )
    # Where the domain serves its files (default https://<domain>).
    domain_origin: str = ""
    region: str = ""
    base_url: str = ""
    site_id: int | None = None
    sites: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, Any] = field(default_factory=dict)
    # The state of the sign-in URL setup printed last, until a code is exchanged
    # (so a later ``setup --code <redirect URL>`` is recognised as ours).
    sign_in_state: str = ""

    @classmethod
    def load(cls, path: Path, *, required: bool = True) -> Config:
        """Read the config; a missing or unreadable file is a :class:`UsageError`."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not required:
                return cls(path=path)
            raise UsageError(
                f"No config file at {path}; run 'fleetapi setup' first "
                "(or point --config at one)"
            ) from None
        except OSError as err:
            raise UsageError(f"Cannot read {path}: {err.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise UsageError(f"{path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise UsageError(f"{path} does not hold a JSON object")
        config = cls(path=path)
        for name in _FIELDS:
            if name in data and data[name] is not None:
                setattr(config, name, data[name])
        return config

    def as_dict(self) -> dict[str, Any]:
        """The JSON the file holds."""
        return {name: getattr(self, name) for name in _FIELDS}

    def save(self) -> None:
        """Write atomically (temporary file, fsync, rename), readable by the owner only."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(self.as_dict(), file, indent=2)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _LOGGER.debug("Saved %s", self.path)

    # ------------------------------------------------------------ derived

    @property
    def key_path(self) -> Path:
        """The private key file (relative paths are relative to the config)."""
        key = Path(self.key_file)
        return key if key.is_absolute() else self.path.parent / key

    def public_key_url(self) -> str:
        """Where the domain publishes the public key."""
        origin = self.domain_origin or f"https://{normalize_domain(self.domain)}"
        return f"{origin.rstrip('/')}{PUBLIC_KEY_PATH}"

    def region_url(self, region: str) -> str:
        """The Fleet API base URL of ``region``."""
        return self.fleet_api_urls.get(region) or REGION_BASE_URLS[region]

    async def partner_token(self, session: aiohttp.ClientSession, base_url: str) -> str:
        """A partner (client-credentials) access token for the region at ``base_url``."""
        token = await partner_token(
            session,
            client_id=self.client_id,
            client_secret=self.client_secret,
            audience=base_url,
            token_url=self.token_url,
        )
        return token.access_token

    def token_set(self) -> TokenSet:
        """The stored tokens, with their stored expiry."""
        if not self.tokens.get("access_token"):
            raise UsageError(
                f"{self.path} holds no tokens; run 'fleetapi setup' to sign in"
            )
        tokens = TokenSet.from_response(self.tokens)
        expires_at = self.tokens.get("expires_at")
        if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
            tokens = replace(tokens, expires_at=float(expires_at))
        return tokens

    def secrets(self) -> tuple[str, ...]:
        """Every secret the file holds (for the log filter)."""
        values = [self.client_secret]
        values += [
            str(self.tokens.get(key) or "")
            for key in ("access_token", "refresh_token", "id_token")
        ]
        return tuple(value for value in values if value)

    # ------------------------------------------------------------- sites

    def resolve_site(self, wanted: str | None) -> int:
        """The site to act on: ``--site``, else the default site.

        ``wanted`` is a site id, or a site name in any case, or the start of
        one name (a unique prefix). Only sites listed in the config count
        (``sites`` refreshes the list), so a typo is refused before any request.
        """
        known = [s for s in self.sites if isinstance(s.get("energy_site_id"), int)]
        if wanted is None:
            if self.site_id is not None:
                return int(self.site_id)
            if len(known) == 1:
                return int(known[0]["energy_site_id"])
            raise UsageError(
                "No default site: pass --site <id or name> (see 'fleetapi sites')"
            )
        text = wanted.strip()
        by_id = [s for s in known if str(s["energy_site_id"]) == text]
        folded = text.casefold()
        names = [(s, _site_name_of(s).casefold()) for s in known] if folded else []
        named = [s for s, name in names if name == folded]
        started = [s for s, name in names if name.startswith(folded)]
        for matches in (by_id, named, started):
            if len(matches) == 1:
                return int(matches[0]["energy_site_id"])
            if len(matches) > 1:
                raise UsageError(
                    f"--site {wanted!r} matches {len(matches)} sites: "
                    f"{_site_list(matches)}; give more of the name, or the id"
                )
        raise UsageError(
            f"Unknown site {wanted!r}; known sites: {_site_list(known) or 'none'}. "
            "Run 'fleetapi sites' to refresh the list."
        )


def _site_name_of(site: Mapping[str, Any]) -> str:
    name = site.get("site_name")
    return name if isinstance(name, str) else ""


def _site_list(sites: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{s['energy_site_id']} ({_site_name_of(s) or 'unnamed'})" for s in sites
    )


class Connection:
    """The token manager and client for one run; saves rotated tokens first."""

    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        """Connect with the stored tokens (nothing is sent yet)."""
        self.config = config
        self.session = session
        self.tokens = TokenManager(
            session,
            client_id=config.client_id,
            client_secret=config.client_secret or None,
            tokens=config.token_set(),
            token_url=config.token_url,
            on_rotate=self._save_tokens,
        )
        self.client = FleetClient(
            session,
            self.tokens.access_token,
            config.base_url or config.region_url(config.region or "na"),
            on_token_rejected=self.tokens.token_rejected,
            on_base_url_change=self._save_base_url,
        )

    def _save_tokens(self, tokens: TokenSet) -> None:
        # Tesla's refresh tokens are single use: the new one is on disk
        # before the new access token is handed out.
        self.config.tokens = tokens.as_dict()
        self.config.save()

    def _save_base_url(self, url: str) -> None:
        self.config.base_url = url
        self.config.save()


def remember_sites(config: Config, sites: list[Mapping[str, Any]]) -> None:
    """Store the account's energy sites (id and name) and pick a default."""
    config.sites = [
        {"energy_site_id": s.get("energy_site_id"), "site_name": s.get("site_name")}
        for s in sites
    ]
    ids = [s["energy_site_id"] for s in config.sites]
    if config.site_id not in ids:
        config.site_id = ids[0] if ids else None


def percent_text(value: float | None) -> str:
    """A charge level for people: ``57.2 %`` (``unknown`` when missing)."""
    return "unknown" if value is None else f"{value:.1f} %"


# ------------------------------------------------------- what failures say

# The operation modes as Tesla's app names them.
MODE_WORDS: Final = {
    "self_consumption": "self-powered",
    "autonomous": "time-based control",
    "backup": "backup-only",
}

SIGN_IN_AGAIN: Final = "sign in again with 'fleetapi setup'"
UNEXPECTED: Final = (
    "something unexpected went wrong; run the command again with --debug to see"
    " where, and please report it"
)


def mode_words(mode: str | None) -> str:
    """An operation mode in the app's words (``self-powered``), never Tesla's key."""
    if mode is None:
        return "an unknown"
    return MODE_WORDS.get(mode, "another")


def duration(seconds: float | None) -> str:
    """A wait for people: ``45 s``, ``2 min``, ``3 h`` (``a while`` when unknown)."""
    if seconds is None:
        return "a while"
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def explain(err: FleetError, *, config: str = "the config file") -> tuple[str, str]:
    """What happened and what to do about ``err``, each in plain words.

    ``config`` names the config file (where the URLs and tokens are).
    """
    http = f" (HTTP {err.status})" if err.status else ""
    if isinstance(err, RateLimited):
        return (
            f"Tesla says there were too many requests{http}",
            f"wait {duration(err.retry_after)} and try again",
        )
    if isinstance(err, NotFound):
        return (
            f"Tesla does not know this energy site{http}",
            "run 'fleetapi sites' to see the account's sites",
        )
    if isinstance(err, ServerError):
        if err.site_unavailable:
            return (
                f"Tesla no longer reaches this site{http}",
                "check it in the Tesla app; if it was removed, run 'fleetapi sites'",
            )
        return (
            f"Tesla's servers had a problem{http}",
            "try again in a few minutes",
        )
    if isinstance(err, TokenExpired):
        return (
            f"Tesla refused the login{http}, also after renewing it",
            SIGN_IN_AGAIN,
        )
    if isinstance(err, LoginRequired):
        return "Tesla no longer accepts the saved login", SIGN_IN_AGAIN
    if isinstance(err, InvalidClient):
        return (
            "Tesla refused the application's client id or secret",
            "check them in the Tesla developer portal, then run 'fleetapi setup' again",
        )
    if isinstance(err, MissingScopes):
        return _missing_permission(err)
    if isinstance(err, PaymentRequired):
        return (
            f"the developer account is over its billing limit{http}",
            "raise the limit or add credit in the Tesla developer portal, then try again",
        )
    if isinstance(err, DeviceOffline):
        return (
            f"the Powerwall is not answering Tesla{http}",
            "check the gateway's internet connection, then try again in a few minutes",
        )
    if isinstance(err, PartnerNotRegistered):
        return (
            f"the application is not registered in this region{http}",
            "run 'fleetapi setup' (it registers the application)",
        )
    if isinstance(err, WrongRegion):
        where = (
            f", or set base_url to {err.base_url} in {config}" if err.base_url else ""
        )
        return (
            f"the account belongs to another region{http}",
            f"run 'fleetapi setup' again{where}",
        )
    if isinstance(err, InvalidRequest):
        said = err.description or err.error
        detail = f" (HTTP {err.status}: {said})" if said else http
        return (
            f"Tesla refused the request{detail}",
            (
                "check the value you gave; if it is right, try again later"
                " (--debug shows the request)"
            ),
        )
    if isinstance(err, InvalidResponse):
        return (
            "Tesla's answer could not be read",
            "try again later (--debug shows more)",
        )
    if isinstance(err, CannotConnect):
        text = str(err)
        return (
            text[:1].lower() + text[1:],
            (
                f"check the network connection (and the URLs in {config} if you"
                " changed them), then try again"
            ),
        )
    return str(err), "try again later"


def _missing_permission(err: MissingScopes) -> tuple[str, str]:
    names = [f'"{permission_name(scope)}"' for scope in err.scopes]
    if names:
        plural = "s" if len(names) > 1 else ""
        what = f"the login lacks the {' and '.join(names)} permission{plural}"
    else:
        what = "the login lacks a permission this needs"
    return (
        what,
        (
            "make sure the application has it in the Tesla developer portal, then"
            " run 'fleetapi setup' again and keep every permission ticked"
        ),
    )


def failure_line(err: FleetError, *, config: str = "the config file") -> str:
    """The one line for a failed command (without the ``fleetapi:`` prefix)."""
    what, advice = explain(err, config=config)
    return f"{what}; {advice}"


def os_error_line(err: OSError) -> str:
    """A file or system error, in words (without the ``fleetapi:`` prefix)."""
    words = (err.strerror or "the operating system refused").lower()
    where = f": {err.filename}" if err.filename else ""
    return f"{words}{where}; check the path and its permissions"
