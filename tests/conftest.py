"""Fixtures shared by all Powerwall Fleet tests."""

from collections.abc import Generator, Iterator
import logging
from pathlib import Path
from unittest.mock import patch

import pytest

# Import our package at module level. The pytest-homeassistant-custom-component
# plugin puts its own `testing_config/custom_components` package first on
# sys.path; importing ours first makes `custom_components` resolve to this
# repository, otherwise Home Assistant reports "Integration not found".
import custom_components.powerwall_fleet  # noqa: F401
from tests.deprecation_reports import is_deprecation_report

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
    config.addinivalue_line(
        "markers",
        "lifetime: the energy history is imported back to the installation date"
        " (without the mark it is not: the simulator's sites claim an"
        " installation years before their simulated history)",
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
def lifetime_import(request: pytest.FixtureRequest) -> Generator[None]:
    """The import back to the installation date runs only in tests marked ``lifetime``.

    A simulator site has history only from the day before the test starts
    (unless ``install_years_ago``), yet an installation date years before:
    an import of empty days would tick every 10 s through every other test.
    """
    if request.node.get_closest_marker("lifetime") is not None:
        yield
        return
    with patch(
        "custom_components.powerwall_fleet.coordinator.lifetime"
        ".LifetimeCoordinator.async_start"
    ):
        yield


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


class _ReportCollector(logging.Handler):
    """Keeps the log messages that report a deprecated use by the integration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if is_deprecation_report(message):
            self.found.append(message)


@pytest.fixture(autouse=True)
def deprecation_reports() -> Iterator[list[str]]:
    """Fail the test when Home Assistant reported a deprecated use by the integration.

    Home Assistant only logs such a use (tests/deprecation_reports.py says
    which messages). The reports a test caused are in the list this fixture
    gives; a test that causes one on purpose empties it.
    """
    collector = _ReportCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector.found
    finally:
        root.removeHandler(collector)
    if collector.found:
        pytest.fail(
            "Home Assistant reported a deprecated use by the integration:\n"
            + "\n".join(collector.found),
            pytrace=False,
        )
