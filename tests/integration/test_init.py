"""Setting up, retrying, unloading an entry; devices; the public-key view."""

from __future__ import annotations

from homeassistant.components.application_credentials import DOMAIN as APP_CREDS_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet import PUBLIC_KEY_PATH, keys
from custom_components.powerwall_fleet.setup.partner import private_key_path
from tests.integration.entity_helpers import reauth_started, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, SITE_SOLAR_ONLY


async def test_setup_registers_devices_and_unloads(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Each chosen site becomes a Tesla device; unload releases the entry."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_SOLAR_ONLY)
    assert set(config_entry.runtime_data.sites) == {SITE_FULL, SITE_SOLAR_ONLY}
    registry = dr.async_get(hass)
    devices = {
        identifier: device
        for device in dr.async_entries_for_config_entry(registry, config_entry.entry_id)
        for identifier in device.identifiers
    }
    # The full site lists a Wall Connector: its device is connected via the site's.
    wall_connector = (DOMAIN, "1457768-02-G--PGT23456000W01")
    assert set(devices) == {
        (DOMAIN, str(SITE_FULL)),
        (DOMAIN, str(SITE_SOLAR_ONLY)),
        wall_connector,
    }
    full = devices[(DOMAIN, str(SITE_FULL))]
    assert devices[wall_connector].via_device_id == full.id
    assert full.manufacturer == "Tesla"
    assert full.name == "Home"
    assert full.model == "Powerwall 2 x2"
    assert full.sw_version == "24.44.0"
    assert full.serial_number  # the gateway DIN
    assert full.hw_version == "Gateway 2"
    solar = devices[(DOMAIN, str(SITE_SOLAR_ONLY))]
    assert solar.model == "Solar"
    assert solar.name == f"Energy site {SITE_SOLAR_ONLY}"

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.NOT_LOADED


async def test_stale_devices_removed(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A site no longer set up loses its device; one gone from the account too."""
    config_entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    old = registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, str(SITE_PW3))}
    )
    gone = registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "12345")}
    )
    await setup_sites(hass, config_entry, SITE_FULL, 12345)
    assert registry.async_get(old.id) is None
    assert registry.async_get(gone.id) is None
    assert set(config_entry.runtime_data.sites) == {SITE_FULL}


async def test_stale_device_of_another_entry_stays(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A site no longer set up: only this entry's device of it goes.

    Another entry with a device of the same identifiers keeps it (up to Home
    Assistant 2026.9 it is the same device, listing both entries).
    """
    config_entry.add_to_hass(hass)
    other = MockConfigEntry(domain="test")
    other.add_to_hass(hass)
    registry = dr.async_get(hass)
    for entry in (other, config_entry):
        registry.async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={(DOMAIN, str(SITE_PW3))}
        )
    await setup_sites(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED

    def identifiers(entry: MockConfigEntry) -> set[tuple[str, str]]:
        return {
            identifier
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            for identifier in device.identifiers
        }

    assert (DOMAIN, str(SITE_PW3)) not in identifiers(config_entry)
    assert (DOMAIN, str(SITE_FULL)) in identifiers(config_entry)
    assert identifiers(other) == {(DOMAIN, str(SITE_PW3))}


@pytest.mark.parametrize(
    ("fault", "state", "reauth"),
    [
        ({"status": 503}, ConfigEntryState.SETUP_RETRY, False),
        (
            {"status": 429, "headers": {"Retry-After": "60"}},
            ConfigEntryState.SETUP_RETRY,
            False,
        ),
        ({"drop": True, "times": None}, ConfigEntryState.SETUP_RETRY, False),
        ({"status": 200, "body": "not json"}, ConfigEntryState.SETUP_RETRY, False),
        (
            {
                "status": 412,
                "json": {
                    "error": "A condition has not been met to process the request"
                },
            },
            ConfigEntryState.SETUP_ERROR,
            False,
        ),
        (
            {
                "status": 403,
                "json": {
                    "error": "Unauthorized missing scopes",
                    "error_description": "missing scopes: energy_device_data",
                },
            },
            ConfigEntryState.SETUP_ERROR,
            True,
        ),
        (
            {"status": 401, "json": {"error": "login_required"}},
            ConfigEntryState.SETUP_ERROR,
            True,
        ),
    ],
)
async def test_setup_failures(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, object],
    state: ConfigEntryState,
    reauth: bool,
) -> None:
    """Transient trouble retries; partner/scope/login problems need the owner."""
    simulator.add_fault(r"/products$", **fault)  # type: ignore[arg-type]
    await setup_sites(hass, config_entry, expect=state)
    assert reauth_started(hass) is reauth


async def test_missing_credentials_asks_to_sign_in(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Removed application credentials lead to reauth, not an endless retry."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry,
        data={**config_entry.data, "auth_implementation": "deleted_credentials"},
    )
    await setup_sites(hass, config_entry, expect=ConfigEntryState.SETUP_ERROR)
    assert APP_CREDS_DOMAIN in hass.config.components


async def test_public_key_view(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The well-known path serves only the public key, without authentication."""
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client_no_auth()
    resp = await client.get(PUBLIC_KEY_PATH)
    assert resp.status == 404  # no key made yet: nothing to show

    key = await hass.async_add_executor_job(
        keys.load_or_create_private_key, private_key_path(hass)
    )
    resp = await client.get(PUBLIC_KEY_PATH)
    assert resp.status == 200
    body = await resp.text()
    assert body == keys.public_key_pem(key)
    assert "PRIVATE" not in body
    assert keys.public_key_hex_from_pem(body) == keys.public_key_hex(key)
    assert resp.headers["Content-Type"].startswith("application/x-pem-file")


async def test_options_change_reloads(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Saving new intervals reloads the entry; token updates do not."""
    await setup_sites(hass, config_entry)
    products_before = simulator.count("products")
    hass.config_entries.async_update_entry(
        config_entry,
        data={**config_entry.data, "token": {**config_entry.data["token"]}},
    )
    await hass.async_block_till_done()
    assert simulator.count("products") == products_before

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"live_interval": 60, "info_interval": 30, "history_interval": 10},
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert config_entry.options == {
        "live_interval": 60,
        "info_interval": 30,
        "history_interval": 10,
    }
    assert config_entry.state is ConfigEntryState.LOADED
    assert simulator.count("products") == products_before + 1


async def test_removing_entry_closes_its_issues(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Repair issues of a deleted entry do not linger."""
    from homeassistant.helpers import issue_registry as ir

    await setup_sites(hass, config_entry)
    for issue_id in (
        f"rate_limited_{config_entry.entry_id}",
        f"missing_scopes_{config_entry.entry_id}",
        f"site_unavailable_{SITE_FULL}",
    ):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="rate_limited",
            translation_placeholders={"title": "x"},
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        "rate_limited_other_entry",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="rate_limited",
        translation_placeholders={"title": "y"},
    )
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    registry = ir.async_get(hass)
    remaining = {issue_id for (domain, issue_id) in registry.issues if domain == DOMAIN}
    assert remaining == {"rate_limited_other_entry"}


@pytest.mark.parametrize("batteries_listed", [True, False])
async def test_powerwall_3_device_model_either_payload_shape(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    batteries_listed: bool,
) -> None:
    """The Powerwall 3 site's device says "Powerwall 3" with or without its batteries list."""
    if not batteries_listed:
        simulator.override_fields(
            SITE_PW3, "site_info", set={"components.batteries": []}
        )
    await setup_sites(hass, config_entry, SITE_PW3)

    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), config_entry.entry_id
        )
        if (DOMAIN, str(SITE_PW3)) in device.identifiers
    ]
    assert device.model == "Powerwall 3"
    assert device.hw_version == "Powerwall 3"
