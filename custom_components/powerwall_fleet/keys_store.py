"""Where the integration keeps its partner key, and the cached public PEM."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import PRIVATE_KEY_FILE
from .fleet import keys

DATA_PUBLIC_PEM: HassKey[str] = HassKey("powerwall_fleet_public_pem")


def private_key_path(hass: HomeAssistant) -> str:
    """Path of the private key (under the config dir, mode 0600)."""
    return hass.config.path(PRIVATE_KEY_FILE)


async def async_get_private_key(hass: HomeAssistant) -> ec.EllipticCurvePrivateKey:
    """Load the partner key, creating it on first use; caches the public PEM."""
    key = await hass.async_add_executor_job(
        keys.load_or_create_private_key, private_key_path(hass)
    )
    hass.data[DATA_PUBLIC_PEM] = keys.public_key_pem(key)
    return key


async def async_get_public_pem(hass: HomeAssistant) -> str | None:
    """The public key PEM if a key exists (never creates one)."""
    if (pem := hass.data.get(DATA_PUBLIC_PEM)) is not None:
        return pem

    def _load() -> str | None:
        try:
            key = keys.load_private_key(private_key_path(hass))
        except keys.InvalidKey:
            return None
        return keys.public_key_pem(key)

    pem = await hass.async_add_executor_job(_load)
    if pem is not None:
        hass.data[DATA_PUBLIC_PEM] = pem
    return pem
