"""The Energy dashboard configured with the integration's statistics, in a real browser.

On the shared stack (conftest ``configured``, which starts the history
backfill as soon as the integration is added), once it has imported the
"Home" site's statistics (``powerwall_fleet:<site_id>_<flow>``),
configure Settings > Dashboards > Energy through its dialogs with them: grid
imported and exported, solar, battery charged and discharged, home. Home
Assistant must have saved exactly those, and its energy validation
(``energy/validate``) must report nothing about them. The Energy dashboard is
then screenshotted; with E2E_UPDATE_DOCS=1 that picture replaces
docs/energy-dashboard.png.

Each statistic is one line of ``STATISTICS``: its flow, where it goes in the
energy preferences, and the dialog's picker for it (plus the radio button to
choose first, for cost and compensation).
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import re
import shutil
from typing import Any

import pytest

from tests.e2e import stack
from tests.e2e.stack import Browser, Stack
from tests.simulator.scenario import SITE_FULL

stack.skip_unless_asked()

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

DOCS_PICTURE = stack.REPO / "docs" / "energy-dashboard.png"


@dataclass(frozen=True)
class Statistic:
    """One of the site's statistics and where the Energy settings take it."""

    flow: str  # the statistic is powerwall_fleet:<site_id>_<flow>
    source: str  # the energy source's type in the preferences
    field: str  # the source's field that holds the statistic
    picker: str  # the label of the dialog's picker for it
    choose: str | None = None  # a radio button to select before the picker shows


STATISTICS: tuple[Statistic, ...] = (
    Statistic(
        "grid_energy_imported", "grid", "stat_energy_from", "Energy imported from grid"
    ),
    Statistic(
        "grid_energy_exported", "grid", "stat_energy_to", "Energy exported to grid"
    ),
    Statistic(
        "solar_energy_produced", "solar", "stat_energy_from", "Solar production energy"
    ),
    Statistic(
        "battery_energy_charged",
        "battery",
        "stat_energy_to",
        "Energy charged into the battery",
    ),
    Statistic(
        "battery_energy_discharged",
        "battery",
        "stat_energy_from",
        "Energy discharged from the battery",
    ),
    Statistic("home_energy_consumed", "home", "stat_energy_to", "Home energy"),
    # Money: what the imports cost and the exports earned, by the site's tariff.
    Statistic(
        "grid_energy_imported_cost",
        "grid",
        "stat_cost",
        "Entity with the total costs",
        "Use an entity tracking the total costs",
    ),
    Statistic(
        "grid_energy_exported_compensation",
        "grid",
        "stat_compensation",
        "Entity with the total compensation",
        "Use an entity tracking the total compensation",
    ),
)

# Per source: the button on Settings > Dashboards > Energy and its dialog's title.
DIALOGS = {
    "grid": ("Add grid connection", "Configure grid connection"),
    "solar": ("Add solar production", "Configure solar panels"),
    "battery": ("Add battery system", "Configure battery system"),
    "home": ("Add home meter", "Configure home consumption"),
}
INTEGRATION = "Tesla Powerwall (Fleet API)"  # a statistic's source in the picker


def statistic_id(stat: Statistic, site_id: int = SITE_FULL) -> str:
    """The recorder's id of ``stat`` for the site."""
    return f"{stack.DOMAIN}:{site_id}_{stat.flow}"


def _names(page: Any) -> dict[str, str]:
    """The recorder's statistics with a sum: id -> name."""
    listed = stack.ha_ws(
        page, {"type": "recorder/list_statistic_ids", "statistic_type": "sum"}
    )
    return {item["statistic_id"]: item.get("name") or "" for item in listed}


def _pick(page: Any, stat: Statistic, name: str) -> None:
    """Choose the statistic in the picker labelled ``stat.picker``.

    The picker searches by statistic id; an external statistic's option is its
    name followed by its source (the integration's title).
    """
    if stat.choose:
        page.get_by_role("radio", name=stat.choose, exact=True).check()
    label = re.compile("^" + re.escape(stat.picker))
    page.get_by_role("button", name=label).first.click()
    popup = page.get_by_role("dialog", name=stat.picker, exact=True)
    popup.get_by_role("textbox").fill(statistic_id(stat))
    popup.get_by_role("option", name=f"{name} {INTEGRATION}", exact=True).click()
    popup.wait_for(state="detached")


def configure_energy(web: Browser, running: Stack, names: dict[str, str]) -> None:
    """Settings > Dashboards > Energy, one dialog per source, every statistic."""
    page = web.page
    page.goto(f"{running.ha_url}/config/energy")
    for source, (button, title) in DIALOGS.items():
        stats = [stat for stat in STATISTICS if stat.source == source]
        if not stats:
            continue
        stack.role(page, "button", button).click()
        dialog = page.get_by_role("dialog", name=title, exact=True)
        dialog.wait_for()
        for stat in stats:
            _pick(page, stat, names[statistic_id(stat)])
        web.shot(f"energy-{source}")
        stack.role(page, "button", "Save").click()
        dialog.wait_for(state="detached")
    web.shot("energy-settings", full_page=True)


def _state(page: Any, entity_id: str) -> str | None:
    """The entity's state as the frontend has it (None when it has none)."""
    found: str | None = page.evaluate(
        "id => document.querySelector('home-assistant').hass.states[id]?.state ?? null",
        entity_id,
    )
    return found


def _saved(page: Any) -> dict[tuple[str, str], Any]:
    prefs = stack.ha_ws(page, {"type": "energy/get_prefs"})
    return {
        (source["type"], field): value
        for source in prefs["energy_sources"]
        for field, value in source.items()
        if field.startswith("stat_")
    }


def test_energy_dashboard_with_the_site_statistics(
    logged_in: Browser, configured: tuple[Stack, Any]
) -> None:
    """Configured in the UI; saved as asked; Home Assistant validates it clean."""
    running, _ = configured
    page = logged_in.page
    wanted = [statistic_id(stat) for stat in STATISTICS]
    # The history backfill started when the integration was added (conftest:
    # stack.poll_history_now) and asks for 31 days at one request per 5 s:
    # about 2.5 minutes. The simulator's history begins the day before it
    # started, so the statistics come with the last two days. The energy
    # sensors show a total once the backfill reached today.
    imported = stack.entity_id_of(page, f"{SITE_FULL}_grid_energy_imported")
    assert imported is not None
    stack.wait_until(
        lambda: _state(page, imported) not in ("unknown", "unavailable", None),
        "the history backfill to reach today",
        timeout=420,
    )
    stack.wait_until(
        lambda: set(wanted) <= _names(page).keys(),
        "the site's statistics in the recorder",
        timeout=60,
    )

    configure_energy(logged_in, running, _names(page))

    saved = _saved(page)
    for stat in STATISTICS:
        assert saved.get((stat.source, stat.field)) == statistic_id(stat), saved
    validation = stack.ha_ws(page, {"type": "energy/validate"})
    problems = [
        issue
        for issues in validation["energy_sources"]
        for issue in issues
        if any(affected[0] in wanted for affected in issue.get("affected_entities", []))
        or not issue.get("affected_entities")
    ]
    assert not problems, validation
    assert not any(validation.get("device_consumption", [])), validation

    page.goto(f"{running.ha_url}/energy")
    page.get_by_role("application", name="Chart").first.wait_for()
    page.get_by_role("table", name="Energy sources").wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(3000)  # the charts animate in
    picture = logged_in.shot("energy-dashboard")
    if os.environ.get("E2E_UPDATE_DOCS") == "1":
        DOCS_PICTURE.parent.mkdir(exist_ok=True)
        shutil.copyfile(picture, DOCS_PICTURE)
    else:
        assert DOCS_PICTURE.is_file(), (
            f"{DOCS_PICTURE.relative_to(stack.REPO)} is missing:"
            " run E2E_UPDATE_DOCS=1 scripts/e2e tests/e2e/test_energy_dashboard.py"
        )


def test_docs_picture_is_a_png() -> None:
    """The committed picture of the dashboard is a PNG (regenerated on request)."""
    assert Path(DOCS_PICTURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
