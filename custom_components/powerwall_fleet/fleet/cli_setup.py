"""``fleetapi setup``: from a developer application to saved tokens.

Owns the setup steps and their prompts: client id and secret, domain and
redirect URI, creating or reusing the key pair (``keys.py``), checking that
the domain publishes our public key, partner registration in each region
(``partner.py``), the authorize URL (``auth.py``), reading the pasted
redirect URL or code, the code exchange, the account's region and its sites.
Every prompt has a flag, so it runs without a terminal. No Home Assistant
import; the secret is read without echo and never printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from urllib.parse import parse_qs, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec

from . import keys
from .auth import build_authorize_url, exchange_code
from .cli_config import (
    PARTNER_REGIONS,
    Config,
    Connection,
    UsageError,
    percent_text,
    remember_sites,
)
from .errors import CannotConnect, FleetError, LoginRequired
from .json_request import DEFAULT_TIMEOUT, fetch
from .partner import normalize_domain, register_partner
from .region import discover_region

SECRET_ENV = "FLEETAPI_CLIENT_SECRET"  # noqa: S105 - the variable's name


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that answer setup's prompts."""
    parser.add_argument("--client-id", help="the application's client id")
    parser.add_argument(
        "--client-secret",
        help=f"the client secret (better: the {SECRET_ENV} variable, or the prompt)",
    )
    parser.add_argument("--domain", help="your domain, e.g. example.com")
    parser.add_argument("--redirect-uri", help="the redirect URI of the application")
    parser.add_argument("--key-file", help="private key file (created when missing)")
    parser.add_argument(
        "--code", help="the URL Tesla redirected you to, or just its code"
    )


def ask(prompt: str, default: str = "") -> str:
    """One answer from the terminal (or stdin); the default when left empty."""
    shown = f"{prompt} [{default}]: " if default else f"{prompt}: "
    try:
        answer = input(shown).strip()
    except EOFError:
        answer = ""
    answer = answer or default
    if not answer:
        raise UsageError(f"{prompt} is required")
    return answer


def ask_secret(prompt: str, default: str = "") -> str:
    """A secret: no echo on a terminal; keeps ``default`` when left empty."""
    shown = f"{prompt} [keep stored]: " if default else f"{prompt}: "
    try:
        answer = getpass.getpass(shown) if sys.stdin.isatty() else input(shown)
    except EOFError:
        answer = ""
    answer = answer.strip() or default
    if not answer:
        raise UsageError(f"{prompt} is required")
    return answer


def parse_code(pasted: str, state: str) -> str:
    """The authorization code from a pasted redirect URL or a bare code.

    A URL must carry our ``state`` (when it carries one) and a ``code``;
    Tesla's ``error`` in it is a failed sign-in.
    """
    text = pasted.strip()
    if "?" not in text and "=" not in text:
        if not text or any(c.isspace() for c in text):
            raise UsageError("That is neither a redirect URL nor a code")
        return text
    query = parse_qs(urlsplit(text).query if "?" in text else text)
    if "error" in query:
        raise LoginRequired(f"Tesla refused the sign-in: {query['error'][0]}")
    returned_state = query.get("state", [None])[0]
    if returned_state is not None and returned_state != state:
        raise UsageError(
            "The redirect URL is from another sign-in (its state does not match); "
            "open the URL printed above and paste the new redirect URL"
        )
    codes = query.get("code")
    if not codes or not codes[0]:
        raise UsageError("The pasted URL has no 'code' parameter")
    return codes[0]


async def hosted_key_hex(
    session: aiohttp.ClientSession, config: Config
) -> tuple[str | None, str]:
    """The public key the domain serves (hex), or None and why not."""
    url = config.public_key_url()
    try:
        status, _headers, raw = await fetch(
            session,
            "GET",
            url,
            what=url,
            timeout=DEFAULT_TIMEOUT,
            headers={"Accept": "application/x-pem-file, text/plain, */*"},
        )
    except CannotConnect as err:
        return None, str(err)
    if status != 200:
        return None, f"{url} answered HTTP {status}"
    try:
        return keys.public_key_hex_from_pem(raw), url
    except keys.InvalidKey as err:
        return None, f"{url} does not serve a usable public key: {err}"


async def setup(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Run every step of setup; the config is saved after each one."""
    _ask_application(args, config)
    key = _load_key(args, config)
    config.save()
    print(f"Saved {config.path} (readable by you only).")
    await _check_published_key(session, config, key)
    await _register(session, config, key)
    await _sign_in(args, session, config)
    return 0


def _ask_application(args: argparse.Namespace, config: Config) -> None:
    config.client_id = args.client_id or ask("Client ID", config.client_id)
    config.client_secret = (
        args.client_secret
        or os.environ.get(SECRET_ENV)
        or ask_secret("Client secret", config.client_secret)
    )
    domain = args.domain or ask("Domain (e.g. example.com)", config.domain)
    config.domain = normalize_domain(domain)
    config.redirect_uri = args.redirect_uri or ask(
        "Redirect URI", config.redirect_uri or f"https://{config.domain}/"
    )
    if urlsplit(config.redirect_uri).scheme not in ("http", "https"):
        raise UsageError("The redirect URI must be an http(s) URL")
    if args.key_file:
        config.key_file = args.key_file


def _load_key(args: argparse.Namespace, config: Config) -> ec.EllipticCurvePrivateKey:
    path = config.key_path
    existed = path.exists()
    key = keys.load_or_create_private_key(path)
    public_path = path.with_name("com.tesla.3p.public-key.pem")
    public_path.write_text(keys.public_key_pem(key), encoding="ascii")
    print(f"{'Reusing' if existed else 'Created'} the private key {path}.")
    print(f"Its public key is in {public_path}.")
    return key


async def _check_published_key(
    session: aiohttp.ClientSession, config: Config, key: ec.EllipticCurvePrivateKey
) -> None:
    """Wait until the domain serves our public key (or the user skips)."""
    while True:
        reported, where = await hosted_key_hex(session, config)
        if reported is not None and keys.same_public_key(key, reported):
            print(f"The public key at {where} is ours.")
            return
        problem = where if reported is None else f"{where} serves another key"
        print(f"The public key is not published yet: {problem}.")
        print(
            f"Upload the public key file so it is served at {config.public_key_url()}"
        )
        answer = ask("Press Enter to check again, or type 'skip'", "again")
        if answer.lower() == "skip":
            return


async def _register(
    session: aiohttp.ClientSession, config: Config, key: ec.EllipticCurvePrivateKey
) -> None:
    for region in PARTNER_REGIONS:
        base_url = config.region_url(region)
        account = await register_partner(
            session,
            partner_token=await config.partner_token(session, base_url),
            base_url=base_url,
            domain=config.domain,
        )
        same = keys.same_public_key(key, account.public_key)
        print(
            f"Registered {config.domain} in region {region}"
            + ("." if same else ", but Tesla holds another public key for it!")
        )


async def _sign_in(
    args: argparse.Namespace, session: aiohttp.ClientSession, config: Config
) -> None:
    state = secrets.token_urlsafe(16)
    url = build_authorize_url(
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        state=state,
        authorize_url=config.authorize_url,
    )
    print("Open this URL, sign in to Tesla and approve every permission:")
    print(url)
    pasted = args.code or ask("Paste the URL you were sent to (or just the code)")
    code = parse_code(pasted, state)
    hint = code[:2].lower() if code[2:3] == "_" else ""
    region = hint if hint in config.fleet_api_urls else "na"
    tokens = await exchange_code(
        session,
        client_id=config.client_id,
        client_secret=config.client_secret,
        code=code,
        redirect_uri=config.redirect_uri,
        audience=config.region_url(region),
        token_url=config.token_url,
    )
    config.tokens = tokens.as_dict()
    config.save()
    print("Signed in; tokens saved.")
    found = await discover_region(
        session, access_token=tokens.access_token, base_url=config.region_url(region)
    )
    config.region = found.region or region
    config.base_url = found.fleet_api_base_url or config.region_url(region)
    config.save()
    print(f"The account lives in region {config.region} ({config.base_url}).")
    connection = Connection(config, session)
    sites = await connection.client.energy_sites()
    remember_sites(config, [dict(site.raw) for site in sites])
    if args.site is not None:
        config.site_id = config.resolve_site(args.site)
    config.save()
    if not sites:
        raise FleetError("Signed in, but the account has no energy site")
    for site in sites:
        mark = "*" if site.energy_site_id == config.site_id else " "
        print(f"{mark} {site.energy_site_id}  {site.site_name or '(unnamed)'}")
    site_id = config.resolve_site(None)
    live = await connection.client.live_status(site_id)
    print(
        f"Setup complete. Site {site_id}: battery {percent_text(live.percentage_charged)}."
    )
