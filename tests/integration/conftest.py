"""Fixtures for the integration tests against the simulator.

The application credentials, the main account's entry (built and loaded with
entity_helpers.py's ``new_entry`` and ``setup_sites``), the Repairs backend,
the consent page's Approve button, retries without a pause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.coordinator import base as coordinator_base
from tests.integration.entity_helpers import CREDENTIAL_ID, new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import CLIENT_ID, CLIENT_SECRET, USER_MAIN


@pytest.fixture(autouse=True)
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Give each test its own config dir (the partner key file lives there)."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / ".storage").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def home_currency(request: pytest.FixtureRequest, config_dir: Path) -> None:
    """Home Assistant counts in dollars, like the simulator's US account's tariffs.

    A tariff in another currency raises a repair (issues.py); tests of that,
    and of price entities in other currencies, set their own. After
    ``config_dir``: modules with a recorder set it up before Home Assistant;
    tests that start their own Home Assistant are left alone.
    """
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.currency = "USD"


@pytest.fixture(autouse=True)
def developer_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offer the custom server step (the simulator); tests of Tesla's path unset it."""
    monkeypatch.setenv("POWERWALL_FLEET_DEVELOPER", "1")


@pytest.fixture
async def credentials(hass: HomeAssistant) -> None:
    """The simulator's developer application, as application credentials."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass,
        DOMAIN,
        ClientCredential(CLIENT_ID, CLIENT_SECRET, "Simulator app"),
        CREDENTIAL_ID,
    )


@pytest.fixture
def config_entry(simulator: Simulator, credentials: None) -> MockConfigEntry:
    """An entry for the main account's full site on the simulator."""
    return new_entry(simulator)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The main account's entry (its full site, default options), set up."""
    return await setup_sites(hass, config_entry)


@pytest.fixture
async def repairs(hass: HomeAssistant) -> None:
    """The Repairs dashboard's backend (its fix flows over HTTP)."""
    assert await async_setup_component(hass, "repairs", {})


type Approve = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def approve(simulator: Simulator) -> Approve:
    """Open the simulator's authorize page and press Approve (or Deny).

    Returns the query Tesla would redirect the browser with (code, state…).
    """

    async def _approve(
        authorize_url: str, *, user: str = USER_MAIN, decision: str = "approve"
    ) -> dict[str, str]:
        async with aiohttp.ClientSession() as session:
            async with session.get(authorize_url) as resp:
                assert resp.status == 200, await resp.text()
                page = await resp.text()
            form = _form_fields(page)
            form.add_field("user", user)
            form.add_field("decision", decision)
            async with session.post(
                urljoin(authorize_url, _form_action(page)),
                data=form,
                allow_redirects=False,
            ) as resp:
                assert resp.status in (302, 303), await resp.text()
                location = resp.headers["Location"]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    return _approve


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and (
            values.get("type") == "hidden"
            or (values.get("type") == "checkbox" and "checked" in values)
        ):
            self.fields.append((values["name"], values.get("value", "")))


def _form_fields(page: str) -> aiohttp.FormData:
    """The fields a browser would submit from the consent page's form."""
    parser = _FormParser()
    parser.feed(page)
    assert "Approve" in page
    form = aiohttp.FormData()
    for name, value in parser.fields:
        form.add_field(name, value)
    return form


def _form_action(page: str) -> str:
    parser = _FormParser()
    parser.feed(page)
    return parser.action


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Coordinators retry a failed read at once instead of after 2 s."""
    monkeypatch.setattr(coordinator_base, "RETRY_DELAY", 0)
