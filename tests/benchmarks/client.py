"""Client throughput and per-request overhead against the simulator.

Run with ``scripts/bench client`` (or ``python -m tests.benchmarks.client``).
Prints figures; asserts nothing. Client and simulator share one process and
one event loop, so the absolute numbers include the simulator's own work; the
overhead figure compares the client with bare aiohttp calls on the same path.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import json
import statistics
import time
from typing import Any

import aiohttp

from custom_components.powerwall_fleet.fleet import FleetClient, LiveStatus, SiteInfo
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL, USER_MAIN


async def _timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


async def _concurrent(
    n: int, workers: int, call: Callable[[], Awaitable[Any]]
) -> float:
    per_worker = n // workers

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return per_worker * workers / (time.perf_counter() - start)


def _parse_cost(
    model: type[LiveStatus | SiteInfo], payload: dict[str, Any], n: int
) -> float:
    start = time.perf_counter()
    for _ in range(n):
        model.from_dict(payload)
    return (time.perf_counter() - start) / n * 1e6


async def main(requests: int, workers: int) -> None:
    """Run the benchmark and print its figures."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        tokens = sim.issue_tokens(user=USER_MAIN)
        access = tokens["access_token"]

        async def token() -> str:
            return access

        client = FleetClient(session, token, sim.base_url("na"))
        url = f"{sim.base_url('na')}/api/1/energy_sites/{SITE_FULL}/live_status"
        headers = {"Authorization": f"Bearer {access}"}

        async def raw_call() -> Any:
            async with session.get(url, headers=headers) as resp:
                return json.loads(await resp.read())

        async def client_call() -> Any:
            return await client.live_status(SITE_FULL)

        await _timed(100, raw_call)
        await _timed(100, client_call)
        sim.reset_counts()
        raw = await _timed(requests, raw_call)
        fleet = await _timed(requests, client_call)
        raw_mean = statistics.fmean(raw) * 1e3
        fleet_mean = statistics.fmean(fleet) * 1e3
        concurrent_rps = await _concurrent(requests, workers, client_call)
        live_payload = (await raw_call())["response"]
        async with session.get(
            f"{sim.base_url('na')}/api/1/energy_sites/{SITE_FULL}/site_info",
            headers=headers,
        ) as resp:
            info_payload = json.loads(await resp.read())["response"]

        print("Fleet API client benchmark (simulator on 127.0.0.1, one process)")
        print(f"  requests per series          {requests}")
        print(
            f"  bare aiohttp  live_status    {1e3 / raw_mean:8.0f} req/s   mean {raw_mean:6.3f} ms   p95 {_p95(raw):6.3f} ms"
        )
        print(
            f"  FleetClient   live_status    {1e3 / fleet_mean:8.0f} req/s   mean {fleet_mean:6.3f} ms   p95 {_p95(fleet):6.3f} ms"
        )
        print(f"  FleetClient   {workers} concurrent   {concurrent_rps:8.0f} req/s")
        print(
            f"  client overhead per request  {fleet_mean - raw_mean:6.3f} ms ({(fleet_mean / raw_mean - 1) * 100:+.1f} %)"
        )
        print(
            f"  LiveStatus.from_dict         {_parse_cost(LiveStatus, live_payload, 20000):6.1f} µs"
        )
        print(
            f"  SiteInfo.from_dict           {_parse_cost(SiteInfo, info_payload, 5000):6.1f} µs"
        )
        print(f"  simulator billable counts    {sim.billable_counts()}")


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1e3


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.workers))
