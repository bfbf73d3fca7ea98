"""The ``fleetapi`` tool runs on its own: no Home Assistant, Python 3.11+ (issue 21, item 5).

``scripts/fleetapi`` runs ``python -I custom_components/powerwall_fleet/fleet``:
the folder is imported as the package ``fleet``, without the integration
around it. Here it runs as a subprocess in a virtual environment holding
only aiohttp, cryptography and what they need (linked from the test
environment: no download), where Home Assistant cannot be imported.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from importlib import metadata
import os
from pathlib import Path
import resource
import shutil
import subprocess
import sys
import time
import venv

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

from .cli_support import KeyServer, setup_config, setup_flags, write_config

REPO = Path(__file__).parents[2]
FLEET = REPO / "custom_components" / "powerwall_fleet" / "fleet"
SCRIPT = REPO / "scripts" / "fleetapi"
MIN_PYTHON = (3, 11)
# What the tool may import besides the standard library and itself.
THIRD_PARTY = {"aiohttp", "cryptography"}


def _sources() -> Iterator[Path]:
    yield from sorted(FLEET.rglob("*.py"))


# ----------------------------------------------------------- static checks


def test_imports_stay_in_the_package_the_stdlib_and_two_needs() -> None:
    """Every import in fleet/ is relative inside it, stdlib, aiohttp or cryptography."""
    problems = []
    for path in _sources():
        depth = len(
            path.relative_to(FLEET).parts
        )  # 1 = fleet/x.py, 2 = fleet/tariff/x.py
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    if node.level > depth:
                        problems.append(f"{path.name}: leaves the package")
                    continue
                names = [node.module or ""]
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in THIRD_PARTY:
                    problems.append(f"{path.relative_to(FLEET)}: imports {name}")
    assert problems == []


def test_the_package_parses_as_python_3_11() -> None:
    """No syntax newer than the stated minimum (3.11)."""
    for path in _sources():
        ast.parse(
            path.read_text(encoding="utf-8"), str(path), feature_version=MIN_PYTHON
        )


@pytest.mark.skipif(shutil.which("python3.11") is None, reason="no python3.11 here")
def test_python_3_11_compiles_the_package() -> None:
    """Where a real 3.11 is at hand, it compiles every file (catches what ast cannot)."""
    python = shutil.which("python3.11")
    assert python is not None
    done = subprocess.run(  # noqa: S603 - a local interpreter on our own files
        [
            python,
            "-I",
            "-c",
            "import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, 'exec')",
            *map(str, _sources()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# ----------------------------------------------- an environment without HA


def _distributions(names: set[str]) -> list[metadata.Distribution]:
    """``names`` and every distribution they need (on this platform, no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with aiohttp and cryptography (and their needs) only, linked from this one."""
    root = tmp_path_factory.mktemp("fleetapi-venv")
    venv.EnvBuilder(symlinks=True, with_pip=False).create(root)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(  # noqa: S603 - the interpreter just made
            [
                str(python),
                "-I",
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    )
    for dist in _distributions(THIRD_PARTY):
        tops = {
            Path(str(file)).parts[0]
            for file in dist.files or ()
            if not str(file).startswith("..")
        }
        for top in tops - {"__pycache__"}:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (site / top).exists():
                (site / top).symlink_to(target)
    return python


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_the_bare_environment_has_no_home_assistant(bare_python: Path) -> None:
    """The environment can import aiohttp and cryptography, and not homeassistant."""
    code = (
        "import importlib.util as u, sys\n"
        "assert u.find_spec('aiohttp') and u.find_spec('cryptography')\n"
        "sys.exit(0 if u.find_spec('homeassistant') is None else 3)"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [str(bare_python), "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_environment(),
    )
    assert done.returncode == 0, done.stderr


async def _fleetapi(
    bare_python: Path, cwd: Path, *argv: str, stdin: int = subprocess.DEVNULL
) -> tuple[int, str, str, float]:
    """Run scripts/fleetapi with the bare Python; status, stdout, stderr, seconds.

    The seconds are the CPU time the tool's processes used (their wall time
    depends on how busy the machine is); a run that hangs fails the wall
    limit (30 s) instead.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = children.ru_utime + children.ru_stime
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *argv,
        cwd=cwd,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**_environment(), "FLEETAPI_PYTHON": str(bare_python)},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        process.returncode,
        out.decode(),
        err.decode(),
        children.ru_utime + children.ru_stime - cpu_before,
    )


async def test_the_tool_runs_without_home_assistant(
    bare_python: Path, tmp_path: Path, simulator: Simulator
) -> None:
    """Help, and a read against the simulator, from the script in the bare environment."""
    status, out, err, _ = await _fleetapi(bare_python, tmp_path, "--help")
    assert status == 0, err
    assert "setreserve" in out

    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=SITE_FULL)
    simulator.site(SITE_FULL).backup_reserve_percent = 37
    simulator.reset_counts()
    status, out, err, _ = await _fleetapi(
        bare_python, tmp_path, "--config", str(path), "getreserve"
    )
    assert (status, out, err) == (0, "37\n", "")
    assert [r.endpoint for r in simulator.requests] == ["site_info"]


async def test_setup_with_stdin_closed_exits_at_once(
    bare_python: Path,
    tmp_path: Path,
    fresh_sim: Simulator,
    key_server: KeyServer,
) -> None:
    """Stdin closed: no flags → exit 2, nothing sent; flags but no key → one check, exit 3; both < 2 s."""
    path = setup_config(tmp_path, fresh_sim, key_server)
    key_server.file = None
    started = time.monotonic()
    status, _, err, seconds = await _fleetapi(
        bare_python, tmp_path, "--config", str(path), "setup"
    )
    assert status == 2, err
    assert seconds < 2
    # No waiting either (interpreter start-up on a busy machine aside).
    assert time.monotonic() - started < 5
    assert "--client-id" in err
    assert key_server.hits == 0
    assert fresh_sim.requests == []

    started = time.monotonic()
    status, _, err, seconds = await _fleetapi(bare_python, tmp_path, *setup_flags(path))
    assert status == 3, err
    assert seconds < 2
    assert time.monotonic() - started < 5
    assert key_server.hits == 1
    assert fresh_sim.requests == []


async def test_a_python_without_the_needs_says_what_to_install(tmp_path: Path) -> None:
    """A Python lacking aiohttp: one line naming what to install, exit 1."""
    root = tmp_path / "empty-venv"
    venv.EnvBuilder(symlinks=True, with_pip=False).create(root)
    status, _, err, _ = await _fleetapi(root / "bin" / "python", tmp_path, "--help")
    assert status == 1
    assert len(err.strip().splitlines()) == 1
    assert "aiohttp" in err
    assert "cryptography" in err
    assert "Traceback" not in err
