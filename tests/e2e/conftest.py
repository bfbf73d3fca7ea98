"""End-to-end tests: the real scripts/develop stack driven by a real browser."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (the suite runs with --strict-markers)."""
    config.addinivalue_line(
        "markers", "e2e: end-to-end browser test (opt-in, run with scripts/e2e)"
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process Home Assistant here: the test talks to a real one."""
