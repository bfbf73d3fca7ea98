"""``fleetapi setup``: from a developer application to saved tokens.

Owns the setup steps and their prompts: client id and secret, domain and
redirect URI, creating or reusing the key pair (``keys.py``), checking that
the domain publishes our public key, partner registration in each region
(``partner.py``), the authorize URL (``auth.py``), reading the pasted
redirect URL or code, the code exchange, the permissions granted, the
account's region and its sites.

Prompts only at a terminal. Without one (stdin not a TTY, closed, or at its
end) every answer comes from a flag or the config of an earlier run, and
the steps that need the user (publishing the key, signing in) end the run
with exit status 3 and what to do. Every check that repeats is bounded in
count and time. No Home Assistant import; the secret is read without echo
and never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
import getpass
import os
import secrets
import sys
import time
from typing import Final
from urllib.parse import parse_qs, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec

from . import keys
from .auth import build_authorize_url, exchange_code, permission_name, token_scopes
from .cli_config import (
    PARTNER_REGIONS,
    Config,
    Connection,
    SetupIncomplete,
    UsageError,
    percent_text,
    remember_sites,
)
from .errors import CannotConnect, FleetError, LoginRequired
from .json_request import fetch
from .partner import normalize_domain, register_partner
from .region import discover_region

SECRET_ENV: Final = "FLEETAPI_CLIENT_SECRET"  # noqa: S105 - the variable's name
PUBLIC_KEY_FILE: Final = "com.tesla.3p.public-key.pem"

# Waiting for the published key (--wait): checks after these pauses, then
# every WAIT_EVERY seconds, until the time given (at most MAX_WAIT) is up.
WAIT_STEPS: Final = (2.0, 4.0, 8.0, 16.0)
WAIT_EVERY: Final = 30.0
MAX_WAIT: Final = 3600.0
# At a terminal, Enter checks again; this many checks at most.
MAX_KEY_CHECKS: Final = 10
# One check of the domain gives up after this long.
KEY_CHECK_TIMEOUT: Final = 10.0

# Seams for the tests (a clock that sleeps instantly).
sleep = asyncio.sleep
monotonic = time.monotonic


def wait_seconds(text: str) -> float:
    """``--wait``: seconds, 0 to MAX_WAIT."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds from 0 to {MAX_WAIT:g}"
        )
    return seconds


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that answer setup's prompts."""
    parser.add_argument("--client-id", help="the application's client id")
    parser.add_argument(
        "--client-secret",
        help=f"the client secret (better: the {SECRET_ENV} variable, or the prompt)",
    )
    parser.add_argument("--domain", help="your domain, e.g. example.com")
    parser.add_argument(
        "--redirect-uri",
        help="the redirect URI of the application (default https://<domain>/)",
    )
    parser.add_argument("--key-file", help="private key file (created when missing)")
    parser.add_argument(
        "--code", help="the URL Tesla redirected you to, or just its code"
    )
    parser.add_argument(
        "--wait",
        type=wait_seconds,
        metavar="SECONDS",
        help=(
            "wait up to SECONDS (at most 3600) for the domain to serve the public"
            " key: checks again after 2, 4, 8 and 16 s, then every 30 s"
            " (default: check once; at a terminal, Enter checks again)"
        ),
    )


def has_terminal() -> bool:
    """Whether stdin is a terminal that a person can answer prompts on."""
    stdin = sys.stdin
    if stdin is None:
        return False
    try:
        return stdin.isatty()
    except (OSError, ValueError):  # closed, or not a real file
        return False


def ask(prompt: str, default: str = "", *, flag: str = "") -> str:
    """One answer typed at the terminal; the default when left empty.

    End of input (Ctrl-D) is no answer: a :class:`UsageError` naming ``flag``.
    """
    shown = f"{prompt} [{default}]: " if default else f"{prompt}: "
    try:
        answer = input(shown).strip() or default
    except EOFError:
        answer = ""
    if not answer:
        raise UsageError(_no_answer(prompt, flag))
    return answer


def ask_secret(prompt: str, default: str = "", *, flag: str = "") -> str:
    """A secret typed without echo; keeps ``default`` when left empty."""
    shown = f"{prompt} [keep stored]: " if default else f"{prompt}: "
    try:
        answer = getpass.getpass(shown).strip() or default
    except EOFError:
        answer = ""
    if not answer:
        raise UsageError(_no_answer(prompt, flag))
    return answer


def _no_answer(prompt: str, flag: str) -> str:
    return f"{prompt} is required" + (f": pass {flag}" if flag else "")


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
            timeout=KEY_CHECK_TIMEOUT,
            headers={"Accept": "application/x-pem-file, text/plain, */*"},
        )
    except CannotConnect as err:
        text = str(err)
        return None, text[:1].lower() + text[1:]
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
    terminal = has_terminal()
    if terminal:
        _ask_application(args, config)
    else:
        _application_from_flags(args, config)
    key = _load_key(config)
    config.save()
    print(f"Saved {config.path} (readable by you only).")
    await _check_published_key(session, config, key, wait=args.wait, terminal=terminal)
    await _register(session, config, key)
    await _sign_in(args, session, config, terminal=terminal)
    return 0


def _ask_application(args: argparse.Namespace, config: Config) -> None:
    """At a terminal: the flags, else a prompt (showing the stored answer)."""
    config.client_id = args.client_id or ask(
        "Client ID", config.client_id, flag="--client-id"
    )
    config.client_secret = (
        args.client_secret
        or os.environ.get(SECRET_ENV)
        or ask_secret("Client secret", config.client_secret, flag="--client-secret")
    )
    domain = args.domain or ask(
        "Domain (e.g. example.com)", config.domain, flag="--domain"
    )
    config.domain = normalize_domain(domain)
    config.redirect_uri = args.redirect_uri or ask(
        "Redirect URI",
        config.redirect_uri or f"https://{config.domain}/",
        flag="--redirect-uri",
    )
    _finish_application(args, config)


def _application_from_flags(args: argparse.Namespace, config: Config) -> None:
    """Without a terminal: flags, the secret's variable, or the stored config; never a prompt."""
    client_id = args.client_id or config.client_id
    secret = args.client_secret or os.environ.get(SECRET_ENV) or config.client_secret
    domain = args.domain or config.domain
    missing = [
        flag
        for flag, value in (
            ("--client-id", client_id),
            (f"--client-secret (or the {SECRET_ENV} variable)", secret),
            ("--domain", domain),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            "setup has no terminal to ask on (stdin is not one); pass "
            + ", ".join(missing)
        )
    config.client_id = client_id
    config.client_secret = secret
    config.domain = normalize_domain(domain)
    redirect_uri = args.redirect_uri or config.redirect_uri
    if not redirect_uri:
        redirect_uri = f"https://{config.domain}/"
        print(
            f"Redirect URI: {redirect_uri} (pass --redirect-uri if the application"
            " has another)"
        )
    config.redirect_uri = redirect_uri
    _finish_application(args, config)


def _finish_application(args: argparse.Namespace, config: Config) -> None:
    if urlsplit(config.redirect_uri).scheme not in ("http", "https"):
        raise UsageError("The redirect URI must be an http(s) URL")
    if args.key_file:
        config.key_file = args.key_file


def _load_key(config: Config) -> ec.EllipticCurvePrivateKey:
    path = config.key_path
    existed = path.exists()
    key = keys.load_or_create_private_key(path)
    public_path = path.with_name(PUBLIC_KEY_FILE)
    public_path.write_text(keys.public_key_pem(key), encoding="ascii")
    print(f"{'Reusing' if existed else 'Created'} the private key {path}.")
    print(f"Its public key is in {public_path}.")
    return key


def _wait_pauses() -> Iterator[float]:
    """The pauses between two checks of the published key: 2, 4, 8, 16, then 30 s."""
    yield from WAIT_STEPS
    while True:
        yield WAIT_EVERY


async def _check_published_key(
    session: aiohttp.ClientSession,
    config: Config,
    key: ec.EllipticCurvePrivateKey,
    *,
    wait: float | None,
    terminal: bool,
) -> None:
    """Check that the domain serves our public key, a bounded number of times.

    ``wait`` (seconds): check again on the stated schedule until it is up.
    Else at a terminal: Enter checks again (at most MAX_KEY_CHECKS checks),
    'skip' goes on. Without a terminal: one check. When the key is still not
    served, :class:`SetupIncomplete` says what to do.
    """
    url = config.public_key_url()
    upload = (
        f"upload {config.key_path.with_name(PUBLIC_KEY_FILE)} so that it is"
        f" served at {url}"
    )
    deadline = None if wait is None else monotonic() + wait
    pauses = _wait_pauses()
    checks = 0
    while True:
        checks += 1
        reported, where = await hosted_key_hex(session, config)
        if reported is not None and keys.same_public_key(key, reported):
            print(f"The public key at {where} is ours.")
            return
        problem = where if reported is None else f"{where} serves another key"
        print(f"The public key is not published yet: {problem}.")
        if deadline is not None:
            pause = next(pauses)
            if monotonic() + pause > deadline:
                raise SetupIncomplete(
                    f"the public key is still not served after waiting {wait:g} s"
                    f" ({checks} checks): {upload}, then run 'fleetapi setup' again"
                )
            print(f"Checking again in {pause:g} s (waiting up to {wait:g} s).")
            await sleep(pause)
            continue
        stop = SetupIncomplete(
            f"the public key is not served yet: {upload}, then run 'fleetapi setup'"
            " again (or add --wait 600 to wait for it)"
        )
        if not terminal or checks >= MAX_KEY_CHECKS:
            raise stop
        print(f"Upload the public key file so it is served at {url}")
        try:
            answer = ask("Press Enter to check again, or type 'skip'", "again")
        except UsageError:  # end of input
            raise stop from None
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
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    config: Config,
    *,
    terminal: bool,
) -> None:
    if not config.sign_in_state:
        config.sign_in_state = secrets.token_urlsafe(16)
        config.save()
    url = build_authorize_url(
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        state=config.sign_in_state,
        authorize_url=config.authorize_url,
    )
    print("Open this URL, sign in to Tesla and approve every permission:")
    print(url)
    if args.code:
        pasted = args.code
    elif terminal:
        pasted = ask("Paste the URL you were sent to (or just the code)", flag="--code")
    else:
        raise SetupIncomplete(
            "sign in with the URL above, then finish with: fleetapi setup --code"
            " '<the URL your browser was sent to>'"
        )
    code = parse_code(pasted, config.sign_in_state)
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
    config.sign_in_state = ""
    config.save()
    print("Signed in; tokens saved.")
    granted = token_scopes(tokens.access_token) or tokens.scope
    if granted and "energy_device_data" not in granted:
        raise SetupIncomplete(
            f"Tesla did not grant the {_quoted('energy_device_data')} permission, so"
            f" the tool can read nothing: {_grant_advice('energy_device_data')}"
        )
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
    if granted and "energy_cmds" not in granted:
        print(
            f"Note: Tesla did not grant the {_quoted('energy_cmds')} permission:"
            " reading works, but 'fleetapi setmode' and 'fleetapi setreserve' will"
            f" be refused. To allow them, {_grant_advice('energy_cmds')}."
        )


def _quoted(scope: str) -> str:
    return f'"{permission_name(scope)}"'


def _grant_advice(scope: str) -> str:
    """How to get the permission of ``scope``, in the words of Tesla's pages."""
    return (
        f"make sure the application has {_quoted(scope)} in the Tesla developer"
        " portal, then run 'fleetapi setup' again and keep every permission ticked"
        " when Tesla asks"
    )
