"""Options flow: poll intervals with the request budget shown before saving, and money."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import (
    CONF_BACKFILL_FROM_INSTALLATION,
    CONF_BREAKDOWN_STATISTICS,
    CONF_EXPORT_PRICE_ENTITY,
    CONF_HISTORY_FROM,
    CONF_HISTORY_INTERVAL,
    CONF_IMPORT_PRICE_ENTITY,
    CONF_INFO_INTERVAL,
    CONF_LIVE_INTERVAL,
)
from tests.integration.entity_helpers import new_entry

# Every form the options flow shows is checked against translations/en.json.
from tests.integration.test_config_flow import (  # noqa: F401
    _defaults,
    _placeholders,
    check_translations,
)
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3


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
        # The import back to the installation date (2023-03-14): one
        # request per day before the first of the last 30 days.
        "history_requests": "1,334",
        "history_cap": "2,000",
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
        "sync_per_day": "0",  # price sync is off
        "history_requests": "1,334",
        "history_cap": "2,000",
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
    entry = new_entry(
        simulator,
        title="Home & Cabin",
        options={
            CONF_LIVE_INTERVAL: 10,
            CONF_INFO_INTERVAL: 5,
            CONF_HISTORY_INTERVAL: 5,
        },
        site_ids=[SITE_FULL, SITE_PW3],
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
        "history_requests": "0",  # not loaded: nothing known yet
        "history_cap": "2,000",
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


# ------------------------------------------------------------ money options

INTERVALS = {CONF_LIVE_INTERVAL: 30, CONF_INFO_INTERVAL: 15, CONF_HISTORY_INTERVAL: 5}
NORD_POOL = "sensor.nord_pool_ee_current_price"
EXPORT = "input_number.export_price"


def _suggested(result: ConfigFlowResult) -> dict[str, Any]:
    """What the form shows in its optional fields (suggested, not submitted)."""
    schema = result.get("data_schema")
    assert schema is not None
    return {
        str(key): key.description["suggested_value"]
        for key in schema.schema
        if getattr(key, "description", None)
    }


@pytest.fixture
def price_states(hass: HomeAssistant) -> None:
    """Price entities of the kinds owners have, and a few that are not prices."""
    hass.states.async_set(NORD_POOL, "0.1234", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set(EXPORT, "5.5", {"unit_of_measurement": "c/kWh"})
    hass.states.async_set("sensor.spot_mwh", "85.2", {"unit_of_measurement": "€/MWh"})
    hass.states.async_set("sensor.energy", "12", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.plain_number", "0.2")


async def test_price_entities_saved(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, price_states: None
) -> None:
    """Valid price entities and the breakdown toggle are saved; the entry reloads."""
    hass.config.currency = "EUR"
    unloaded: list[bool] = []
    loaded_entry.async_on_unload(lambda: unloaded.append(True))
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _suggested(result) == {
        CONF_IMPORT_PRICE_ENTITY: None,
        CONF_EXPORT_PRICE_ENTITY: None,
        CONF_BREAKDOWN_STATISTICS: False,
        CONF_HISTORY_FROM: None,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_IMPORT_PRICE_ENTITY: NORD_POOL,
            CONF_EXPORT_PRICE_ENTITY: EXPORT,
            CONF_BREAKDOWN_STATISTICS: True,
        },
    )
    assert result["step_id"] == "confirm"
    assert loaded_entry.options == {}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options == {
        **INTERVALS,
        CONF_IMPORT_PRICE_ENTITY: NORD_POOL,
        CONF_EXPORT_PRICE_ENTITY: EXPORT,
        CONF_BREAKDOWN_STATISTICS: True,
    }
    assert unloaded == [True]
    assert loaded_entry.state is ConfigEntryState.LOADED

    # The next form starts from them.
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _suggested(result) == {
        CONF_IMPORT_PRICE_ENTITY: NORD_POOL,
        CONF_EXPORT_PRICE_ENTITY: EXPORT,
        CONF_BREAKDOWN_STATISTICS: True,
        CONF_HISTORY_FROM: None,
    }


@pytest.mark.parametrize(
    ("entity_id", "error", "placeholders"),
    [
        ("sensor.energy", "import_price_unit", {"import_unit": "kWh"}),
        ("sensor.plain_number", "price_entity_no_unit", {}),
        ("sensor.does_not_exist", "price_entity_missing", {}),
    ],
)
async def test_price_entity_refused(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    price_states: None,
    entity_id: str,
    error: str,
    placeholders: dict[str, str],
) -> None:
    """A missing entity or one without a price unit is refused; nothing is saved."""
    hass.config.currency = "EUR"
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_LIVE_INTERVAL: 60,
            CONF_IMPORT_PRICE_ENTITY: entity_id,
            CONF_BREAKDOWN_STATISTICS: True,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {CONF_IMPORT_PRICE_ENTITY: error}
    for key, value in placeholders.items():
        assert _placeholders(result)[key] == value
    # The form keeps what was entered; the estimate is still the current one.
    assert _suggested(result) == {
        CONF_IMPORT_PRICE_ENTITY: entity_id,
        CONF_EXPORT_PRICE_ENTITY: None,
        CONF_BREAKDOWN_STATISTICS: True,
        CONF_HISTORY_FROM: None,
    }
    assert _defaults(result)[CONF_LIVE_INTERVAL] == 60
    assert _placeholders(result)["per_day"] == "3,267"
    assert loaded_entry.options == {}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**INTERVALS, CONF_IMPORT_PRICE_ENTITY: NORD_POOL}
    )
    assert result["step_id"] == "confirm"


async def test_both_price_entities_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, price_states: None
) -> None:
    """Each field gets its own message, with its own unit."""
    hass.config.currency = "EUR"
    hass.states.async_set("sensor.dollars", "0.3", {"unit_of_measurement": "$/kWh"})
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_IMPORT_PRICE_ENTITY: "sensor.energy",
            CONF_EXPORT_PRICE_ENTITY: "sensor.dollars",  # $ is not the euro
        },
    )
    assert result["errors"] == {
        CONF_IMPORT_PRICE_ENTITY: "import_price_unit",
        CONF_EXPORT_PRICE_ENTITY: "export_price_unit",
    }
    assert _placeholders(result)["import_unit"] == "kWh"
    assert _placeholders(result)["export_unit"] == "$/kWh"


@pytest.mark.parametrize(
    ("import_unit", "export_unit", "errors", "shown"),
    [
        (
            "USD/kWh",
            "c/kWh",  # cents of Home Assistant's currency
            {CONF_IMPORT_PRICE_ENTITY: "import_price_currency"},
            {"import_currency": "USD", "home_currency": "EUR"},
        ),
        (
            "€/kWh",
            "£/MWh",
            {CONF_EXPORT_PRICE_ENTITY: "export_price_currency"},
            {"export_currency": "GBP", "home_currency": "EUR"},
        ),
        (
            "SEK/kWh",
            "öre/kWh",
            {
                CONF_IMPORT_PRICE_ENTITY: "import_price_currency",
                CONF_EXPORT_PRICE_ENTITY: "export_price_currency",
            },
            {
                "import_currency": "SEK",
                "export_currency": "SEK",
                "home_currency": "EUR",
            },
        ),
    ],
)
async def test_price_entity_in_another_currency_refused(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    import_unit: str,
    export_unit: str,
    errors: dict[str, str],
    shown: dict[str, str],
) -> None:
    """Prices in another currency than Home Assistant's are refused with both named.

    The Energy dashboard shows every cost in Home Assistant's currency: a USD
    amount would read as euros. Nothing is saved.
    """
    hass.config.currency = "EUR"
    hass.states.async_set("sensor.import", "0.1", {"unit_of_measurement": import_unit})
    hass.states.async_set("sensor.export", "5", {"unit_of_measurement": export_unit})
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    chosen = {
        **INTERVALS,
        CONF_IMPORT_PRICE_ENTITY: "sensor.import",
        CONF_EXPORT_PRICE_ENTITY: "sensor.export",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], chosen
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == errors
    for key, value in shown.items():
        assert _placeholders(result)[key] == value
    assert loaded_entry.options == {}

    # In Home Assistant's currency (or its cents) they are taken.
    hass.states.async_set("sensor.import", "0.1", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set("sensor.export", "5", {"unit_of_measurement": "c/kWh"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], chosen
    )
    assert result["step_id"] == "confirm"


async def test_price_entity_without_state_yet(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An entity whose integration has not started is checked by its registered unit."""
    hass.config.currency = "NOK"
    registry = er.async_get(hass)
    spot = registry.async_get_or_create(
        "sensor", "nordpool", "spot", unit_of_measurement="NOK/MWh"
    )
    other = registry.async_get_or_create(
        "sensor", "nordpool", "energy", unit_of_measurement="MWh"
    )
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_IMPORT_PRICE_ENTITY: spot.entity_id,
            CONF_EXPORT_PRICE_ENTITY: other.id,  # the selector takes registry ids too
        },
    )
    assert result["errors"] == {CONF_EXPORT_PRICE_ENTITY: "export_price_unit"}
    assert _placeholders(result)["export_unit"] == "MWh"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_IMPORT_PRICE_ENTITY: spot.entity_id,
            CONF_EXPORT_PRICE_ENTITY: spot.id,
        },
    )
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    # Stored by entity id, whichever the selector sent.
    assert loaded_entry.options[CONF_EXPORT_PRICE_ENTITY] == spot.entity_id


async def test_price_entity_domain(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Only sensors, input numbers and numbers are offered."""
    hass.states.async_set("light.price", "1", {"unit_of_measurement": "EUR/kWh"})
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**INTERVALS, CONF_IMPORT_PRICE_ENTITY: "light.price"}
        )


async def test_clearing_price_entity(
    hass: HomeAssistant, simulator: Simulator, credentials: None, price_states: None
) -> None:
    """A cleared field removes its option; options the form does not show are kept."""
    entry = new_entry(
        simulator,
        options={
            **INTERVALS,
            CONF_IMPORT_PRICE_ENTITY: NORD_POOL,
            CONF_EXPORT_PRICE_ENTITY: EXPORT,
            CONF_BREAKDOWN_STATISTICS: True,
            CONF_BACKFILL_FROM_INSTALLATION: True,
        },
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _suggested(result)[CONF_IMPORT_PRICE_ENTITY] == NORD_POOL
    # The frontend leaves a cleared selector out of what it sends.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **INTERVALS,
            CONF_EXPORT_PRICE_ENTITY: EXPORT,
            CONF_BREAKDOWN_STATISTICS: False,
        },
    )
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        **INTERVALS,
        CONF_EXPORT_PRICE_ENTITY: EXPORT,
        CONF_BREAKDOWN_STATISTICS: False,
        CONF_BACKFILL_FROM_INSTALLATION: True,
    }
