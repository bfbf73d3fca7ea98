"""What an owner sees of overrides, in a real browser (issue 23, items 1 and 8).

On the shared stack (conftest ``configured``), on the "Home" site:

- the *Cancel override* button can only be pressed while an override runs;
- a cancel whose restore Tesla refuses (the simulator answers 503) says so in
  plain words, twice, and ends nothing: *Override active* stays on and the
  repair is there at once; its fix flow offers "keep trying" (nothing
  changes) and "keep what the site holds now" (only then the obligation ends);
- the storm-prep blueprint's sites input is marked required;
- the override action's form shows no raw keys in its field descriptions;
- after a refused reserve of 85 %, switching to backup-only and pressing
  Enter on the 85 the box still shows sends nothing (a limit of Home
  Assistant's number box, README "Controls never fail silently"); typing the
  value after a reload sends it.

Each test leaves Home's settings as it found them. Runs before
test_reauth.py (file order), which replaces the stack's login.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import REPO, Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

RESERVE_KEY = "backup_reserve"
REPAIR_TITLE = "Home: settings not restored after an override"


def _entity(page: Any, key: str) -> str:
    entity_id = stack.entity_id_of(page, f"{SITE_FULL}_{key}")
    assert entity_id is not None, key
    return entity_id


def _state(page: Any, entity_id: str) -> str:
    value: str = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id].state",
        entity_id,
    )
    return value


def _open_home(web: Browser, running: Stack) -> str:
    """Home's device page; its device id."""
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text("Home", exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    _reserve_box(page).wait_for()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def _reserve_box(page: Any) -> Any:
    return page.get_by_role("spinbutton", name="Backup reserve", exact=True)


def _press_button(page: Any) -> Any:
    """The *Cancel override* row's Press button (Home has no other button entity)."""
    return page.get_by_role("button", name="Press", exact=True)


def _override(page: Any, device_id: str, **data: Any) -> None:
    stack.ha_service(page, stack.DOMAIN, "override", {"device_id": device_id, **data})


def _repairs(page: Any) -> list[dict[str, Any]]:
    result: dict[str, Any] = stack.ha_ws(page, {"type": "repairs/list_issues"})
    return [
        issue
        for issue in result["issues"]
        if issue["domain"] == stack.DOMAIN and not issue.get("dismissed_version")
    ]


def _posts(running: Stack) -> list[dict[str, Any]]:
    """The commands the simulator received (every site)."""
    requests: list[dict[str, Any]] = running.sim("GET", "requests?limit=1000")[
        "requests"
    ]
    return [r for r in requests if r["method"] == "POST"]


def _toast(page: Any, pattern: str) -> str:
    toast = page.get_by_text(re.compile(pattern)).first
    toast.wait_for()
    return " ".join(toast.inner_text().split())


def test_cancel_override_pressable_only_with_an_override(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """No override: the button is greyed out; with one it can be pressed, and restores."""
    running, _ = configured
    page = logged_in.page
    device_id = _open_home(logged_in, running)
    button = _entity(page, "cancel_override")
    storm = running.site(SITE_FULL)["storm_mode_enabled"]

    assert _state(page, button) == "unavailable"
    assert _press_button(page).is_disabled()
    logged_in.shot("no-override")

    _override(page, device_id, storm_watch=not storm, duration={"hours": 1})
    stack.wait_until(
        lambda: _press_button(page).is_enabled(), "the button to be pressable", 30
    )
    logged_in.shot("override-running")
    _press_button(page).click()
    stack.wait_until(
        lambda: running.site(SITE_FULL)["storm_mode_enabled"] == storm,
        "storm watch restored",
        60,
    )
    stack.wait_until(
        lambda: _press_button(page).is_disabled(), "the button greyed out again", 30
    )
    logged_in.shot("cancelled")


def test_refused_restore_keeps_trying_until_the_owner_chooses(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Two cancels Tesla refuses end nothing; only the repair's explicit choice does."""
    running, _ = configured
    page = logged_in.page
    device_id = _open_home(logged_in, running)
    active = _entity(page, "override_active")
    before = running.site(SITE_FULL)["backup_reserve_percent"]
    _override(page, device_id, backup_reserve=100, duration={"hours": 1})
    stack.wait_until(lambda: _state(page, active) == "on", "the override", 30)
    running.sim(
        "POST",
        "faults",
        {"path": r"/backup$", "method": "POST", "status": 503, "times": None},
    )
    try:
        for press in (1, 2):
            _press_button(page).click()
            text = _toast(page, r"These settings could not be restored")
            logged_in.shot(f"cancel-refused-{press}")
            assert f"Home: backup reserve {before} %" in text, text
            assert "Home Assistant keeps trying" in text, text
            assert not re.search(r"[<>{}]|\w+_\w+", text), text
            page.keyboard.press("Escape")
            assert _state(page, active) == "on"
            assert _press_button(page).is_enabled()
            assert [issue["translation_key"] for issue in _repairs(page)] == [
                "override_restore"
            ]
        assert running.site(SITE_FULL)["backup_reserve_percent"] == 100

        # Settings > System > Repairs: the issue offers the choice.
        page.goto(f"{running.ha_url}/config/repairs")
        page.get_by_text(REPAIR_TITLE).click()
        page.get_by_text("Keep trying to restore them").wait_for()
        page.get_by_text(
            re.compile(r"has ended, but Tesla refused or did not answer")
        ).wait_for()
        logged_in.shot("repair-choice")
        page.get_by_text("Keep trying to restore them").click()
        page.get_by_text(
            re.compile(r"keeps trying to restore backup reserve")
        ).wait_for()
        logged_in.shot("repair-keep-trying")
        page.locator("ha-dialog-footer").get_by_role("button", name="Close").click()
        assert [issue["translation_key"] for issue in _repairs(page)] == [
            "override_restore"
        ]
        assert _state(page, active) == "on"

        page.get_by_text(REPAIR_TITLE).click()
        choice = page.get_by_text("Keep what the site holds now and stop restoring")
        choice.click()
        stack.wait_until(lambda: not _repairs(page), "the repair to go", 30)
        logged_in.shot("repair-keep-site-values")
        assert _state(page, active) == "off"
        assert running.site(SITE_FULL)["backup_reserve_percent"] == 100
    finally:
        running.sim("DELETE", "faults")
    # Home's reserve as it was, for the tests after this one.
    stack.ha_service(
        page,
        "number",
        "set_value",
        {"entity_id": _entity(page, RESERVE_KEY), "value": before},
    )
    stack.wait_until(
        lambda: running.site(SITE_FULL)["backup_reserve_percent"] == before,
        "the reserve back as it was",
        60,
    )


def test_storm_prep_sites_input_says_required(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """The blueprint editor marks the sites input required, as the other required input."""
    running, _ = configured
    page = logged_in.page
    source = REPO / "blueprints" / "automation" / stack.DOMAIN / "storm_prep.yaml"
    stack.ha_ws(
        page,
        {
            "type": "blueprint/save",
            "domain": "automation",
            "path": f"{stack.DOMAIN}/storm_prep.yaml",
            "yaml": source.read_text(),
            "allow_override": True,
        },
    )
    page.goto(f"{running.ha_url}/config/blueprint/dashboard")
    page.get_by_text("Powerwall storm prep").first.click()
    page.wait_for_url(re.compile(r"/config/automation/edit/new"))
    sites = page.locator("ha-settings-row", has_text="Powerwall sites")
    sites.wait_for()
    logged_in.shot("storm-prep-editor", full_page=True)
    # The entity picker's placeholder ends in "*" for a required input (the
    # device picker's did not).
    sites.get_by_text(re.compile(r"^\s*Select an entity \*\s*$")).wait_for()
    alerts = page.locator("ha-settings-row", has_text="Alert entities")
    alerts.get_by_text(re.compile(r"^\s*Select an entity \*\s*$")).wait_for()


def test_override_form_shows_no_raw_keys(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Developer tools > Actions > Override battery settings: descriptions in plain words."""
    running, _ = configured
    page = logged_in.page
    page.goto(f"{running.ha_url}/developer-tools/action")
    page.get_by_text("The actions tool allows you").wait_for()
    page.locator("ha-service-picker").click()
    # Typed before the picker's search field is open, the keys would go to
    # Home Assistant's keyboard shortcuts.
    page.wait_for_function(
        """() => {
            let active = document.activeElement;
            while (active?.shadowRoot?.activeElement) {
                active = active.shadowRoot.activeElement;
            }
            return active?.tagName === "INPUT";
        }"""
    )
    page.keyboard.type("Override battery settings")
    page.get_by_text("Override battery settings", exact=True).first.click()
    page.get_by_text("Operation mode", exact=True).first.wait_for()
    logged_in.shot("override-form", full_page=True)
    form = page.locator("ha-service-control")
    form.get_by_text("Self-powered, time-based control or backup only.").wait_for()
    form.get_by_text(re.compile(r"^What may be exported: solar and battery")).wait_for()
    for raw in (
        "self_consumption",
        "autonomous",
        "battery_ok",
        "pv_only",
        "charge_from_grid",
        "preserve_battery",
        "storm_prep",
    ):
        assert form.get_by_text(re.compile(rf"\b{raw}\b")).count() == 0, raw


def test_enter_on_the_refused_value_sends_nothing(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """The number box keeps a refused 85; Enter on it sends nothing; typed after a reload, it is sent."""
    running, _ = configured
    page = logged_in.page
    _open_home(logged_in, running)
    mode = _entity(page, "operation_mode")
    before = running.site(SITE_FULL)
    assert before["default_real_mode"] == "self_consumption", before
    box = _reserve_box(page)

    box.fill("85")
    box.press("Enter")
    _toast(page, r"backup reserve of 85")
    page.keyboard.press("Escape")
    stack.ha_service(
        page, "select", "select_option", {"entity_id": mode, "option": "backup"}
    )
    stack.wait_until(lambda: _state(page, mode) == "backup", "backup-only", 60)
    posts = len(_posts(running))
    assert box.input_value() == "85"
    box.focus()
    box.press("Enter")
    box.blur()
    page.wait_for_timeout(3000)
    logged_in.shot("enter-on-85-sends-nothing")
    assert len(_posts(running)) == posts
    assert (
        running.site(SITE_FULL)["backup_reserve_percent"]
        == before["backup_reserve_percent"]
    )

    page.reload()
    _reserve_box(page).wait_for()
    box = _reserve_box(page)
    stack.wait_until(
        lambda: box.input_value() == str(before["backup_reserve_percent"]),
        "the box to show the real reserve after a reload",
        30,
    )
    box.fill("85")
    box.press("Enter")
    stack.wait_until(
        lambda: running.site(SITE_FULL)["backup_reserve_percent"] == 85,
        "85 % sent in backup-only mode",
        60,
    )
    logged_in.shot("85-after-reload")

    # Home as it was: its reserve first (85 % needs backup-only), then the mode.
    stack.ha_service(
        page,
        "number",
        "set_value",
        {
            "entity_id": _entity(page, RESERVE_KEY),
            "value": before["backup_reserve_percent"],
        },
    )
    stack.ha_service(
        page,
        "select",
        "select_option",
        {"entity_id": mode, "option": "self_consumption"},
    )
    stack.wait_until(
        lambda: running.site(SITE_FULL)["default_real_mode"] == "self_consumption",
        "Home back in self-powered mode",
        60,
    )
