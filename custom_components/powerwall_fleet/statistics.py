"""Long-term energy statistics with the hours the energy really flowed.

Every energy flow of every site is one external statistic
``powerwall_fleet:<site_id>_<flow>`` (kWh, ``has_sum``). Each hourly row is
written with its own hour, from Tesla's 5-minute buckets, so energy that flowed
while Home Assistant or Tesla was down lands in the hours it flowed, not as a
spike when polling resumes. A row's ``sum`` is the flow's running total at the
end of that hour; writing the same hour again (a partly filled hour completed
by a later poll) replaces the row, so imports are idempotent.

Owns the statistic ids and the recorder import. Writes the hours it is given:
may not send requests, keep state or know how the ledger counts buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.util.unit_conversion import EnergyConverter

from .const import DOMAIN


def statistic_id(site_id: int, flow: str) -> str:
    """The external statistic of one flow of one site."""
    return f"{DOMAIN}:{site_id}_{flow}"


def recorder_running(hass: HomeAssistant) -> bool:
    """Whether there is a recorder to import into."""
    return "recorder" in hass.config.components


@callback
def async_import_hours(
    hass: HomeAssistant,
    site_id: int,
    site_name: str,
    names: Mapping[str, str],
    hours: Mapping[datetime, Mapping[str, float]],
) -> None:
    """Write hourly rows: ``hours`` maps an hour (UTC) to each flow's Wh total.

    ``names`` maps the flows to import to their display names.
    """
    if not hours or not recorder_running(hass):
        return
    ordered = sorted(hours.items())
    for flow, name in names.items():
        metadata = StatisticMetaData(
            has_sum=True,
            mean_type=StatisticMeanType.NONE,
            name=f"{site_name} {name}",
            source=DOMAIN,
            statistic_id=statistic_id(site_id, flow),
            unit_class=EnergyConverter.UNIT_CLASS,
            unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        )
        async_add_external_statistics(hass, metadata, _rows(flow, ordered))


def _rows(
    flow: str, ordered: Iterable[tuple[datetime, Mapping[str, float]]]
) -> list[StatisticData]:
    rows: list[StatisticData] = []
    for hour, totals in ordered:
        kwh = totals.get(flow, 0.0) / 1000
        rows.append(StatisticData(start=hour, state=kwh, sum=kwh))
    return rows
