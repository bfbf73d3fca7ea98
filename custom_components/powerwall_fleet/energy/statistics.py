"""Long-term statistics with the hours the energy really flowed, and what it cost.

Every imported energy flow of every site is one external statistic
``powerwall_fleet:<site_id>_<flow>`` (kWh, ``has_sum``); a site with a price
source also gets ``powerwall_fleet:<site_id>_grid_energy_imported_cost`` and
``..._grid_energy_exported_compensation`` (``has_sum``, in the currency, the
unit the Energy dashboard's "entity tracking the total costs" wants). Each
hourly row is written with its own hour, from Tesla's 5-minute buckets, so
energy that flowed while Home Assistant or Tesla was down lands in the hours
it flowed, not as a spike when polling resumes. A row's ``sum`` is the running
total at the end of that hour; writing the same hour again (a late or revised
bucket, a partly filled hour completed) replaces the row, so imports are
idempotent and a correction rewrites the rows from the hour it starts in.

Which statistics a site gets: its main flows (every flow when the breakdown
is asked for) of the components it has, and a money statistic for each
direction with a currency (``money.py``). Names read well whatever the site
is called: "<site> · <flow>", or the flow's name alone when it already starts
with the site's name (a site called "Home": "Home consumed", not "Home Home
consumed"); two sites of an entry with the same name each get the end of
their id after it.

Older hours arriving under sums that exist (the import back to the
installation date, ``lifetime.py``) are written with their own sums and every
later hour's sum is raised by what they add (:func:`async_shift_sums`, the
recorder's adjustment of sums, the one the developer tools use); rows written
after that add the same ``offset``. The recorder runs these in the order they
are queued, so no row is raised twice or missed.

Owns the statistic ids, names and units, the recorder import of the hours it
is given, the raising of later sums and reading the hourly increases back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    statistics_during_period,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util.unit_conversion import EnergyConverter

from ..const import DOMAIN
from ..fleet import SiteInfo
from ..site import has_component
from .energy_flows import FLOWS, MONEY_KEYS, MONEY_NAMES, EnergyFlow

SEPARATOR = " · "


@dataclass(frozen=True)
class Statistic:
    """One statistic of a site: the ledger's key, its name, unit and scale."""

    key: str
    label: str
    unit: str
    unit_class: str | None
    # The ledger's totals are divided by this (Wh -> kWh; money as it is).
    scale: float


def energy_statistic(flow: EnergyFlow) -> Statistic:
    """The kWh statistic of an energy flow."""
    return Statistic(
        flow.key,
        flow.name,
        UnitOfEnergy.KILO_WATT_HOUR,
        EnergyConverter.UNIT_CLASS,
        1000.0,
    )


def money_statistic(key: str, currency: str) -> Statistic:
    """A cost or compensation statistic in ``currency`` (no unit class: money)."""
    return Statistic(key, MONEY_NAMES[key], currency, None, 1.0)


def site_statistics(
    info: SiteInfo | None, *, breakdown: bool, currencies: Mapping[str, str | None]
) -> list[Statistic]:
    """The statistics a site gets: its main flows (all when asked), money when priced."""
    chosen = [
        energy_statistic(flow)
        for flow in FLOWS
        if (flow.main or breakdown)
        and all(has_component(info, part) for part in flow.components)
    ]
    chosen.extend(
        money_statistic(key, currency)
        for key in MONEY_KEYS
        if (currency := currencies.get(key)) is not None
    )
    return chosen


def statistics_site_name(name: str, site_id: int, others: Iterable[str]) -> str:
    """The site's name in its statistics' names, unique within the entry.

    When another site of the entry (``others``: their names) has the same
    name, the end of this site's id follows it, so the pickers can tell them
    apart.
    """
    if name in others:
        return f"{name} ({str(site_id)[-4:]})"
    return name


def statistic_id(site_id: int, key: str) -> str:
    """The external statistic of one flow (or money total) of one site."""
    return f"{DOMAIN}:{site_id}_{key}"


def statistic_name(site_name: str, label: str) -> str:
    """The statistic's name: the site's name, a dot and the label.

    The label alone when it already starts with the site's name.
    """
    site = site_name.strip()
    if not site:
        return label
    lowered = label.casefold()
    if lowered == site.casefold() or lowered.startswith(f"{site.casefold()} "):
        return label
    return f"{site}{SEPARATOR}{label}"


def recorder_running(hass: HomeAssistant) -> bool:
    """Whether there is a recorder to import into."""
    return "recorder" in hass.config.components


@callback
def async_import_hours(
    hass: HomeAssistant,
    site_id: int,
    site_name: str,
    statistics: Iterable[Statistic],
    hours: Mapping[datetime, Mapping[str, float]],
    *,
    offset: Mapping[str, float] | None = None,
) -> None:
    """Write hourly rows: ``hours`` maps an hour (UTC) to each key's total at its end.

    ``offset`` (per key) is added to every total: what the older days imported
    since add (``lifetime.py``).
    """
    if not hours or not recorder_running(hass):
        return
    ordered = sorted(hours.items())
    for statistic in statistics:
        metadata = StatisticMetaData(
            has_sum=True,
            mean_type=StatisticMeanType.NONE,
            name=statistic_name(site_name, statistic.label),
            source=DOMAIN,
            statistic_id=statistic_id(site_id, statistic.key),
            unit_class=statistic.unit_class,
            unit_of_measurement=statistic.unit,
        )
        base = (offset or {}).get(statistic.key, 0.0)
        async_add_external_statistics(hass, metadata, _rows(statistic, ordered, base))


@callback
def async_shift_sums(
    hass: HomeAssistant,
    site_id: int,
    statistics: Iterable[Statistic],
    start: datetime,
    amounts: Mapping[str, float],
) -> None:
    """Raise the sum of every row from the hour ``start`` on by ``amounts`` (per key).

    Queued behind the rows written before, ahead of those written after.
    """
    if not recorder_running(hass):
        return
    recorder = get_instance(hass)
    for statistic in statistics:
        amount = amounts.get(statistic.key, 0.0) / statistic.scale
        if amount:
            recorder.async_adjust_statistics(
                statistic_id(site_id, statistic.key), start, amount, statistic.unit
            )


async def async_hour_changes(
    hass: HomeAssistant,
    site_id: int,
    keys: Iterable[str],
    start: datetime,
    end: datetime,
) -> dict[str, dict[datetime, float]]:
    """Each key's increase per hour in ``[start, end)`` (UTC), as the recorder has it.

    Waits for the rows queued before to be written.
    """
    if not recorder_running(hass):
        return {}
    recorder = get_instance(hass)
    await recorder.async_block_till_done()
    ids = {statistic_id(site_id, key): key for key in keys}
    found = await recorder.async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        end,
        set(ids),
        "hour",
        None,
        {"change"},
    )
    return {
        ids[stat_id]: {
            datetime.fromtimestamp(row["start"], UTC): row.get("change") or 0.0
            for row in rows
        }
        for stat_id, rows in found.items()
    }


def _rows(
    statistic: Statistic,
    ordered: Iterable[tuple[datetime, Mapping[str, float]]],
    base: float = 0.0,
) -> list[StatisticData]:
    rows: list[StatisticData] = []
    for hour, totals in ordered:
        value = (totals.get(statistic.key, 0.0) + base) / statistic.scale
        rows.append(StatisticData(start=hour, state=value, sum=value))
    return rows
