"""Time-of-use tariffs: Tesla's ``tariff_content_v2``, validated and resolved.

Re-exports the public names of its modules: ``model`` (dataclasses and
constants), ``parse`` (reading Tesla's JSON), ``validate`` (content rules, what
Tesla stores, differences), ``resolve`` (what applies when) and ``convert``
(from the simple form and the legacy schedule).
"""

# How this package reads and writes tariffs (decisions where Tesla documents
# nothing; FLEET_API.md):
#
# * **Days.** ``fromDayOfWeek``/``toDayOfWeek`` count 0 = Monday … 6 = Sunday,
#   the same as Python's ``date.weekday()`` and the public resolvers that read
#   Tesla's tariffs. A range whose start is after its end wraps through the
#   week's end (5 → 0 = Saturday, Sunday, Monday). The **legacy** schedule
#   (``tou_settings.schedule``, owners' reports) counts ``week_days`` 0 =
#   Sunday … 6 = Saturday: its weekdays were ``[1, 2, 3, 4, 5]`` and its weekend
#   ``[6, 0]``. The converter maps one to the other.
# * **Times.** A period covers ``[from, to)`` in wall-clock minutes of each day
#   of its day range. ``to`` at or before ``from`` wraps midnight *within the
#   same listed day* (``22:00 → 07:00`` on Monday covers Monday 00:00-07:00 and
#   22:00-24:00); ``to == from`` is the whole day. ``toHour: 24`` and
#   ``toMinute: 60`` are read as the next hour/midnight. What this package
#   writes never wraps: a period crossing midnight is split in two and
#   midnight is written as an explicit ``toHour: 0, toMinute: 0``, so it reads
#   the same whichever way Tesla treats wraps.
# * **Read-backs omit zero fields.** Missing numbers are 0, a missing
#   ``toDayOfWeek`` is 6 — unless the season only covers each day exactly once
#   when it is 0 (a Monday-only or a ``… → Monday`` period read back).
#   Missing rates of timed periods count as 0.
# * **Seasons** cover ``fromMonth/fromDay`` to ``toMonth/toDay`` inclusive and
#   may wrap the new year. 29 February belongs to the season of 28 February
#   when no season names it.
# * **Prices.** A period's price is its season's rate plus the flat
#   ``ALL``/``ALL`` rate (normally 0). Tesla stores negative prices as 0 and
#   raises a buy price below the sell price to the sell price: the validator
#   refuses the first and notes the second.

from .convert import parse_clock, tariff_from_legacy, tariff_from_simple
from .model import (
    ALL,
    DAY_KEYS,
    DAY_NAMES,
    LEGACY_TARGETS,
    MINUTES_PER_DAY,
    PERIOD_NAMES,
    SEASON_NAMES,
    SHOULDER,
    DailyCharge,
    PriceSchedule,
    Problem,
    Rates,
    Season,
    Tariff,
    TariffError,
    TouPeriod,
)
from .parse import check_tariff, parse_tariff
from .resolve import PricePoint, changes, next_change, period_table, resolve, segments
from .validate import as_tesla_stores, differences, errors_of, validate_tariff

__all__ = [
    "ALL",
    "DAY_KEYS",
    "DAY_NAMES",
    "LEGACY_TARGETS",
    "MINUTES_PER_DAY",
    "PERIOD_NAMES",
    "SEASON_NAMES",
    "SHOULDER",
    "DailyCharge",
    "PricePoint",
    "PriceSchedule",
    "Problem",
    "Rates",
    "Season",
    "Tariff",
    "TariffError",
    "TouPeriod",
    "as_tesla_stores",
    "changes",
    "check_tariff",
    "differences",
    "errors_of",
    "next_change",
    "parse_clock",
    "parse_tariff",
    "period_table",
    "resolve",
    "segments",
    "tariff_from_legacy",
    "tariff_from_simple",
    "validate_tariff",
]
