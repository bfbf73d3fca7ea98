"""Helpers for entity tests: set up an entry with chosen platforms, summarise entities."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import Enum
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerwall_fleet.const import CONF_SITE_IDS, DOMAIN
from tests.integration.conftest import entry_data
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, USER_MAIN


async def setup_entry(
    hass: HomeAssistant,
    simulator: Simulator,
    site_ids: list[int],
    platforms: Iterable[Platform],
    *,
    user: str = USER_MAIN,
    enable_all: bool = True,
) -> MockConfigEntry:
    """Load an entry for ``site_ids`` with only ``platforms``; all entities enabled."""
    data = entry_data(simulator, site_ids=site_ids)
    if user != USER_MAIN:
        tokens = simulator.issue_tokens(user=user)
        data["token"] = {**tokens, "expires_at": time.time() + tokens["expires_in"]}
    entry = MockConfigEntry(domain=DOMAIN, unique_id=user, data=data, title="Test")
    entry.add_to_hass(hass)
    with patch("custom_components.powerwall_fleet.PLATFORMS", list(platforms)):
        if enable_all:
            with patch(
                "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
                True,
            ):
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
        else:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
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


async def setup_sites(
    hass: HomeAssistant, entry: MockConfigEntry, *site_ids: int
) -> MockConfigEntry:
    """Load ``entry`` for ``site_ids`` (default: the full site), all platforms."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_SITE_IDS: list(site_ids or (SITE_FULL,))}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


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


def reauth_started(hass: HomeAssistant) -> bool:
    """Whether a reauth flow of this integration is in progress."""
    return any(
        flow["handler"] == DOMAIN and flow["context"]["source"] == SOURCE_REAUTH
        for flow in hass.config_entries.flow.async_progress()
    )


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
