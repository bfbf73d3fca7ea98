"""What the simulator accepts and keeps of a pushed tariff, as Tesla does.

``time_of_use_settings`` with ``tariff_content_v2``: every day of every season covered
exactly once, seasons covering the year, only Tesla's four period names, prices and
times matching, a known ``optimization_strategy``; an accepted tariff is stored with
Tesla's changes (negative prices 0, buy raised to sell) and read back by site_info
without zero fields.  A refused push changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
import copy
from typing import Any

import pytest

from custom_components.powerwall_fleet.fleet.tariff import tariff_from_simple
from tests.simulator import SITE_FULL, Simulator
from tests.simulator.tariff import default_tariff, tariff_read_back, tesla_stores
from tests.simulator_tests.helpers import Api

PATH = f"energy_sites/{SITE_FULL}/time_of_use_settings"


def _rename_period(tariff: dict[str, Any]) -> None:
    summer = tariff["seasons"]["Summer"]["tou_periods"]
    summer["SHOULDER"] = summer.pop("OFF_PEAK")
    rates = tariff["energy_charges"]["Summer"]["rates"]
    rates["SHOULDER"] = rates.pop("OFF_PEAK")


def _gap(tariff: dict[str, Any]) -> None:
    tariff["seasons"]["Winter"]["tou_periods"]["OFF_PEAK"]["periods"].pop()


def _twice(tariff: dict[str, Any]) -> None:
    periods = tariff["seasons"]["Summer"]["tou_periods"]["ON_PEAK"]["periods"]
    periods.append(dict(periods[0], fromHour=15))


def _season_gap(tariff: dict[str, Any]) -> None:
    tariff["seasons"]["Winter"]["toMonth"] = 4


def _price_without_times(tariff: dict[str, Any]) -> None:
    tariff["energy_charges"]["Summer"]["rates"]["PARTIAL_PEAK"] = 0.4


def _times_without_price(tariff: dict[str, Any]) -> None:
    del tariff["energy_charges"]["Winter"]["rates"]["ON_PEAK"]


def _sell_period_name(tariff: dict[str, Any]) -> None:
    seasons = copy.deepcopy(tariff["seasons"])
    seasons["Summer"]["tou_periods"]["PEAK"] = seasons["Summer"]["tou_periods"].pop(
        "ON_PEAK"
    )
    tariff["sell_tariff"]["seasons"] = seasons


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_rename_period, "tou_periods.SHOULDER is not a period name"),
        (_gap, "seasons.Winter: day 0 is not covered exactly once"),
        (_twice, "seasons.Summer: day 0 is not covered exactly once"),
        (_season_gap, "is in 0 seasons"),
        (_price_without_times, "energy_charges.Summer.PARTIAL_PEAK has no times"),
        (_times_without_price, "seasons.Winter.ON_PEAK has no price"),
        (_sell_period_name, "sell_tariff.seasons.Summer.tou_periods.PEAK is not"),
    ],
)
async def test_tesla_refuses_a_tariff_it_cannot_use(
    simulator: Simulator,
    api: Api,
    spoil: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    """Each rule refuses with 400 and a message naming the place; nothing is stored."""
    before = simulator.site(SITE_FULL).snapshot()
    tariff = default_tariff()
    spoil(tariff)
    status, body, _ = await api.post(
        PATH, {"tou_settings": {"tariff_content_v2": tariff}}
    )
    assert status == 400
    assert body["error"].startswith("Must provide valid TOU settings")
    assert message in body["error_description"]
    assert (await api.info())["tariff_content_v2"] == tariff_read_back(default_tariff())
    assert simulator.site(SITE_FULL).snapshot() == before


async def test_strategy_must_be_known(simulator: Simulator, api: Api) -> None:
    """optimization_strategy is economics or balanced, with a tariff or a schedule."""
    for settings in (
        {"tariff_content_v2": default_tariff(), "optimization_strategy": "turbo"},
        {"optimization_strategy": "turbo", "schedule": []},
    ):
        status, body, _ = await api.post(PATH, {"tou_settings": settings})
        assert status == 400
        assert (
            "optimization_strategy must be economics or balanced"
            in (body["error_description"])
        )
    assert simulator.site(SITE_FULL).optimization_strategy == "economics"


async def test_accepted_tariff_is_stored_as_tesla_keeps_it(
    simulator: Simulator, api: Api
) -> None:
    """Negative prices become 0, buy below sell is raised; read back without zeros."""
    tariff = default_tariff()
    tariff["sell_tariff"]["energy_charges"]["Winter"]["rates"]["OFF_PEAK"] = -0.05
    tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"]["ON_PEAK"] = 0.7
    status, _, _ = await api.post(
        PATH,
        {
            "tou_settings": {
                "tariff_content_v2": tariff,
                "optimization_strategy": "balanced",
            }
        },
    )
    assert status == 200
    site = simulator.site(SITE_FULL)
    assert site.tariff_content_v2 == tesla_stores(tariff)
    stored = site.tariff_content_v2
    assert stored["sell_tariff"]["energy_charges"]["Winter"]["rates"]["OFF_PEAK"] == 0
    assert stored["energy_charges"]["Summer"]["rates"]["ON_PEAK"] == 0.7
    info = await api.info()
    assert info["tariff_content_v2"] == tariff_read_back(stored)
    assert info["tou_settings"]["optimization_strategy"] == "balanced"
    assert site.acting("tariff_content_v2") == stored
    assert site.snapshot()["optimization_strategy"] == "balanced"


async def test_the_integrations_tariff_builder_passes(
    simulator: Simulator, api: Api
) -> None:
    """A tariff built by the integration (four periods, split at midnight) is accepted."""
    built = tariff_from_simple(
        {
            "name": "Built",
            "utility": "Sim",
            "currency": "USD",
            "seasons": [
                {
                    "periods": [
                        {"period": "SUPER_OFF_PEAK", "start": "23:00", "end": "06:00"}
                        | {"buy": 0.1, "sell": 0.02},
                        {"period": "OFF_PEAK", "start": "06:00", "end": "16:00"}
                        | {"buy": 0.25, "sell": 0.05},
                        {"period": "ON_PEAK", "start": "16:00", "end": "21:00"}
                        | {"buy": 0.6, "sell": 0.4},
                        {"period": "PARTIAL_PEAK", "start": "21:00", "end": "23:00"}
                        | {"buy": 0.35, "sell": 0.1},
                    ]
                }
            ],
        }
    ).to_dict()
    status, body, _ = await api.post(
        PATH, {"tou_settings": {"tariff_content_v2": built}}
    )
    assert status == 200, body
    assert simulator.site(SITE_FULL).tariff_content_v2 == tesla_stores(built)
