"""The Energy dashboard configured with the integration's statistics, in a real browser.

On the shared stack (conftest ``configured``, which starts the history
backfill as soon as the integration is added), once it has imported the
"Home" site's statistics (``powerwall_fleet:<site_id>_<flow>``), configure
Settings > Dashboards > Energy through its dialogs with them, the way the
README says: grid imported and exported with their cost and compensation,
solar, battery discharged and charged with the Battery level sensor as its
state of charge, home. Home Assistant must have saved exactly those, and its
energy validation (``energy/validate``) must report nothing about them. The
Energy dashboard is then screenshotted; with E2E_UPDATE_DOCS=1 that picture
replaces docs/energy-dashboard.png.

Each statistic is one line of ``STATISTICS``: its flow (or sensor), where it
goes in the energy preferences, and the dialog's picker for it (plus the radio
button to choose first, for cost and compensation).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import importlib
import importlib.util
import json
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

    key: str  # powerwall_fleet:<site_id>_<key>, or the entity with unique id <site_id>_<key>
    source: str  # the energy source's type in the preferences
    field: str  # the source's field that holds the statistic
    picker: str  # the label of the dialog's picker for it
    choose: str | None = None  # a radio button to select before the picker shows
    entity: bool = False  # a sensor's own statistics (not one the integration imports)


# In each dialog's order (README: "Set up the Energy dashboard, step by step").
STATISTICS: tuple[Statistic, ...] = (
    Statistic(
        "grid_energy_imported", "grid", "stat_energy_from", "Energy imported from grid"
    ),
    Statistic(
        "grid_energy_exported", "grid", "stat_energy_to", "Energy exported to grid"
    ),
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
    Statistic(
        "solar_energy_produced", "solar", "stat_energy_from", "Solar production energy"
    ),
    Statistic("home_energy_consumed", "home", "stat_energy_to", "Home energy"),
    # Home Assistant 2026.11 asks for the energy out of the battery first.
    Statistic(
        "battery_energy_discharged",
        "battery",
        "stat_energy_from",
        "Energy discharged from the battery",
    ),
    Statistic(
        "battery_energy_charged",
        "battery",
        "stat_energy_to",
        "Energy charged into the battery",
    ),
    Statistic(
        "percentage_charged",
        "battery",
        "stat_soc",
        "Battery state of charge sensor",
        entity=True,
    ),
)
# The option of the site's Battery level sensor in the state of charge picker.
ENTITY_OPTIONS = {"percentage_charged": re.compile(r"\bBattery level\b")}

# Per source: the button on Settings > Dashboards > Energy and its dialog's title.
DIALOGS = {
    "grid": ("Add grid connection", "Configure grid connection"),
    "solar": ("Add solar production", "Configure solar panels"),
    "home": ("Add home meter", "Configure home consumption"),
    "battery": ("Add battery system", "Configure battery system"),
}
INTEGRATION = "Tesla Powerwall (Fleet API)"  # a statistic's source in the picker


def statistic_id(page: Any, stat: Statistic, site_id: int = SITE_FULL) -> str:
    """The recorder's id of ``stat`` for the site (a sensor's: its entity id)."""
    if stat.entity:
        entity_id = stack.entity_id_of(page, f"{site_id}_{stat.key}")
        assert entity_id is not None, stat
        return entity_id
    return f"{stack.DOMAIN}:{site_id}_{stat.key}"


def _names(page: Any) -> dict[str, str]:
    """The recorder's statistics with a sum: id -> name."""
    listed = stack.ha_ws(
        page, {"type": "recorder/list_statistic_ids", "statistic_type": "sum"}
    )
    return {item["statistic_id"]: item.get("name") or "" for item in listed}


def _pick(page: Any, stat: Statistic, names: dict[str, str]) -> None:
    """Choose the statistic in the picker labelled ``stat.picker``.

    The picker searches by statistic id; an external statistic's option is its
    name followed by its source (the integration's title). A sensor's option
    (the entity's name and its device's) comes first when its entity id is
    searched for.
    """
    if stat.choose:
        page.get_by_role("radio", name=stat.choose, exact=True).check()
    label = re.compile("^" + re.escape(stat.picker))
    page.get_by_role("button", name=label).first.click()
    popup = page.get_by_role("dialog", name=stat.picker, exact=True)
    wanted = statistic_id(page, stat)
    popup.get_by_role("textbox").fill(wanted)
    if stat.entity:
        option = popup.get_by_role("option", name=ENTITY_OPTIONS[stat.key]).first
    else:
        name = f"{names[wanted]} {INTEGRATION}"
        option = popup.get_by_role("option", name=name, exact=True)
    option.click()
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
            _pick(page, stat, names)
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
    wanted = [statistic_id(page, stat) for stat in STATISTICS]
    imported_ids = [statistic_id(page, stat) for stat in STATISTICS if not stat.entity]
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
        lambda: set(imported_ids) <= _names(page).keys(),
        "the site's statistics in the recorder",
        timeout=60,
    )

    configure_energy(logged_in, running, _names(page))

    saved = _saved(page)
    for stat, wanted_id in zip(STATISTICS, wanted, strict=True):
        assert saved.get((stat.source, stat.field)) == wanted_id, saved
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


def _frontend_texts() -> set[str]:
    """Every English text of the release frontend's configuration panels.

    Home Assistant installs its frontend into the venv when it first starts.
    """
    importlib.invalidate_caches()
    spec = importlib.util.find_spec("hass_frontend")
    assert spec is not None, "the release venv has Home Assistant's frontend"
    assert spec.submodule_search_locations
    folder = Path(spec.submodule_search_locations[0]) / "static/translations/config"
    files = [
        path for path in folder.glob("en-*.json") if not path.name.startswith("en-GB")
    ]
    assert len(files) == 1, files

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, str):
            yield node

    return set(strings(json.loads(files[0].read_text(encoding="utf-8"))))


@pytest.mark.usefixtures("configured")  # Home Assistant has started once
def test_readme_steps_follow_the_dialogs() -> None:
    """The README's steps name the release's dialogs and fields, in their order.

    The labels this test picks by are the frontend's own texts; the README's
    step-by-step names each of them, section by section and, within a dialog,
    field by field (the battery's discharged energy before the charged).
    """
    texts = _frontend_texts()
    readme = (stack.REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Set up the Energy dashboard, step by step")
    end = readme.index("Two ways to feed the Energy dashboard", start)
    steps = " ".join(readme[start:end].split())  # lines wrapped anywhere
    position = 0
    for source, (button, title) in DIALOGS.items():
        labels = [button, title]
        for stat in STATISTICS:
            if stat.source == source:
                labels += [stat.choose, stat.picker] if stat.choose else [stat.picker]
        for label in labels:
            assert label in texts, f"{label!r} is not a text of this frontend"
            found = steps.find(label, position)
            assert found >= 0, f"README: {label!r} ({source}) missing or out of order"
            position = found + len(label)


def test_docs_picture_is_a_png() -> None:
    """The committed picture of the dashboard is a PNG (regenerated on request)."""
    assert Path(DOCS_PICTURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
