"""Serve the partner public key at Tesla's well-known path.

Tesla downloads ``https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem``
when the partner account is registered. Owners whose domain points at their Home
Assistant need nothing else: this view answers that path, without
authentication, with the public key only.
"""

from __future__ import annotations

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from .fleet import PUBLIC_KEY_PATH
from .keys_store import async_get_public_pem

_VIEW_REGISTERED: HassKey[bool] = HassKey("powerwall_fleet_key_view")


@callback
def async_register_public_key_view(hass: HomeAssistant) -> None:
    """Register the view once (at setup, or when a first config flow needs it)."""
    if hass.data.get(_VIEW_REGISTERED):
        return
    hass.http.register_view(PublicKeyView())
    hass.data[_VIEW_REGISTERED] = True


class PublicKeyView(HomeAssistantView):
    """The partner public key, PEM."""

    url = PUBLIC_KEY_PATH
    name = "api:powerwall_fleet:public_key"
    requires_auth = False

    async def get(self, request: web.Request) -> web.Response:
        """Answer with the public key, or 404 before one exists."""
        pem = await async_get_public_pem(request.app[KEY_HASS])
        if pem is None:
            return web.Response(status=404, text="No key yet")
        return web.Response(
            text=pem,
            content_type="application/x-pem-file",
            headers={"Cache-Control": "no-cache"},
        )
