"""Helpers for the integration tests: an entry on the simulator, loaded; what it did.

``entry_data`` and ``new_entry`` build an entry for any account, scopes, sites
and options; ``setup_sites`` loads it (the entity platforms are the test's
``platforms`` mark's, see tests/conftest.py). The fixtures built on them
(``config_entry``, ``loaded_entry``) are in conftest.py. The rest reads what
the entities showed and what the simulator received.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import timedelta
from enum import Enum
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerwall_fleet.const import (
    CONF_AUTHORIZE_URL,
    CONF_BASE_URL,
    CONF_PARTNER_DOMAIN,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    CONF_TOKEN_URL,
    DOMAIN,
    SERVER_CUSTOM,
)
from tests.simulator import Simulator
from tests.simulator.scenario import (
    DEFAULT_SCOPES,
    PARTNER_DOMAIN,
    SITE_FULL,
    USER_MAIN,
)

# The id the ``credentials`` fixture gives the simulator's application credentials.
CREDENTIAL_ID = "sim_credentials"
# The scopes of a sign-in that did not grant commands.
NO_COMMAND_SCOPES = tuple(scope for scope in DEFAULT_SCOPES if scope != "energy_cmds")


def entry_data(
    simulator: Simulator,
    *,
    user: str = USER_MAIN,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    **overrides: Any,
) -> dict[str, Any]:
    """Config entry data for ``user``'s account on the simulator (the full site).

    The tokens grant ``scopes``; ``overrides`` replace or add keys.
    """
    tokens = simulator.issue_tokens(user=user, scopes=scopes)
    data: dict[str, Any] = {
        "auth_implementation": CREDENTIAL_ID,
        "token": {**tokens, "expires_at": time.time() + tokens["expires_in"]},
        CONF_SERVER: SERVER_CUSTOM,
        CONF_AUTHORIZE_URL: simulator.authorize_url,
        CONF_TOKEN_URL: simulator.token_url,
        CONF_BASE_URL: simulator.base_url("na"),
        CONF_REGION: "na",
        CONF_PARTNER_DOMAIN: PARTNER_DOMAIN,
        CONF_SITE_IDS: [SITE_FULL],
    }
    data.update(overrides)
    return data


def new_entry(
    simulator: Simulator,
    *,
    user: str = USER_MAIN,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    title: str = "Home",
    options: dict[str, Any] | None = None,
    **data: Any,
) -> MockConfigEntry:
    """An entry for ``user``'s account (``entry_data`` with ``data``), not added yet."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=user,
        data=entry_data(simulator, user=user, scopes=scopes, **data),
        options=options,
    )


async def setup_sites(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *site_ids: int,
    enable_all: bool = False,
    expect: ConfigEntryState = ConfigEntryState.LOADED,
) -> MockConfigEntry:
    """Set ``entry`` up for ``site_ids`` (none: the sites in its data).

    Adds the entry to Home Assistant unless it is there already, and checks
    that it ends in ``expect``. ``enable_all``: the entities disabled by
    default are created enabled too.
    """
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    if site_ids:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_SITE_IDS: list(site_ids)}
        )
    enabled = (
        patch(
            "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
            True,
        )
        if enable_all
        else nullcontext()
    )
    with enabled:
        loaded = await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert loaded is (expect is ConfigEntryState.LOADED)
    assert entry.state is expect
    return entry


def summarise(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, dict[str, Any]]:
    """A version-independent picture of every entity of the entry."""
    registry = er.async_get(hass)
    summary: dict[str, dict[str, Any]] = {}
    for entity in sorted(
        er.async_entries_for_config_entry(registry, entry.entry_id),
        key=lambda e: e.unique_id,
    ):
        state = hass.states.get(entity.entity_id)
        attributes = dict(state.attributes) if state else {}
        attributes.pop("friendly_name", None)
        attributes.pop("since", None)
        summary[entity.unique_id] = {
            "entity_id": entity.entity_id,
            "translation_key": entity.translation_key,
            "entity_category": _plain(entity.entity_category),
            "original_device_class": _plain(entity.original_device_class),
            "unit": _plain(entity.unit_of_measurement),
            "state": state.state if state else None,
            "attributes": {
                str(_plain(key)): _plain(value)
                for key, value in sorted(attributes.items(), key=lambda i: str(i[0]))
            },
        }
    return summary


def _plain(value: Any) -> Any:
    """Enums as their values, so the picture is the same on every HA version."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def request_bodies(
    simulator: Simulator, endpoint: str, site_id: int | None = None
) -> list[Any]:
    """The JSON bodies the simulator received for ``endpoint`` (of one site)."""
    return [
        record.json_body
        for record in simulator.requests
        if record.endpoint == endpoint
        and (site_id is None or record.site_id == site_id)
    ]


def record_states(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Every state ``entity_id`` takes from now on (a live list)."""
    seen: list[str] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None:
            seen.append(new.state)

    async_track_state_change_event(hass, [entity_id], _changed)
    return seen


def reauth_flows(hass: HomeAssistant, entry_id: str | None = None) -> list[Any]:
    """The reauth flows of this integration in progress (of one entry)."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN
        and flow["context"]["source"] == SOURCE_REAUTH
        and (entry_id is None or flow["context"]["entry_id"] == entry_id)
    ]


def reauth_started(hass: HomeAssistant) -> bool:
    """Whether a reauth flow of this integration is in progress."""
    return bool(reauth_flows(hass))


def device_sites(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """The sites with a device (a Wall Connector's device, via its site, is none)."""
    registry = dr.async_get(hass)
    return {
        identifier
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if device.via_device_id is None
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    }


# A simple-form tariff (set_time_of_use): off-peak all day at 0.20.
OFF_PEAK_ALL_DAY: dict[str, Any] = {
    "seasons": [
        {
            "periods": [
                {"period": "OFF_PEAK", "start": "00:00", "end": "00:00", "buy": 0.2}
            ]
        }
    ]
}

# Ways a command can fail at Tesla, and the translation key the owner sees.
COMMAND_FAULTS = [
    pytest.param({"status": 400}, "command_refused", id="400-refused"),
    pytest.param(
        {
            "status": 403,
            "json": {
                "response": None,
                "error": "Unauthorized missing scopes",
                "error_description": "missing scopes: energy_cmds",
            },
        },
        "command_missing_scope",
        id="403-missing-scope",
    ),
    pytest.param(
        {"status": 429, "headers": {"Retry-After": "42"}},
        "command_rate_limited",
        id="429",
    ),
    pytest.param({"status": 503}, "command_failed", id="503"),
    pytest.param({"status": 408}, "command_unreachable", id="408-offline"),
    pytest.param({"drop": True}, "command_unreachable", id="network-drop"),
]


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The current state of ``entity_id`` (which must exist)."""
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Let ``seconds`` pass: timers due by then fire, their refreshes finish."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    # Scheduled refreshes run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)
