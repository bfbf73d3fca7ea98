"""The control table (commands.py) against what cannot read it: services.yaml and en.json.

services.yaml is static, so its selectors (select options, number ranges,
which settings the override action takes) are checked against the table
here; so are the translations every row needs (its entity's name and
states, its refusal). A new setting that is one row plus its client method
fails here until services.yaml and en.json describe it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.util.yaml import load_yaml_dict
import pytest

from custom_components.powerwall_fleet.commands import (
    BACKUP_RESERVE,
    CONTROLS,
    ChoiceControl,
    Control,
    PercentControl,
    SwitchControl,
    TariffControl,
)
from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.overrides.model import FIELDS, send_order

INTEGRATION_DIR = Path(__file__).resolve().parent.parent / "custom_components" / DOMAIN
# The override action's fields that are not settings.
OVERRIDE_OTHER_FIELDS = {
    "duration",
    "until",
    "target_percent",
    "preset",
    "device_id",
    "config_entry_id",
}
OVERRIDABLE = [control for control in CONTROLS if control.restore_order is not None]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """services.yaml."""
    return load_yaml_dict(str(INTEGRATION_DIR / "services.yaml"))


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    """translations/en.json."""
    text = (INTEGRATION_DIR / "translations" / "en.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _platform(control: Control[Any]) -> str | None:
    if isinstance(control, PercentControl):
        return "number"
    if isinstance(control, ChoiceControl):
        return "select"
    if isinstance(control, SwitchControl):
        return "switch"
    assert isinstance(control, TariffControl), control.key
    return None


def test_one_row_per_setting() -> None:
    """Keys are unique; restore orders are unique; every row has an entity or an action."""
    keys = [control.key for control in CONTROLS]
    assert len(keys) == len(set(keys))
    orders = [control.restore_order for control in OVERRIDABLE]
    assert len(orders) == len(set(orders))
    assert tuple(control.key for control in OVERRIDABLE) == FIELDS
    for control in CONTROLS:
        _platform(control)


def test_override_fields_are_the_overridable_rows(services: dict[str, Any]) -> None:
    """services.yaml offers the override exactly the settings the table lets it set."""
    fields = set(services["override"]["fields"])
    assert fields - OVERRIDE_OTHER_FIELDS == {control.key for control in OVERRIDABLE}


@pytest.mark.parametrize("control", OVERRIDABLE, ids=lambda control: control.key)
def test_override_selector_matches_the_row(
    services: dict[str, Any], strings: dict[str, Any], control: Control[Any]
) -> None:
    """Each setting's selector offers what the row takes."""
    selector = services["override"]["fields"][control.key]["selector"]
    if isinstance(control, ChoiceControl):
        assert selector["select"]["options"] == list(control.options)
        assert selector["select"]["translation_key"] == control.key
        translated = strings["selector"][control.key]["options"]
        assert list(translated) == list(control.options)
    elif isinstance(control, SwitchControl):
        assert set(selector) == {"boolean"}
    elif isinstance(control, PercentControl) and control.takes_charge_level:
        # A percentage or "current": only a text field takes both.
        assert set(selector) == {"text"}
    else:
        assert isinstance(control, PercentControl)
        number = selector["number"]
        assert (number["min"], number["max"]) == (control.minimum, control.maximum)
        assert number["unit_of_measurement"] == "%"


def test_set_backup_reserve_range_matches_the_row(services: dict[str, Any]) -> None:
    """The set_backup_reserve action's percentage has the row's range."""
    number = services["set_backup_reserve"]["fields"]["percent"]["selector"]["number"]
    assert (number["min"], number["max"], number["step"]) == (
        BACKUP_RESERVE.minimum,
        BACKUP_RESERVE.maximum,
        1,
    )
    assert number["unit_of_measurement"] == "%"


@pytest.mark.parametrize("control", CONTROLS, ids=lambda control: control.key)
def test_every_row_is_translated(
    strings: dict[str, Any], control: Control[Any]
) -> None:
    """The entity's name and states, the refusal, the override field's name."""
    refusal = strings["exceptions"][control.missing]["message"]
    assert "{site}" in refusal
    platform = _platform(control)
    if platform is not None:
        entity = strings["entity"][platform][control.key]
        assert entity["name"]
        if isinstance(control, ChoiceControl):
            assert list(entity["state"]) == list(control.options)
    if control.restore_order is not None:
        field = strings["services"]["override"]["fields"][control.key]
        assert field["name"]
        assert field["description"]


@pytest.mark.parametrize(
    ("values", "order"),
    [
        (
            {
                "storm_watch": True,
                "grid_charging": True,
                "export_rule": "never",
                "operation_mode": "autonomous",
                "backup_reserve": 100,
            },
            [
                "backup_reserve",
                "operation_mode",
                "export_rule",
                "grid_charging",
                "storm_watch",
            ],
        ),
        (
            {"backup_reserve": 90, "operation_mode": "backup"},
            ["operation_mode", "backup_reserve"],
        ),
        ({"backup_reserve": 90}, ["backup_reserve"]),
        (
            {"operation_mode": "backup", "backup_reserve": 80},
            ["backup_reserve", "operation_mode"],
        ),
    ],
)
def test_send_order_follows_the_table(values: dict[str, Any], order: list[str]) -> None:
    """The rows' restore order; a reserve only backup-only mode accepts goes after the mode."""
    assert send_order(values) == order
