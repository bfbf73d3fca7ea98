"""What an owner sees of money in another currency and of a missing permission.

On the shared stack (the simulator's tariffs are in US dollars, Home
Assistant counts in dollars):

- Home Assistant's currency becomes the euro: each site's repair names both
  currencies; the options form refuses a price entity in dollars with a plain
  message; back in dollars, the repairs go.
- Tesla refuses a command for a missing permission: the repair names it as the
  developer portal does ("Energy Product Commands"), opens straight into
  signing in again (no "The issue is repaired!" first, no second
  "Authentication expired" repair), and goes once the new login arrives.

Runs after test_reauth.py (file order): the second test signs in again too.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

RESERVE = "number.home_backup_reserve"
PRICE_HELPER = "Spot price USD"
MISSING_COMMANDS = {
    "response": None,
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_cmds",
}


def _issues(page: Any) -> list[dict[str, Any]]:
    """Every open repair issue, of any integration."""
    issues: list[dict[str, Any]] = stack.ha_ws(page, {"type": "repairs/list_issues"})[
        "issues"
    ]
    return issues


def _ours(page: Any, key: str) -> list[dict[str, Any]]:
    """Our open issues with the translation key ``key``."""
    return [
        issue
        for issue in _issues(page)
        if issue["domain"] == stack.DOMAIN and issue["translation_key"] == key
    ]


def _show_repairs(page: Any, running: Stack) -> None:
    """Settings > Repairs, loaded."""
    page.goto(f"{running.ha_url}/config/repairs")
    stack.role(page, "link", "Settings").wait_for()
    page.get_by_text("Repairs", exact=True).first.wait_for()


def _set_currency(page: Any, currency: str) -> None:
    stack.ha_ws(page, {"type": "config/core/update", "currency": currency})


def test_money_in_another_currency(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Euros against dollar tariffs: a repair per site, a refused price entity."""
    running, _ = configured
    page = logged_in.page
    assert not _ours(page, "tariff_currency_mismatch")

    _set_currency(page, "EUR")
    try:
        stack.wait_until(
            lambda: len(_ours(page, "tariff_currency_mismatch")) >= 1,
            "the tariff currency repair",
            timeout=60,
        )
        page.goto(f"{running.ha_url}/config/repairs")
        title = "Home: the Tesla tariff is in USD, Home Assistant in EUR"
        page.get_by_text(title).wait_for()
        logged_in.shot("currency-repairs", full_page=True)
        page.get_by_text(title).click()
        page.get_by_text(
            "has its prices in USD, but Home Assistant's currency is EUR"
        ).wait_for()
        logged_in.shot("currency-repair")
        page.keyboard.press("Escape")

        # A price entity in dollars, chosen in the options form.
        stack.ha_ws(
            page,
            {
                "type": "input_number/create",
                "name": PRICE_HELPER,
                "min": 0,
                "max": 10,
                "step": 0.01,
                "mode": "box",
                "unit_of_measurement": "USD/kWh",
            },
        )
        page.goto(f"{running.ha_url}/config/integrations/integration/powerwall_fleet")
        stack.role(page, "button", "Configure").click()
        page.get_by_text("Polling and prices").wait_for()
        page.get_by_text("Select an entity").first.click()  # the import price
        stack.search_picker(page, PRICE_HELPER)
        page.get_by_text(PRICE_HELPER, exact=True).last.click()
        stack.role(page, "button", "Submit").click()
        refusal = page.get_by_text(
            "The import price entity's prices are in USD, but Home Assistant's"
            " currency is EUR"
        )
        refusal.wait_for()
        refusal.scroll_into_view_if_needed()
        logged_in.shot("price-entity-refused")
        assert page.get_by_text("Request budget").count() == 0  # not saved
        page.keyboard.press("Escape")
    finally:
        _set_currency(page, "USD")
        with contextlib.suppress(stack.sync_api.Error):  # when it was made
            stack.ha_ws(
                page,
                {"type": "input_number/delete", "input_number_id": "spot_price_usd"},
            )

    stack.wait_until(
        lambda: not _ours(page, "tariff_currency_mismatch"),
        "the tariff currency repairs to go",
        timeout=60,
    )
    _show_repairs(page, running)
    assert page.get_by_text("the Tesla tariff is in").count() == 0
    logged_in.shot("currency-repairs-gone", full_page=True)


def test_missing_permission_goes_straight_to_sign_in(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """The permission repair opens the sign-in and stays until the new login."""
    running, _ = configured
    page = logged_in.page
    running.sim(
        "POST",
        "faults",
        {
            "path": r"/backup$",
            "method": "POST",
            "status": 403,
            "json": MISSING_COMMANDS,
            "times": 1,
        },
    )
    with pytest.raises(stack.sync_api.Error):
        stack.ha_service(
            page, "number", "set_value", {"entity_id": RESERVE, "value": 35}
        )
    (issue,) = stack.wait_until(
        lambda: _ours(page, "missing_scopes"), "the permission repair", timeout=60
    )
    assert issue["translation_placeholders"]["scopes"] == "Energy Product Commands"

    page.goto(f"{running.ha_url}/config/repairs")
    title = page.get_by_text(
        re.compile(r"the Tesla login lacks Energy Product Commands")
    )
    title.wait_for()
    assert page.get_by_text("energy_cmds").count() == 0
    logged_in.shot("permission-repair", full_page=True)
    title.click()

    # Straight into signing in: Home Assistant's own sign-in dialog.
    page.get_by_text("Sign in to Tesla again", exact=True).first.wait_for()
    page.get_by_text("Energy Product Commands", exact=False).last.wait_for()
    logged_in.shot("permission-sign-in")
    assert page.get_by_text(re.compile("repaired", re.IGNORECASE)).count() == 0
    assert _ours(page, "missing_scopes")  # not before the new login
    assert not [
        other
        for other in _issues(page)
        if other["domain"] == "homeassistant"
        and other["translation_key"] == "config_entry_reauth"
    ]
    stack.role(page, "button", "Submit").click()
    stack.approve_sign_in(logged_in, running)
    page.get_by_text(
        re.compile(r"Signed in again successfully|Re-authentication was successful")
    ).wait_for()
    logged_in.shot("permission-signed-in")
    stack.role(page, "button", re.compile(r"finish|close", re.IGNORECASE)).first.click()

    stack.wait_until(
        lambda: not _ours(page, "missing_scopes"),
        "the permission repair to go after the new login",
        timeout=120,
    )
    _show_repairs(page, running)
    assert page.get_by_text("lacks Energy Product Commands").count() == 0
    logged_in.shot("permission-repair-gone", full_page=True)
    # The new login sends commands.
    stack.wait_until(
        lambda: (
            page.evaluate(
                "id => document.querySelector('home-assistant').hass.states[id].state",
                RESERVE,
            )
            not in ("unavailable", "unknown")
        ),
        "the reserve entity to be available again",
        timeout=120,
    )
    stack.ha_service(page, "number", "set_value", {"entity_id": RESERVE, "value": 35})
    stack.wait_until(
        lambda: running.site(SITE_FULL)["backup_reserve_percent"] == 35,
        "the new reserve at the simulator",
        timeout=60,
    )
