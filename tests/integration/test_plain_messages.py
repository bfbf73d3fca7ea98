"""What a user reads says things in plain words (issue 11, §4).

Toasts (the errors of a refused or failed change), the errors of a failed
read and the log lines at warning or error name the option by its translated
label and the problem in plain words: never an exception class name
("ServerError") nor a raw option key ("self_consumption").
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet import (
    EXPORT_RULES,
    OPERATION_MODES,
    errors as fleet_errors,
)
from custom_components.powerwall_fleet.setup.partner import error_detail
from tests.integration.entity_helpers import COMMAND_FAULTS, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

pytestmark = pytest.mark.usefixtures("no_retry_delay")


def _class_names() -> set[str]:
    names: set[str] = set()
    todo: list[type[BaseException]] = [fleet_errors.FleetError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


CLASS_NAMES = _class_names()
OPTION_KEYS = {key for key in (*OPERATION_MODES, *EXPORT_RULES) if "_" in key}


ENDPOINT_KEYS = {"live_status", "site_info", "calendar_history"}


def assert_plain(text: str) -> None:
    """No exception class name, no raw option or endpoint key in ``text``."""
    for key in ENDPOINT_KEYS:
        assert key not in text, (key, text)
    for name in CLASS_NAMES:
        assert name not in text, (name, text)
    for key in OPTION_KEYS:
        assert key not in text, (key, text)


def _entity(hass: HomeAssistant, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{SITE_FULL}_{key}"
    )
    assert entity_id is not None
    return entity_id


def test_the_checks_know_the_names() -> None:
    """The lists checked against are what the code can produce."""
    assert {"ServerError", "DeviceOffline", "NotFound", "CannotConnect"} <= CLASS_NAMES
    assert {"self_consumption", "battery_ok", "pv_only"} <= OPTION_KEYS


@pytest.mark.parametrize(("fault", "error_key"), COMMAND_FAULTS)
@pytest.mark.parametrize(
    ("key", "option", "label"),
    [
        ("operation_mode", "self_consumption", "Self-powered"),
        ("export_rule", "battery_ok", "Solar and battery"),
    ],
)
async def test_failed_choice_names_the_option_in_plain_words(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
    error_key: str,
    key: str,
    option: str,
    label: str,
) -> None:
    """The toast of a failed mode or export change: the option's label, plain words."""
    await setup_sites(hass, config_entry)
    entity_id = _entity(hass, "select", key)
    # Leave the current option, so the change is to ``option``.
    endpoint = "operation" if key == "operation_mode" else "grid_import_export"
    other = "autonomous" if key == "operation_mode" else "never"
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: entity_id, "option": other},
        blocking=True,
    )
    simulator.add_fault(rf"/{endpoint}$", method="POST", **fault)

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "select",
            "select_option",
            {ATTR_ENTITY_ID: entity_id, "option": option},
            blocking=True,
        )

    assert err.value.translation_key == error_key
    placeholders = err.value.translation_placeholders or {}
    assert label in placeholders["what"]
    for value in placeholders.values():
        assert_plain(value)
    assert_plain(str(err.value))
    for record in caplog.records:
        if record.levelno >= logging.WARNING:
            assert_plain(record.getMessage())


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 404}, id="404"),
        pytest.param({"status": 408}, id="408-offline"),
        pytest.param({"status": 503}, id="503"),
        pytest.param({"status": 500, "json": None}, id="500-no-body"),
        pytest.param({"drop": True}, id="network-drop"),
    ],
)
async def test_failed_read_in_plain_words(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    """A failed poll and the refresh action: plain words in the error and the log."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    simulator.add_fault(r"/live_status$", times=None, **fault)
    caplog.clear()

    await site.live.async_refresh()
    assert not site.live.last_update_success
    assert site.live.last_exception is not None
    assert_plain(str(site.live.last_exception))
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "refresh", {"config_entry_id": config_entry.entry_id}, blocking=True
        )
    for value in (err.value.translation_placeholders or {}).values():
        assert_plain(value)
    assert_plain(str(err.value))

    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert logged
    for record in logged:
        assert_plain(record.getMessage())


def test_partner_detail_without_tesla_words_is_plain() -> None:
    """No word from Tesla: the form's detail is plain words, not the class name."""
    assert_plain(error_detail(fleet_errors.ServerError(status=424)))
    assert error_detail(fleet_errors.ServerError(status=424))
    assert error_detail(fleet_errors.InvalidRequest(error="invalid_command")) == (
        "invalid_command"
    )
