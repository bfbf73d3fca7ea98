"""Fixtures shared by all Powerwall Fleet tests."""

from collections.abc import Generator
import logging
from pathlib import Path
from unittest.mock import patch

import pytest

# Import our package at module level. The pytest-homeassistant-custom-component
# plugin puts its own `testing_config/custom_components` package first on
# sys.path; importing ours first makes `custom_components` resolve to this
# repository, otherwise Home Assistant reports "Integration not found".
import custom_components.powerwall_fleet  # noqa: F401

# The Fleet API simulator's fixtures (`simulator`), once tests/simulator has them.
if (Path(__file__).parent / "simulator" / "pytest_plugin.py").is_file():
    pytest_plugins = ["tests.simulator.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the marks these tests use."""
    config.addinivalue_line(
        "markers",
        "platforms(*platforms): the entity platforms the integration loads during"
        " the test (none named: none; without the mark: all of them)",
    )
    config.addinivalue_line(
        "markers", "recorder: Home Assistant runs with the recorder (in memory)"
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> Generator[None]:
    """Let Home Assistant load integrations from custom_components/ in every test.

    A test marked ``recorder`` gets the recorder before anything else is set
    up, and no log line per SQL statement (slow when time is frozen).
    """
    if request.node.get_closest_marker("recorder") is None:
        request.getfixturevalue("enable_custom_integrations")
        yield
        return
    request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")
    sql = logging.getLogger("sqlalchemy.engine")
    level = sql.level
    sql.setLevel(logging.WARNING)
    yield
    sql.setLevel(level)


@pytest.fixture(autouse=True)
def marked_platforms(request: pytest.FixtureRequest) -> Generator[None]:
    """Only the entity platforms of the test's ``platforms`` mark, for all of it.

    Every setup and reload during the test loads those (a restart loads what
    the start did); a test or module without the mark loads every platform.
    """
    mark = request.node.get_closest_marker("platforms")
    if mark is None:
        yield
        return
    with patch("custom_components.powerwall_fleet.PLATFORMS", list(mark.args)):
        yield
