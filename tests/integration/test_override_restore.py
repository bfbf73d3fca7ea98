"""Overrides that always come back: restarts, downtime, owner changes, Tesla refusing.

Each test runs against the simulator over HTTP; time is Home Assistant's
(freezer), the simulator's faults stand in for Tesla refusing or not answering.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import DOMAIN
from tests.integration.entity_helpers import request_bodies, setup_sites, tick
from tests.integration.test_override import active, cancel, ends, override
from tests.simulator import Fault, Simulator
from tests.simulator.scenario import SITE_FULL, SITE_PW3

pytestmark = pytest.mark.usefixtures("no_retry_delay")

ISSUE = f"override_restore_{SITE_FULL}"


def posts(simulator: Simulator) -> list[str]:
    """The commands the simulator received, in order."""
    return [r.endpoint for r in simulator.requests if r.method == "POST"]


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry (Home Assistant stops) and set it up again (it starts)."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_restart_keeps_end_and_values(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A restart mid-override keeps its end and the values to restore."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(hass, SITE_FULL, backup_reserve=100, duration={"hours": 1})
    await tick(hass, freezer, 1200)

    await restart(hass, config_entry)

    assert sim.reserve == 100
    state, attributes = active(hass, SITE_FULL)
    assert state == "on"
    assert attributes["restore"] == {"backup_reserve": 20}
    assert ends(hass, SITE_FULL) != "unknown"
    await tick(hass, freezer, 2390)
    assert sim.reserve == 100
    await tick(hass, freezer, 20)
    assert sim.reserve == 20
    assert active(hass, SITE_FULL)[0] == "off"


async def test_end_passed_while_down_restored_at_start(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An override whose end passed while Home Assistant was down is restored at start-up."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(
        hass,
        SITE_FULL,
        operation_mode="autonomous",
        storm_watch=False,
        duration="00:30:00",
    )
    assert (sim.mode, sim.storm_mode_enabled) == ("autonomous", False)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()

    await tick(hass, freezer, 3 * 3600)  # down for three hours
    assert (sim.mode, sim.storm_mode_enabled) == ("autonomous", False)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert (sim.mode, sim.storm_mode_enabled) == ("self_consumption", True)
    assert active(hass, SITE_FULL)[0] == "off"


async def test_owner_change_is_left_alone(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value the owner changed during the override stays; the others are restored."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(
        hass, SITE_FULL, backup_reserve=100, export_rule="never", duration={"hours": 1}
    )
    sim.reserve = 50  # in the Tesla app

    await tick(hass, freezer, 3601)

    assert (sim.reserve, sim.export_rule) == (50, "pv_only")
    assert request_bodies(simulator, "backup", SITE_FULL) == [
        {"backup_reserve_percent": 100}
    ]
    assert (
        "The backup reserve of Home was changed during the override (now: backup"
        " reserve 50 %)"
    ) in caplog.text
    assert active(hass, SITE_FULL)[0] == "off"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 400}, id="refused"),
        pytest.param({"drop": True}, id="unreachable"),
        pytest.param({"status": 503}, id="tesla-down"),
    ],
)
async def test_restore_retried_then_repair_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    fault: dict[str, object],
) -> None:
    """A failing restore is retried with backoff; after an hour a repair issue names the values."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    issues = ir.async_get(hass)
    await override(
        hass,
        SITE_FULL,
        backup_reserve=100,
        export_rule="never",
        duration={"minutes": 10},
    )
    failing = simulator.add_fault(r"/backup$", method="POST", times=None, **fault)  # type: ignore[arg-type]

    await tick(hass, freezer, 601)
    # The export rule came back; the reserve did not.
    assert (sim.reserve, sim.export_rule) == (100, "pv_only")
    assert failing.hits == 1
    state, attributes = active(hass, SITE_FULL)
    assert state == "on"
    assert attributes["restoring"] is True
    assert attributes["restore"] == {"backup_reserve": 20}

    # Retries after 1, 3, 8, 18 and 30 minutes: no issue yet.
    for minutes, hits in ((1, 2), (2, 3), (5, 4), (10, 5), (12, 6)):
        await tick(hass, freezer, minutes * 60)
        assert failing.hits == hits, minutes
    assert issues.async_get_issue(DOMAIN, ISSUE) is None
    await tick(hass, freezer, 30 * 60)  # an hour after the end
    assert failing.hits == 7
    issue = issues.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "override_restore"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["values"] == "backup reserve 20 %"
    assert issue.translation_placeholders["site"] == "Home"

    # Every 30 minutes from then on, until Tesla takes it.
    failing.times = 0
    await tick(hass, freezer, 30 * 60)
    assert sim.reserve == 20
    assert issues.async_get_issue(DOMAIN, ISSUE) is None
    assert active(hass, SITE_FULL)[0] == "off"


async def _failing_restore(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> Fault:
    """An override of the reserve whose end came 10 minutes later; Tesla refuses the restore."""
    await override(hass, SITE_FULL, backup_reserve=100, duration={"minutes": 10})
    failing = simulator.add_fault(r"/backup$", method="POST", status=503, times=None)
    await tick(hass, freezer, 601)
    assert failing.hits == 1
    return failing


async def test_retry_schedule_kept_across_restart(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A restart moves no retry: 1, 3, 8, 18, 30 and 60 minutes after the end, repair at 60.

    Issue 23 (2): with a restart 5 minutes after the end, the retries came at
    +5, +15, +27 and +57 minutes and the repair at +87.
    """
    await setup_sites(hass, config_entry)
    issues = ir.async_get(hass)
    failing = await _failing_restore(hass, simulator, freezer)
    await tick(hass, freezer, 60)  # +1
    await tick(hass, freezer, 120)  # +3
    assert failing.hits == 3
    await tick(hass, freezer, 120)  # +5

    await restart(hass, config_entry)

    assert failing.hits == 3  # the next attempt is due at +8, not now
    assert active(hass, SITE_FULL)[1]["restoring"] is True
    at = 5 * 60  # seconds after the end
    for minutes, hits in ((8, 4), (18, 5), (30, 6), (60, 7)):
        await tick(hass, freezer, minutes * 60 - 1 - at)
        assert failing.hits == hits - 1, minutes
        assert issues.async_get_issue(DOMAIN, ISSUE) is None
        await tick(hass, freezer, 1)
        assert failing.hits == hits, minutes
        at = minutes * 60
        if minutes < 60:
            # A restart right after an attempt moves the next one neither.
            await restart(hass, config_entry)
            assert failing.hits == hits, minutes
    # The repair an hour after the end.
    assert issues.async_get_issue(DOMAIN, ISSUE) is not None


async def test_retry_due_while_down_is_made_at_start(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A retry that fell due while Home Assistant was down is made at start-up; the schedule goes on."""
    await setup_sites(hass, config_entry)
    issues = ir.async_get(hass)
    failing = await _failing_restore(hass, simulator, freezer)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    await tick(hass, freezer, 50 * 60)  # down until 50 minutes after the end
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert failing.hits == 2
    assert issues.async_get_issue(DOMAIN, ISSUE) is None
    await tick(hass, freezer, 10 * 60)  # the hour after the end
    assert failing.hits == 3
    assert issues.async_get_issue(DOMAIN, ISSUE) is not None


async def test_cancel_keeps_restoring_until_it_works(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Cancelling a failing restore, twice, ends nothing: the retries, the repair and the override stay.

    Issue 23 (1): the second cancel used to stop the retries, turn "Override
    active" off and close the repair, leaving the Powerwall at 100 %.
    """
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    issues = ir.async_get(hass)
    failing = await _failing_restore(hass, simulator, freezer)

    for press in (1, 2):
        with pytest.raises(HomeAssistantError) as err:
            await cancel(hass, SITE_FULL)
        assert err.value.translation_key == "override_not_restored"
        assert "Home: backup reserve 20 %" in str(err.value.translation_placeholders)
        assert failing.hits == 1 + press
        # The owner asked: the repair (and its choice) is there at once.
        assert issues.async_get_issue(DOMAIN, ISSUE) is not None
        state, attributes = active(hass, SITE_FULL)
        assert (state, attributes["restoring"]) == ("on", True)
        assert attributes["restore"] == {"backup_reserve": 20}

    await tick(hass, freezer, 3 * 60)  # the schedule from the end goes on
    assert failing.hits == 4
    await restart(hass, config_entry)  # e.g. signing in again reloads the entry
    assert active(hass, SITE_FULL)[0] == "on"
    assert issues.async_get_issue(DOMAIN, ISSUE) is not None

    failing.times = 0  # Tesla takes it again
    await tick(hass, freezer, 5 * 60)  # 8 minutes after the end
    assert sim.reserve == 20
    assert active(hass, SITE_FULL)[0] == "off"
    assert issues.async_get_issue(DOMAIN, ISSUE) is None
    posted = len(posts(simulator))
    await tick(hass, freezer, 3 * 3600)
    assert len(posts(simulator)) == posted


async def _fix_flow(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, choice: str
) -> dict[str, Any]:
    """Open the repair's fix flow on the Repairs dashboard and choose ``choice``."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    assert resp.status == HTTPStatus.OK, await resp.text()
    shown: dict[str, Any] = await resp.json()
    assert shown["type"] == "menu"
    assert shown["menu_options"] == ["keep_trying", "keep_site_values"]
    assert shown["description_placeholders"]["values"] == "backup reserve 20 %"
    resp = await client.post(
        f"/api/repairs/issues/fix/{shown['flow_id']}", json={"next_step_id": choice}
    )
    assert resp.status == HTTPStatus.OK, await resp.text()
    result: dict[str, Any] = await resp.json()
    await hass.async_block_till_done()
    return result


async def test_fix_flow_keep_trying_changes_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Choosing to keep trying closes the dialog; the repair and the retries stay."""
    await setup_sites(hass, config_entry)
    failing = await _failing_restore(hass, simulator, freezer)
    with pytest.raises(HomeAssistantError):
        await cancel(hass, SITE_FULL)

    result = await _fix_flow(hass, hass_client, "keep_trying")

    assert (result["type"], result["reason"]) == ("abort", "keep_trying")
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is not None
    assert active(hass, SITE_FULL)[0] == "on"
    await tick(hass, freezer, 3 * 60)
    assert failing.hits == 3


async def test_fix_flow_keep_site_values_ends_the_obligation(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The owner's explicit choice, and only that, ends a restore obligation."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    failing = await _failing_restore(hass, simulator, freezer)
    with pytest.raises(HomeAssistantError):
        await cancel(hass, SITE_FULL)

    result = await _fix_flow(hass, hass_client, "keep_site_values")

    assert result["type"] == "create_entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    assert active(hass, SITE_FULL)[0] == "off"
    assert (
        "Keeping the settings Home holds, as its owner chose; no longer restoring:"
        " backup reserve 20 %"
    ) in caplog.text
    hits = failing.hits
    await tick(hass, freezer, 3 * 3600)
    assert failing.hits == hits
    assert sim.reserve == 100
    await restart(hass, config_entry)
    assert active(hass, SITE_FULL)[0] == "off"
    saved = hass_storage[f"{DOMAIN}.override.{config_entry.entry_id}"]
    assert saved["data"]["overrides"] == {}


async def test_fix_flow_while_the_entry_is_not_loaded(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """With the entry not running, keeping the site's values changes nothing yet."""
    await setup_sites(hass, config_entry)
    await _failing_restore(hass, simulator, freezer)
    with pytest.raises(HomeAssistantError):
        await cancel(hass, SITE_FULL)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()

    result = await _fix_flow(hass, hass_client, "keep_site_values")

    assert (result["type"], result["reason"]) == ("abort", "not_loaded")
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is not None
    await restart_after_unload(hass, config_entry)
    assert active(hass, SITE_FULL)[1]["restoring"] is True


async def restart_after_unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set an unloaded entry up again."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_two_sites_two_overrides(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two sites with different overrides each end and restore on their own."""
    await setup_sites(hass, config_entry, SITE_FULL, SITE_PW3)
    home, cabin = simulator.site(SITE_FULL), simulator.site(SITE_PW3)
    await override(hass, SITE_FULL, preset="storm_prep", duration={"hours": 1})
    await override(
        hass, SITE_PW3, operation_mode="self_consumption", duration={"hours": 2}
    )
    assert (home.reserve, cabin.mode) == (100, "self_consumption")
    assert active(hass, SITE_PW3)[1]["restore"] == {"operation_mode": "autonomous"}

    await tick(hass, freezer, 3601)
    assert (home.reserve, cabin.mode) == (20, "self_consumption")
    assert active(hass, SITE_FULL)[0] == "off"
    assert active(hass, SITE_PW3)[0] == "on"

    await tick(hass, freezer, 3600)
    assert (home.reserve, cabin.mode, cabin.reserve) == (20, "autonomous", 30)
    assert active(hass, SITE_PW3)[0] == "off"


async def test_second_override_merges(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A second override sets its values, replaces the end, keeps the first's restore values."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(hass, SITE_FULL, backup_reserve=100, duration={"hours": 2})

    result = await override(
        hass,
        SITE_FULL,
        backup_reserve=50,
        export_rule="never",
        duration={"minutes": 30},
    )

    assert result["previous"] == {"backup_reserve": 100, "export_rule": "pv_only"}
    assert result["restore"] == {"backup_reserve": 20, "export_rule": "pv_only"}
    assert active(hass, SITE_FULL)[1]["overridden"] == {
        "backup_reserve": 50,
        "export_rule": "never",
    }
    await tick(hass, freezer, 1801)  # the second one's end, earlier than the first's
    assert (sim.reserve, sim.export_rule) == (20, "pv_only")
    assert active(hass, SITE_FULL)[0] == "off"
    posted = len(posts(simulator))
    await tick(hass, freezer, 2 * 3600)
    assert len(posts(simulator)) == posted


async def test_target_percent_reached(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An override with a target charge ends when the battery reaches it."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    result = await override(
        hass, SITE_FULL, preset="charge_from_grid", target_percent=90
    )
    assert result["ends_at"] is None
    assert result["target_percent"] == 90
    assert ends(hass, SITE_FULL) == "unknown"
    assert (sim.mode, sim.reserve) == ("autonomous", 100)

    sim.soc = 85
    await tick(hass, freezer, 31)
    assert sim.reserve == 100
    sim.soc = 90.2
    await tick(hass, freezer, 31)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert (sim.mode, sim.reserve) == ("self_consumption", 20)
    assert active(hass, SITE_FULL)[0] == "off"


async def test_duration_before_target(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """With a target charge and a duration, whichever comes first ends the override."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(
        hass, SITE_FULL, preset="storm_prep", target_percent=99, duration="00:10:00"
    )
    await tick(hass, freezer, 601)
    assert sim.reserve == 20
    assert active(hass, SITE_FULL)[0] == "off"
    # The battery watch went with it: reaching the level sends nothing more.
    posted = len(posts(simulator))
    sim.soc = 99.5
    await tick(hass, freezer, 31)
    assert len(posts(simulator)) == posted


async def test_falling_target(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A target below the present charge ends the override when the charge falls to it."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(hass, SITE_FULL, export_rule="battery_ok", target_percent=40)
    sim.soc = 45
    await tick(hass, freezer, 31)
    assert sim.export_rule == "battery_ok"
    sim.soc = 39.6
    await tick(hass, freezer, 31)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.export_rule == "pv_only"


async def test_removing_the_entry_drops_its_overrides(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, object],
) -> None:
    """Removing the entry deletes its override file and closes its issues."""
    await setup_sites(hass, config_entry)
    await override(hass, SITE_FULL, backup_reserve=100, duration={"hours": 1})
    key = f"{DOMAIN}.override.{config_entry.entry_id}"
    assert key in hass_storage
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="override_restore",
    )
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_second_call_without_settings_moves_the_end(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call with only an end moves a running override's end; nothing is sent."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    await override(hass, SITE_FULL, preset="storm_prep", duration={"hours": 12})
    posted = len(posts(simulator))

    result = await override(hass, SITE_FULL, duration={"hours": 2})

    assert result["values"] == {}
    assert result["restore"] == {"backup_reserve": 20}
    assert len(posts(simulator)) == posted
    await tick(hass, freezer, 7201)
    assert sim.reserve == 20


async def test_settings_not_restored_are_named_in_words(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The repair issue names settings and options as the user knows them."""
    await setup_sites(hass, config_entry)
    sim = simulator.site(SITE_FULL)
    assert sim.mode == "self_consumption"
    await override(
        hass,
        SITE_FULL,
        operation_mode="autonomous",
        backup_reserve=100,
        duration={"minutes": 10},
    )
    simulator.add_fault(r"/operation$", method="POST", status=503, times=None)
    simulator.add_fault(r"/backup$", method="POST", status=503, times=None)

    await tick(hass, freezer, 601)
    for minutes in (1, 2, 5, 10, 12, 30):
        await tick(hass, freezer, minutes * 60)

    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["values"] == (
        "operation mode Self-powered, backup reserve 20 %"
    )
