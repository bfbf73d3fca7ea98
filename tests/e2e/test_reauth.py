"""Signing in again when Tesla no longer accepts the login, in a real browser.

On the shared stack: the owner's Tesla password changes (the simulator
revokes every token of the user), Home Assistant finds out on the next
reload of the entry and asks for a new sign-in; the owner completes it from
Settings > Devices & services, and the entry works again. Runs last (file
order): the shared stack's login is replaced.
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


def _entry(page: Any) -> dict[str, Any]:
    entries = stack.our_entries(page)
    assert len(entries) == 1, entries
    return entries[0]


def _reauth_flows(page: Any) -> list[dict[str, Any]]:
    flows: list[dict[str, Any]] = stack.ha_ws(
        page, {"type": "config_entries/flow/progress"}
    )
    return [
        flow
        for flow in flows
        if flow["handler"] == stack.DOMAIN and flow["context"].get("source") == "reauth"
    ]


def test_reauth_in_the_browser(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Revoked login > reauth asked > signed in again in the UI > entry loaded."""
    running, _ = configured
    page = logged_in.page
    entry = _entry(page)
    assert entry["state"] == "loaded", entry

    running.sim("POST", "revoke_user", {})
    stack.ha_service(
        page, "homeassistant", "reload_config_entry", {"entry_id": entry["entry_id"]}
    )
    stack.wait_until(lambda: _reauth_flows(page), "a reauth flow", timeout=120)
    assert _entry(page)["state"] == "setup_error"

    page.goto(f"{running.ha_url}/config/integrations/dashboard")
    reconfigure = stack.role(page, "button", re.compile(r"^Reconfigure$"))
    reconfigure.first.wait_for()
    logged_in.shot("reauth-asked", full_page=True)
    reconfigure.first.click()

    page.get_by_text("Sign in to Tesla again", exact=True).first.wait_for()
    page.get_by_text("Tesla no longer accepts the login or the login lacks").wait_for()
    logged_in.shot("reauth-confirm")
    stack.role(page, "button", "Submit").click()

    stack.approve_sign_in(logged_in, running)
    # The integration's own words, or Home Assistant's (2026.11 shows its own).
    page.get_by_text(
        re.compile(r"Signed in again successfully|Re-authentication was successful")
    ).wait_for()
    logged_in.shot("reauth-done")
    stack.role(page, "button", re.compile(r"finish|close", re.IGNORECASE)).first.click()

    stack.wait_until(
        lambda: _entry(page)["state"] == "loaded",
        "the entry to load again",
        timeout=120,
    )
    assert not _reauth_flows(page)
    # The new login works: the site answers through Home Assistant again.
    assert running.site(SITE_FULL)["backup_reserve_percent"] >= 0
    stack.wait_until(
        lambda: (
            page.evaluate(
                "() => document.querySelector('home-assistant').hass.states"
                "['number.home_backup_reserve'].state"
            )
            not in ("unavailable", "unknown")
        ),
        "the reserve entity to be available again",
        timeout=120,
    )
    logged_in.shot("after-reauth")
