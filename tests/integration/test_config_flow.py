"""Config flow: the whole setup against the simulator, the server step, the texts.

Also the helpers the other config-flow test modules drive the flow with:
test_config_flow_partner.py (the partner step), test_config_flow_sign_in.py
(after Tesla's sign-in, the sites) and test_config_flow_reauth.py (reauth,
reconfigure).
"""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable, Mapping
import inspect
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section as form_section
from homeassistant.helpers import config_entry_oauth2_flow, device_registry as dr
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.powerwall_fleet import config_flow
from custom_components.powerwall_fleet.const import (
    CONF_BASE_URL,
    CONF_PARTNER_DOMAIN,
    CONF_REGION,
    CONF_SERVER,
    CONF_SITE_IDS,
    DOMAIN,
    OAUTH_SCOPES,
    SERVER_CUSTOM,
    SERVER_TESLA,
)
from custom_components.powerwall_fleet.fleet import (
    WrongRegion,
    keys,
    partner as fleet_partner,
)
from custom_components.powerwall_fleet.setup import (
    account,
    options as options_flow,
    partner,
    server,
)
from custom_components.powerwall_fleet.setup.partner import (
    async_get_private_key,
    async_register_public_key_view,
)
from tests.integration.conftest import Approve
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    PARTNER_DOMAIN,
    SITE_FULL,
    SITE_PW3,
    SITE_SOLAR_ONLY,
    USER_MAIN,
)

pytestmark = pytest.mark.usefixtures("credentials", "current_request_with_host")

REDIRECT_URI = "https://example.com/auth/external/callback"
TOKEN_PATH = r"^/oauth2/v3/token$"
PARTNER_ACCOUNTS_PATH = r"/api/1/partner_accounts$"
PUBLIC_KEY_API_PATH = r"/api/1/partner_accounts/public_key$"

TRANSLATIONS: dict[str, Any] = json.loads(
    (Path(config_flow.__file__).parent / "translations" / "en.json").read_text(
        encoding="utf-8"
    )
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# --------------------------------------------------------------- translations


def assert_translated(result: Any, section: str = "config") -> None:
    """What the frontend shows for ``result`` exists in en.json, placeholders filled.

    Forms: the step (title, description, a label and a description for every
    field) and every error; aborts: the reason. Every ``{placeholder}`` those
    strings use must be in the result's description_placeholders.
    """
    strings = TRANSLATIONS[section]
    texts: list[str] = []
    if result["type"] is FlowResultType.FORM:
        step = strings["step"][result["step_id"]]
        texts += [step.get("title", ""), step.get("description", "")]
        if (schema := result.get("data_schema")) is not None:
            for field, validator in schema.schema.items():
                if isinstance(validator, form_section):
                    # A section: its name, description and fields in "sections".
                    part = step["sections"][str(field)]
                    texts += [part["name"], part.get("description", "")]
                    for inner in validator.schema.schema:
                        assert str(inner) in part["data"], (field, inner)
                        assert str(inner) in part["data_description"], (field, inner)
                    continue
                assert str(field) in step["data"], (result["step_id"], field)
                assert str(field) in step["data_description"], (
                    result["step_id"],
                    field,
                )
        for error in (result.get("errors") or {}).values():
            assert error in strings["error"], error
            texts.append(strings["error"][error])
    elif result["type"] is FlowResultType.ABORT:
        if result.get("translation_domain") not in (None, DOMAIN):
            return  # Home Assistant's shared OAuth strings (2026.10+)
        assert result["reason"] in strings["abort"], result["reason"]
        texts.append(strings["abort"][result["reason"]])
    else:
        return
    given = set(result.get("description_placeholders") or {})
    for text in texts:
        missing = set(_PLACEHOLDER.findall(text)) - given
        assert not missing, f"{result.get('step_id') or result['reason']}: {missing}"


@pytest.fixture(autouse=True)
def check_translations(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every flow result a test (or the OAuth callback view) gets."""
    managers = (
        (hass.config_entries.flow, "config"),
        (hass.config_entries.options, "options"),
    )
    for manager, section in managers:
        for name in ("async_init", "async_configure"):
            original = getattr(manager, name)

            async def checked(
                *args: Any,
                _original: Callable[..., Awaitable[Any]] = original,
                _section: str = section,
                **kwargs: Any,
            ) -> Any:
                result = await _original(*args, **kwargs)
                assert_translated(result, _section)
                return result

            monkeypatch.setattr(manager, name, checked)


# -------------------------------------------------------------------- helpers


def _defaults(result: ConfigFlowResult) -> dict[str, Any]:
    """What the form submits when the user changes nothing."""
    schema = result.get("data_schema")
    assert schema is not None
    return dict(schema({}))


def _placeholders(result: ConfigFlowResult) -> Mapping[str, str]:
    placeholders = result.get("description_placeholders")
    assert placeholders is not None
    return placeholders


@pytest.fixture
async def ha_origin(
    hass: HomeAssistant, credentials: None, hass_client_no_auth: ClientSessionGenerator
) -> str:
    """Loopback URL of this Home Assistant's HTTP server, serving our public key.

    The test server freezes the router when it starts, so the key's view is
    registered first (as the integration's async_setup does in a running
    Home Assistant; the flow registering it again is a no-op).
    """
    async_register_public_key_view(hass)
    client = await hass_client_no_auth()
    return str(client.make_url("")).rstrip("/")


@pytest.fixture
def serve_key(simulator: Simulator, ha_origin: str) -> Callable[[], None]:
    """Point PARTNER_DOMAIN at this Home Assistant (which serves our public key)."""

    def _serve() -> None:
        simulator.resolve_domain(PARTNER_DOMAIN, ha_origin)

    return _serve


async def _our_key_hex(hass: HomeAssistant) -> str:
    return keys.public_key_hex(await async_get_private_key(hass))


async def _hold_our_key(
    hass: HomeAssistant, simulator: Simulator, *regions: str
) -> None:
    """Tesla already holds our key for PARTNER_DOMAIN in ``regions``."""
    pem = keys.public_key_pem(await async_get_private_key(hass))
    for region in regions:
        simulator.register_partner(CLIENT_ID, region, PARTNER_DOMAIN, pem)


def _holds_our_key(simulator: Simulator, region: str, key_hex: str) -> bool:
    partner = simulator.partners.get((region, CLIENT_ID))
    return (
        partner is not None
        and partner.domain == PARTNER_DOMAIN
        and partner.public_key_hex == key_hex
    )


async def _start(hass: HomeAssistant) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )


async def _choose_custom(
    hass: HomeAssistant, simulator: Simulator, result: ConfigFlowResult
) -> ConfigFlowResult:
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "server"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SERVER: SERVER_CUSTOM,
            "custom_base_url": simulator.base_url("na") + "/",
            "custom_auth_url": simulator.url,
        },
    )


async def _start_custom(hass: HomeAssistant, simulator: Simulator) -> ConfigFlowResult:
    """Start in developer mode and choose the simulator as custom server."""
    return await _choose_custom(hass, simulator, await _start(hass))


async def _register(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Submit the partner form with the simulator's partner domain."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "partner"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": PARTNER_DOMAIN}
    )


async def _deliver(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    result: ConfigFlowResult,
    redirect: dict[str, str],
) -> ConfigFlowResult:
    """Send the browser's redirect to /auth/external/callback and resume the flow."""
    params = {"state": redirect["state"]}
    if "code" in redirect:
        params["code"] = redirect["code"]
    else:
        params["error"] = redirect["error"]
    client = await hass_client_no_auth()
    resp = await client.get("/auth/external/callback", params=params)
    assert resp.status == 200
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def _finish_oauth(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    result: ConfigFlowResult,
    **approve_kwargs: Any,
) -> ConfigFlowResult:
    """Approve on the simulator's page and deliver the callback to Home Assistant."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result
    redirect = await approve(result["url"], **approve_kwargs)
    return await _deliver(hass, hass_client_no_auth, result, redirect)


async def _approve_granting(
    authorize_url: str, grants: list[str], user: str = USER_MAIN
) -> dict[str, str]:
    """Approve on the consent page with only ``grants`` ticked."""
    async with aiohttp.ClientSession() as session:
        async with session.get(authorize_url) as resp:
            assert resp.status == 200
            page = await resp.text()
        for scope in OAUTH_SCOPES:
            assert f'value="{scope}" checked' in page
        form = aiohttp.FormData()
        for key, value in parse_qsl(urlsplit(authorize_url).query):
            form.add_field(key, value)
        form.add_field("grant_form", "1")
        for scope in grants:
            form.add_field("grant", scope)
        form.add_field("user", user)
        form.add_field("decision", "approve")
        async with session.post(
            authorize_url.split("?", 1)[0], data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 302
            location = resp.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _to_sign_in(
    hass: HomeAssistant, simulator: Simulator, serve_key: Callable[[], None]
) -> ConfigFlowResult:
    """A fresh flow up to the external sign-in step (custom server, registered)."""
    serve_key()
    result = await _register(hass, await _start_custom(hass, simulator))
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    return result


async def _complete_new_flow(
    hass: HomeAssistant,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    user: str = USER_MAIN,
) -> ConfigEntry:
    """Start again from scratch and finish: the recovery after an abort."""
    simulator.clear_faults()
    result = await _to_sign_in(hass, simulator, serve_key)
    result = await _finish_oauth(hass, hass_client_no_auth, approve, result, user=user)
    if result["type"] is FlowResultType.FORM:
        assert result["step_id"] == "sites"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"sites": [str(SITE_FULL)]}
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


# ------------------------------------------------------------------ full flow


async def test_full_flow(
    hass: HomeAssistant,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
) -> None:
    """Server → partner registration (Tesla fetches the key from HA) → sign-in → sites."""
    result = await _start_custom(hass, simulator)
    assert result["step_id"] == "partner"
    public_pem = _placeholders(result)["public_key"]
    assert "BEGIN PUBLIC KEY" in public_pem
    assert "PRIVATE" not in public_pem

    # Tesla downloads the key from the domain, which points at this Home Assistant.
    client = await hass_client_no_auth()
    simulator.resolve_domain(PARTNER_DOMAIN, str(client.make_url("")).rstrip("/"))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"domain": f"https://{PARTNER_DOMAIN.upper()}/"}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    assert result["url"].startswith(simulator.authorize_url + "?")
    query = parse_qs(urlsplit(result["url"]).query)
    state = query.pop("state")[0]
    assert query == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": [" ".join(OAUTH_SCOPES)],
    }
    assert config_entry_oauth2_flow._decode_jwt(hass, state) == {
        "flow_id": result["flow_id"],
        "redirect_uri": REDIRECT_URI,
    }

    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sites"
    # Code exchanged for tokens with the Fleet API audience.
    exchange = next(
        r
        for r in simulator.requests
        if r.endpoint == "token"
        and (r.form or {}).get("grant_type") == "authorization_code"
    )
    assert exchange.form is not None
    assert exchange.form["audience"] == simulator.base_url("na")
    assert exchange.form["redirect_uri"] == REDIRECT_URI
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"sites": [str(SITE_FULL), str(SITE_PW3)]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == USER_MAIN
    assert entry.title.startswith("Home")
    assert entry.data[CONF_SITE_IDS] == [SITE_FULL, SITE_PW3]
    assert entry.data[CONF_BASE_URL] == simulator.base_url("na")
    assert entry.data[CONF_REGION] == "na"
    assert entry.data[CONF_PARTNER_DOMAIN] == PARTNER_DOMAIN
    assert entry.data["token"]["refresh_token"]
    await hass.async_block_till_done()

    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    sites = [d for d in devices if d.via_device_id is None]  # no Wall Connector
    assert {next(iter(d.identifiers))[1] for d in sites} == {
        str(SITE_FULL),
        str(SITE_PW3),
    }
    assert SITE_SOLAR_ONLY not in entry.data[CONF_SITE_IDS]
    # Tesla now holds our key.
    key = keys.load_private_key(
        hass.config.path(".storage/powerwall_fleet.private_key.pem")
    )
    assert simulator.partners[("na", CLIENT_ID)].domain == PARTNER_DOMAIN
    assert simulator.partners[("na", CLIENT_ID)].public_key_hex == keys.public_key_hex(
        key
    )


# ---------------------------------------------------------------- server step


@pytest.mark.parametrize(
    ("base_url", "auth_url", "bad_fields"),
    [
        ("", "", {"custom_base_url", "custom_auth_url"}),
        ("ftp://127.0.0.1/na", "{root}", {"custom_base_url"}),
        ("{root}/na", "127.0.0.1:8787", {"custom_auth_url"}),
        ("http://", "https:///oauth", {"custom_base_url", "custom_auth_url"}),
    ],
    ids=["empty", "base_not_http", "auth_without_scheme", "no_host"],
)
async def test_server_step_invalid_url_then_corrected(
    hass: HomeAssistant,
    simulator: Simulator,
    base_url: str,
    auth_url: str,
    bad_fields: set[str],
) -> None:
    """Bad custom URLs are refused per field, nothing is sent; fixed, the flow goes on."""
    result = await _start(hass)
    assert result["step_id"] == "server"
    user_input = {
        CONF_SERVER: SERVER_CUSTOM,
        "custom_base_url": base_url.format(root=simulator.url),
        "custom_auth_url": auth_url.format(root=simulator.url),
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "server"
    assert result["errors"] == dict.fromkeys(bad_fields, "invalid_url")
    # The form keeps what was typed.
    assert _defaults(result) == user_input
    assert simulator.count() == 0

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SERVER: SERVER_CUSTOM,
            "custom_base_url": f" {simulator.base_url('na')}/ ",
            "custom_auth_url": simulator.url + "/",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "partner"
    assert not result["errors"]


@pytest.fixture
def tesla_is_simulated(monkeypatch: pytest.MonkeyPatch, simulator: Simulator) -> None:
    """Tesla's URLs, as the flow uses them, point at the simulator (never at Tesla)."""
    regions = {"na": simulator.base_url("na"), "eu": simulator.base_url("eu")}
    monkeypatch.setattr(server, "REGION_BASE_URLS", regions)
    monkeypatch.setattr(partner, "REGION_BASE_URLS", regions)
    monkeypatch.setattr(server, "DEFAULT_AUTHORIZE_URL", simulator.authorize_url)
    monkeypatch.setattr(server, "DEFAULT_TOKEN_URL", simulator.token_url)
    monkeypatch.setattr(partner, "PARTNER_REGIONS", ("na", "eu"))


@pytest.mark.usefixtures("tesla_is_simulated")
@pytest.mark.parametrize("developer", [False, True], ids=["owner", "developer"])
async def test_tesla_server(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    simulator: Simulator,
    serve_key: Callable[[], None],
    hass_client_no_auth: ClientSessionGenerator,
    approve: Approve,
    developer: bool,
) -> None:
    """Tesla: the partner is registered in every region, then the sign-in.

    Owners never see the server step; developers pick Tesla there. The region
    Tesla reports must be one of Tesla's own hosts: the simulator's is not, so
    the flow stops there with wrong_region instead of sending a token to it.
    """
    if not developer:
        monkeypatch.delenv("POWERWALL_FLEET_DEVELOPER")
    result = await _start(hass)
    if developer:
        assert result["step_id"] == "server"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_SERVER: SERVER_TESLA}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "partner"

    serve_key()
    result = await _register(hass, result)
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result.get("errors")
    assert result["url"].startswith(simulator.authorize_url)
    ours = await _our_key_hex(hass)
    assert _holds_our_key(simulator, "na", ours)
    assert _holds_our_key(simulator, "eu", ours)
    assert simulator.count("partner_accounts") == 2

    result = await _finish_oauth(hass, hass_client_no_auth, approve, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_region"
    assert simulator.base_url("na") in _placeholders(result)["detail"]
    assert simulator.count("products") == 0
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.parametrize(
    ("reported", "kind", "trusted"),
    [
        (None, SERVER_TESLA, True),
        ("https://fleet-api.prd.eu.vn.cloud.tesla.com/", SERVER_TESLA, True),
        ("https://fleet-api.prd.cn.vn.cloud.tesla.cn", SERVER_TESLA, True),
        ("http://fleet-api.prd.eu.vn.cloud.tesla.com", SERVER_TESLA, False),
        ("https://fleet-api.eviltesla.com", SERVER_TESLA, False),
        ("https://tesla.com.example.org", SERVER_TESLA, False),
        ("http://127.0.0.1:8787/eu", SERVER_CUSTOM, True),
        ("http://127.0.0.2:8787/eu", SERVER_CUSTOM, False),
        ("https://127.0.0.1:8787/eu", SERVER_CUSTOM, False),
        ("https://fleet-api.prd.eu.vn.cloud.tesla.com", SERVER_CUSTOM, False),
    ],
)
def test_region_url_trust(reported: str | None, kind: str, trusted: bool) -> None:
    """Only the chosen server's own hosts may receive the account's token."""
    current = (
        "https://fleet-api.prd.na.vn.cloud.tesla.com"
        if kind == SERVER_TESLA
        else "http://127.0.0.1:8787/na"
    )
    config = {CONF_SERVER: kind, CONF_BASE_URL: current}
    if trusted:
        expected = reported.rstrip("/") if reported else current
        assert server.trusted_base(config, reported) == expected
    else:
        with pytest.raises(WrongRegion) as err:
            server.trusted_base(config, reported)
        assert err.value.base_url == reported


# --------------------------------------------------------------- translations


def _flow_source_keys() -> dict[str, set[str]]:
    """Step ids, error keys and abort reasons the config and options flows can produce."""
    tree = ast.Module(
        body=[
            node
            for module in (config_flow, options_flow, account, partner)
            for node in ast.parse(inspect.getsource(module)).body
        ],
        type_ignores=[],
    )
    found: dict[str, set[str]] = {
        "config_step": set(),
        "options_step": set(),
        "error": set(),
        "options_error": set(),
        "abort": set(),
    }

    def strings(node: ast.AST | None) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.BoolOp):
            return {s for value in node.values for s in strings(value)}
        return set()

    in_options: set[int] = set()  # nodes of the options flow
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        section = "options_step" if "Options" in cls.name else "config_step"
        for node in ast.walk(cls):
            if section == "options_step":
                in_options.add(id(node))
            if isinstance(node, ast.keyword) and node.arg == "step_id":
                found[section] |= strings(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "reason":
            found["abort"] |= strings(node.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and (
                    isinstance(target.value, ast.Name) and target.value.id == "errors"
                ):
                    section = "options_error" if id(node) in in_options else "error"
                    found[section] |= strings(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "InvalidDomain"
            and node.args
        ):
            # Shown on the domain field.
            found["error"] |= strings(node.args[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("PartnerSetupError", "SiteCheckFailed")
            and node.args
        ):
            # Shown as a form error before sign-in, as an abort after it.
            both = strings(node.args[0])
            found["error"] |= both
            found["abort"] |= both
        elif isinstance(node, ast.FunctionDef) and node.name == "_registration_reason":
            for ret in (n for n in ast.walk(node) if isinstance(n, ast.Return)):
                found["error"] |= strings(ret.value)
                found["abort"] |= strings(ret.value)
    # The domain check's own keys land in errors["domain"] (err.error).
    normalize = ast.parse(inspect.getsource(fleet_partner.normalize_domain))
    domain_errors = {
        value
        for node in ast.walk(normalize)
        if isinstance(node, ast.keyword) and node.arg == "error"
        for value in strings(node.value)
    }
    assert domain_errors == {"invalid_domain", "domain_contains_tesla"}
    found["error"] |= domain_errors
    return found


def test_translations_cover_the_flow() -> None:
    """Every step, error and abort the flow can show has its text in en.json."""
    found = _flow_source_keys()
    config = TRANSLATIONS["config"]
    # Sanity: the parser sees the flow.
    assert {"server", "partner", "sites", "reauth_confirm", "reconfigure"} <= found[
        "config_step"
    ]
    assert {"no_sites", "wrong_account", "invalid_token"} <= found["abort"]
    assert {"invalid_url", "no_site_selected", "key_mismatch"} <= found["error"]

    assert found["config_step"] <= set(config["step"])
    assert found["options_step"] == set(TRANSLATIONS["options"]["step"])
    assert found["error"] <= set(config["error"])
    assert found["options_error"] <= set(TRANSLATIONS["options"]["error"])
    assert "price_entity_missing" in found["options_error"]  # the parser sees them
    assert found["abort"] <= set(config["abort"])
    # Reasons Home Assistant's helpers abort with on our behalf.
    oauth_reasons = {
        value
        for node in ast.walk(ast.parse(inspect.getsource(config_entry_oauth2_flow)))
        if isinstance(node, ast.keyword) and node.arg == "reason"
        for value in (
            [node.value.value] if isinstance(node.value, ast.Constant) else []
        )
    }
    assert "oauth_failed" in oauth_reasons
    expected = oauth_reasons | {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    }
    assert expected <= set(config["abort"])
    # The OAuth helper's own pick_implementation form.
    assert "pick_implementation" in config["step"]
    # Every step with fields labels and describes them.
    for step_id, step in {**config["step"], **TRANSLATIONS["options"]["step"]}.items():
        assert step.get("title"), step_id
        assert set(step.get("data", {})) == set(step.get("data_description", {})), (
            step_id
        )
    # The server selector's options.
    assert set(TRANSLATIONS["selector"]["server"]["options"]) == {
        SERVER_TESLA,
        SERVER_CUSTOM,
    }


def test_translations_are_plain_text() -> None:
    """Custom integrations cannot resolve [%key:...] references."""
    raw = (Path(config_flow.__file__).parent / "translations" / "en.json").read_text(
        encoding="utf-8"
    )
    assert "[%key:" not in raw
