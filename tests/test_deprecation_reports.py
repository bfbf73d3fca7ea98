"""Deprecated uses fail the tests: Home Assistant's reports and Python's warnings.

The guard (``deprecation_reports`` in tests/conftest.py) fails a test when
Home Assistant logged that the integration uses something deprecated, and the
browser tests fail when Home Assistant's log has such a report
(tests/e2e/stack.py ``check_log``); setup.cfg turns a DeprecationWarning
attributed to the integration's code into an error. Code "in the integration" here is compiled with a file name inside
custom_components/powerwall_fleet/, which is how Home Assistant tells whose
code called it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
import warnings

from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
import pytest

from tests.deprecation_reports import deprecation_reports, is_deprecation_report
from tests.e2e import stack

REPO = Path(__file__).parents[1]
CALLER = """
def call(function, *args, **kwargs):
    return function(*args, **kwargs)
"""


def _caller(path: Path, module: str) -> Any:
    """A function ``call(function, ...)`` whose code is in ``path`` (``module``)."""
    namespace: dict[str, Any] = {"__name__": module}
    exec(compile(CALLER, str(path), "exec"), namespace)  # noqa: S102 - our own text
    return namespace["call"]


OURS = _caller(
    REPO / "custom_components" / "powerwall_fleet" / "probe.py",
    "custom_components.powerwall_fleet.probe",
)
THEIRS = _caller(
    REPO / "custom_components" / "someone_else" / "probe.py",
    "custom_components.someone_else.probe",
)


async def test_home_assistant_report_on_the_integration_is_caught(
    hass: HomeAssistant, deprecation_reports: list[str]
) -> None:
    """A use Home Assistant reports as deprecated is kept, and would fail the test."""
    OURS(frame.report_usage, "uses an old thing", breaks_in_ha_version="2099.1.0")
    assert len(deprecation_reports) == 1
    assert "uses an old thing" in deprecation_reports[0]
    assert "custom_components/powerwall_fleet/probe.py" in deprecation_reports[0]
    deprecation_reports.clear()  # provoked on purpose: the test passes


async def test_report_on_another_integration_is_not_ours(
    hass: HomeAssistant, deprecation_reports: list[str]
) -> None:
    """Another custom integration's deprecated use is not this integration's failure."""
    THEIRS(frame.report_usage, "uses an old thing", breaks_in_ha_version="2099.1.0")
    assert deprecation_reports == []


@pytest.mark.parametrize(
    ("line", "ours"),
    [
        pytest.param(
            "2026-11-07 10:00:00.000 WARNING (MainThread) [homeassistant.helpers.frame]"
            " Detected that custom integration 'powerwall_fleet' accesses"
            " `DeviceEntry.config_entries`, which is deprecated because a device"
            " belongs to a single config entry; use `DeviceEntry.config_entry_id`"
            " instead at custom_components/powerwall_fleet/services.py, line 201:"
            " if entry_id in device.config_entries:. This will stop working in Home"
            " Assistant 2027.10.0, please create a bug report at ...",
            True,
            id="frame-report",
        ),
        pytest.param(
            "WARNING [homeassistant.helpers.frame] Detected that custom integration"
            " 'powerwall_fleet' calls `device_registry.async_update_device` with one"
            " of `remove_config_entry_id` ... at custom_components/powerwall_fleet/"
            "wall_connector.py, line 276: registry.async_update_device(. This will"
            " stop working in Home Assistant 2027.8.0, please report it",
            True,
            id="frame-report-2027.8",
        ),
        pytest.param(
            "WARNING [homeassistant.helpers.entity] The deprecated function"
            " old_helper was called from powerwall_fleet. It will be removed in HA"
            " Core 2027.1. Use new_helper instead, please report it to the author",
            True,
            id="deprecation-helper",
        ),
        pytest.param(
            "WARNING [homeassistant.helpers.frame] Detected that custom integration"
            " 'other_thing' accesses `DeviceEntry.config_entries` ... This will stop"
            " working in Home Assistant 2027.10.0",
            False,
            id="another-integration",
        ),
        pytest.param(
            "WARNING [homeassistant.loader] We found a custom integration"
            " powerwall_fleet which has not been tested by Home Assistant.",
            False,
            id="untested-custom-integration",
        ),
        pytest.param(
            "DEBUG [custom_components.powerwall_fleet.fleet.client] GET site_info -> 200",
            False,
            id="own-log",
        ),
    ],
)
def test_which_log_lines_are_reports(line: str, ours: bool) -> None:
    """Home Assistant's two report formats, naming this integration, and nothing else."""
    assert is_deprecation_report(line) is ours
    assert deprecation_reports(["first line", line]) == ([line] if ours else [])


def test_browser_tests_fail_on_a_report_in_home_assistants_log(tmp_path: Path) -> None:
    """The browser tests' stack check fails on a report and passes a clean log."""
    log = tmp_path / "develop.log"
    clean = [
        "scripts/develop: Fleet API simulator on http://127.0.0.1:1",
        (
            "2026-11-07 10:00:00.000 WARNING (SyncWorker_1) [homeassistant.loader]"
            " We found a custom integration powerwall_fleet which has not been"
            " tested by Home Assistant."
        ),
    ]
    log.write_text("\n".join(clean))
    stack.check_log(log)

    report = (
        "2026-11-07 10:00:01.000 WARNING (MainThread) [homeassistant.helpers.frame]"
        " Detected that custom integration 'powerwall_fleet' calls"
        " `device_registry.async_update_device` with one of `remove_config_entry_id`"
        " at custom_components/powerwall_fleet/__init__.py, line 238:"
        " registry.async_update_device(. This will stop working in Home Assistant"
        " 2027.8.0, please report it to the author"
    )
    log.write_text("\n".join([*clean, report]))
    with pytest.raises(pytest.fail.Exception, match="line 238"):
        stack.check_log(log)


def test_deprecation_warning_from_the_integration_is_an_error() -> None:
    """setup.cfg: a DeprecationWarning attributed to the integration raises."""
    with pytest.raises(DeprecationWarning, match="old call"):
        OURS(warnings.warn, "old call", DeprecationWarning)


def test_deprecation_warning_from_elsewhere_is_not_an_error() -> None:
    """Another package's DeprecationWarning stays a warning."""
    with pytest.warns(DeprecationWarning, match="old call"):
        THEIRS(warnings.warn, "old call", DeprecationWarning)
