"""Config flow: the whole setup against the simulator, every error and its recovery."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import (
    CONF_BASE_URL,
    CONF_PARTNER_DOMAIN,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    DOMAIN,
    SERVER_CUSTOM,
)
from custom_components.powerwall_fleet.fleet import keys
from tests.integration.conftest import Approve
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    PARTNER_DOMAIN,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_MAIN,
)

pytestmark = pytest.mark.usefixtures("credentials", "current_request_with_host")

REDIRECT_URI = "https://example.com/auth/external/callback"


async def _start_custom(hass: HomeAssistant, simulator: Simulator) -> dict[str, Any]:
    """Start in developer mode and choose the simulator as custom server."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "server"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SERVER: SERVER_CUSTOM,
            "custom_base_url": simulator.base_url("na") + "/",
            "custom_auth_url": simulator.url,
        },
    )


async def _finish_oauth(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    result: dict[str, Any],
    **approve_kwargs: Any,
) -> dict[str, Any]:
    """Approve on the simulator's page and deliver the callback to Home Assistant."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    redirect = await approve(result["url"], **approve_kwargs)
    client = await hass_client_no_auth()
    resp = await client.get(
        "/auth/external/callback",
        params={
            "code": redirect.get("code", ""),
            "state": redirect["state"],
            **({"error": redirect["error"]} if "error" in redirect else {}),
        },
    )
    assert resp.status == 200
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def test_full_flow(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Server → partner registration (Tesla fetches the key from HA) → sign-in → sites."""
    result = await _start_custom(hass, simulator)
    assert result["step_id"] == "partner"
    public_pem = result["description_placeholders"]["public_key"]
    assert "BEGIN PUBLIC KEY" in public_pem
    assert "PRIVATE" not in public_pem

    # Tesla downloads the key from the domain, which points at this Home Assistant.
    client = await hass_client_no_auth()
    simulator.resolve_domain(PARTNER_DOMAIN, str(client.make_url("")).rstrip("/"))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": f"https://{PARTNER_DOMAIN.upper()}/"}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    assert result["url"].startswith(simulator.authorize_url)
    assert "energy_cmds" in result["url"]

    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sites"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_FULL), str(SITE_PW3)]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == USER_MAIN
    assert entry.title.startswith("Home")
    assert entry.data[CONF_SITE_IDS] == [SITE_FULL, SITE_PW3]
    assert entry.data[CONF_BASE_URL] == simulator.base_url("na")
    assert entry.data[CONF_REGION] == "na"
    assert entry.data[CONF_PARTNER_DOMAIN] == PARTNER_DOMAIN
    assert entry.data["token"]["refresh_token"]
    await hass.async_block_till_done()

    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    assert {next(iter(d.identifiers))[1] for d in devices} == {
        str(SITE_FULL),
        str(SITE_PW3),
    }
    assert SITE_SOLAR_ONLY not in entry.data[CONF_SITE_IDS]
    # Tesla now holds our key.
    key = keys.load_private_key(
        hass.config.path(".storage/powerwall_fleet.private_key.pem")
    )
    assert simulator.partners[("na", CLIENT_ID)].domain == PARTNER_DOMAIN
    assert simulator.partners[("na", CLIENT_ID)].public_key_hex == keys.public_key_hex(key)
