"""DESIGN.md's failure table, row by row, through the real coordinators.

Every test loads an entry against the simulator (no entity platforms, so the
coordinators are tested on their own), injects the failure with the
simulator's fault controls and checks what the owner would see: data kept or
lost, requests sent, repair issues, reauth flows, log lines.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from datetime import timedelta
import logging
import time
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerwall_fleet.const import CONF_BASE_URL, DOMAIN
from custom_components.powerwall_fleet.coordinator import (
    FleetCoordinator,
    LiveCoordinator,
)
from custom_components.powerwall_fleet.fleet import Product
from tests.integration.entity_helpers import reauth_flows, setup_sites, tick
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_FULL, USER_MAIN

COORDINATOR_LOGGER = "custom_components.powerwall_fleet"
MISSING_SCOPES = {
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_device_data",
}
LIVE = rf"/energy_sites/{SITE_FULL}/live_status$"
INFO = rf"/energy_sites/{SITE_FULL}/site_info$"


# No entity platforms: these tests look at the coordinators only.
pytestmark = [pytest.mark.platforms(), pytest.mark.usefixtures("no_retry_delay")]


def _live(entry: MockConfigEntry, site_id: int = SITE_FULL) -> LiveCoordinator:
    return entry.runtime_data.sites[site_id].live


def _poll(coordinator: FleetCoordinator[Any]) -> Callable[[], None]:
    """Have a listener, as entities would: only then does the coordinator poll."""
    return coordinator.async_add_listener(lambda: None)


def _issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


def _crashes(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Errors logged with a traceback (an exception nobody handled)."""
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


# ------------------------------------------------------------------ 401


async def test_expired_access_token_refreshed_and_retried(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """401: one refresh, one retry, data fresh, no reauth."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    before = config_entry.data["token"]["access_token"]
    simulator.add_fault(LIVE, status=401, body="")
    simulator.reset_counts()

    await live.async_refresh()

    assert live.last_update_success
    assert simulator.count("token") == 1
    assert simulator.count("live_status") == 2
    assert config_entry.data["token"]["access_token"] != before
    assert not reauth_flows(hass)


async def test_token_rejected_twice_fails_update_without_reauth(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A new token refused too: that update fails, nobody is asked to sign in."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    simulator.add_fault(LIVE, status=401, body="", times=2)
    simulator.reset_counts()

    await live.async_refresh()

    assert not live.last_update_success
    assert simulator.count("token") == 1
    assert simulator.count("live_status") == 2
    assert not reauth_flows(hass)


# ------------------------------------------------------------------ login_required


@pytest.mark.parametrize("refusal", ["login_required", "invalid_grant"])
async def test_login_refused_on_refresh_starts_reauth(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    refusal: str,
) -> None:
    """Tesla refusing the refresh token → reauth flow; nothing else is lost."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    data_before = live.data
    if refusal == "login_required":
        simulator.revoke_user(USER_MAIN)  # the simulator answers login_required
    else:
        simulator.add_fault(
            r"/oauth2/v3/token$", status=400, json={"error": "invalid_grant"}
        )
    hass.config_entries.async_update_entry(
        config_entry,
        data={
            **config_entry.data,
            "token": {**config_entry.data["token"], "expires_at": time.time() - 1},
        },
    )
    simulator.reset_counts()

    await live.async_refresh()
    await hass.async_block_till_done()

    assert not live.last_update_success
    assert live.last_error == "login_required"
    assert live.data is data_before
    assert simulator.count("token") == 1
    assert simulator.count("live_status") == 0
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == config_entry.entry_id
    assert config_entry.data["site_ids"] == [SITE_FULL]
    assert config_entry.data["token"]["refresh_token"]


# ------------------------------------------------------------------ 403


async def test_missing_scope_raises_repair_issue(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """403: the update fails and a fixable issue names the missing scope."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    simulator.add_fault(LIVE, status=403, json=MISSING_SCOPES)
    simulator.reset_counts()

    await live.async_refresh()

    assert not live.last_update_success
    assert simulator.count("live_status") == 1  # not worth a retry
    issue = _issue(hass, f"missing_scopes_{config_entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "missing_scopes"
    assert issue.translation_placeholders == {
        "scopes": "Energy Product Information",  # as the developer portal says
        "title": config_entry.title,
    }
    assert issue.data is not None
    assert issue.data["entry_id"] == config_entry.entry_id
    assert not reauth_flows(hass)

    # Once reads work again (the owner signed in again) the issue goes.
    await live.async_refresh()
    assert live.last_update_success
    assert _issue(hass, f"missing_scopes_{config_entry.entry_id}") is None


async def test_missing_scope_without_names_falls_back(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A bare 403 still names the scope reads need."""
    await setup_sites(hass, config_entry)
    simulator.add_fault(LIVE, status=403)
    await _live(config_entry).async_refresh()
    issue = _issue(hass, f"missing_scopes_{config_entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "scopes": "Energy Product Information",
        "title": config_entry.title,
    }


# ------------------------------------------------------------------ 412


async def test_partner_not_registered_raises_issue(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """412 after setup: an explanatory issue (reconfigure), cleared when reads work."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    simulator.add_fault(
        LIVE,
        status=412,
        json={"error": "A condition has not been met to process the request"},
    )
    await live.async_refresh()
    assert not live.last_update_success
    issue = _issue(hass, f"partner_not_registered_{config_entry.entry_id}")
    assert issue is not None
    assert not issue.is_fixable
    assert issue.translation_key == "partner_not_registered"

    await live.async_refresh()
    assert live.last_update_success
    assert _issue(hass, f"partner_not_registered_{config_entry.entry_id}") is None


# ------------------------------------------------------------------ 5xx / timeout / network


TRANSIENT_FAULTS: list[dict[str, Any]] = [
    {"status": 500, "json": {"error": "internal_error"}},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"status": 540},
    {"delay": 1.0},  # a timeout: longer than the client's timeout below
]


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS)
async def test_transient_failure_retried_once_within_update(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
) -> None:
    """One failure is absorbed by the retry: two requests, update succeeds."""
    await setup_sites(hass, config_entry)
    config_entry.runtime_data.client._timeout = aiohttp.ClientTimeout(total=0.2)
    live = _live(config_entry)
    before = live.data
    simulator.add_fault(LIVE, **fault)
    simulator.reset_counts()

    await live.async_refresh()

    assert live.last_update_success
    assert live.data is not before
    assert simulator.count("live_status") == 2
    assert not ir.async_get(hass).issues


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS)
async def test_transient_failure_twice_fails_update(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
) -> None:
    """Failing twice: UpdateFailed (entities unavailable), no repair issue."""
    await setup_sites(hass, config_entry)
    config_entry.runtime_data.client._timeout = aiohttp.ClientTimeout(total=0.2)
    live = _live(config_entry)
    simulator.add_fault(LIVE, **fault, times=2)
    simulator.reset_counts()

    await live.async_refresh()

    assert not live.last_update_success
    assert live.last_error in ("ServerError", "CannotConnect")
    assert simulator.count("live_status") == 2
    assert not ir.async_get(hass).issues


@pytest.mark.parametrize(
    ("fault", "requests", "billed", "error"),
    [
        ({"status": 408}, 1, 1, "DeviceOffline"),  # billed: not re-sent
        ({"status": 429, "headers": {"Retry-After": "60"}}, 1, 1, "rate_limited"),
        ({"status": 503}, 2, 0, "ServerError"),  # Tesla's side failed: once more
    ],
    ids=["408", "429", "503"],
)
async def test_failed_update_costs(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    requests: int,
    billed: int,
    error: str,
) -> None:
    """Tesla bills every answer below 500: only 5xx, timeouts and network errors get a second try."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    simulator.add_fault(LIVE, **fault, times=None)
    simulator.reset_counts()

    await live.async_refresh()

    assert simulator.count("live_status") == requests
    assert simulator.count("live_status", billable=True) == billed
    assert live.last_error == error
    assert not ir.async_get(hass).issues


async def test_device_offline_fails_update_without_retry(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """408: that update fails at once (one request); the next poll asks again."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    simulator.add_fault(LIVE, status=408, times=1)
    simulator.reset_counts()

    await tick(hass, freezer, 31)
    assert not live.last_update_success
    assert live.last_error == "DeviceOffline"
    assert simulator.count("live_status") == 1

    await tick(hass, freezer, 31)
    assert live.last_update_success
    assert simulator.count("live_status") == 2


async def test_dropped_connections_retried_once(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Connections dropped without an answer: two attempts, then UpdateFailed.

    aiohttp itself resends a request once when a reused connection drops, so
    the attempts are counted at the client rather than at the simulator.
    """
    await setup_sites(hass, config_entry)
    client = config_entry.runtime_data.client
    live = _live(config_entry)
    simulator.add_fault(LIVE, drop=True, times=None)
    before = client.request_counts["live_status"]

    await live.async_refresh()

    assert not live.last_update_success
    assert live.last_error == "CannotConnect"
    assert client.request_counts["live_status"] - before == 2
    assert not ir.async_get(hass).issues

    simulator.clear_faults()
    await live.async_refresh()
    assert live.last_update_success


async def test_loss_and_recovery_logged_once(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Several failed polls log one error; the recovery logs one line too."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    simulator.add_fault(LIVE, status=503, times=None)
    caplog.clear()
    caplog.set_level(logging.INFO, logger=COORDINATOR_LOGGER)
    simulator.reset_counts()

    for _ in range(4):
        await tick(hass, freezer, 31)
    assert not live.last_update_success
    assert simulator.count("live_status") == 8  # four polls, each retried once

    simulator.clear_faults()
    for _ in range(3):
        await tick(hass, freezer, 31)
    assert live.last_update_success

    ours = [r for r in caplog.records if r.name.startswith(COORDINATOR_LOGGER)]
    problems = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert problems[0].levelno == logging.ERROR
    recovered = [r for r in ours if "recovered" in r.getMessage()]
    assert len(recovered) == 1


# ------------------------------------------------------------------ 429


async def test_rate_limited_keeps_data_and_waits_for_retry_after(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """429: data kept and available; nothing is asked until Retry-After has passed."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    data = live.data
    simulator.add_fault(LIVE, status=429, headers={"Retry-After": "120"})
    simulator.reset_counts()

    await tick(hass, freezer, 31)  # the regular poll meets the 429
    assert simulator.count("live_status") == 1
    assert live.last_update_success
    assert live.data is data
    assert live.last_error == "rate_limited"
    assert live.health()["throttled_until"] is not None

    # A refresh asked for in between (a command, an action) sends nothing.
    await live.async_request_refresh()
    await tick(hass, freezer, 60)
    await live.async_request_refresh()
    await tick(hass, freezer, 55)
    assert simulator.count("live_status") == 1
    assert live.data is data
    assert live.last_update_success

    await tick(hass, freezer, 10)  # 125 s after the 429
    assert simulator.count("live_status") == 2
    assert live.data is not data
    assert live.last_error is None
    assert live.update_interval == timedelta(seconds=30)
    assert live.health()["throttled_until"] is None

    await tick(hass, freezer, 31)  # back to the normal pace
    assert simulator.count("live_status") == 3


async def test_rate_limited_without_retry_after_waits_60_seconds(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No Retry-After header: a 60 s pause."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    simulator.add_fault(LIVE, status=429)
    simulator.reset_counts()

    await live.async_refresh()
    assert simulator.count("live_status") == 1
    await tick(hass, freezer, 58)
    assert simulator.count("live_status") == 1
    await tick(hass, freezer, 3)
    assert simulator.count("live_status") == 2
    assert live.last_update_success


async def test_rate_limited_pause_is_capped(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A Retry-After of many hours is honoured for at most an hour."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    simulator.add_fault(LIVE, status=429, headers={"Retry-After": str(6 * 3600)})
    simulator.reset_counts()

    await live.async_refresh()
    await tick(hass, freezer, 3590)
    assert simulator.count("live_status") == 1
    await tick(hass, freezer, 15)
    assert simulator.count("live_status") == 2


async def test_rate_limited_before_first_data(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Throttled with nothing to keep: unavailable, and still no request early."""
    simulator.add_fault(LIVE, status=429, headers={"Retry-After": "300"})
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    assert live.data is None
    assert not live.last_update_success
    simulator.reset_counts()

    await live.async_request_refresh()
    await tick(hass, freezer, 200)
    assert simulator.count("live_status") == 0
    assert not live.last_update_success

    await tick(hass, freezer, 110)
    assert simulator.count("live_status") == 1
    assert live.last_update_success
    assert live.data is not None


async def test_rate_limited_for_over_an_hour_raises_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An issue only after an hour of 429s; gone with the first answer."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _poll(live)
    issue_id = f"rate_limited_{config_entry.entry_id}"
    simulator.add_fault(LIVE, status=429, headers={"Retry-After": "600"}, times=None)
    simulator.reset_counts()

    await live.async_refresh()
    for _ in range(5):  # 429s at 10, 20, … 50 minutes
        await tick(hass, freezer, 601)
        assert _issue(hass, issue_id) is None
    assert simulator.count("live_status") == 6
    assert live.last_update_success  # still showing the last data

    await tick(hass, freezer, 601)  # a 429 just over an hour after the first
    assert simulator.count("live_status") == 7
    issue = _issue(hass, issue_id)
    assert issue is not None
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "rate_limited"

    # While another coordinator of the entry is still throttled, the issue stays.
    info = config_entry.runtime_data.sites[SITE_FULL].info
    info.throttled_since = live.throttled_since
    simulator.clear_faults()
    await tick(hass, freezer, 601)
    assert simulator.count("live_status") == 8
    assert live.update_interval == timedelta(seconds=30)
    assert _issue(hass, issue_id) is not None
    await info.async_refresh()  # the last throttled one gets through
    assert info.throttled_since is None
    assert _issue(hass, issue_id) is None


# ------------------------------------------------------------------ 421


def _move_account_to_eu(simulator: Simulator) -> None:
    user = simulator.scenario.users[USER_MAIN]
    simulator.scenario.users[USER_MAIN] = dataclasses.replace(user, region="eu")


@pytest.mark.parametrize("with_url", [True, False])
async def test_wrong_region_switches_base_url_and_persists(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    with_url: bool,
) -> None:
    """421: the client follows (the URL given, or users/region) and the entry keeps it."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    _move_account_to_eu(simulator)
    if not with_url:
        simulator.add_fault(r"^/na/.*/live_status$", status=421)
    simulator.reset_counts()

    await live.async_refresh()
    await hass.async_block_till_done()

    assert live.last_update_success
    eu = simulator.base_url("eu")
    assert config_entry.runtime_data.client.base_url == eu
    assert config_entry.data[CONF_BASE_URL] == eu
    assert simulator.count("live_status") == 2
    assert simulator.count("users_region") == (0 if with_url else 1)

    # The other coordinator uses the new region straight away.
    simulator.reset_counts()
    await config_entry.runtime_data.sites[SITE_FULL].info.async_refresh()
    assert simulator.count("site_info") == 1
    assert simulator.requests[-1].region == "eu"


# ------------------------------------------------------------------ dead site


async def _gone_for_an_hour(
    freezer: FrozenDateTimeFactory, coordinator: FleetCoordinator[Any]
) -> None:
    """Two more polls now and one an hour later, all answering "gone"."""
    await coordinator.async_refresh()
    await coordinator.async_refresh()
    freezer.tick(timedelta(hours=1))
    await coordinator.async_refresh()


async def test_dead_site_fails_alone_with_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """404 / "upstream internal error": that site unavailable; others fine.

    The issue offering to remove it comes only after an hour and several
    polls of the same answer.
    """
    await setup_sites(hass, config_entry, SITE_FULL, SITE_DEAD)
    dead = config_entry.runtime_data.sites[SITE_DEAD]
    full = config_entry.runtime_data.sites[SITE_FULL]
    assert not dead.info.last_update_success
    assert not dead.live.last_update_success
    assert dead.info.last_error == "NotFound"
    assert dead.live.last_error == "ServerError"
    assert full.info.last_update_success
    assert full.live.last_update_success
    assert _issue(hass, f"site_unavailable_{SITE_DEAD}") is None

    await _gone_for_an_hour(freezer, dead.info)

    issue = _issue(hass, f"site_unavailable_{SITE_DEAD}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "site_id": str(SITE_DEAD),
        "title": config_entry.title,
    }
    assert issue.data == {"entry_id": config_entry.entry_id, "site_id": str(SITE_DEAD)}

    # A dead site is not worth a retry; the healthy one keeps polling.
    simulator.reset_counts()
    await dead.live.async_refresh()
    await full.live.async_refresh()
    assert simulator.count("live_status", site_id=SITE_DEAD) == 1
    assert simulator.count("live_status", site_id=SITE_FULL) == 1
    assert full.live.last_update_success


GONE_FAULTS = [
    pytest.param({"status": 404}, id="404"),
    pytest.param(
        {"status": 500, "json": {"error": "upstream internal error"}}, id="upstream"
    ),
]


@pytest.mark.parametrize("fault", GONE_FAULTS)
async def test_site_gone_then_back_clears_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    fault: dict[str, Any],
) -> None:
    """A normal site answering like a dead one for an hour gets the issue until it answers again."""
    await setup_sites(hass, config_entry)
    info = config_entry.runtime_data.sites[SITE_FULL].info
    simulator.add_fault(INFO, **fault, times=4)
    simulator.reset_counts()

    await info.async_refresh()
    assert not info.last_update_success
    assert simulator.count("site_info") == 1
    assert _issue(hass, f"site_unavailable_{SITE_FULL}") is None

    await _gone_for_an_hour(freezer, info)
    assert simulator.count("site_info") == 4
    assert _issue(hass, f"site_unavailable_{SITE_FULL}") is not None

    await info.async_refresh()
    assert info.last_update_success
    assert _issue(hass, f"site_unavailable_{SITE_FULL}") is None


@pytest.mark.parametrize("fault", GONE_FAULTS)
async def test_site_gone_blip_raises_nothing(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    fault: dict[str, Any],
) -> None:
    """One "gone" answer, many within the hour, or one per hour: no issue.

    The offer needs both an hour and several polls; a success starts over.
    """
    await setup_sites(hass, config_entry)
    info = config_entry.runtime_data.sites[SITE_FULL].info
    issue_id = f"site_unavailable_{SITE_FULL}"

    # Many polls within the hour.
    simulator.add_fault(INFO, **fault, times=10)
    for _ in range(10):
        freezer.tick(timedelta(minutes=5))
        await info.async_refresh()
    assert not info.last_update_success
    assert _issue(hass, issue_id) is None

    # Answers again: the count starts over.
    await info.async_refresh()
    assert info.last_update_success

    # Two polls over more than an hour.
    simulator.add_fault(INFO, **fault, times=2)
    await info.async_refresh()
    freezer.tick(timedelta(hours=2))
    await info.async_refresh()
    assert not info.last_update_success
    assert _issue(hass, issue_id) is None

    # Network trouble in between does not reset the count: the third "gone" raises it.
    simulator.add_fault(INFO, status=503, times=2)
    await info.async_refresh()
    simulator.add_fault(INFO, **fault, times=1)
    await info.async_refresh()
    assert _issue(hass, issue_id) is not None


# ------------------------------------------------------------------ malformed payloads


async def test_malformed_fields_never_crash(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fields missing or of the wrong type: the update works, those fields are None."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    simulator.override_fields(
        SITE_FULL,
        "live_status",
        set={"percentage_charged": "lots", "grid_status": 5, "battery_power": None},
        remove=["solar_power", "storm_mode_active"],
    )
    simulator.override_fields(
        SITE_FULL,
        "site_info",
        set={"components": "none", "user_settings": [], "battery_count": "two"},
        remove=["site_name", "version"],
    )

    await site.live.async_refresh()
    await site.info.async_refresh()
    await hass.async_block_till_done()

    assert site.live.last_update_success
    assert site.info.last_update_success
    live = site.live.data
    assert live.percentage_charged is None
    assert live.grid_status is None
    assert live.battery_power is None
    assert live.solar_power is None
    assert live.load_power is not None
    info = site.info.data
    assert info.components is None
    assert info.battery_count is None
    assert info.site_name is None
    assert not _crashes(caplog)


@pytest.mark.parametrize(
    "fault",
    [
        {"json": {"response": "live status unavailable"}},
        {"json": {"response": None}},
        {"json": {"response": [1, 2]}},
        {"json": ["not", "an", "object"]},
        {"json": "just a string"},
        {"body": '{"response": {"solar_power": 12'},  # truncated
        {"body": "<html>maintenance</html>"},
        {"body": ""},
    ],
)
async def test_malformed_response_fails_update_without_crash(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    """An answer that is not the expected shape: that update fails, nothing crashes."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    simulator.add_fault(LIVE, status=200, **fault)
    simulator.add_fault(INFO, status=200, **fault)

    await site.live.async_refresh()
    await site.info.async_refresh()

    assert not site.live.last_update_success
    assert not site.info.last_update_success
    assert site.live.last_error == "InvalidResponse"
    assert not _crashes(caplog)

    await site.live.async_refresh()
    assert site.live.last_update_success


# ------------------------------------------------------------------ site_info re-read


@pytest.mark.parametrize("change", ["storm", "outage"])
async def test_live_change_rereads_site_info(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    change: str,
) -> None:
    """Storm watch turning active or the grid going away re-reads site_info at once."""
    await setup_sites(hass, config_entry)
    live = _live(config_entry)
    simulator.reset_counts()

    await live.async_refresh()
    await hass.async_block_till_done()
    assert simulator.count("site_info") == 0  # nothing changed

    if change == "storm":
        simulator.set_storm_alert(SITE_FULL, True)
    else:
        simulator.set_grid_outage(SITE_FULL, True)
    await live.async_refresh()
    await hass.async_block_till_done()
    assert simulator.count("site_info") == 1
    if change == "storm":
        assert live.data.storm_mode_active is True
    else:
        assert live.data.grid_status == "Inactive"


async def test_site_usage_counts_every_read(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The site's request tally counts each coordinator's reads."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    assert site.site_id == SITE_FULL
    simulator.reset_counts()
    await site.info.async_refresh()
    await site.live.async_refresh()
    assert simulator.count("site_info") == 1
    assert simulator.count("live_status") == 1
    assert site.usage.total >= 4
    assert site.usage.counts["site_info"] == 2


# ------------------------------------------------------------------ construction


async def test_coordinator_needs_an_energy_site(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A product without an energy site id is refused; the base class fetches nothing."""
    await setup_sites(hass, config_entry)
    site = config_entry.runtime_data.sites[SITE_FULL]
    with pytest.raises(ValueError, match="not an energy site"):
        LiveCoordinator(
            hass,
            config_entry,
            client=config_entry.runtime_data.client,
            site=Product(),
            usage=site.usage,
            interval=timedelta(seconds=30),
            info=site.info,
        )
    with pytest.raises(NotImplementedError):
        await FleetCoordinator._fetch(site.live)


async def test_site_gone_since_survives_a_restart(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """When a site was first seen gone is kept: an outage across a restart counts whole."""
    gone_since = dt_util.utcnow() - timedelta(hours=1, minutes=5)
    hass_storage[f"{DOMAIN}.site_gone"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.site_gone",
        "data": {str(SITE_DEAD): gone_since.isoformat()},
    }
    await setup_sites(hass, config_entry, SITE_DEAD)
    dead = config_entry.runtime_data.sites[SITE_DEAD]
    assert dead.info.gone_since == gone_since
    assert _issue(hass, f"site_unavailable_{SITE_DEAD}") is None  # one poll so far

    await dead.info.async_refresh()
    await dead.info.async_refresh()

    assert _issue(hass, f"site_unavailable_{SITE_DEAD}") is not None


async def test_site_gone_since_is_stored_and_forgotten(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """The first "gone" answer is written to storage; the next success removes it."""
    await setup_sites(hass, config_entry)
    info = config_entry.runtime_data.sites[SITE_FULL].info
    simulator.add_fault(INFO, status=404)
    first = dt_util.utcnow()

    await info.async_refresh()
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.site_gone"]["data"]
    assert stored == {str(SITE_FULL): first.isoformat()}

    await info.async_refresh()
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[f"{DOMAIN}.site_gone"]["data"] == {}
