"""Options flow: poll intervals, with the request budget shown before saving."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import (
    CONF_HISTORY_INTERVAL,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
    CONF_SITE_IDS,
    DOMAIN,
)
from tests.integration.conftest import entry_data

# Every form the options flow shows is checked against translations/en.json.
from tests.integration.test_config_flow import _defaults, check_translations  # noqa: F401
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3, USER_MAIN


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The main account's entry (one site, default intervals), set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    return config_entry


async def test_options_flow(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Current cost, new intervals, their cost, then saved as ints and reloaded."""
    unloaded: list[bool] = []
    loaded_entry.async_on_unload(lambda: unloaded.append(True))

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert _defaults(result) == {
        CONF_LIVE_INTERVAL: 30,
        CONF_INFO_INTERVAL: 15,
        CONF_HISTORY_INTERVAL: 5,
    }
    # 86400/30 + 1440/15 + 1440/5 = 2880 + 96 + 288 requests a day for one
    # site, its daily outage read, its daily re-read of the day before and the
    # entry's daily check of the sites.
    assert result["description_placeholders"] == {
        "sites": "1",
        "per_day": "3,267",
        "per_month": "98,010",
        "default_per_day": "3,267",
    }

    # The frontend's number boxes send floats.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_LIVE_INTERVAL: 60.0,
            CONF_INFO_INTERVAL: 30.0,
            CONF_HISTORY_INTERVAL: 15.0,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    # 1440 + 48 + 96 + 1 + 1 + 1
    assert result["description_placeholders"] == {
        "sites": "1",
        "per_day": "1,587",
        "per_month": "47,610",
        "default_per_day": "3,267",
        "live": "60",
        "info": "30",
        "history": "15",
    }
    assert loaded_entry.options == {}  # nothing saved before the confirmation
    assert not unloaded

    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options == {
        CONF_LIVE_INTERVAL: 60,
        CONF_INFO_INTERVAL: 30,
        CONF_HISTORY_INTERVAL: 15,
    }
    assert all(type(value) is int for value in loaded_entry.options.values())
    assert unloaded == [True]  # reloaded with the new intervals
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_options_flow_starts_from_current_options(
    hass: HomeAssistant, simulator: Simulator, credentials: None
) -> None:
    """The form starts from the saved intervals; the estimate counts every site."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home & Cabin",
        unique_id=USER_MAIN,
        data=entry_data(simulator, **{CONF_SITE_IDS: [SITE_FULL, SITE_PW3]}),
        options={
            CONF_LIVE_INTERVAL: 10,
            CONF_INFO_INTERVAL: 5,
            CONF_HISTORY_INTERVAL: 5,
        },
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _defaults(result) == {
        CONF_LIVE_INTERVAL: 10,
        CONF_INFO_INTERVAL: 5,
        CONF_HISTORY_INTERVAL: 5,
    }
    # (8640 + 288 + 288 + 1 + 1) for each of 2 sites + 1; the defaults 3266 each + 1.
    assert result["description_placeholders"] == {
        "sites": "2",
        "per_day": "18,437",
        "per_month": "553,110",
        "default_per_day": "6,533",
    }


async def test_options_flow_closed_at_confirmation(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Closing the confirmation keeps the current intervals."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_LIVE_INTERVAL: 10, CONF_INFO_INTERVAL: 5, CONF_HISTORY_INTERVAL: 5},
    )
    assert result["step_id"] == "confirm"
    hass.config_entries.options.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert loaded_entry.options == {}
    assert loaded_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_LIVE_INTERVAL, 5),
        (CONF_LIVE_INTERVAL, 3601),
        (CONF_INFO_INTERVAL, 4),
        (CONF_INFO_INTERVAL, 1441),
        (CONF_HISTORY_INTERVAL, 4),
        (CONF_HISTORY_INTERVAL, 61),
    ],
)
async def test_options_out_of_range(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, value: int
) -> None:
    """Intervals outside the limits are refused; valid ones then go through."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    valid = {CONF_LIVE_INTERVAL: 30, CONF_INFO_INTERVAL: 15, CONF_HISTORY_INTERVAL: 5}
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**valid, field: value}
        )
    result = await hass.config_entries.options.async_configure(result["flow_id"], valid)
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == valid
    await hass.async_block_till_done()
