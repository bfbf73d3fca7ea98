"""``--site`` takes an id, or a name in any case, or a unique start of a name (issue 21, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.powerwall_fleet.fleet.cli_config import Config, UsageError
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

from .cli_support import cli, write_config

SITES: list[dict[str, object]] = [
    {"energy_site_id": 111, "site_name": "Home"},
    {"energy_site_id": 222, "site_name": "Cabin"},
    {"energy_site_id": 333, "site_name": "Holiday flat"},
    {"energy_site_id": 444, "site_name": None},
]


def _config(tmp_path: Path, sites: list[dict[str, object]] = SITES) -> Config:
    return Config(path=tmp_path / "x.json", sites=[dict(s) for s in sites])


@pytest.mark.parametrize(
    ("wanted", "site_id"),
    [
        ("222", 222),
        ("Cabin", 222),
        ("cabin", 222),
        ("CABIN", 222),
        ("ca", 222),
        (" cab ", 222),
        ("home", 111),
        ("hol", 333),
        ("HOLIDAY FLAT", 333),
        ("444", 444),
    ],
)
def test_site_matching(tmp_path: Path, wanted: str, site_id: int) -> None:
    """An id, a name in any case, or a unique start of a name."""
    assert _config(tmp_path).resolve_site(wanted) == site_id


def test_ambiguous_prefix_names_every_match(tmp_path: Path) -> None:
    """'ho' starts 'Home' and 'Holiday flat': refused, naming both with their ids."""
    with pytest.raises(UsageError) as caught:
        _config(tmp_path).resolve_site("ho")
    message = str(caught.value)
    assert "matches 2 sites" in message
    assert "111 (Home)" in message
    assert "333 (Holiday flat)" in message
    assert "222" not in message


def test_two_sites_of_the_same_name(tmp_path: Path) -> None:
    """Two sites called 'Home' (any case): the name is ambiguous, the id is not."""
    config = _config(
        tmp_path,
        [
            {"energy_site_id": 1, "site_name": "Home"},
            {"energy_site_id": 2, "site_name": "home"},
        ],
    )
    with pytest.raises(UsageError, match=r"1 \(Home\), 2 \(home\)"):
        config.resolve_site("HOME")
    assert config.resolve_site("2") == 2


def test_a_whole_name_wins_over_the_start_of_a_longer_one(tmp_path: Path) -> None:
    """'home' is the site called Home, not ambiguous with 'Home office'."""
    config = _config(
        tmp_path,
        [
            {"energy_site_id": 1, "site_name": "Home office"},
            {"energy_site_id": 2, "site_name": "Home"},
        ],
    )
    assert config.resolve_site("home") == 2
    assert config.resolve_site("home o") == 1
    with pytest.raises(UsageError, match="matches 2 sites"):
        config.resolve_site("hom")


@pytest.mark.parametrize("wanted", ["Nowhere", "", "cabins", "22"])
def test_no_match(tmp_path: Path, wanted: str) -> None:
    """No site starts with it: refused, listing the known sites."""
    with pytest.raises(UsageError, match="Unknown site"):
        _config(tmp_path).resolve_site(wanted)


async def test_site_flag_on_the_command_line(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--site cAB`` reads the Cabin; ``--site hom`` is ambiguous: exit 2, both named, nothing sent."""
    cabin = next(
        site_id
        for site_id, site in simulator.scenario.sites.items()
        if site.site_name == "Cabin"
    )
    sites = [
        {"energy_site_id": SITE_FULL, "site_name": "Home"},
        {"energy_site_id": cabin, "site_name": "Cabin"},
        {"energy_site_id": 999, "site_name": "Home office"},
    ]
    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=SITE_FULL, sites=sites)
    simulator.reset_counts()
    code, out, _ = await cli(
        capsys, "--config", str(path), "--site", "cAB", "info", "--json"
    )
    assert code == 0
    assert json.loads(out)["site_name"] == "Cabin"

    simulator.reset_counts()
    code, out, err = await cli(capsys, "--config", str(path), "--site", "hom", "info")
    assert code == 2
    assert out == ""
    assert f"{SITE_FULL} (Home)" in err
    assert "999 (Home office)" in err
    assert simulator.requests == []

    code, out, _ = await cli(
        capsys, "--config", str(path), "--site", "HOME", "info", "--json"
    )
    assert code == 0
    assert json.loads(out)["site_name"] == "Home"
