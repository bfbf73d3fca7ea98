"""``fleetapi setup`` without a terminal, and the bounds on every check it repeats (issue 21, item 1).

Without a terminal setup never prompts: it takes its answers from flags (and
the config of an earlier run), checks the published key once (or waits as
long as ``--wait`` says, on a stated schedule), and exits non-zero saying what
to do. With a terminal the checks are capped too, and end of input stops.
"""

from __future__ import annotations

from collections.abc import Callable
import io
from pathlib import Path
import time

import pytest

from custom_components.powerwall_fleet.fleet import cli_setup
from tests.simulator import Simulator
from tests.simulator.scenario import CLIENT_ID, USER_MAIN

from .cli_support import (
    REDIRECT,
    SETUP_DOMAIN,
    FakeTerminal,
    KeyServer,
    NoTerminal,
    check_setup_done,
    cli,
    forbid_prompts,
    read_config,
    setup_config,
    setup_flags,
)

NOT_DONE = 3  # setup stopped at a step that needs the user


@pytest.fixture(autouse=True)
def _no_secret_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli_setup.SECRET_ENV, raising=False)


def _grants(sim: Simulator) -> list[str | None]:
    return [r.form.get("grant_type") for r in sim.requests if r.form]


def _closed() -> io.StringIO:
    stream = io.StringIO("")
    stream.close()
    return stream


@pytest.mark.parametrize(
    "stdin",
    [lambda: NoTerminal(""), lambda: None, _closed],
    ids=["at its end", "none (fd 0 closed)", "closed"],
)
async def test_no_terminal_and_no_flags_names_the_missing_flags(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: Callable[[], io.StringIO | None],
) -> None:
    """Stdin at its end, missing or closed, no flags: exit 2 at once, every missing flag named, nothing sent."""
    prompts = forbid_prompts(monkeypatch)
    monkeypatch.setattr("sys.stdin", stdin())
    path = setup_config(tmp_path, fresh_sim, key_server)
    started = time.monotonic()
    status, out, err = await cli(capsys, "--config", str(path), "setup")
    assert time.monotonic() - started < 2
    assert status == 2
    assert prompts == []
    for flag in ("--client-id", "--client-secret", "--domain"):
        assert flag in err
    assert cli_setup.SECRET_ENV in err
    assert "terminal" in err
    assert len(err.strip().splitlines()) == 1
    assert fresh_sim.requests == []
    assert key_server.hits == 0
    assert "Setup complete" not in out


async def test_answers_piped_on_stdin_are_not_read(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the missing flags are named; a client id from the flags is not asked for again."""
    prompts = forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    status, _, err = await cli(
        capsys, "--config", str(path), "setup", "--client-id", "abc"
    )
    assert status == 2
    assert prompts == []
    assert "--client-id" not in err
    assert "--client-secret" in err
    assert "--domain" in err
    assert fresh_sim.requests == []


async def test_no_terminal_checks_the_key_once_and_says_what_to_do(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key is not published: one check, no request to Tesla, exit 3 within 2 s."""
    prompts = forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.file = None  # the domain serves nothing
    started = time.monotonic()
    status, out, err = await cli(capsys, *setup_flags(path))
    elapsed = time.monotonic() - started
    assert elapsed < 2
    assert status == NOT_DONE
    assert prompts == []
    assert key_server.hits == 1
    assert fresh_sim.requests == []
    text = out + err
    assert "/.well-known/appspecific/com.tesla.3p.public-key.pem" in text
    assert "--wait" in err
    assert "Traceback" not in err
    # What was answered is kept: the next run needs no flags again.
    stored = read_config(path)
    assert stored["domain"] == SETUP_DOMAIN
    assert stored["client_id"]


async def test_wait_follows_the_stated_schedule_and_stops(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--wait 60 and a key that never appears: checks after 2, 4, 8, 16, 30 s, then stop."""
    forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.file = None
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(cli_setup, "sleep", sleep)
    monkeypatch.setattr(cli_setup, "monotonic", lambda: now[0])
    status, out, err = await cli(capsys, *setup_flags(path), "--wait", "60")
    assert status == NOT_DONE
    assert slept == [2, 4, 8, 16, 30]
    assert key_server.hits == 6
    assert fresh_sim.requests == []
    assert "60 s" in out + err


@pytest.mark.parametrize("wait", ["-1", "3601", "soon"])
async def test_wait_out_of_bounds_is_refused(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    wait: str,
) -> None:
    """--wait takes 0 to 3600 seconds; anything else is bad input, nothing sent."""
    forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    status, _, err = await cli(capsys, *setup_flags(path), "--wait", wait)
    assert status == 2
    assert "--wait" in err
    assert key_server.hits == 0
    assert fresh_sim.requests == []


async def test_wait_goes_on_when_the_key_appears(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key is uploaded while setup waits: it registers and signs in."""
    forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    published = key_server.file
    key_server.file = None
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            key_server.file = published  # the upload lands

    monkeypatch.setattr(cli_setup, "sleep", sleep)
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT)
    status, out, err = await cli(
        capsys, *setup_flags(path), "--wait", "600", "--code", code
    )
    assert status == 0, err
    assert slept == [2, 4]
    assert "Setup complete" in out
    check_setup_done(path, fresh_sim)


async def test_without_code_prints_the_sign_in_url_and_a_later_run_finishes(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No --code and no terminal: register, print the URL, exit 3; then ``setup --code URL``."""
    prompts = forbid_prompts(monkeypatch)
    path = setup_config(tmp_path, fresh_sim, key_server)
    status, out, err = await cli(capsys, *setup_flags(path))
    assert status == NOT_DONE
    assert prompts == []
    assert "authorization_code" not in _grants(fresh_sim)
    assert {("na", CLIENT_ID), ("eu", CLIENT_ID)} <= set(fresh_sim.partners)
    url = next(line for line in out.splitlines() if line.startswith("http"))
    assert url.startswith(fresh_sim.authorize_url)
    assert "--code" in err
    state = url.split("state=")[1].split("&")[0]

    # The browser lands on the redirect URI with a code and the state printed above.
    code = fresh_sim.issue_code(user=USER_MAIN, redirect_uri=REDIRECT, state=state)
    status, out, err = await cli(
        capsys,
        "--config",
        str(path),
        "setup",
        "--code",
        f"{REDIRECT}?code={code}&state={state}",
    )
    assert status == 0, err
    assert "Setup complete" in out
    assert prompts == []
    check_setup_done(path, fresh_sim)
    assert not read_config(path).get("sign_in_state")


async def test_terminal_checks_are_capped(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At a terminal, Enter checks again, but not forever: after 10 checks setup stops."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.file = None
    prompts: list[str] = []

    def enter(prompt: str) -> str:
        prompts.append(prompt)
        return ""

    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    monkeypatch.setattr("builtins.input", enter)
    status, _, err = await cli(capsys, *setup_flags(path))
    assert status == NOT_DONE
    assert key_server.hits == cli_setup.MAX_KEY_CHECKS == 10
    assert len(prompts) == 9
    assert fresh_sim.requests == []
    assert "--wait" in err


async def test_end_of_input_at_a_terminal_stops(
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-D at "check again" stops setup (it is not taken as Enter); at a question too."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.file = None
    prompts: list[str] = []

    def eof(prompt: str) -> str:
        prompts.append(prompt)
        raise EOFError

    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    monkeypatch.setattr("builtins.input", eof)
    monkeypatch.setattr("getpass.getpass", eof)
    status, _, _ = await cli(capsys, *setup_flags(path))
    assert status == NOT_DONE
    assert key_server.hits == 1
    assert len(prompts) == 1

    prompts.clear()
    status, _, err = await cli(capsys, "--config", str(tmp_path / "new.json"), "setup")
    assert status == 2
    assert prompts == ["Client ID: "]
    assert "--client-id" in err
    assert fresh_sim.requests == []
