"""Fixtures shared by all Powerwall Fleet tests."""

from collections.abc import Iterator
import logging
from pathlib import Path

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


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/ in every test."""


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
