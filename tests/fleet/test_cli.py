"""The ``fleetapi`` command line against the simulator: reads, writes, tokens, bad input and errors."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
import subprocess
import threading
import time
from typing import Any

import pytest

from custom_components.powerwall_fleet.fleet import cli_config
from custom_components.powerwall_fleet.fleet.cli import _RedactSecrets, main
from custom_components.powerwall_fleet.fleet.cli_config import Config
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_DEAD, SITE_FULL, SITE_SOLAR_ONLY, USER_MAIN

from .cli_support import (
    PYTHON,
    assert_no_secret,
    cli,
    expire_tokens,
    file_mode,
    read_config,
    write_config,
)

REPO = Path(__file__).parents[2]


@pytest.fixture
def config(tmp_path: Path, simulator: Simulator) -> Path:
    """A config for the main account, default site SITE_FULL."""
    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=SITE_FULL)
    simulator.reset_counts()
    return path


def _state(simulator: Simulator, site_id: int = SITE_FULL) -> dict[str, Any]:
    """site_info as the simulator holds it (no request)."""
    return simulator.site_info_payload(simulator.site(site_id))


def test_help_as_a_module() -> None:
    """``python -m custom_components.powerwall_fleet.fleet --help`` lists every command."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [PYTHON, "-m", "custom_components.powerwall_fleet.fleet", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in (
        "setup",
        "sites",
        "status",
        "info",
        "getmode",
        "setmode",
        "getreserve",
        "setreserve",
        "doctor",
        "--config",
        "--site",
        "--json",
        "--debug",
    ):
        assert command in done.stdout


async def test_main_runs_its_own_event_loop(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() (what the module runs) returns the exit status; here from a thread."""
    result: list[int] = []
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def target() -> None:
        try:
            result.append(main(["--config", str(config), "getmode"]))
        finally:
            loop.call_soon_threadsafe(done.set)

    thread = threading.Thread(target=target)
    thread.start()
    await done.wait()
    thread.join()
    assert result == [0]
    assert capsys.readouterr().out.strip() == _state(simulator)["default_real_mode"]


async def test_sites(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sites lists the energy sites (no vehicles), remembers them and picks a default."""
    path = tmp_path / "fleet.json"
    write_config(path, simulator, sites=[], site_id=None)
    code, out, _ = await cli(capsys, "--config", str(path), "sites")
    assert code == 0
    mine = [
        site_id
        for site_id, site in simulator.scenario.sites.items()
        if site.user == USER_MAIN
    ]
    for site_id in mine:
        assert str(site_id) in out
    assert "Home" in out
    stored = read_config(path)
    assert [s["energy_site_id"] for s in stored["sites"]] == mine
    assert stored["site_id"] == mine[0]
    assert file_mode(path) == 0o600

    code, out, _ = await cli(capsys, "sites", "--json", "--config", str(path))
    assert code == 0
    listed = json.loads(out)
    assert [s["energy_site_id"] for s in listed] == mine
    assert all("resource_type" in s for s in listed)


async def test_status(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Status --json is live_status under Tesla's names; the text names the flows."""
    code, out, _ = await cli(capsys, "--config", str(config), "status", "--json")
    assert code == 0
    data = json.loads(out)
    expected = simulator.live_status_payload(simulator.site(SITE_FULL))
    assert set(data) == set(expected)
    for name in ("solar_power", "battery_power", "load_power", "grid_power"):
        assert name in data
    assert data["percentage_charged"] == expected["percentage_charged"]
    assert simulator.count("live_status", site_id=SITE_FULL) == 1

    code, out, _ = await cli(capsys, "--config", str(config), "status")
    assert code == 0
    for label in ("Solar:", "Grid:", "Home:", "Battery:", "Battery level:", "Home (id"):
        assert label in out


async def test_info(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Info --json is site_info under Tesla's names; --site takes an id or a name."""
    code, out, _ = await cli(capsys, "--config", str(config), "info", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["site_name"] == "Home"
    assert data["backup_reserve_percent"] == _state(simulator)["backup_reserve_percent"]
    assert data["default_real_mode"] == _state(simulator)["default_real_mode"]

    code, out, _ = await cli(
        capsys, "--config", str(config), "--site", "Cabin", "info", "--json"
    )
    assert code == 0
    cabin = json.loads(out)
    assert cabin["site_name"] == "Cabin"

    code, out, _ = await cli(capsys, "--config", str(config), "info")
    assert code == 0
    assert "Home (id" in out
    assert "Backup reserve:" in out


async def test_getmode_and_getreserve_print_the_bare_value(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Getmode and getreserve print just the value (JSON with --json)."""
    simulator.site(SITE_FULL).backup_reserve_percent = 35
    simulator.site(SITE_FULL).default_real_mode = "autonomous"
    code, out, _ = await cli(capsys, "--config", str(config), "getreserve")
    assert (code, out) == (0, "35\n")
    code, out, _ = await cli(capsys, "--config", str(config), "getmode")
    assert (code, out) == (0, "autonomous\n")
    code, out, _ = await cli(capsys, "--config", str(config), "getreserve", "--json")
    assert json.loads(out) == {"backup_reserve_percent": 35}
    code, out, _ = await cli(capsys, "--config", str(config), "getmode", "--json")
    assert json.loads(out) == {"default_real_mode": "autonomous"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("self", "self_consumption"),
        ("self_consumption", "self_consumption"),
        ("autonomous", "autonomous"),
        ("backup", "backup"),
    ],
)
async def test_setmode(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    given: str,
    expected: str,
) -> None:
    """Setmode changes the site's mode ('self' is self_consumption)."""
    simulator.site(SITE_FULL).default_real_mode = (
        "autonomous" if expected != "autonomous" else "self_consumption"
    )
    code, out, _ = await cli(capsys, "--config", str(config), "setmode", given)
    assert code == 0
    assert expected in out
    assert _state(simulator)["default_real_mode"] == expected
    assert simulator.requests[-1].json_body == {"default_real_mode": expected}


async def test_setreserve(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Setreserve takes a percent, or 'current' for the present charge level."""
    code, out, _ = await cli(capsys, "--config", str(config), "setreserve", "42")
    assert code == 0
    assert "42%" in out
    assert _state(simulator)["backup_reserve_percent"] == 42

    level = simulator.live_status_payload(simulator.site(SITE_FULL))[
        "percentage_charged"
    ]
    code, out, _ = await cli(
        capsys, "--config", str(config), "setreserve", "current", "--json"
    )
    assert code == 0
    assert json.loads(out)["backup_reserve_percent"] == round(level)
    assert _state(simulator)["backup_reserve_percent"] == round(level)
    assert [r.endpoint for r in simulator.requests[-2:]] == ["live_status", "backup"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["setmode", "eco"], "invalid choice"),
        (["setmode"], "required"),
        (["setreserve", "101"], "out of range"),
        (["setreserve", "-1"], "out of range"),
        (["setreserve", "lots"], "not a percentage"),
        (["setreserve", "4.5"], "not a percentage"),
        (["--site", "999", "status"], "Unknown site '999'"),
        (["info", "--site", "Nowhere"], "Unknown site 'Nowhere'"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
async def test_bad_input_exits_2_without_a_request(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    """Bad input: a clear message on stderr, exit status 2, nothing sent."""
    code, out, err = await cli(capsys, "--config", str(config), *argv)
    assert code == 2
    assert message in err
    assert out == ""
    assert simulator.requests == []


async def test_missing_config_exits_2(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """No config file: say to run setup, exit 2, nothing sent."""
    missing = tmp_path / "none.json"
    for command in ("status", "sites", "doctor"):
        code, _, err = await cli(capsys, "--config", str(missing), command)
        assert code == 2
        assert "fleetapi setup" in err
    assert simulator.requests == []


async def test_no_default_site_exits_2(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several sites and no default: ask for --site, exit 2, nothing sent."""
    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=None)
    simulator.reset_counts()
    code, _, err = await cli(capsys, "--config", str(path), "getmode")
    assert code == 2
    assert "--site" in err
    assert simulator.requests == []


async def test_expired_token_is_refreshed_and_the_rotation_saved_first(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An expired access token is refreshed; the new refresh token is on disk (0600) before use."""
    old_refresh = read_config(config)["tokens"]["refresh_token"]
    expire_tokens(config)
    saves: list[tuple[str, list[str], int]] = []
    save = Config.save

    def spy(self: Config) -> None:
        save(self)
        on_disk = read_config(self.path)["tokens"]["refresh_token"]
        mode = file_mode(self.path)
        saves.append((on_disk, [r.endpoint for r in simulator.requests], mode))

    monkeypatch.setattr(cli_config.Config, "save", spy)
    code, out, err = await cli(capsys, "--config", str(config), "getreserve")
    assert code == 0, err
    assert out.strip() == str(_state(simulator)["backup_reserve_percent"])
    stored = read_config(config)["tokens"]
    assert stored["refresh_token"] != old_refresh
    assert stored["refresh_token"] in simulator.oauth.refresh_tokens
    assert stored["expires_at"] > time.time()
    # Saved once, after the token request and before the site was read.
    assert saves == [(stored["refresh_token"], ["token"], 0o600)]
    assert [r.endpoint for r in simulator.requests] == ["token", "site_info"]
    # The old refresh token is spent: reusing it would fail.
    assert simulator.oauth.refresh_tokens[old_refresh].used_at is not None
    assert file_mode(config) == 0o600

    # The next run uses the saved tokens without refreshing.
    simulator.reset_counts()
    assert (await cli(capsys, "--config", str(config), "getmode"))[0] == 0
    assert [r.endpoint for r in simulator.requests] == ["site_info"]


async def test_token_refused_by_the_server_is_refreshed_once(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 401 (token expired by Tesla's clock) refreshes, saves and retries."""
    old_refresh = read_config(config)["tokens"]["refresh_token"]
    simulator.clock.advance(9 * 3600)
    code, out, err = await cli(capsys, "--config", str(config), "getmode")
    assert code == 0, err
    assert out.strip() == _state(simulator)["default_real_mode"]
    assert [r.status for r in simulator.requests] == [401, 200, 200]
    assert read_config(config)["tokens"]["refresh_token"] != old_refresh


async def test_login_required_is_one_line_without_secrets(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revoked sign-in: exit 1, one line saying what to do, no traceback or secret."""
    simulator.revoke_user(USER_MAIN)
    simulator.clock.advance(9 * 3600)
    code, out, err = await cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "sign in again with 'fleetapi setup'" in err
    assert "Traceback" not in err
    assert_no_secret(err, simulator)

    code, _, err = await cli(capsys, "--config", str(config), "status", "--debug")
    assert code == 1
    assert "Traceback" in err
    assert_no_secret(err, simulator)


async def test_server_error_exits_1(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed request: exit 1 and one line."""
    simulator.add_fault(r".*/live_status$", status=503, times=None)
    code, out, err = await cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert out == ""
    assert err.startswith("fleetapi: Tesla's servers had a problem (HTTP 503)")
    assert len(err.strip().splitlines()) == 1


async def test_dead_site_says_what_to_do(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A site Tesla no longer knows (404) points at 'fleetapi sites'."""
    code, _, err = await cli(
        capsys, "--config", str(config), "--site", str(SITE_DEAD), "info"
    )
    assert code == 1
    assert "fleetapi sites" in err


async def test_debug_logs_without_secrets(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """--debug logs the requests and the refresh, never a token or the client secret."""
    expire_tokens(config)
    code, out, err = await cli(
        capsys,
        "--config",
        str(config),
        "--debug",
        "--site",
        str(SITE_SOLAR_ONLY),
        "status",
    )
    assert code == 0
    assert "DEBUG" in err
    assert "Access token refreshed" in err
    assert "live_status" in err
    assert_no_secret(out + err, simulator)


def test_debug_log_redacts_secrets(tmp_path: Path) -> None:
    """Even a log line that quoted a secret of the config shows it redacted."""
    record = logging.LogRecord(
        "custom_components.powerwall_fleet.fleet.auth",
        logging.DEBUG,
        __file__,
        1,
        "sent %s and %s",
        ("the-client-secret-value", "refresh-token-value"),
        None,
    )
    redact = _RedactSecrets()
    config = Config(
        path=tmp_path / "x.json",
        client_secret="the-client-secret-value",
        tokens={"access_token": "a", "refresh_token": "refresh-token-value"},
    )
    redact.secrets = config.secrets
    assert redact.filter(record)
    assert record.getMessage() == "sent **REDACTED** and **REDACTED**"
