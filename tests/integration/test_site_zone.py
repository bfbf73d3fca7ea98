"""A malformed time zone in site_info: Home Assistant's zone, one warning, nothing breaks."""

from __future__ import annotations

import logging
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.fleet import SiteInfo
from custom_components.powerwall_fleet.site import site_zone
from tests.integration.test_energy import HISTORY_MARKS, Run
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

pytestmark = HISTORY_MARKS

HOSTILE_ZONES = [
    "/etc/localtime",
    "../../etc/passwd",
    "Europe/../UTC",
    "Europe/Ber\x00lin",
    "A" * 300,
    "Europe/Berlin ",
]


@pytest.mark.parametrize("name", HOSTILE_ZONES)
def test_hostile_zone_names_fall_back_with_one_warning(
    hass: HomeAssistant, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each bad name gives Home Assistant's zone and is warned about once."""
    info = SiteInfo.from_dict({"installation_time_zone": name})
    with caplog.at_level(logging.WARNING):
        assert site_zone(info) == site_zone(None)
        assert site_zone(info) == site_zone(None)
    warnings = [r for r in caplog.records if "unknown time zone" in r.getMessage()]
    # The models already drop text no field holds (NUL, over 255 characters):
    # then there is no zone to warn about.
    assert len(warnings) == (1 if info.time_zone is not None else 0)
    assert all(len(record.getMessage()) < 200 for record in warnings)


@pytest.mark.parametrize("name", HOSTILE_ZONES[:5])
async def test_hostile_zone_keeps_history_and_tariff_working(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """Energy history asks in Home Assistant's zone; the tariff entities keep a state."""
    simulator.override_fields(
        SITE_FULL, "site_info", set={"installation_time_zone": name}
    )
    run = Run(hass, simulator, freezer, [SITE_FULL])
    await run.start()
    await run.next_poll()
    await run.next_poll()

    zones = {
        record.query.get("time_zone")
        for record in simulator.requests
        if record.endpoint == "calendar_history"
    }
    assert zones == {hass.config.time_zone}
    assert run.history().last_update_success
    registry = er.async_get(hass)
    for key in ("tou_period", "tou_buy_price", "tou_next_change"):
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{SITE_FULL}_{key}")
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN), key
    assert "Unexpected error" not in caplog.text
    assert "Traceback" not in caplog.text


def test_zoneinfo_errors_fall_back(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A well-formed name that zoneinfo still refuses (ValueError/OSError) falls back."""
    info = SiteInfo.from_dict({"installation_time_zone": "Europe/Oddity"})
    with patch(
        "custom_components.powerwall_fleet.site.dt_util.get_time_zone",
        side_effect=OSError("unreadable"),
    ):
        assert site_zone(info) == site_zone(None)
    assert "unknown time zone 'Europe/Oddity'" in caplog.text
