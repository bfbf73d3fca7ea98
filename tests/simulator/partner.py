"""Partner accounts: domain rules, public keys and per-region registrations."""

from __future__ import annotations

from dataclasses import dataclass
import ipaddress
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PUBLIC_KEY_PATH = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class PartnerError(Exception):
    """A registration failure with the HTTP status and Tesla's error text."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        """Store status and message."""
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


@dataclass(slots=True)
class PartnerAccount:
    """One app's registration in one region."""

    client_id: str
    region: str
    domain: str
    public_key_hex: str
    created_at: float
    updated_at: float


def domain_problem(domain: object) -> str | None:
    """Why Tesla would refuse ``domain`` (None when acceptable)."""
    if not isinstance(domain, str) or not domain:
        return "invalid domain: a domain is required"
    if "://" in domain or domain.startswith(("http:", "https:")):
        return f"invalid domain {domain!r}: must not include a scheme"
    if "/" in domain or "?" in domain or "#" in domain:
        return f"invalid domain {domain!r}: must not include a path"
    if domain != domain.lower():
        return f"invalid domain {domain!r}: must be lowercase"
    if "tesla" in domain:
        return f"invalid domain {domain!r}: must not contain 'tesla'"
    labels = domain.rstrip(".").split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
    ):
        return f"invalid domain {domain!r}: not a valid hostname"
    if labels[-1].isdigit():
        return f"invalid domain {domain!r}: IP addresses are not accepted"
    return None


def public_key_hex(pem: str | bytes) -> str:
    """Hex of the uncompressed point (04||X||Y) of a secp256r1 public key PEM.

    Raises ValueError for anything that is not an EC P-256 public (or private) key.
    """
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as err:
            raise ValueError("not a PEM public key") from err
        key = private.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
        key.curve, ec.SECP256R1
    ):
        raise ValueError("public key must be EC secp256r1 (prime256v1)")  # noqa: TRY004
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return raw.hex()


def check_loopback_origin(origin: str) -> str:
    """Validate a loopback origin like ``http://127.0.0.1:8123`` and return it without a trailing slash."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        raise ValueError(
            f"origin must be http(s)://<loopback address>[:port], got {origin!r}"
        )
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        raise ValueError(
            f"origin host must be a loopback IP address, got {parts.hostname!r}"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"origin host must be loopback, got {parts.hostname!r}")
    if (
        parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValueError(
            f"origin must not have a path, query or credentials: {origin!r}"
        )
    return origin.rstrip("/")
