"""End-to-end tests: the real scripts/develop stack driven by a real browser.

Fixtures: ``chromium`` (one headless browser per run), ``artifacts`` (a fresh
screenshot folder per test), ``browser`` (a fresh tab, not logged in) and
``configured`` (one scripts/develop for the whole run with the integration
added through the UI; tests get a logged-in tab on it from ``logged_in``).
On that stack the "Cabin" site has no tariff when the integration is added
(test_new_tariff.py gives it one), and the "Home" site's history backfill
starts as soon as the integration is added (test_energy_dashboard.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import stack
from tests.simulator.scenario import SITE_FULL, SITE_PW3


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (the suite runs with --strict-markers)."""
    config.addinivalue_line(
        "markers", "e2e: end-to-end browser test (opt-in, run with scripts/e2e)"
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process Home Assistant here: the test talks to a real one."""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the run."""
    with stack.sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=stack.CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A fresh folder for this test's screenshots and logs."""
    return stack.artifacts_dir(request.node.name)


@pytest.fixture
def browser(chromium: Any, artifacts: Path) -> Iterator[Any]:
    """A fresh headless tab, not logged in."""
    context = stack.new_context(chromium)
    try:
        yield stack.Browser(context.new_page(), artifacts)
    finally:
        context.close()


@pytest.fixture(scope="session")
def configured(
    chromium: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Path]]:
    """scripts/develop with the integration added through the UI, for the run.

    Yields the stack and the logged-in browser state (a file). Its screenshots
    and log are in artifacts/configured-stack/.
    """
    folder = stack.artifacts_dir("configured-stack")
    running = stack.start_develop(
        tmp_path_factory.mktemp("configured") / "config", folder / "develop.log"
    )
    state = folder / "storage-state.json"
    context = stack.new_context(chromium)
    web = stack.Browser(context.new_page(), folder)
    try:
        # Tesla reports no tariff for the Cabin until test_new_tariff.py.
        running.sim(
            "POST",
            "overrides",
            {
                "site_id": SITE_PW3,
                "endpoint": "site_info",
                "remove": ["tariff_content_v2"],
            },
        )
        stack.log_in(web, running)
        stack.add_integration(web)
        stack.config_flow(web, running)
        stack.poll_history_now(web.page, SITE_FULL)
        context.storage_state(path=str(state))
    except BaseException:
        web.shot_all("failed")
        context.close()
        stack.interrupt(running)
        raise
    context.close()
    try:
        yield running, state
    finally:
        stack.interrupt(running)


@pytest.fixture
def logged_in(
    chromium: Any, artifacts: Path, configured: tuple[Any, Path]
) -> Iterator[Any]:
    """A tab logged in to the shared stack (screenshots of every tab on failure)."""
    running, state = configured
    context = stack.new_context(chromium, state)
    web = stack.Browser(context.new_page(), artifacts)
    web.page.goto(running.ha_url)
    stack.role(web.page, "link", "Settings").wait_for()
    try:
        yield web
    except BaseException:
        web.shot_all("failed")
        raise
    finally:
        context.close()
