"""``fleetapi setup`` and ``fleetapi doctor`` against the simulator and a domain serving a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.powerwall_fleet.fleet import keys
from custom_components.powerwall_fleet.fleet.cli_config import UsageError
from custom_components.powerwall_fleet.fleet.cli_setup import parse_code
from tests.simulator import Simulator
from tests.simulator.scenario import (
    CLIENT_ID,
    CLIENT_SECRET,
    SITE_EU,
    SITE_FULL,
    USER_EU,
    USER_MAIN,
)

from .cli_support import (
    REDIRECT,
    SETUP_DOMAIN,
    FakeTerminal,
    KeyServer,
    assert_no_secret,
    check_setup_done,
    cli,
    partner_key,
    read_config,
    setup_config,
    setup_flags,
    write_config,
)


async def test_setup_with_flags_and_a_bare_code(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every answer from flags: key created, registered in both regions, signed in."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    status, out, err = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 0, err
    check_setup_done(path, fresh_sim)
    assert "Created the private key" in out
    assert fresh_sim.authorize_url in out
    assert "Setup complete" in out
    assert key_server.hits == 3  # our check, then Tesla's download in each region
    assert_no_secret(out + err, fresh_sim)

    # Again: the key is reused, the registration renewed, a new sign-in saved.
    before = keys.public_key_hex(
        keys.load_private_key(tmp_path / "fleetapi-private-key.pem")
    )
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    status, out, err = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 0, err
    assert "Reusing the private key" in out
    check_setup_done(path, fresh_sim, before)


async def test_setup_from_prompts_and_a_redirect_url(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answers typed at the prompts; the browser's redirect URL (with our state) pasted."""
    path = setup_config(tmp_path, fresh_sim, key_server)

    def browser(prompt: str) -> str:
        answers = {
            "Client ID": CLIENT_ID,
            "Client secret": CLIENT_SECRET,
            "Domain": SETUP_DOMAIN,
            "Redirect URI": "",  # keep the default shown
        }
        for start, answer in answers.items():
            if prompt.startswith(start):
                return answer
        assert prompt.startswith("Paste the URL")
        printed = capsys.readouterr().out
        url = next(line for line in printed.splitlines() if line.startswith("http"))
        state = url.split("state=")[1].split("&")[0]
        code = fresh_sim.issue_code(
            user=USER_MAIN, redirect_uri=f"https://{SETUP_DOMAIN}/", state=state
        )
        return (
            f"https://{SETUP_DOMAIN}/?locale=en-US&code={code}&state={state}&issuer=x"
        )

    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    monkeypatch.setattr("builtins.input", browser)
    monkeypatch.setattr("getpass.getpass", browser)
    status, _, err = await cli(capsys, "--config", str(path), "setup")
    assert status == 0, err
    check_setup_done(path, fresh_sim)
    assert read_config(path)["redirect_uri"] == f"https://{SETUP_DOMAIN}/"


async def test_setup_refuses_a_redirect_url_from_another_sign_in(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A redirect URL whose state is not ours: exit 2 and the code is not exchanged."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT, state="other")
    status, _, err = await cli(
        capsys, *setup_flags(path), "--code", f"{REDIRECT}?code={code}&state=other"
    )
    assert status == 2
    assert "state does not match" in err
    grants = [r.form.get("grant_type") for r in fresh_sim.requests if r.form]
    assert "authorization_code" not in grants
    assert "tokens" not in read_config(path) or not read_config(path)["tokens"]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--domain", "my.tesla.example", "contain 'tesla'"),
        ("--domain", "not a domain", "not a valid domain"),
        ("--redirect-uri", "ftp://x.example/", "http(s) URL"),
    ],
)
async def test_setup_bad_input_exits_2_without_a_request(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    """An unusable domain or redirect URI: exit 2, nothing sent anywhere."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    argv = setup_flags(path)
    argv[argv.index(flag) + 1] = value
    status, _, err = await cli(capsys, *argv, "--code", "NA_x")
    assert status == 2
    assert message in err
    assert fresh_sim.requests == []
    assert key_server.hits == 0


def test_parse_code() -> None:
    """A bare code, a redirect URL, a refusal and a foreign state."""
    assert parse_code(" NA_abc ", "s") == "NA_abc"
    assert parse_code("https://x.example/cb?code=NA_1&state=s", "s") == "NA_1"
    assert parse_code("https://x.example/cb?code=NA_1", "s") == "NA_1"
    with pytest.raises(UsageError):
        parse_code("https://x.example/cb?code=NA_1&state=t", "s")
    with pytest.raises(UsageError):
        parse_code("https://x.example/cb?state=s", "s")
    with pytest.raises(UsageError):
        parse_code("two words", "s")


# ------------------------------------------------------------------ doctor


@pytest.fixture
async def doctor_config(
    tmp_path: Path, simulator: Simulator, key_server: KeyServer
) -> Path:
    """The EU account, every site answering, the domain serving our key."""
    key_server.pem = keys.public_key_pem(partner_key())
    path = tmp_path / "fleet.json"
    write_config(path, simulator, user=USER_EU, domain_origin=key_server.origin)
    return path


async def test_doctor_all_ok(
    doctor_config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything in order: every check OK, exit 0."""
    status, out, err = await cli(capsys, "--config", str(doctor_config), "doctor")
    assert status == 0, out + err
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert lines
    assert all(line.startswith("[ OK ]") for line in lines), out
    status, out, _ = await cli(
        capsys, "--config", str(doctor_config), "doctor", "--json"
    )
    assert status == 0
    checks = {c["check"]: c for c in json.loads(out)}
    assert set(checks) == {
        "private key",
        "public key",
        "partner (na)",
        "partner (eu)",
        "scopes",
        "region",
        f"site {SITE_EU}",
    }
    assert {c["verdict"] for c in checks.values()} == {"OK"}
    assert "eu" in checks["region"]["detail"]
    assert '"Energy Product Commands"' in checks["scopes"]["detail"]
    assert "energy_cmds" not in checks["scopes"]["detail"]
    assert simulator.count("live_status", site_id=SITE_EU) == 2
    assert_no_secret(out, simulator)


async def test_doctor_names_what_fails_and_what_to_do(
    tmp_path: Path,
    simulator: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Another key served, no EU registration, no energy_cmds, a dead site: FAIL/WARN with advice, exit 1."""
    key_server.pem = keys.public_key_pem(keys.generate_private_key())
    simulator.unregister_partner(CLIENT_ID, "eu")
    path = tmp_path / "fleet.json"
    write_config(
        path,
        simulator,
        domain_origin=key_server.origin,
        scopes=("openid", "offline_access", "energy_device_data"),
    )
    status, out, _ = await cli(capsys, "--config", str(path), "doctor", "--json")
    assert status == 1
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["private key"]["verdict"] == "OK"
    assert checks["public key"]["verdict"] == "FAIL"
    assert "serves another key" in checks["public key"]["detail"]
    assert "upload" in checks["public key"]["advice"]
    assert checks["partner (na)"]["verdict"] == "OK"
    assert checks["partner (eu)"]["verdict"] == "FAIL"
    assert "fleetapi setup" in checks["partner (eu)"]["advice"]
    assert checks["scopes"]["verdict"] == "WARN"
    assert '"Energy Product Commands"' in checks["scopes"]["detail"]
    assert "energy_cmds" not in checks["scopes"]["detail"]
    assert checks["region"]["verdict"] == "OK"
    assert checks[f"site {SITE_FULL}"]["verdict"] == "OK"
    dead = [
        c
        for c in checks.values()
        if c["check"].startswith("site ") and c["verdict"] == "FAIL"
    ]
    assert len(dead) == 1

    key_server.pem = None
    status, out, _ = await cli(capsys, "--config", str(path), "doctor")
    assert status == 1
    assert "[FAIL] public key: not reachable" in out
    assert "-> upload" in out


async def test_setup_waits_until_the_domain_serves_our_key(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The domain serves another key: setup says where to upload ours and checks again."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.pem = keys.public_key_pem(keys.generate_private_key())
    prompts: list[str] = []

    def user(prompt: str) -> str:
        prompts.append(prompt)
        key_server.pem = None  # the user uploads our key
        return ""

    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    monkeypatch.setattr("builtins.input", user)
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    status, out, err = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 0, err
    assert len(prompts) == 1
    assert prompts[0].startswith("Press Enter to check again")
    assert "serves another key" in out
    assert "is ours" in out
    check_setup_done(path, fresh_sim)


async def test_doctor_without_key_or_tokens(
    tmp_path: Path,
    simulator: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No key file: a warning; no tokens: run setup; exit 1 and no account request."""
    key_server.pem = keys.public_key_pem(partner_key())
    path = tmp_path / "fleet.json"
    write_config(path, simulator, domain_origin=key_server.origin, tokens={})
    (tmp_path / "key.pem").unlink()
    simulator.reset_counts()
    status, out, _ = await cli(capsys, "--config", str(path), "doctor", "--json")
    assert status == 1
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["private key"]["verdict"] == "WARN"
    assert checks["public key"]["verdict"] == "WARN"
    assert checks["partner (na)"]["verdict"] == "OK"
    assert checks["token"]["verdict"] == "FAIL"
    assert "fleetapi setup" in checks["token"]["advice"]
    assert simulator.count("products") == simulator.count("users_region") == 0


async def test_setup_says_what_a_login_without_commands_cannot_do(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Signed in without "Energy Product Commands": setup says setmode/setreserve will be refused and how to fix it."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    code = fresh_sim.issue_code(
        user=USER_MAIN,
        redirect_uri=REDIRECT,
        scopes=("openid", "offline_access", "energy_device_data"),
    )
    status, out, err = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 0, err
    assert "Setup complete" in out
    note = out.split("Setup complete", 1)[1]
    assert '"Energy Product Commands"' in note
    assert "setmode" in note
    assert "setreserve" in note
    assert "refused" in note
    assert "developer portal" in note
    assert "fleetapi setup" in note
    words = [line for line in (out + err).splitlines() if not line.startswith("http")]
    assert "energy_cmds" not in "\n".join(words)  # only in the sign-in URL

    # With every permission, no such note.
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    status, out, _ = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 0
    assert "Energy Product Commands" not in out


async def test_setup_without_the_read_permission_stops(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Signed in without "Energy Product Information": stop (exit 3) before reading, and say how to fix it."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    code = fresh_sim.issue_code(
        user=USER_MAIN, redirect_uri=REDIRECT, scopes=("openid", "offline_access")
    )
    fresh_sim.reset_counts()
    status, out, err = await cli(capsys, *setup_flags(path), "--code", code)
    assert status == 3
    assert '"Energy Product Information"' in err
    words = [line for line in (out + err).splitlines() if not line.startswith("http")]
    assert "energy_device_data" not in "\n".join(words)  # only in the sign-in URL
    assert fresh_sim.count("products") == 0
    assert "Setup complete" not in out
