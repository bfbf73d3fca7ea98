"""HTTP side of partner registration: ``POST partner_accounts`` and ``GET partner_accounts/public_key``.

Owns the registration checks in Tesla's order (domain rules, one domain per app, key
download from the domain) and the answers.  The partner token check happens before, in
``server.py``; domain and key rules live in ``partner.py``.  No site data here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from .partner import PUBLIC_KEY_PATH, PartnerError, domain_problem
from .responses import error_response, json_response
from .state import SimulatorState


class PartnerRoutes:
    """Partner account registration and key lookup over ``sim``'s registrations."""

    def __init__(self, sim: SimulatorState) -> None:
        """Answer for ``sim``."""
        self.sim = sim

    async def register(self, region: str, client_id: str, body: Any) -> web.Response:
        """POST partner_accounts: register ``client_id``'s domain and key in ``region``."""
        domain = body.get("domain") if isinstance(body, dict) else None
        problem = domain_problem(domain)
        if problem is not None:
            return error_response(400, problem)
        assert isinstance(domain, str)
        for (reg, other_client), account in self.sim.partners.items():
            if reg == region and account.domain == domain and other_client != client_id:
                return error_response(
                    400, "domain already registered to another application"
                )
        mine = self.sim.partners.get((region, client_id))
        if mine is not None and mine.domain != domain:
            return error_response(
                400,
                f"one domain per application: already registered with {mine.domain}",
            )
        try:
            pem = await self._fetch_public_key(domain)
            try:
                self.sim.register_partner(client_id, region, domain, pem)
            except ValueError as err:
                raise PartnerError(
                    400, f"invalid public key for {domain}: {err}"
                ) from err
        except PartnerError as err:
            return error_response(err.status, err.error, err.description)
        account = self.sim.partners[(region, client_id)]
        return json_response(
            {
                "response": {
                    "client_id": client_id,
                    "domain": domain,
                    "public_key": account.public_key_hex,
                    "ca": None,
                    "created_at": _iso_utc(account.created_at),
                    "updated_at": _iso_utc(account.updated_at),
                    "enterprise_tier": "free",
                    "issuer": None,
                    "csr": None,
                    "csr_updated_at": None,
                }
            }
        )

    async def _fetch_public_key(self, domain: str) -> str:
        """The PEM ``domain`` publishes (from its resolved loopback origin, else the published keys)."""
        failed = PartnerError(
            424, f"Public key download failed for https://{domain}{PUBLIC_KEY_PATH}"
        )
        origin = self.sim.resolved_domains.get(domain)
        if origin is not None:
            timeout = aiohttp.ClientTimeout(total=5)
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.get(
                        f"{origin}{PUBLIC_KEY_PATH}", allow_redirects=False
                    ) as resp,
                ):
                    if resp.status != 200:
                        raise failed
                    return await resp.text()
            except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as err:
                raise failed from err
        pem = self.sim.public_keys.get(domain)
        if pem is None:
            raise failed
        return pem

    def public_key(self, region: str, domain: str | None) -> web.Response:
        """GET partner_accounts/public_key: the key registered for ``domain`` in ``region``."""
        if not domain:
            return error_response(400, "invalid_field", "domain is required")
        for (reg, _client), account in self.sim.partners.items():
            if reg == region and account.domain == domain:
                return json_response(
                    {"response": {"public_key": account.public_key_hex}}
                )
        return error_response(
            404,
            "not_found",
            f"no public key registered for {domain} in region {region}",
        )


def _iso_utc(ts: float) -> str:
    """``ts`` as Tesla writes UTC times (milliseconds, ``Z``)."""
    return (
        datetime.fromtimestamp(ts, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
