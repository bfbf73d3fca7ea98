"""Every failure of the tool is one plain line: what happened and what to do (issue 21, item 3).

Never an exception's class name, no traceback unless ``--debug``, never a
secret; exit status 1.
"""

from __future__ import annotations

from pathlib import Path
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.powerwall_fleet.fleet import FleetClient, errors as fleet_errors
from tests.simulator import Simulator
from tests.simulator.scenario import CLIENT_SECRET, SITE_FULL

from .cli_support import assert_no_secret, cli, expire_tokens, read_config, write_config


def _class_names() -> set[str]:
    names = {"Traceback", "Exception", "KeyError", "AttributeError", "TypeError"}
    todo: list[type[BaseException]] = [fleet_errors.FleetError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    names.update(
        name
        for name in dir(aiohttp)
        if name.endswith(("Error", "Exception")) and name[0].isupper()
    )
    return names


CLASS_NAMES = _class_names()


def assert_plain_line(err: str, simulator: Simulator) -> str:
    """One line on stderr, in words: no class name, no traceback, no secret."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("fleetapi: "), line
    assert "error:" not in line
    for name in CLASS_NAMES:
        assert name not in line, (name, line)
    assert_no_secret(err, simulator)
    return line


@pytest.fixture
def config(tmp_path: Path, simulator: Simulator) -> Path:
    """A config for the main account, default site SITE_FULL."""
    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=SITE_FULL)
    simulator.reset_counts()
    return path


def _tesla_error(error: str, description: str) -> dict[str, Any]:
    return {"response": None, "error": error, "error_description": description}


FAULTS: list[tuple[str, dict[str, Any], list[str], tuple[str, ...]]] = [
    (
        "503",
        {"path": r"/live_status$", "status": 503},
        ["status"],
        ("Tesla's servers had a problem", "HTTP 503", "try again in a few minutes"),
    ),
    (
        "500 upstream internal error",
        {
            "path": r"/live_status$",
            "status": 500,
            "json": _tesla_error("upstream internal error", ""),
        },
        ["status"],
        ("no longer reaches this site", "fleetapi sites"),
    ),
    (
        "401 after the refresh",
        {"path": r"/site_info$", "status": 401, "body": ""},
        ["getmode"],
        ("refused the login", "HTTP 401", "sign in again with 'fleetapi setup'"),
    ),
    (
        "400",
        {
            "path": r"/operation$",
            "status": 400,
            "json": _tesla_error("invalid_field", "default_real_mode is not valid"),
        },
        ["setmode", "autonomous"],
        (
            "Tesla refused the request",
            "HTTP 400",
            "default_real_mode is not valid",
            "--debug",
        ),
    ),
    (
        "402",
        {"path": r"/live_status$", "status": 402},
        ["status"],
        ("billing limit", "developer portal"),
    ),
    (
        "408",
        {"path": r"/live_status$", "status": 408},
        ["status"],
        ("Powerwall", "not answering", "internet connection", "try again"),
    ),
    (
        "412",
        {"path": r"/live_status$", "status": 412},
        ["status"],
        ("not registered", "fleetapi setup"),
    ),
    (
        "429",
        {
            "path": r"/live_status$",
            "status": 429,
            "headers": {"Retry-After": "120"},
        },
        ["status"],
        ("too many requests", "wait 2 min"),
    ),
    (
        "not JSON",
        {"path": r"/site_info$", "status": 200, "body": "<html>oops</html>"},
        ["info"],
        ("could not be read", "try again later"),
    ),
    (
        "connection dropped",
        {"path": r"/live_status$", "drop": True},
        ["status"],
        ("could not reach", "closed the connection", "network"),
    ),
]


@pytest.mark.parametrize(
    ("fault", "argv", "expected"),
    [case[1:] for case in FAULTS],
    ids=[case[0] for case in FAULTS],
)
async def test_failure_is_one_plain_line(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any],
    argv: list[str],
    expected: tuple[str, ...],
) -> None:
    """Each failure: exit 1, nothing on stdout, one line saying what happened and what to do."""
    path = fault.pop("path")
    simulator.add_fault(path, times=None, **fault)
    code, out, err = await cli(capsys, "--config", str(config), *argv)
    assert code == 1
    assert out == ""
    line = assert_plain_line(err, simulator)
    for words in expected:
        assert words in line, (words, line)

    # --debug adds the traceback, still without a secret.
    code, _, err = await cli(capsys, "--config", str(config), "--debug", *argv)
    assert code == 1
    assert "Traceback" in err
    assert_no_secret(err, simulator)


async def test_missing_permission_is_named_as_the_portal_names_it(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A login without commands: setmode names "Energy Product Commands", not the scope key."""
    path = tmp_path / "fleet.json"
    write_config(
        path,
        simulator,
        site_id=SITE_FULL,
        scopes=("openid", "offline_access", "energy_device_data"),
    )
    code, _, err = await cli(capsys, "--config", str(path), "setmode", "backup")
    assert code == 1
    line = assert_plain_line(err, simulator)
    assert '"Energy Product Commands"' in line
    assert "energy_cmds" not in line
    assert "fleetapi setup" in line


async def test_no_connection_says_check_the_network(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens at the base URL: the reason in words, and to check the network and URLs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "fleet.json"
    write_config(config, simulator, base_url=f"http://127.0.0.1:{port}")
    code, out, err = await cli(capsys, "--config", str(config), "getreserve")
    assert code == 1
    assert out == ""
    line = assert_plain_line(err, simulator)
    assert "could not reach the Fleet API" in line
    assert "connection refused" in line.lower()
    assert "network" in line
    assert str(config) in line  # the file that holds the URLs


async def test_token_endpoint_failure_during_refresh(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The token endpoint answers 503 while refreshing: plain words, nothing secret."""
    expire_tokens(config)
    simulator.add_fault(r"/token$", status=503, times=None)
    code, _, err = await cli(capsys, "--config", str(config), "getreserve")
    assert code == 1
    line = assert_plain_line(err, simulator)
    assert "Tesla's servers had a problem" in line


async def test_secrets_in_a_server_message_are_not_printed(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tesla echoing the client secret or a token in its error text: redacted in the line."""
    stored = read_config(config)["tokens"]
    description = (
        f"bad client {CLIENT_SECRET} refresh {stored['refresh_token']}"
        f" access {stored['access_token']}"
    )
    simulator.add_fault(
        r"/operation$",
        status=400,
        json=_tesla_error("invalid_field", description),
        times=None,
    )
    code, _, err = await cli(capsys, "--config", str(config), "setmode", "backup")
    assert code == 1
    line = assert_plain_line(err, simulator)
    assert CLIENT_SECRET not in line
    assert "REDACTED" in line


async def test_an_unexpected_failure_is_one_line_too(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug (any other exception): one line saying to rerun with --debug; the traceback only then."""

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(FleetClient, "site_info", broken)
    code, out, err = await cli(capsys, "--config", str(config), "getreserve")
    assert code == 1
    assert out == ""
    line = assert_plain_line(err, simulator)
    assert "RuntimeError" not in line
    assert "--debug" in line
    code, _, err = await cli(capsys, "--config", str(config), "getreserve", "--debug")
    assert code == 1
    assert "Traceback" in err
    assert "boom" in err
