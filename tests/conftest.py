"""Fixtures shared by all Powerwall Fleet tests."""

from pathlib import Path

import pytest

# Import our package at module level. The pytest-homeassistant-custom-component
# plugin puts its own `testing_config/custom_components` package first on
# sys.path; importing ours first makes `custom_components` resolve to this
# repository, otherwise Home Assistant reports "Integration not found".
import custom_components.powerwall_fleet  # noqa: F401

# The Fleet API simulator's fixtures (`simulator`), once tests/simulator has them.
if (Path(__file__).parent / "simulator" / "pytest_plugin.py").is_file():
    pytest_plugins = ["tests.simulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/ in every test."""
