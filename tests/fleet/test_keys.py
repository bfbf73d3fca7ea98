"""Partner key handling."""

from __future__ import annotations

from pathlib import Path
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from custom_components.powerwall_fleet.fleet import keys


def test_create_then_reuse(tmp_path: Path) -> None:
    """The key is created once with mode 0600 and reused afterwards."""
    path = tmp_path / "sub" / "tesla_key.pem"
    key = keys.load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.curve.name == "secp256r1"
    again = keys.load_or_create_private_key(path)
    assert keys.public_key_hex(again) == keys.public_key_hex(key)


def test_loose_mode_is_tightened(tmp_path: Path) -> None:
    """A key file readable by others is made private again."""
    path = tmp_path / "key.pem"
    keys.load_or_create_private_key(path)
    path.chmod(0o644)
    keys.load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_public_key_formats() -> None:
    """PEM and uncompressed-point hex describe the same key."""
    key = keys.generate_private_key()
    pem = keys.public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in pem
    hex_point = keys.public_key_hex(key)
    numbers = key.public_key().public_numbers()
    assert hex_point == "04" + f"{numbers.x:064x}" + f"{numbers.y:064x}"
    assert len(hex_point) == 130
    assert keys.public_key_hex_from_pem(pem) == hex_point
    assert keys.same_public_key(key, hex_point.upper())
    assert not keys.same_public_key(
        key, keys.public_key_hex(keys.generate_private_key())
    )
    assert not keys.same_public_key(key, None)


def test_wrong_curve_refused(tmp_path: Path) -> None:
    """A key on another curve is not accepted as ours."""
    other = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "key.pem"
    path.write_bytes(keys.private_key_pem(other))
    with pytest.raises(keys.InvalidKey):
        keys.load_or_create_private_key(path)
    pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(keys.InvalidKey):
        keys.public_key_hex_from_pem(pem)


def test_garbage_key_file_does_not_leak(tmp_path: Path) -> None:
    """An unreadable key file raises InvalidKey without quoting the file."""
    path = tmp_path / "key.pem"
    path.write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(keys.InvalidKey) as err:
        keys.load_private_key(path)
    assert "c2VjcmV0" not in str(err.value)
    with pytest.raises(keys.InvalidKey):
        keys.load_private_key(tmp_path / "missing.pem")
    with pytest.raises(keys.InvalidKey):
        keys.public_key_hex_from_pem("nope")
