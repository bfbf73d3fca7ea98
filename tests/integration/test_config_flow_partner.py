"""Config flow, partner step: every way registration fails, and the retry that works."""

# Fixtures imported from test_config_flow are requested by name.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet.const import (
    CONF_BASE_URL,
    CONF_PARTNER_DOMAIN,
    DOMAIN,
)
from custom_components.powerwall_fleet.fleet import keys
from custom_components.powerwall_fleet.setup import partner
from custom_components.powerwall_fleet.setup.partner import async_get_private_key
from tests.integration.conftest import Approve
from tests.integration.test_config_flow import (  # noqa: F401
    PARTNER_ACCOUNTS_PATH,
    PUBLIC_KEY_API_PATH,
    TOKEN_PATH,
    _choose_custom,
    _defaults,
    _finish_oauth,
    _hold_our_key,
    _holds_our_key,
    _our_key_hex,
    _placeholders,
    _register,
    _start,
    _start_custom,
    check_translations,
    ha_origin,
    serve_key,
)
from tests.simulator import Simulator
from tests.simulator.scenario import CLIENT_ID, CLIENT_SECRET, PARTNER_DOMAIN, USER_EU

pytestmark = pytest.mark.usefixtures("credentials", "current_request_with_host")

OTHER_KEY_HEX = "04" + "ab" * 64
KEY_FILE = "/.well-known/appspecific/com.tesla.3p.public-key.pem"


class PartnerFailure(NamedTuple):
    """One way the partner form fails on submit.

    ``arrange`` breaks something and returns the domain the owner types;
    ``errors`` and ``detail`` are what the form then shows; ``sent`` counts
    requests per endpoint (None: all of them) up to that point.
    """

    arrange: Callable[[Simulator], str]
    errors: dict[str, str]
    detail: str = ""
    sent: Mapping[str | None, int] = {}


def _typed(domain: str) -> Callable[[Simulator], str]:
    return lambda simulator: domain


def _fault(path: str, **kwargs: Any) -> Callable[[Simulator], str]:
    def _arrange(simulator: Simulator) -> str:
        simulator.add_fault(path, **kwargs)
        return PARTNER_DOMAIN

    return _arrange


def _wrong_secret(simulator: Simulator) -> str:
    simulator.oauth.clients[CLIENT_ID].client_secret = "rotated-on-the-portal"
    return PARTNER_DOMAIN


def _key_not_published(simulator: Simulator) -> str:
    simulator.unpublish_public_key(PARTNER_DOMAIN)
    return PARTNER_DOMAIN


def _domain_serves_other_key(simulator: Simulator) -> str:
    # The domain still serves another application's key.
    simulator.resolved_domains.pop(PARTNER_DOMAIN, None)
    return PARTNER_DOMAIN


def _domain_of_other_app(simulator: Simulator) -> str:
    simulator.register_partner(
        "another-app", "na", "taken.example.com", simulator.partner_public_key_pem
    )
    return "taken.example.com"


def _local(domain: str, error: str) -> PartnerFailure:
    """Tesla would refuse the domain: refused on the field, nothing sent."""
    return PartnerFailure(_typed(domain), {"domain": error}, sent={None: 0})


def _no_token(
    arrange: Callable[[Simulator], str], error: str, detail: str = ""
) -> PartnerFailure:
    """No partner token: nothing registered."""
    return PartnerFailure(arrange, {"base": error}, detail, {"partner_accounts": 0})


def _refused(
    arrange: Callable[[Simulator], str], error: str, detail: str = ""
) -> PartnerFailure:
    """Tesla refuses the registration (or does not hold our key after it)."""
    return PartnerFailure(arrange, {"base": error}, detail)


POST = {"method": "POST"}

PARTNER_FAILURES = {
    # Checked before anything is sent.
    "not_a_domain": _local("not a domain", "invalid_domain"),
    "localhost": _local("localhost", "invalid_domain"),
    "port": _local("https://home.example.com:8443/", "invalid_domain"),
    "user": _local("user@home.example.com", "invalid_domain"),
    "tesla_typed": _local("mytesla.example.com", "domain_contains_tesla"),
    # The partner token.
    "wrong_secret": _no_token(_wrong_secret, "invalid_client"),
    "token_server_error": _no_token(
        _fault(TOKEN_PATH, status=503), "partner_token_failed", "Service Unavailable"
    ),
    "token_refused": _no_token(
        _fault(TOKEN_PATH, status=400, json={"error": "invalid_scope"}),
        "partner_token_failed",
        "invalid_scope",
    ),
    "token_network": _no_token(
        _fault(TOKEN_PATH, drop=True, times=None), "cannot_connect"
    ),
    # The registration and the key check.
    "key_not_published": _refused(
        _key_not_published,
        "key_not_reachable",
        f"Public key download failed for https://{PARTNER_DOMAIN}{KEY_FILE}",
    ),
    "domain_serves_other_key": _refused(_domain_serves_other_key, "key_mismatch"),
    "tesla_reports_other_key": _refused(
        _fault(
            PUBLIC_KEY_API_PATH,
            status=200,
            json={"response": {"public_key": OTHER_KEY_HEX}},
        ),
        "key_mismatch",
    ),
    "tesla_reports_no_key": _refused(
        _fault(PUBLIC_KEY_API_PATH, status=404), "key_mismatch"
    ),
    "domain_of_other_app": _refused(
        _domain_of_other_app,
        "domain_taken",
        "domain already registered to another application",
    ),
    "wrong_region": _refused(
        _fault(PARTNER_ACCOUNTS_PATH, **POST, status=421),
        "wrong_region",
        "user out of region",
    ),
    "register_server_error": _refused(
        _fault(PARTNER_ACCOUNTS_PATH, **POST, status=500),
        "registration_failed",
        "upstream internal error",
    ),
    "register_refused": _refused(
        _fault(
            PARTNER_ACCOUNTS_PATH, **POST, status=400, json={"error": "invalid_command"}
        ),
        "registration_failed",
        "invalid_command",
    ),
    "failed_dependency": _refused(
        _fault(PARTNER_ACCOUNTS_PATH, **POST, status=424, json=None),
        "key_not_reachable",
        "Tesla's servers had a problem",
    ),
    "precondition": _refused(
        _fault(PARTNER_ACCOUNTS_PATH, **POST, status=412),
        "partner_not_registered",
        "A condition has not been met to process the request",
    ),
    "tesla_in_domain": _refused(
        _fault(
            PARTNER_ACCOUNTS_PATH,
            **POST,
            status=400,
            json={"error": "invalid domain: must not contain 'tesla'"},
        ),
        "domain_contains_tesla",
        "invalid domain: must not contain 'tesla'",
    ),
    "bad_domain": _refused(
        _fault(
            PARTNER_ACCOUNTS_PATH,
            **POST,
            status=400,
            json={"error": "invalid domain: not a valid hostname"},
        ),
        "invalid_domain",
        "invalid domain: not a valid hostname",
    ),
    "register_network": _refused(
        _fault(PARTNER_ACCOUNTS_PATH, **POST, drop=True, times=None), "cannot_connect"
    ),
}


@pytest.mark.parametrize(
    "failure", PARTNER_FAILURES.values(), ids=PARTNER_FAILURES.keys()
)
async def test_partner_form_error_then_retry(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    failure: PartnerFailure,
) -> None:
    """The partner form says what went wrong and keeps what was typed; fixed, it goes through."""
    serve_key()
    result = await _start_custom(hass, simulator)
    domain = failure.arrange(simulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": domain}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "partner"
    assert result["errors"] == failure.errors
    assert _placeholders(result)["detail"] == failure.detail
    assert _defaults(result) == {"domain": domain}
    if "domain" not in failure.errors:
        # A domain refused on the field: test_key_url_shows_the_cleaned_host_or_none.
        assert _placeholders(result)["key_url"] == f"https://{domain}{KEY_FILE}"
    for endpoint, count in failure.sent.items():
        assert simulator.count(endpoint) == count, endpoint

    simulator.clear_faults()
    simulator.oauth.clients[CLIENT_ID].client_secret = CLIENT_SECRET
    serve_key()
    result = await _register(hass, result)
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    assert _holds_our_key(simulator, "na", await _our_key_hex(hass))


async def test_partner_step_skipped_when_tesla_holds_our_key(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """A second account with the same credentials: no partner form, no registration.

    The account lives in eu, where Tesla also holds our key already.
    """
    config_entry.add_to_hass(hass)
    await _hold_our_key(hass, simulator, "na", "eu")
    result = await _start_custom(hass, simulator)
    assert result["type"] is FlowResultType.EXTERNAL_STEP

    result = await _finish_oauth(
        hass, hass_client_no_auth, approve, result, user=USER_EU
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PARTNER_DOMAIN] == PARTNER_DOMAIN
    assert result["data"][CONF_BASE_URL] == simulator.base_url("eu")
    assert simulator.count("partner_accounts") == 0
    assert simulator.count("partner_public_key") == 2  # na up front, eu on sign-in
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "break_it",
    [
        lambda sim: sim.add_fault(TOKEN_PATH, drop=True, times=None),
        lambda sim: sim.add_fault(
            TOKEN_PATH, status=401, json={"error": "invalid_client"}
        ),
        lambda sim: sim.add_fault(PUBLIC_KEY_API_PATH, drop=True, times=None),
        lambda sim: sim.add_fault(PUBLIC_KEY_API_PATH, status=500),
        lambda sim: None,  # Tesla holds another key for the domain
    ],
    ids=["token_network", "token_refused", "key_network", "key_error", "other_key"],
)
async def test_known_domain_check_fails_quietly(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    serve_key: Callable[[], None],
    break_it: Callable[[Simulator], Any],
) -> None:
    """Checking the known domain fails: the form shows it, without an error yet."""
    config_entry.add_to_hass(hass)
    break_it(simulator)
    result = await _start_custom(hass, simulator)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "partner"
    assert not result["errors"]
    assert _defaults(result) == {"domain": PARTNER_DOMAIN}

    simulator.clear_faults()
    serve_key()
    result = await _register(hass, result)
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")


async def test_partner_form_placeholders(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """The form suggests the external URL's host and says where the key is served."""
    hass.config.external_url = "https://home.example.com:8443"
    result = await _start_custom(hass, simulator)
    assert _defaults(result) == {"domain": "home.example.com"}
    placeholders = _placeholders(result)
    assert placeholders["key_url"] == f"https://home.example.com{KEY_FILE}"
    assert placeholders["local_key_url"] == f"https://home.example.com:8443{KEY_FILE}"
    assert placeholders["public_key"] == keys.public_key_pem(
        await async_get_private_key(hass)
    )


async def test_partner_form_without_any_url(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No URL known for this Home Assistant: placeholders still make sense."""

    def no_url(*args: Any, **kwargs: Any) -> str:
        raise NoURLAvailableError

    result = await _start(hass)
    monkeypatch.setattr(partner, "get_url", no_url)
    result = await _choose_custom(hass, simulator, result)
    assert _defaults(result) == {"domain": ""}
    placeholders = _placeholders(result)
    assert placeholders["key_url"] == f"https://<your domain>{KEY_FILE}"
    assert placeholders["local_key_url"] == KEY_FILE


# ------------------------------------------- issue 11 §4: found as a new user


def _forget_partner_tokens(simulator: Simulator) -> None:
    """The server restarted: every token it issued is unknown now."""
    simulator.oauth.access_tokens.clear()


def _expire_partner_tokens(simulator: Simulator) -> None:
    """The partner token's lifetime ran out while the dialog stayed open."""
    simulator.clock.advance(simulator.oauth.access_token_lifetime + 1)


@pytest.mark.parametrize(
    "lose_token",
    [_forget_partner_tokens, _expire_partner_tokens],
    ids=["server_restarted", "token_expired"],
)
async def test_partner_token_renewed_after_401(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    lose_token: Callable[[Simulator], None],
) -> None:
    """A Submit after the partner token died fetches a fresh one and goes through."""
    result = await _start_custom(hass, simulator)
    simulator.unpublish_public_key(PARTNER_DOMAIN)
    result = await _register(hass, result)
    assert result["errors"] == {"base": "key_not_reachable"}
    assert simulator.count("token") == 1

    lose_token(simulator)
    serve_key()
    result = await _register(hass, result)

    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    assert simulator.count("token") == 2
    assert _holds_our_key(simulator, "na", await _our_key_hex(hass))


async def test_partner_401_after_fresh_token_is_shown(
    hass: HomeAssistant, simulator: Simulator, serve_key: Callable[[], None]
) -> None:
    """Tesla keeps answering 401: one fresh token, then the error; no loop."""
    serve_key()
    result = await _start_custom(hass, simulator)
    simulator.add_fault(PARTNER_ACCOUNTS_PATH, method="POST", status=401, times=None)

    result = await _register(hass, result)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "registration_failed"}
    assert simulator.count("token") == 2
    assert simulator.count("partner_accounts") == 2


@pytest.mark.parametrize(
    "failure",
    [f for k, f in PARTNER_FAILURES.items() if f.detail],
    ids=[k for k, f in PARTNER_FAILURES.items() if f.detail],
)
async def test_partner_problem_shown_once(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    failure: PartnerFailure,
) -> None:
    """Tesla's words appear in the error box only, not again in the step's text."""
    serve_key()
    result = await _start_custom(hass, simulator)
    domain = failure.arrange(simulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": domain}
    )
    translations = await async_get_translations(hass, "en", "config", {DOMAIN})
    prefix = f"component.{DOMAIN}.config"
    description = translations[f"{prefix}.step.partner.description"]
    (error,) = (result["errors"] or {}).values()
    assert f"{prefix}.error.{error}" in translations
    assert _placeholders(result)["detail"] == failure.detail
    assert "{detail}" not in description


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("https://https://my-tesla.example.org/", "my-tesla.example.org"),
        ("HTTPS://Home.Example.com./some/path", "home.example.com"),
        ("https://home.example.com:8443/", "home.example.com"),
        ("user@home.example.com", "home.example.com"),
        ("mytesla.example.com", "mytesla.example.com"),
        ("not a domain", None),
        ("localhost", None),
        ("https://", None),
    ],
)
async def test_key_url_shows_the_cleaned_host_or_none(
    hass: HomeAssistant, simulator: Simulator, typed: str, shown: str | None
) -> None:
    """What the owner typed is cleaned up for the key's address; nothing valid: no host."""
    result = await _start_custom(hass, simulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": typed}
    )
    assert result["step_id"] == "partner"
    # Kept to be corrected (or, when Tesla refused a valid host, its clean form).
    assert _defaults(result)["domain"] in (typed, shown)
    key_url = _placeholders(result)["key_url"]
    if shown is None:
        assert key_url == f"https://<your domain>{KEY_FILE}"
    else:
        assert key_url == f"https://{shown}{KEY_FILE}"
    assert "//" not in key_url.removeprefix("https://")
