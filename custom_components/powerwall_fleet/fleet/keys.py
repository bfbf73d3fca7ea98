"""The application's EC key pair for Tesla partner registration.

Owns creating and loading the secp256r1 key (file mode 0600), its public PEM
and the hex of the uncompressed point Tesla reports back. File I/O blocks:
call it from an executor inside an event loop.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import FleetError

CURVE_NAME = "secp256r1"


class InvalidKey(FleetError):
    """The key file is unreadable, not a private key, or on the wrong curve."""


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """A new private key on secp256r1."""
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of a private key (unencrypted: protect the file instead)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(path: Path | str) -> ec.EllipticCurvePrivateKey:
    """Read a private key file; raises :class:`InvalidKey` if it is not one of ours."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InvalidKey(f"Cannot read the key file: {err.strerror}") from None
    return private_key_from_pem(data)


def private_key_from_pem(data: bytes) -> ec.EllipticCurvePrivateKey:
    """Parse a PEM private key and check it is EC secp256r1."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The parser's message could quote the file: keep it out.
        raise InvalidKey(
            "The key file does not hold an unencrypted PEM private key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != CURVE_NAME:
        raise InvalidKey("The key is not an EC key on secp256r1")
    return key


def load_or_create_private_key(path: Path | str) -> ec.EllipticCurvePrivateKey:
    """Load the key at ``path``, creating it (mode 0600) when there is none.

    The file is created exclusively so a concurrent creator cannot be
    overwritten, and its mode is tightened if someone loosened it.
    """
    path = Path(path)
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return load_private_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_private_key(path)
    with os.fdopen(fd, "wb") as file:
        file.write(private_key_pem(key))
    return key


def public_key_pem(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey,
) -> str:
    """PEM (SubjectPublicKeyInfo) of the public key, as Tesla downloads it."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_hex(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey,
) -> str:
    """Lowercase hex of the uncompressed point (04 || X || Y), as Tesla reports it."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    ).hex()


def public_key_hex_from_pem(pem: str | bytes) -> str:
    """Hex of the uncompressed point of a PEM public key."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InvalidKey("Not a PEM public key") from None
    if (
        not isinstance(public, ec.EllipticCurvePublicKey)
        or public.curve.name != CURVE_NAME
    ):
        raise InvalidKey("The public key is not an EC key on secp256r1")
    return public_key_hex(public)


def same_public_key(key: ec.EllipticCurvePrivateKey, reported_hex: str | None) -> bool:
    """Whether Tesla's reported key (hex) is ours."""
    if not reported_hex:
        return False
    return reported_hex.strip().lower().removeprefix("0x") == public_key_hex(key)
