"""Helpers of the simulator's HTTP tests: a Fleet API client, auth headers, key encodings."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.simulator import SITE_FULL, Simulator

REDIRECT = "http://127.0.0.1/callback"


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def pem_of(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    """Public PEM of a private key."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def point_hex(key: ec.EllipticCurvePrivateKey) -> str:
    """Uncompressed point of an EC key, hex."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        .hex()
    )


class Api:
    """Tiny helper around a session and the simulator."""

    def __init__(
        self,
        sim: Simulator,
        http: aiohttp.ClientSession,
        token: str,
        region: str = "na",
    ) -> None:
        """Remember the simulator, session, token and region."""
        self.sim = sim
        self.http = http
        self.token = token
        self.region = region

    async def get(
        self, path: str, **params: str
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        """GET a Fleet API path: (status, parsed body or None, response)."""
        url = f"{self.sim.base_url(self.region)}/api/1/{path}"
        async with self.http.get(
            url, params=params, headers=bearer(self.token)
        ) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None, resp

    async def post(
        self, path: str, body: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        """POST JSON to a Fleet API path: (status, parsed body or None, response)."""
        url = f"{self.sim.base_url(self.region)}/api/1/{path}"
        async with self.http.post(url, json=body, headers=bearer(self.token)) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None, resp

    async def live(self, site_id: int = SITE_FULL) -> dict[str, Any]:
        """live_status response of a site."""
        status, body, _ = await self.get(f"energy_sites/{site_id}/live_status")
        assert status == 200, body
        return body["response"]

    async def info(self, site_id: int = SITE_FULL) -> dict[str, Any]:
        """site_info response of a site."""
        status, body, _ = await self.get(f"energy_sites/{site_id}/site_info")
        assert status == 200, body
        return body["response"]


async def token_request(
    sim: Simulator, http: aiohttp.ClientSession, **form: str
) -> tuple[int, dict[str, Any]]:
    """POST the token endpoint (form encoded)."""
    async with http.post(sim.token_url, data=form) as resp:
        return resp.status, await resp.json()
