"""Helpers for the command-line tool's tests: a config pointing at the simulator, a domain that serves a public key."""

from __future__ import annotations

import json
from pathlib import Path
import stat
import sys
import time
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from custom_components.powerwall_fleet.fleet import TokenSet, keys
from custom_components.powerwall_fleet.fleet.cli import run
from custom_components.powerwall_fleet.fleet.partner import PUBLIC_KEY_PATH
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    PARTNER_KEY_SECRET,
    USER_MAIN,
)

REDIRECT = "http://127.0.0.1/callback"


class KeyServer:
    """A stand-in for https://<domain>: serves ``pem`` (or the file at ``file``) at the key's path."""

    def __init__(self) -> None:
        """Serve nothing until told."""
        self.pem: str | None = None
        self.file: Path | None = None
        self.origin = ""
        self.hits = 0
        self._runner: web.AppRunner | None = None

    async def _serve(self, _request: web.Request) -> web.Response:
        self.hits += 1
        pem = self.pem
        if pem is None and self.file is not None and self.file.is_file():
            pem = self.file.read_text(encoding="ascii")
        if pem is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=pem, content_type="application/x-pem-file")

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get(PUBLIC_KEY_PATH, self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


def partner_key() -> ec.EllipticCurvePrivateKey:
    """The key the simulator registered for ``PARTNER_DOMAIN``."""
    return ec.derive_private_key(PARTNER_KEY_SECRET, ec.SECP256R1())


def endpoints(simulator: Simulator) -> dict[str, Any]:
    """The config keys that point the tool at ``simulator``."""
    return {
        "authorize_url": simulator.authorize_url,
        "token_url": simulator.token_url,
        "fleet_api_urls": {r: simulator.base_url(r) for r in ("na", "eu")},
    }


def write_config(
    path: Path,
    simulator: Simulator,
    *,
    user: str = USER_MAIN,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    **overrides: Any,
) -> dict[str, Any]:
    """A config as setup leaves it, for ``user``, signed in with ``scopes``; returns its data."""
    region = simulator.scenario.users[user].region
    sites = [
        {"energy_site_id": site_id, "site_name": config.site_name}
        for site_id, config in simulator.scenario.sites.items()
        if config.user == user
    ]
    tokens = TokenSet.from_response(simulator.issue_tokens(user=user, scopes=scopes))
    key_path = path.parent / "key.pem"
    key_path.write_bytes(keys.private_key_pem(partner_key()))
    key_path.chmod(0o600)
    data: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "domain": PARTNER_DOMAIN,
        "redirect_uri": REDIRECT,
        "key_file": "key.pem",
        **endpoints(simulator),
        "region": region,
        "base_url": simulator.base_url(region),
        "site_id": sites[0]["energy_site_id"],
        "sites": sites,
        "tokens": tokens.as_dict(),
        **overrides,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return data


def expire_tokens(path: Path) -> None:
    """Make the stored access token expired (by our clock)."""
    data = read_config(path)
    data["tokens"]["expires_at"] = time.time() - 60
    path.write_text(json.dumps(data), encoding="utf-8")


def file_mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def read_config(path: Path) -> dict[str, Any]:
    """The config file's JSON."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the tool in this event loop; exit status, stdout and stderr."""
    capsys.readouterr()
    code = await run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_secret(text: str, simulator: Simulator) -> None:
    """No token the simulator issued, nor the client secret, appears in ``text``."""
    secrets = [
        *simulator.oauth.access_tokens,
        *simulator.oauth.refresh_tokens,
        CLIENT_SECRET,
    ]
    leaked = [secret[:12] for secret in secrets if secret and secret in text]
    assert not leaked, leaked


PYTHON = sys.executable
