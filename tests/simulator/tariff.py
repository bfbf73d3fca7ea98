"""Time-of-use data: the sites' tariffs, Tesla's validation of a push, read-back quirks.

What Tesla accepts (``validate_tariff``, ``validate_strategy``) and keeps
(``tesla_stores``) of a pushed ``tariff_content_v2``, and how site_info reads it back;
the tariffs sites start with.  What the gateway does with a tariff is ``controller.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scenario import SiteConfig

PERIOD_KEYS = (
    "fromDayOfWeek",
    "toDayOfWeek",
    "fromHour",
    "fromMinute",
    "toHour",
    "toMinute",
)
# Tesla's TOU model has these four price levels per season (FLEET_API.md "tariff_content_v2
# shape"; the app shows no other): a period of another name is refused.
PERIOD_NAMES = ("ON_PEAK", "OFF_PEAK", "PARTIAL_PEAK", "SUPER_OFF_PEAK")
STRATEGIES = ("economics", "balanced")


def _period(fh: int, fm: int, th: int, tm: int) -> dict[str, int]:
    return {
        "fromDayOfWeek": 0,
        "toDayOfWeek": 6,
        "fromHour": fh,
        "fromMinute": fm,
        "toHour": th,
        "toMinute": tm,
    }


def _seasons() -> dict[str, Any]:
    tou = {
        "ON_PEAK": {"periods": [_period(16, 0, 21, 0)]},
        "OFF_PEAK": {"periods": [_period(0, 0, 16, 0), _period(21, 0, 0, 0)]},
    }
    return {
        "Summer": {
            "fromMonth": 6,
            "fromDay": 1,
            "toMonth": 9,
            "toDay": 30,
            "tou_periods": copy.deepcopy(tou),
        },
        "Winter": {
            "fromMonth": 10,
            "fromDay": 1,
            "toMonth": 5,
            "toDay": 31,
            "tou_periods": copy.deepcopy(tou),
        },
    }


def default_tariff(
    utility: str = "Pacific Gas & Electric Co", currency: str = "USD"
) -> dict[str, Any]:
    """A plausible two-season, two-period tariff (PG&E EV2-A style)."""
    return {
        "version": 1,
        "code": "PGE-EV2-A",
        "name": "Residential - Time of Use - EV2-A",
        "utility": utility,
        "currency": currency,
        "daily_charges": [{"name": "Charge", "amount": 0}],
        "demand_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "Summer": {"rates": {}},
            "Winter": {"rates": {}},
        },
        "energy_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "Summer": {"rates": {"ON_PEAK": 0.62, "OFF_PEAK": 0.31}},
            "Winter": {"rates": {"ON_PEAK": 0.49, "OFF_PEAK": 0.30}},
        },
        "seasons": _seasons(),
        "sell_tariff": {
            "name": "Residential - Time of Use - EV2-A (NEM 2.0)",
            "utility": utility,
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": {
                "ALL": {"rates": {"ALL": 0}},
                "Summer": {"rates": {}},
                "Winter": {"rates": {}},
            },
            "energy_charges": {
                "ALL": {"rates": {"ALL": 0}},
                "Summer": {"rates": {"ON_PEAK": 0.6, "OFF_PEAK": 0.29}},
                "Winter": {"rates": {"ON_PEAK": 0.47, "OFF_PEAK": 0.28}},
            },
            "seasons": _seasons(),
        },
    }


def night_tariff(
    utility: str = "Pacific Gas & Electric Co", currency: str = "USD"
) -> dict[str, Any]:
    """The default tariff with a super off-peak night (00:00-06:00) all year.

    The day time-based control sites start with: charge from the grid at night,
    export in the 16:00-21:00 peak, self-powered in between.
    """
    tariff = default_tariff(utility, currency)
    tariff["code"] = "SIM-EV-NIGHT"
    tariff["name"] = "Residential - Time of Use - EV with super off-peak night"
    tariff["sell_tariff"]["name"] = f"{tariff['name']} (NEM 2.0)"
    prices = {"Summer": (0.12, 0.1), "Winter": (0.11, 0.09)}
    for holder in (tariff, tariff["sell_tariff"]):
        for season in holder["seasons"].values():
            periods = season["tou_periods"]
            periods["SUPER_OFF_PEAK"] = {"periods": [_period(0, 0, 6, 0)]}
            periods["OFF_PEAK"] = {
                "periods": [_period(6, 0, 16, 0), _period(21, 0, 0, 0)]
            }
    for name, (buy, sell) in prices.items():
        tariff["energy_charges"][name]["rates"]["SUPER_OFF_PEAK"] = buy
        tariff["sell_tariff"]["energy_charges"][name]["rates"]["SUPER_OFF_PEAK"] = sell
    return tariff


def initial_tariff(config: SiteConfig) -> dict[str, Any]:
    """The tariff a site holds at the start: its scenario's, else the default one."""
    if config.tariff is not None:
        return copy.deepcopy(dict(config.tariff))
    return default_tariff(config.utility, config.currency)


def default_tou_settings() -> dict[str, Any]:
    """Legacy ``tou_settings`` matching the default tariff."""
    return {
        "optimization_strategy": "economics",
        "schedule": [
            {
                "target": "peak",
                "week_days": [1, 2, 3, 4, 5, 6, 0],
                "start_seconds": 57600,
                "end_seconds": 75600,
            },
            {
                "target": "off_peak",
                "week_days": [1, 2, 3, 4, 5, 6, 0],
                "start_seconds": 75600,
                "end_seconds": 57600,
            },
        ],
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_charges(where: str, charges: Any, problems: list[str]) -> None:
    if charges is None:
        return
    if not isinstance(charges, Mapping):
        problems.append(f"{where} must be an object")
        return
    for season, entry in charges.items():
        if not isinstance(entry, Mapping) or not isinstance(
            entry.get("rates", {}), Mapping
        ):
            problems.append(f"{where}.{season} must be an object with 'rates'")
            continue
        for period, price in entry.get("rates", {}).items():
            if not _is_number(price):
                problems.append(f"{where}.{season}.rates.{period} must be a number")


def _check_seasons(where: str, seasons: Any, problems: list[str]) -> None:
    if not isinstance(seasons, Mapping) or not seasons:
        problems.append(f"{where} must be a non-empty object")
        return
    for name, season in seasons.items():
        path = f"{where}.{name}"
        if not isinstance(season, Mapping):
            problems.append(f"{path} must be an object")
            continue
        for key, upper in (
            ("fromMonth", 12),
            ("toMonth", 12),
            ("fromDay", 31),
            ("toDay", 31),
        ):
            value = season.get(key, 0)
            if not _is_int(value) or not 0 <= value <= upper:
                problems.append(f"{path}.{key} must be an integer 0..{upper}")
        periods_by_name = season.get("tou_periods")
        if not isinstance(periods_by_name, Mapping):
            problems.append(f"{path}.tou_periods must be an object")
            continue
        for pname, pentry in periods_by_name.items():
            ppath = f"{path}.tou_periods.{pname}"
            if pname not in PERIOD_NAMES:
                problems.append(
                    f"{ppath} is not a period name ({', '.join(PERIOD_NAMES)})"
                )
            periods = pentry.get("periods") if isinstance(pentry, Mapping) else None
            if not isinstance(periods, list):
                problems.append(f"{ppath}.periods must be a list")
                continue
            for index, period in enumerate(periods):
                if not isinstance(period, Mapping):
                    problems.append(f"{ppath}.periods[{index}] must be an object")
                    continue
                for key in PERIOD_KEYS:
                    value = period.get(key, 6 if key == "toDayOfWeek" else 0)
                    upper = {
                        "fromDayOfWeek": 6,
                        "toDayOfWeek": 6,
                        "fromHour": 23,
                        "toHour": 24,
                    }.get(key, 59)
                    if not _is_int(value) or not 0 <= value <= upper:
                        problems.append(
                            f"{ppath}.periods[{index}].{key} must be an integer 0..{upper}"
                        )


def validate_tariff(tariff: Any) -> list[str]:
    """Return the problems Tesla would complain about for a ``tariff_content_v2`` (empty = accepted).

    Shape first (period names only Tesla's four, ``PERIOD_NAMES``); when the shape
    is right, what Tesla checks: every day of each season covered by exactly one
    period, seasons covering the year without overlaps or gaps, every timed period
    priced and every price timed (Predbat #4410, #4346: the app refuses tariffs
    whose periods do not cover each day exactly).  Season names are not checked (the
    app only misbehaves without Summer/Winter), nor ``demand_charges``.
    Negative prices and buy below sell are accepted (:func:`tesla_stores`
    changes them, as Tesla does).
    """
    problems: list[str] = []
    if not isinstance(tariff, Mapping):
        return ["tariff_content_v2 must be an object"]
    if "version" in tariff and not _is_int(tariff["version"]):
        problems.append("version must be an integer")
    problems.extend(
        f"{key} must be a string"
        for key in ("code", "name", "utility", "currency")
        if key in tariff and not isinstance(tariff[key], str)
    )
    if "daily_charges" in tariff and not isinstance(tariff["daily_charges"], list):
        problems.append("daily_charges must be a list")
    _check_charges("energy_charges", tariff.get("energy_charges"), problems)
    _check_charges("demand_charges", tariff.get("demand_charges"), problems)
    if "energy_charges" not in tariff:
        problems.append("energy_charges is required")
    _check_seasons("seasons", tariff.get("seasons"), problems)
    sell = tariff.get("sell_tariff")
    if sell is not None:
        if not isinstance(sell, Mapping):
            problems.append("sell_tariff must be an object")
        else:
            _check_charges(
                "sell_tariff.energy_charges", sell.get("energy_charges"), problems
            )
            if "seasons" in sell:
                _check_seasons("sell_tariff.seasons", sell.get("seasons"), problems)
    if problems:
        return problems
    _check_meaning("", tariff, problems)
    if isinstance(sell, Mapping):
        _check_meaning("sell_tariff.", {"seasons": tariff["seasons"], **sell}, problems)
    return problems


_DAYS_OF_YEAR = [
    (month, day)
    for month, days in enumerate((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
    for day in range(1, days + 1)
]


def _in_season(season: Mapping[str, Any], month: int, day: int) -> bool:
    start = (season.get("fromMonth", 0), season.get("fromDay", 0))
    end = (season.get("toMonth", 0), season.get("toDay", 0))
    if start <= end:
        return start <= (month, day) <= end
    return (month, day) >= start or (month, day) <= end


def _minutes(period: Mapping[str, Any]) -> tuple[list[int], set[int]]:
    """Days (0-6) and minutes of those days a period covers (per day wrap)."""
    first = period.get("fromDayOfWeek", 0)
    last = period.get("toDayOfWeek", 6)
    days = [d % 7 for d in range(first, last + 1 if last >= first else last + 8)]
    start = period.get("fromHour", 0) * 60 + period.get("fromMinute", 0)
    end = (period.get("toHour", 0) * 60 + period.get("toMinute", 0)) % 1440
    if end > start:
        minutes = set(range(start, end))
    else:
        minutes = set(range(start, 1440)) | set(range(end))
    return days, minutes


def _check_meaning(where: str, tariff: Mapping[str, Any], problems: list[str]) -> None:
    seasons: Mapping[str, Any] = tariff["seasons"]
    for month, day in _DAYS_OF_YEAR:
        holders = [n for n, s in seasons.items() if _in_season(s, month, day)]
        if len(holders) != 1:
            problems.append(
                f"{where}seasons: {month:02d}-{day:02d} is in {len(holders)} seasons"
            )
            break
    charges = tariff.get("energy_charges") or {}
    for name, season in seasons.items():
        counts = [[0] * 1440 for _ in range(7)]
        for entry in season["tou_periods"].values():
            for period in entry["periods"]:
                days, minutes = _minutes(period)
                for weekday in days:
                    for minute in minutes:
                        counts[weekday][minute] += 1
        for weekday, row in enumerate(counts):
            if any(count != 1 for count in row):
                problems.append(
                    f"{where}seasons.{name}: day {weekday} is not covered exactly once"
                )
                break
        timed = {p for p, e in season["tou_periods"].items() if e["periods"]}
        priced = set((charges.get(name) or {}).get("rates", {}))
        problems.extend(
            f"{where}seasons.{name}.{p} has no price" for p in sorted(timed - priced)
        )
        problems.extend(
            f"{where}energy_charges.{name}.{p} has no times"
            for p in sorted(priced - timed)
        )


def validate_strategy(strategy: Any) -> list[str]:
    """Problems of a pushed ``optimization_strategy`` (absent is fine)."""
    if strategy is None or strategy in STRATEGIES:
        return []
    return [f"optimization_strategy must be {' or '.join(STRATEGIES)}"]


def tesla_stores(tariff: Mapping[str, Any]) -> dict[str, Any]:
    """What Tesla keeps of an accepted tariff: negative prices 0, buy >= sell."""
    result = copy.deepcopy(dict(tariff))
    holders = [result]
    if isinstance(result.get("sell_tariff"), dict):
        holders.append(result["sell_tariff"])
    for holder in holders:
        for entry in (holder.get("energy_charges") or {}).values():
            rates = entry.get("rates", {})
            for period, price in rates.items():
                rates[period] = max(price, 0)
    if len(holders) == 2:
        sell_charges = holders[1].get("energy_charges") or {}
        for season, entry in (result.get("energy_charges") or {}).items():
            sell_rates = (sell_charges.get(season) or {}).get("rates", {})
            for period, price in entry.get("rates", {}).items():
                if season != "ALL" and period in sell_rates:
                    entry["rates"][period] = max(price, sell_rates[period])
    return result


def tariff_read_back(tariff: Mapping[str, Any]) -> dict[str, Any]:
    """What site_info reports for a stored tariff: zero-valued period fields are omitted."""
    result = copy.deepcopy(dict(tariff))
    for holder in (result, result.get("sell_tariff")):
        if not isinstance(holder, dict) or not isinstance(holder.get("seasons"), dict):
            continue
        for season in holder["seasons"].values():
            if not isinstance(season, dict) or not isinstance(
                season.get("tou_periods"), dict
            ):
                continue
            for pentry in season["tou_periods"].values():
                if not isinstance(pentry, dict) or not isinstance(
                    pentry.get("periods"), list
                ):
                    continue
                pentry["periods"] = [
                    {
                        k: v
                        for k, v in period.items()
                        if not (k in PERIOD_KEYS and v == 0)
                    }
                    if isinstance(period, dict)
                    else period
                    for period in pentry["periods"]
                ]
    return result


def validate_legacy_tou(settings: Any) -> list[str]:
    """Problems of a legacy ``tou_settings`` (``optimization_strategy`` + ``schedule``)."""
    if not isinstance(settings, Mapping):
        return ["tou_settings must be an object"]
    problems: list[str] = []
    problems.extend(validate_strategy(settings.get("optimization_strategy")))
    schedule = settings.get("schedule")
    if not isinstance(schedule, list):
        return [*problems, "schedule must be a list"]
    for index, entry in enumerate(schedule):
        if not isinstance(entry, Mapping):
            problems.append(f"schedule[{index}] must be an object")
            continue
        if entry.get("target") not in (
            "peak",
            "off_peak",
            "partial_peak",
            "super_off_peak",
        ):
            problems.append(f"schedule[{index}].target is invalid")
        days = entry.get("week_days")
        if (
            not isinstance(days, list)
            or not days
            or not all(_is_int(d) and 0 <= d <= 6 for d in days)
        ):
            problems.append(f"schedule[{index}].week_days is invalid")
        elif 0 in days and 6 in days and days.index(0) < days.index(6):
            # Owners saw [0, 6] and [0, 1, ..., 6] refused while [6, 0] was accepted.
            problems.append(f"schedule[{index}].week_days order is not accepted")
        for key in ("start_seconds", "end_seconds"):
            value = entry.get(key)
            if value is not None and (not _is_int(value) or not 0 <= value <= 86400):
                problems.append(f"schedule[{index}].{key} is invalid")
    return problems


def legacy_read_back(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Read-back quirk: only the last period per target (and day group) is kept."""
    result = copy.deepcopy(dict(settings))
    schedule = result.get("schedule")
    if isinstance(schedule, list):
        last: dict[tuple[Any, ...], dict[str, Any]] = {}
        for entry in schedule:
            key = (entry.get("target"), tuple(sorted(entry.get("week_days") or ())))
            last.pop(key, None)
            last[key] = entry
        result["schedule"] = list(last.values())
    return result
