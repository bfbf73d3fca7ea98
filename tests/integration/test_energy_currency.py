"""A Tesla tariff in another currency than Home Assistant's: no money, a repair.

The Energy dashboard shows every cost in Home Assistant's currency, so a
dollar tariff while Home Assistant counts in euros would read "€0.10" for ten
cents. Against the simulator's dollar tariff: no cost or compensation is
counted or offered as a statistic, a repair names both currencies, and when
Home Assistant's currency becomes the tariff's the repair goes and the money
statistics count from then on.
"""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.diagnostics import REDACTED
from homeassistant.components.recorder.statistics import list_statistic_ids
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.powerwall_fleet.const import (
    CONF_EXPORT_PRICE_ENTITY,
    CONF_IMPORT_PRICE_ENTITY,
    DOMAIN,
)
from custom_components.powerwall_fleet.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.powerwall_fleet.energy.ledger import MONEY_KEYS
from custom_components.powerwall_fleet.energy.statistics import statistic_id
from tests.integration.test_energy import HISTORY_MARKS, HOUR, Run, sim_clock  # noqa: F401 - fixture
from tests.integration.test_energy_money import run_until
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

pytestmark = HISTORY_MARKS

COST, COMPENSATION = MONEY_KEYS
ISSUE = f"tariff_currency_mismatch_{SITE_FULL}"


async def _money_statistics(hass: HomeAssistant) -> dict[str, str | None]:
    """The site's money statistics the recorder lists, with their units."""
    await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        list_statistic_ids, hass, None, None
    )
    money = {statistic_id(SITE_FULL, key) for key in MONEY_KEYS}
    return {
        item["statistic_id"]: item["statistics_unit_of_measurement"]
        for item in found
        if item["statistic_id"] in money
    }


def _issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)


async def test_tariff_in_another_currency_counts_no_money_and_raises_a_repair(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Dollars against euros: nothing priced, nothing offered, a repair; then it matches."""
    assert simulator.site(SITE_FULL).tariff_content_v2["currency"] == "USD"
    run = Run(hass, simulator, freezer, [SITE_FULL])
    hass.config.currency = "EUR"
    entry = await run.start()
    await run.catch_up()
    history = run.history()

    issue = _issue(hass)
    assert issue is not None
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "tariff_currency_mismatch"
    assert issue.translation_placeholders == {
        "site": "Home",
        "tariff_currency": "USD",
        "home_currency": "EUR",
        "title": entry.title,
    }
    assert history.ledger.money == {COST: 0.0, COMPENSATION: 0.0}
    assert history.ledger.currencies == {COST: None, COMPENSATION: None}
    assert history.ledger.unpriced["import"] > 0
    assert await _money_statistics(hass) == {}  # the pickers offer none

    # The owner sets Home Assistant's currency to the tariff's: the repair
    # goes at once, and the buckets from then on are counted in dollars (the
    # battery covers the day and evening: imports come in the night).
    await hass.config.async_update(currency="USD")
    await hass.async_block_till_done()
    assert _issue(hass) is None
    switched = run.now()
    await run_until(run, switched + 20 * HOUR)
    assert history.ledger.currencies == {COST: "USD", COMPENSATION: "USD"}
    assert history.ledger.money[COST] + history.ledger.money[COMPENSATION] > 0
    assert await _money_statistics(hass) == {
        statistic_id(SITE_FULL, COST): "USD",
        statistic_id(SITE_FULL, COMPENSATION): "USD",
    }
    # Back to euros: raised again; price entities for both directions (in
    # euros) leave the tariff pricing nothing, and the repair goes.
    await hass.config.async_update(currency="EUR")
    await hass.async_block_till_done()
    issue = _issue(hass)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["home_currency"] == "EUR"
    hass.states.async_set("sensor.spot", "0.3", {"unit_of_measurement": "EUR/kWh"})
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_IMPORT_PRICE_ENTITY: "sensor.spot",
            CONF_EXPORT_PRICE_ENTITY: "sensor.spot",
        },
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass) is None


async def test_the_repair_in_diagnostics_and_removed_with_the_entry(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Diagnostics show the repair without the site's name; it goes with the entry."""
    run = Run(hass, simulator, freezer, [SITE_FULL])
    hass.config.currency = "EUR"
    entry = await run.start()
    assert _issue(hass) is not None
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert {
        "translation_key": "tariff_currency_mismatch",
        "severity": ir.IssueSeverity.WARNING,
        "is_fixable": False,
        "placeholders": {
            "site": REDACTED,
            "title": REDACTED,
            "tariff_currency": "USD",
            "home_currency": "EUR",
        },
    } in diagnostics["issues"]
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass) is None
