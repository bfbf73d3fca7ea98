"""scripts/lib/python.sh: where scripts/setup and .ci/run find Python >= 3.14.2.

Runs the finder in bash with a PATH of bare tools (no Python 3.14 on it, a
``python3`` that is too old) and a user cache of our own, and checks which
interpreter it prints. The interpreter running these tests (3.14) stands in
for a cached build through a small wrapper script.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "scripts" / "lib" / "python.sh"
BASH = shutil.which("bash") or "/bin/bash"
TOOLS = ("bash", "cat", "cut", "dirname", "flock", "head", "id", "mkdir", "rm", "sed")


def _wrapper(path: Path, target: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    path.chmod(0o755)
    return path


def _old_python3(path: Path) -> Path:
    """A ``python3`` that reports 3.11 and fails the finder's check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'Python 3.11.2'; exit 1\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bare_path(tmp_path: Path) -> Path:
    """A bin folder with the shell tools the finder uses and an old python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    _old_python3(bin_dir / "python3")
    return bin_dir


def _find(bin_dir: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script
        [str(bin_dir / "bash"), "-c", f'. "{LIB}" && pwf_find_python'],
        env={
            "PATH": str(bin_dir),
            "HOME": str(cache.parent),
            "PWF_PYTHON_CACHE": str(cache),
            "PWF_NO_UV": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _cpython_version() -> str:
    result = subprocess.run(  # noqa: S603 - our own script
        [BASH, "-c", f'. "{LIB}" && echo "$PWF_CPYTHON_VERSION"'],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_picks_the_cached_build_when_path_has_no_3_14(
    tmp_path: Path, bare_path: Path
) -> None:
    """No Python 3.14 on PATH: the build in the user cache is used, nothing is built."""
    cache = tmp_path / "cache"
    cached = _wrapper(
        cache / f"python-{_cpython_version()}" / "bin" / "python3.14", sys.executable
    )

    result = _find(bare_path, cache)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(cached)
    assert "building" not in result.stderr


def test_path_comes_before_the_cache(tmp_path: Path, bare_path: Path) -> None:
    """A good python3.14 on PATH wins over a cached build."""
    cache = tmp_path / "cache"
    _wrapper(
        cache / f"python-{_cpython_version()}" / "bin" / "python3.14", sys.executable
    )
    on_path = _wrapper(bare_path / "python3.14", sys.executable)

    result = _find(bare_path, cache)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(on_path)


def test_a_too_old_python_variable_is_refused(tmp_path: Path, bare_path: Path) -> None:
    """PYTHON pointing at an old interpreter is an error that says so."""
    old = _old_python3(tmp_path / "old" / "python3.11")

    result = _find(bare_path, tmp_path / "cache", PYTHON=str(old))

    assert result.returncode != 0
    assert result.stdout == ""
    assert f"PYTHON={old} is not CPython >= 3.14.2" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="bash scripts")
def test_the_debian_archive_comes_from_apt_sources(tmp_path: Path) -> None:
    """The source tarball's mirror is read from apt's configuration, not hard-coded."""
    result = subprocess.run(  # noqa: S603 - our own script
        [BASH, "-c", f'. "{LIB}" && pwf_debian_archive'],
        capture_output=True,
        text=True,
        check=False,
    )
    sources = [
        *Path("/etc/apt").glob("sources.list.d/*.sources"),
        *Path("/etc/apt").glob("sources.list.d/*.list"),
        Path("/etc/apt/sources.list"),
    ]
    text = "".join(p.read_text() for p in sources if p.is_file())
    if "/debian" not in text:
        assert result.returncode != 0
        return
    assert result.returncode == 0
    archive = result.stdout.strip()
    assert archive.startswith(("http://", "https://"))
    assert archive.endswith("/debian")
    assert archive in text
