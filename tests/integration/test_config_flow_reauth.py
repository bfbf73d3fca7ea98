"""Config flow: reauth and reconfigure of an existing entry."""

# Fixtures imported from test_config_flow are requested by name.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import (
    CONF_BASE_URL,
    CONF_PARTNER_DOMAIN,
    CONF_SITE_IDS,
    DOMAIN,
)
from tests.integration.conftest import Approve
from tests.integration.entity_helpers import CREDENTIAL_ID, device_sites, new_entry
from tests.integration.test_config_flow import (  # noqa: F401
    _choose_custom,
    _defaults,
    _finish_oauth,
    _hold_our_key,
    _placeholders,
    _register,
    check_translations,
    ha_origin,
    serve_key,
)
from tests.simulator import Simulator
from tests.simulator.scenario import (
    PARTNER_DOMAIN,
    SITE_DEAD,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
    USER_MAIN,
)

pytestmark = pytest.mark.usefixtures("credentials", "current_request_with_host")

type StartFlow = Callable[[MockConfigEntry, HomeAssistant], Awaitable[ConfigFlowResult]]


async def test_reauth(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Sign in again with the same account: new token, no partner step, reloaded."""
    old_token = loaded_entry.data["token"]
    simulator.reset_counts()
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert _placeholders(result)["title"] == "Home"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["url"].startswith(simulator.authorize_url)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()

    token = loaded_entry.data["token"]
    assert token["access_token"] != old_token["access_token"]
    assert token["refresh_token"] != old_token["refresh_token"]
    assert loaded_entry.data[CONF_SITE_IDS] == [SITE_FULL]
    assert loaded_entry.data[CONF_PARTNER_DOMAIN] == PARTNER_DOMAIN
    assert simulator.count("partner_accounts") == 0
    assert simulator.count("partner_public_key") == 0
    assert simulator.count("token") == 1  # the code exchange only
    assert loaded_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("start", "success"),
    [
        (MockConfigEntry.start_reauth_flow, "reauth_successful"),
        (MockConfigEntry.start_reconfigure_flow, "reconfigure_successful"),
    ],
    ids=["reauth", "reconfigure"],
)
async def test_other_account_refused(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    start: StartFlow,
    success: str,
) -> None:
    """Another Tesla account signs in: refused before anything is read or changed.

    The right account then works.
    """
    monkeypatch.delenv("POWERWALL_FLEET_DEVELOPER")
    config_entry.add_to_hass(hass)
    await _hold_our_key(hass, simulator, "na")
    before = dict(config_entry.data)
    result = await start(config_entry, hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _finish_oauth(
        hass, hass_client_no_auth, approve, result, user=USER_EU
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(config_entry.data) == before
    assert simulator.count("products") == 0

    result = await start(config_entry, hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    if result["type"] is FlowResultType.FORM:
        assert result["step_id"] == "sites"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _defaults(result)
        )
    assert result["reason"] == success
    assert config_entry.unique_id == USER_MAIN
    await hass.async_block_till_done()


# ---------------------------------------------------------------- reconfigure


async def test_reconfigure(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Owner: sign in again, choose other sites; the entry is updated and reloaded."""
    monkeypatch.delenv("POWERWALL_FLEET_DEVELOPER")
    await _hold_our_key(hass, simulator, "na")
    assert device_sites(hass, loaded_entry) == {str(SITE_FULL)}
    simulator.reset_counts()

    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert _placeholders(result)["title"] == "Home"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    # Tesla holds our key for the entry's domain: straight to the sign-in.
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert simulator.count("partner_accounts") == 0

    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sites"
    assert _defaults(result) == {"sites": [str(SITE_FULL)]}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_PW3), str(SITE_SOLAR_ONLY)]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert loaded_entry.data[CONF_SITE_IDS] == [SITE_PW3, SITE_SOLAR_ONLY]
    assert loaded_entry.title == f"Cabin & Energy site {SITE_SOLAR_ONLY}"
    assert loaded_entry.unique_id == USER_MAIN
    assert loaded_entry.data[CONF_BASE_URL] == simulator.base_url("na")
    assert loaded_entry.state is ConfigEntryState.LOADED
    # Reloaded: the devices follow the new choice.
    assert device_sites(hass, loaded_entry) == {str(SITE_PW3), str(SITE_SOLAR_ONLY)}
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_developer_server_and_partner(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Developer mode: the server step again; the partner form offers the entry's domain."""
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _choose_custom(hass, simulator, result)
    assert result["step_id"] == "partner"
    assert _defaults(result) == {"domain": PARTNER_DOMAIN}
    serve_key()
    result = await _register(hass, result)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["step_id"] == "sites"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_FULL), str(SITE_PW3)]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_SITE_IDS] == [SITE_FULL, SITE_PW3]
    assert config_entry.data[CONF_PARTNER_DOMAIN] == PARTNER_DOMAIN
    assert config_entry.data["auth_implementation"] == CREDENTIAL_ID
    await hass.async_block_till_done()


async def test_reconfigure_forgets_sites_gone_from_account(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    simulator: Simulator,
    credentials: None,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """A configured site no longer offered is not preselected (it could not be unticked)."""
    monkeypatch.delenv("POWERWALL_FLEET_DEVELOPER")
    entry = new_entry(
        simulator, title="Home & Old House", site_ids=[SITE_FULL, SITE_DEAD]
    )
    entry.add_to_hass(hass)
    await _hold_our_key(hass, simulator, "na")
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["step_id"] == "sites"
    default = _defaults(result)
    assert default == {"sites": [str(SITE_FULL)]}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], default)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_SITE_IDS] == [SITE_FULL]
    assert entry.title == "Home"
    await hass.async_block_till_done()
