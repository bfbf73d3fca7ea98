"""Helpers for the command-line tool's tests: a config pointing at the simulator, a domain that serves a public key."""

from __future__ import annotations

import io
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
    SITE_FULL,
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


class FakeTerminal(io.StringIO):
    """A stdin that says it is a terminal (the prompts themselves are patched in)."""

    def isatty(self) -> bool:
        """Pretend to be a terminal."""
        return True


class NoTerminal(io.StringIO):
    """A stdin that is not a terminal and is at its end (``< /dev/null``, a closed pipe)."""


def forbid_prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make any prompt fail the test; returns the prompts tried (should stay empty)."""
    tried: list[str] = []

    def prompt(text: str = "") -> str:
        tried.append(text)
        raise AssertionError(f"prompted without a terminal: {text!r}")

    monkeypatch.setattr("builtins.input", prompt)
    monkeypatch.setattr("getpass.getpass", prompt)
    monkeypatch.setattr("sys.stdin", NoTerminal(""))
    return tried


SETUP_DOMAIN = "cli.example.net"


def setup_config(tmp_path: Path, sim: Simulator, key_server: KeyServer) -> Path:
    """A config holding only the endpoints; the domain serves the public key setup writes."""
    path = tmp_path / "fleet.json"
    path.write_text(
        json.dumps({**endpoints(sim), "domain_origin": key_server.origin}),
        encoding="utf-8",
    )
    key_server.file = tmp_path / "com.tesla.3p.public-key.pem"
    sim.resolve_domain(SETUP_DOMAIN, key_server.origin)
    return path


def setup_flags(path: Path) -> list[str]:
    """``--config path setup`` with every flag but ``--code``."""
    return [
        "--config",
        str(path),
        "setup",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--domain",
        SETUP_DOMAIN,
        "--redirect-uri",
        REDIRECT,
    ]


def check_setup_done(path: Path, sim: Simulator, key_hex: str | None = None) -> None:
    """The config, key and registrations as a finished setup leaves them."""
    data = read_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_path = path.parent / "fleetapi-private-key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    ours = keys.public_key_hex(keys.load_private_key(key_path))
    if key_hex is not None:
        assert ours == key_hex
    for region in ("na", "eu"):
        account = sim.partners[(region, CLIENT_ID)]
        assert (account.domain, account.public_key_hex) == (SETUP_DOMAIN, ours)
    assert data["client_id"] == CLIENT_ID
    assert data["client_secret"] == CLIENT_SECRET
    assert data["domain"] == SETUP_DOMAIN
    assert data["tokens"]["refresh_token"] in sim.oauth.refresh_tokens
    assert data["region"] == "na"
    assert data["base_url"] == sim.base_url("na")
    assert data["site_id"] == SITE_FULL
    assert SITE_FULL in [s["energy_site_id"] for s in data["sites"]]
