"""``fleetapi doctor``: check each link from the developer account to the sites.

Owns the checks and their verdicts (OK, WARN, FAIL) with what to do: the
domain serves our public key, the partner is registered in each region with
that key, the token's scopes, the account's region, and one read per site.
Exit status 1 when any check fails. Failures and permissions are in plain
words (``cli_config.py``, the portal's permission names). Requests go
through ``fleet``; no Home Assistant import, and no secret in the report.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
import json

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec

from . import keys
from .auth import SCOPES, permission_name, token_scopes
from .cli_config import PARTNER_REGIONS, Config, Connection, explain, percent_text
from .cli_setup import hosted_key_hex
from .errors import FleetError
from .partner import partner_public_key

OK = "OK"
WARN = "WARN"
FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One verdict."""

    check: str
    verdict: str
    detail: str
    advice: str = ""


async def doctor(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Run every check, print the verdicts; 1 when one failed."""
    checks: list[Check] = []
    key = _our_key(config, checks)
    checks.append(await _published_key(session, config, key))
    checks.extend(await _partner(session, config, key))
    if config.tokens.get("access_token"):
        checks.extend(await _account(session, config))
    else:
        checks.append(
            Check("token", FAIL, "no tokens in the config", "run 'fleetapi setup'")
        )
    if args.json:
        print(json.dumps([asdict(check) for check in checks], indent=2))
    else:
        for check in checks:
            print(f"[{check.verdict:^4}] {check.check}: {check.detail}")
            if check.advice:
                print(f"       -> {check.advice}")
    return 1 if any(check.verdict == FAIL for check in checks) else 0


def _our_key(config: Config, checks: list[Check]) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = keys.load_private_key(config.key_path)
    except keys.InvalidKey as err:
        checks.append(
            Check(
                "private key",
                WARN,
                f"{config.key_path}: {err}",
                "run 'fleetapi setup' (or --key-file) to create or point at the key",
            )
        )
        return None
    checks.append(Check("private key", OK, str(config.key_path)))
    return key


async def _published_key(
    session: aiohttp.ClientSession,
    config: Config,
    key: ec.EllipticCurvePrivateKey | None,
) -> Check:
    url = config.public_key_url()
    reported, where = await hosted_key_hex(session, config)
    upload = f"upload com.tesla.3p.public-key.pem (next to the key) to {url}"
    if reported is None:
        return Check("public key", FAIL, f"not reachable: {where}", upload)
    if key is None:
        return Check("public key", WARN, f"{url} serves a key; ours is unknown")
    if not keys.same_public_key(key, reported):
        return Check("public key", FAIL, f"{url} serves another key", upload)
    return Check("public key", OK, f"{url} serves our key")


async def _partner(
    session: aiohttp.ClientSession,
    config: Config,
    key: ec.EllipticCurvePrivateKey | None,
) -> list[Check]:
    checks: list[Check] = []
    for region in PARTNER_REGIONS:
        name = f"partner ({region})"
        base_url = config.region_url(region)
        try:
            reported = await partner_public_key(
                session,
                partner_token=await config.partner_token(session, base_url),
                base_url=base_url,
                domain=config.domain,
            )
        except FleetError as err:
            checks.append(_failed(name, err))
            continue
        if reported is None:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"{config.domain} is not registered",
                    "run 'fleetapi setup' to register it in every region",
                )
            )
        elif key is not None and not keys.same_public_key(key, reported):
            checks.append(
                Check(
                    name,
                    FAIL,
                    "registered with another public key",
                    "publish our key, then run 'fleetapi setup' to register again",
                )
            )
        else:
            checks.append(Check(name, OK, f"{config.domain} is registered"))
    return checks


async def _account(session: aiohttp.ClientSession, config: Config) -> list[Check]:
    connection = Connection(config, session)
    try:
        token = await connection.tokens.access_token()
    except FleetError as err:
        return [_failed("token", err)]
    checks = [_scopes(token_scopes(token) or connection.tokens.tokens.scope)]
    client = connection.client
    try:
        region = await client.region()
    except FleetError as err:
        checks.append(_failed("region", err))
        return checks
    if region.fleet_api_base_url and region.fleet_api_base_url != client.base_url:
        checks.append(
            Check(
                "region",
                WARN,
                f"the account lives in {region.region} ({region.fleet_api_base_url}),"
                f" the config uses {client.base_url}",
                f"set base_url to {region.fleet_api_base_url} in {config.path}",
            )
        )
    else:
        checks.append(Check("region", OK, f"{region.region} ({client.base_url})"))
    try:
        sites = await client.energy_sites()
    except FleetError as err:
        checks.append(_failed("sites", err))
        return checks
    if not sites:
        checks.append(Check("sites", FAIL, "the account has no energy site"))
    for site in sites:
        name = f"site {site.energy_site_id}"
        if site.energy_site_id is None:  # energy_sites() lists only sites with an id
            continue
        try:
            live = await client.live_status(site.energy_site_id)
        except FleetError as err:
            checks.append(_failed(name, err))
            continue
        checks.append(
            Check(
                name,
                OK,
                f"{site.site_name or '(unnamed)'}: battery "
                f"{percent_text(live.percentage_charged)}, grid {live.grid_status}",
            )
        )
    return checks


def _failed(name: str, err: FleetError) -> Check:
    what, advice = explain(err)
    return Check(name, FAIL, what, advice)


def _scopes(scopes: tuple[str, ...]) -> Check:
    """The permissions granted, by the names Tesla's developer portal shows."""
    missing = [scope for scope in SCOPES if scope not in scopes]
    again = (
        "make sure the application has every energy permission in the Tesla"
        " developer portal, then run 'fleetapi setup' and keep every permission ticked"
    )
    if "energy_device_data" in missing:
        return Check(
            "scopes", FAIL, f"missing {_names(missing)}: nothing can be read", again
        )
    if missing:
        what = {
            "energy_cmds": "setmode and setreserve will be refused",
            "offline_access": "no refresh token: the sign-in ends in 8 hours",
            "openid": "no account identity",
        }
        return Check(
            "scopes",
            WARN,
            "; ".join(
                f"missing {_names([scope])}: {what.get(scope, '')}" for scope in missing
            ),
            again,
        )
    return Check("scopes", OK, _names(list(scopes)))


def _names(scopes: list[str]) -> str:
    return ", ".join(f'"{permission_name(scope)}"' for scope in scopes)
