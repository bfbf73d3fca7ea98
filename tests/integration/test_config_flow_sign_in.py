"""Config flow after Tesla's sign-in: the account, its region, its sites.

Every way the flow stops there, and the fresh start that then works.
"""

# Fixtures imported from test_config_flow are requested by name.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import (
    CONF_AUTHORIZE_URL,
    CONF_BASE_URL,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    CONF_TOKEN_URL,
    DOMAIN,
    OAUTH_SCOPES,
    SERVER_CUSTOM,
)
from tests.integration.conftest import Approve
from tests.integration.test_config_flow import (  # noqa: F401
    TOKEN_PATH,
    _approve_granting,
    _complete_new_flow,
    _defaults,
    _deliver,
    _finish_oauth,
    _holds_our_key,
    _our_key_hex,
    _placeholders,
    _register,
    _start_custom,
    _to_sign_in,
    check_translations,
    ha_origin,
    serve_key,
)
from tests.simulator import Simulator
from tests.simulator.scenario import (
    SITE_DEAD,
    SITE_EU,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_EU,
    USER_MAIN,
)

pytestmark = pytest.mark.usefixtures("credentials", "current_request_with_host")

REGIONS = {USER_MAIN: "na", USER_EU: "eu"}
SCOPES_ERROR = {
    "error": "Unauthorized missing scopes",
    "error_description": "missing scopes: energy_device_data",
}


class SignInFailure(NamedTuple):
    """One way the flow stops after the owner signed in at Tesla.

    ``arrange`` breaks something once the flow waits for the sign-in; the
    owner (``user``) then decides on Tesla's page, ticking only ``grants`` if
    given. The flow aborts with ``reason`` (and exactly ``placeholders`` if
    given); ``sent`` counts requests per endpoint at that point.
    """

    arrange: Callable[[Simulator], object]
    reason: str
    placeholders: Mapping[str, str] | None = None
    sent: Mapping[str, int] = {}
    user: str = USER_MAIN
    decision: str = "approve"
    grants: list[str] | None = None


def _nothing(simulator: Simulator) -> None:
    """Nothing breaks: the owner's own choice on Tesla's page stops the flow."""


def _fault(path: str, **kwargs: Any) -> Callable[[Simulator], object]:
    return lambda simulator: simulator.add_fault(path, **kwargs)


def _only_car_and_dead_site(simulator: Simulator) -> None:
    dead = simulator.product_entry(simulator.site(SITE_DEAD))
    vehicle = simulator.scenario.vehicles[USER_MAIN][0]
    simulator.add_fault(
        r"/products$", status=200, json={"response": [vehicle, dead], "count": 2}
    )


def _sites_fail(
    path: str, fault: dict[str, Any], reason: str, placeholders: dict[str, str] | None
) -> SignInFailure:
    """Listing the account's sites fails."""
    return SignInFailure(_fault(path, **fault), reason, placeholders)


def _region_fails(path: str, fault: dict[str, Any], reason: str) -> SignInFailure:
    """Registering in the eu account's own region fails."""
    return SignInFailure(
        _fault(path, times=None, **fault), reason, sent={"products": 0}, user=USER_EU
    )


def _site_check_fails(
    fault: dict[str, Any], reason: str, placeholders: dict[str, str]
) -> SignInFailure:
    """The eu account's only site fails its check: nothing else to choose."""
    return SignInFailure(
        _fault(rf"/energy_sites/{SITE_EU}/site_info$", **fault),
        reason,
        placeholders,
        user=USER_EU,
    )


EU_SITE = f"Zuhause ({SITE_EU})"
EU_PARTNER = r"^/eu/api/1/partner_accounts"

SIGN_IN_FAILURES = {
    "user_denies": SignInFailure(
        _nothing,
        "user_rejected_authorize",
        {"error": "access_denied"},
        {"token": 1},  # the partner token only
        decision="deny",
    ),
    "token_without_account": SignInFailure(
        _fault(
            TOKEN_PATH,
            status=200,
            json={
                "access_token": "opaque-token",
                "refresh_token": "opaque-refresh",
                "token_type": "Bearer",
                "expires_in": 28800,
            },
        ),
        "invalid_token",
        sent={"users_region": 0},
    ),
    "scope_unticked": SignInFailure(
        _nothing,
        "missing_scopes",
        {"scopes": "Energy Product Commands"},
        {"users_region": 0},
        grants=[scope for scope in OAUTH_SCOPES if scope != "energy_cmds"],
    ),
    "untrusted_region": SignInFailure(
        _fault(
            r"/api/1/users/region$",
            status=200,
            json={
                "response": {
                    "region": "eu",
                    "fleet_api_base_url": "https://fleet.attacker.example/eu",
                }
            },
        ),
        "wrong_region",
        {"detail": "https://fleet.attacker.example/eu"},
        {"products": 0},
    ),
    "region_check_network": _region_fails(
        rf"{EU_PARTNER}/public_key$", {"drop": True}, "cannot_connect"
    ),
    "region_check_error": _region_fails(
        rf"{EU_PARTNER}/public_key$", {"status": 500}, "registration_failed"
    ),
    "region_register_refused": _region_fails(
        rf"{EU_PARTNER}$", {"status": 424}, "key_not_reachable"
    ),
    "region_register_network": _region_fails(
        rf"{EU_PARTNER}$", {"drop": True}, "cannot_connect"
    ),
    "sites_412": _sites_fail(
        r"/products$", {"status": 412}, "partner_not_registered", None
    ),
    "sites_412_region": _sites_fail(
        r"/users/region$", {"status": 412}, "partner_not_registered", None
    ),
    "sites_429": _sites_fail(
        r"/products$",
        {"status": 429, "headers": {"Retry-After": "60"}},
        "rate_limited",
        None,
    ),
    "sites_403": _sites_fail(
        r"/products$", {"status": 403}, "missing_scopes", {"scopes": "?"}
    ),
    "sites_403_named": _sites_fail(
        r"/products$",
        {"status": 403, "json": SCOPES_ERROR},
        "missing_scopes",
        {"scopes": "Energy Product Information"},
    ),
    "sites_login_required": _sites_fail(
        r"/products$",
        {"status": 401, "json": {"error": "login_required"}},
        "oauth_unauthorized",
        None,
    ),
    "sites_421_elsewhere": _sites_fail(
        r"/products$",
        {
            "status": 421,
            "json": {
                "error": "user out of region, use base URL: "
                "https://fleet.attacker.example/eu"
            },
        },
        "wrong_region",
        None,
    ),
    "sites_503": _sites_fail(
        r"/products$", {"status": 503}, "api_error", {"detail": "Service Unavailable"}
    ),
    "sites_not_json": _sites_fail(
        r"/products$", {"status": 200, "body": "<html>"}, "api_error", None
    ),
    "sites_network": _sites_fail(
        r"/products$", {"drop": True, "times": None}, "cannot_connect", None
    ),
    "sites_network_region": _sites_fail(
        r"/users/region$", {"drop": True, "times": None}, "cannot_connect", None
    ),
    "no_sites": SignInFailure(_only_car_and_dead_site, "no_sites"),
    "only_site_unavailable": _site_check_fails(
        {"status": 404}, "site_unavailable", {"detail": EU_SITE, "scopes": ""}
    ),
    "only_site_scopes": _site_check_fails(
        {"status": 403, "json": SCOPES_ERROR},
        "missing_scopes",
        {"detail": EU_SITE, "scopes": "Energy Product Information"},
    ),
    "only_site_network": _site_check_fails(
        {"drop": True, "times": None},
        "cannot_connect",
        {"detail": EU_SITE, "scopes": ""},
    ),
}


@pytest.mark.parametrize(
    "failure", SIGN_IN_FAILURES.values(), ids=SIGN_IN_FAILURES.keys()
)
async def test_sign_in_stops_then_new_flow_works(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    failure: SignInFailure,
) -> None:
    """The flow stops with the reason (no entry); starting again then works."""
    result = await _to_sign_in(hass, simulator, serve_key)
    failure.arrange(simulator)
    if failure.grants is not None:
        redirect = await _approve_granting(result["url"], failure.grants, failure.user)
        result = await _deliver(hass, hass_client_no_auth, result, redirect)
    else:
        result = await _finish_oauth(
            hass,
            hass_client_no_auth,
            approve,
            result,
            user=failure.user,
            decision=failure.decision,
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == failure.reason
    if failure.placeholders is not None:
        assert result["description_placeholders"] == failure.placeholders
    for endpoint, count in failure.sent.items():
        assert simulator.count(endpoint) == count, endpoint
    assert not hass.config_entries.async_entries(DOMAIN)

    entry = await _complete_new_flow(
        hass, simulator, serve_key, hass_client_no_auth, approve, user=failure.user
    )
    assert entry.unique_id == failure.user
    assert entry.data[CONF_REGION] == REGIONS[failure.user]


async def test_already_configured(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """The same Tesla account twice: refused, the existing entry untouched."""
    config_entry.add_to_hass(hass)
    before = dict(config_entry.data)
    result = await _start_custom(hass, simulator)
    serve_key()
    result = await _register(hass, result)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert dict(config_entry.data) == before
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert simulator.count("products") == 0


async def test_account_in_other_region(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """An eu account: the flow moves to eu, registers there too, one site, no site form."""
    result = await _to_sign_in(hass, simulator, serve_key)
    ours = await _our_key_hex(hass)
    assert _holds_our_key(simulator, "na", ours)
    assert not _holds_our_key(simulator, "eu", ours)

    result = await _finish_oauth(
        hass, hass_client_no_auth, approve, result, user=USER_EU
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Zuhause"
    data = result["data"]
    assert data[CONF_BASE_URL] == simulator.base_url("eu")
    assert data[CONF_REGION] == "eu"
    assert data[CONF_SITE_IDS] == [SITE_EU]
    assert data[CONF_SERVER] == SERVER_CUSTOM
    assert data[CONF_TOKEN_URL] == simulator.token_url
    assert data[CONF_AUTHORIZE_URL] == simulator.authorize_url
    assert result["result"].unique_id == USER_EU
    assert _holds_our_key(simulator, "eu", ours)
    await hass.async_block_till_done()


# ----------------------------------------------------------------- sites step


async def test_sites_step_needs_a_site(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Nothing chosen: error on the field; every site is offered and preselected."""
    result = await _to_sign_in(hass, simulator, serve_key)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["step_id"] == "sites"
    everything = [str(SITE_FULL), str(SITE_SOLAR_ONLY), str(SITE_PW3)]
    assert sorted(_defaults(result)["sites"]) == sorted(everything)
    schema = result.get("data_schema")
    assert schema is not None
    offered = {
        option["value"]
        for selector in schema.schema.values()
        for option in selector.config["options"]
    }
    assert offered == set(everything)  # not the site without components

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": []}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"sites": "no_site_selected"}
    assert simulator.count("site_info") == 0

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": everything}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home & 2 more sites"
    assert result["data"][CONF_SITE_IDS] == [int(site) for site in everything]
    await hass.async_block_till_done()
    # Each chosen site was read once by the flow, before the entry's own setup
    # (which starts with a second products call) began polling.
    endpoints = [record.endpoint for record in simulator.requests]
    setup_start = [i for i, e in enumerate(endpoints) if e == "products"][1]
    flow_checks = [e for e in endpoints[:setup_start] if e == "site_info"]
    assert len(flow_checks) == 3


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 404}, "site_unavailable"),
        ({"status": 500}, "site_unavailable"),  # "upstream internal error"
        ({"status": 403}, "missing_scopes"),
        ({"status": 503}, "cannot_connect"),
        ({"drop": True, "times": None}, "cannot_connect"),
    ],
    ids=["404", "upstream", "403", "503", "network"],
)
async def test_chosen_site_fails_check(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A chosen site fails its check: the form names it; the others can be added."""
    result = await _to_sign_in(hass, simulator, serve_key)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    simulator.add_fault(rf"/energy_sites/{SITE_PW3}/site_info$", **fault)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_FULL), str(SITE_PW3)]}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sites"
    assert result["errors"] == {"base": error}
    assert _placeholders(result)["detail"] == f"Cabin ({SITE_PW3})"
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_FULL), str(SITE_SOLAR_ONLY)]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Home & Energy site {SITE_SOLAR_ONLY}"
    assert result["data"][CONF_SITE_IDS] == [SITE_FULL, SITE_SOLAR_ONLY]
    await hass.async_block_till_done()
