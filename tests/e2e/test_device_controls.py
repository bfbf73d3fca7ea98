"""The site's controls on its device page, in a real browser.

On the shared stack (conftest ``configured``: the integration added through
the UI), open the "Home" site's device page, change the backup reserve and
the operation mode there and check that the simulator (standing in for
Tesla) got the change. Then a change Tesla would refuse (85 % outside
backup-only mode): the toast must read as plain words, and the page must show
the site's real reserve again at once.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

RESERVE = "number.home_backup_reserve"
MODE = "select.home_operation_mode"


def open_device(web: Browser, running: Stack, name: str) -> None:
    """The device page of the site called ``name``."""
    page = web.page
    page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
    page.get_by_text(name, exact=True).first.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    reserve_input(page).wait_for()


def reserve_input(page: Any) -> Any:
    """The backup reserve's number box on the device page."""
    return page.get_by_role("spinbutton", name="Backup reserve", exact=True)


def mode_button(page: Any) -> Any:
    """The operation mode's dropdown on the device page (named with its value)."""
    return page.get_by_role("button", name=re.compile(r"^Operation mode "))


def state(page: Any, entity_id: str) -> str:
    """The entity's state as the frontend has it."""
    value: str = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id].state",
        entity_id,
    )
    return value


def set_reserve(page: Any, percent: int) -> None:
    """Type a reserve into the box and leave it (the row sends it on change)."""
    box = reserve_input(page)
    box.fill(str(percent))
    box.press("Enter")
    box.blur()


def choose_mode(page: Any, option: str) -> None:
    """Open the operation mode's dropdown and pick ``option``."""
    mode_button(page).click()
    page.get_by_role("menuitem", name=option, exact=True).click()


def test_reserve_and_mode_from_the_device_page(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Both changes reach the site; the page shows them."""
    running, _ = configured
    page = logged_in.page
    open_device(logged_in, running, "Home")
    logged_in.shot("device", full_page=True)
    before = running.site(SITE_FULL)
    reserve = 30 if before["backup_reserve_percent"] != 30 else 35

    set_reserve(page, reserve)
    stack.wait_until(
        lambda: running.site(SITE_FULL)["backup_reserve_percent"] == reserve,
        f"the simulator's reserve to become {reserve} %",
        timeout=60,
    )
    stack.wait_until(
        lambda: (
            state(page, RESERVE) == f"{reserve}.0"
            or state(page, RESERVE) == str(reserve)
        ),
        "the reserve entity to show the new value",
        timeout=60,
    )
    logged_in.shot("reserve-set")

    choose_mode(page, "Backup only")
    stack.wait_until(
        lambda: running.site(SITE_FULL)["default_real_mode"] == "backup",
        "the simulator's mode to become backup",
        timeout=60,
    )
    stack.wait_until(
        lambda: state(page, MODE) == "backup", "the mode entity", timeout=60
    )
    stack.role(page, "button", "Operation mode Backup only").wait_for()
    logged_in.shot("mode-set")


def test_refused_reserve_shows_plain_words_and_the_real_value(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """85 % outside backup-only: a plain toast, nothing sent, the real value shown."""
    running, _ = configured
    page = logged_in.page
    open_device(logged_in, running, "Home")
    if running.site(SITE_FULL)["default_real_mode"] != "self_consumption":
        choose_mode(page, "Self-powered")
        stack.wait_until(
            lambda: running.site(SITE_FULL)["default_real_mode"] == "self_consumption",
            "the simulator's mode to become self_consumption",
            timeout=60,
        )
    real = running.site(SITE_FULL)["backup_reserve_percent"]
    assert real <= 80
    stack.wait_until(
        lambda: reserve_input(page).input_value() in (str(real), f"{real}.0"),
        f"the box to show {real}",
        timeout=60,
    )

    set_reserve(page, 85)
    toast = page.get_by_text(re.compile(r"backup reserve of 85"))
    toast.first.wait_for()
    logged_in.shot("refused")
    text = " ".join(toast.first.inner_text().split())
    assert text.startswith(
        "A backup reserve of 85 % is only possible in backup-only mode"
    ), text
    # Plain words: no raw keys, placeholders, markup or exception class names.
    assert not re.search(r"[<>{}]|\w+_\w+|Error\b|Exception\b", text), text

    # The entity shows the site's real value at once, without a reload, and
    # nothing reached the simulator. (The frontend's number box itself keeps
    # the digits typed into it: its value binding only moves when the state
    # does, and a refused change leaves the state as it was. README,
    # "Controls never fail silently".)
    assert state(page, RESERVE) in (str(real), f"{real}.0")
    page.reload()
    stack.wait_until(
        lambda: reserve_input(page).input_value() in (str(real), f"{real}.0"),
        f"the box to show the site's real reserve ({real} %) after a reload",
        timeout=30,
    )
    assert running.site(SITE_FULL)["backup_reserve_percent"] == real
    logged_in.shot("after-refusal")
