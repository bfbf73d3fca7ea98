"""The application-credentials dialog, as the frontend asks for it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.powerwall_fleet.const import DOMAIN


async def test_dialog_placeholders_over_websocket(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """No HTTP request and no My integration: the redirect URI still renders."""
    await async_process_ha_core_config(
        hass, {"external_url": "https://home.example.com"}
    )
    assert await async_setup_component(hass, "application_credentials", {})
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "application_credentials/config"})
    response = await client.receive_json()
    assert response["success"], response
    placeholders = response["result"]["integrations"][DOMAIN][
        "description_placeholders"
    ]
    assert (
        placeholders["redirect_uri"]
        == "https://home.example.com/auth/external/callback"
    )
    assert placeholders["developer_url"].startswith("https://developer.tesla.com")


async def test_dialog_placeholders_without_any_url(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """Without a configured URL the dialog says what to fill in instead of failing."""
    assert await async_setup_component(hass, "application_credentials", {})
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "application_credentials/config"})
    response = await client.receive_json()
    assert response["success"], response
    redirect = response["result"]["integrations"][DOMAIN]["description_placeholders"][
        "redirect_uri"
    ]
    assert redirect.endswith("/auth/external/callback")
