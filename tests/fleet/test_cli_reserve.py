"""``fleetapi setreserve`` follows the integration's rules (issue 21, items 2 and 4).

81-99 % is refused outside backup-only mode before anything is sent, and
``current`` rounds the charge level half up, both through ``fleet/rules.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.powerwall_fleet.fleet import rules
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

from .cli_support import cli, write_config


@pytest.fixture
def config(tmp_path: Path, simulator: Simulator) -> Path:
    """A config for the main account, default site SITE_FULL."""
    path = tmp_path / "fleet.json"
    write_config(path, simulator, site_id=SITE_FULL)
    simulator.reset_counts()
    return path


def _endpoints(simulator: Simulator) -> list[str]:
    return [r.endpoint for r in simulator.requests]


def _reserve(simulator: Simulator) -> int:
    return int(simulator.site(SITE_FULL).backup_reserve_percent)


@pytest.mark.parametrize(
    ("mode", "words"),
    [("self_consumption", "self-powered"), ("autonomous", "time-based control")],
)
@pytest.mark.parametrize("percent", ["81", "85", "99"])
async def test_81_to_99_outside_backup_mode_is_refused_before_sending(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    words: str,
    percent: str,
) -> None:
    """Outside backup-only mode 81-99 % is refused: exit 2, a plain message, only the mode read."""
    simulator.site(SITE_FULL).default_real_mode = mode
    simulator.site(SITE_FULL).backup_reserve_percent = 20
    simulator.set_reserve_81_99("snap")  # Tesla would take it (as 80 %): we do not send
    code, out, err = await cli(capsys, "--config", str(config), "setreserve", percent)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert f"{percent} %" in err
    assert words in err
    assert "backup-only" in err
    assert f"{rules.MAX_RESERVE_OUTSIDE_BACKUP} %" in err
    assert "fleetapi setmode backup" in err
    assert mode not in err  # the mode in words, not Tesla's key
    assert _endpoints(simulator) == ["site_info"]
    assert _reserve(simulator) == 20


async def test_81_to_99_in_backup_mode_is_sent(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """In backup-only mode 85 % is allowed: the mode is read once, then the reserve sent."""
    simulator.site(SITE_FULL).default_real_mode = "backup"
    code, out, err = await cli(capsys, "--config", str(config), "setreserve", "85")
    assert code == 0, err
    assert "85%" in out
    assert _endpoints(simulator) == ["site_info", "backup"]
    assert _reserve(simulator) == 85


@pytest.mark.parametrize("percent", ["0", "80", "100"])
async def test_allowed_everywhere_is_sent_without_reading_the_mode(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    percent: str,
) -> None:
    """0-80 and 100 are allowed in every mode: no extra read."""
    simulator.site(SITE_FULL).default_real_mode = "self_consumption"
    code, _, err = await cli(capsys, "--config", str(config), "setreserve", percent)
    assert code == 0, err
    assert _endpoints(simulator) == ["backup"]
    assert _reserve(simulator) == int(percent)


async def test_unknown_mode_refuses_nothing(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """site_info without a mode: the rule cannot tell, so the reserve is sent (and Tesla decides)."""
    simulator.site(SITE_FULL).default_real_mode = "backup"
    simulator.override_fields(SITE_FULL, "site_info", remove=["default_real_mode"])
    code, _, err = await cli(capsys, "--config", str(config), "setreserve", "90")
    assert code == 0, err
    assert _endpoints(simulator) == ["site_info", "backup"]
    assert _reserve(simulator) == 90


@pytest.mark.parametrize(
    ("level", "expected"),
    [(64.5, 65), (63.5, 64), (64.4, 64), (0.4, 0), (99.5, 100)],
)
async def test_current_rounds_half_up_like_the_integration(
    config: Path,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    level: float,
    expected: int,
) -> None:
    """'current' at 64.5 % sets 65 % (half up, rules.whole_percent), as the integration does."""
    simulator.site(SITE_FULL).default_real_mode = "backup"
    simulator.override_fields(
        SITE_FULL, "live_status", set={"percentage_charged": level}
    )
    code, _, err = await cli(capsys, "--config", str(config), "setreserve", "current")
    assert code == 0, err
    assert expected == rules.whole_percent(level)
    assert simulator.requests[-1].json_body == {"backup_reserve_percent": expected}
    assert _reserve(simulator) == expected


async def test_current_in_81_to_99_outside_backup_is_refused(
    config: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """'current' at 90.2 % in self-powered mode: refused after reading level and mode, nothing sent."""
    simulator.site(SITE_FULL).default_real_mode = "self_consumption"
    simulator.override_fields(
        SITE_FULL, "live_status", set={"percentage_charged": 90.2}
    )
    code, _, err = await cli(capsys, "--config", str(config), "setreserve", "current")
    assert code == 2
    assert "90 %" in err
    assert _endpoints(simulator) == ["live_status", "site_info"]
