"""Run the simulator standalone: ``python -m tests.simulator --port 8787``.

By default the simulated clock follows the wall clock (for a developer's Home Assistant);
``--sim-time`` starts a frozen clock that moves only through ``POST /_sim/clock/advance``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import datetime
import ipaddress
import signal
import sys

from .clock import SimClock
from .partner import PUBLIC_KEY_PATH, check_loopback_origin
from .scenario import CLIENT_ID, CLIENT_SECRET, PARTNER_DOMAIN
from .server import Simulator
from .state import REGIONS


def build_parser() -> argparse.ArgumentParser:
    """Command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulator", description=__doc__
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8787, help="port (default 8787, 0 = any free port)"
    )
    parser.add_argument(
        "--sim-time",
        action="store_true",
        help="frozen simulated clock instead of following the wall clock",
    )
    parser.add_argument("--start", help="clock start (ISO 8601 with offset)")
    parser.add_argument(
        "--unregistered",
        action="store_true",
        help="start without the app registered as a partner (412 until done)",
    )
    parser.add_argument(
        "--apply-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=(
            "the gateway acts on accepted commands SECONDS later (site_info shows them"
            " at once; owners report 10 s for the reserve, 5-15 min for the mode;"
            " POST /_sim/apply_delay changes it); default 0"
        ),
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback address",
    )
    parser.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="DOMAIN=ORIGIN",
        type=_resolve_arg,
        help=(
            "fetch the partner public key of DOMAIN from ORIGIN, a loopback URL such as"
            f" http://127.0.0.1:8123 (e.g. {PARTNER_DOMAIN}=http://127.0.0.1:8123 for a"
            " local Home Assistant); repeatable"
        ),
    )
    return parser


def _resolve_arg(value: str) -> tuple[str, str]:
    """Parse ``DOMAIN=ORIGIN`` for ``--resolve``."""
    domain, sep, origin = value.partition("=")
    if not sep or not domain.strip():
        raise argparse.ArgumentTypeError(f"expected DOMAIN=ORIGIN, got {value!r}")
    try:
        return domain.strip().lower(), check_loopback_origin(origin.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def describe(sim: Simulator) -> str:
    """Human-readable summary of the endpoints."""
    lines = [
        f"Fleet API simulator listening on {sim.url}",
        f"  authorize URL : {sim.authorize_url}",
        f"  token URL     : {sim.token_url}",
        *(f"  base URL ({region}) : {sim.base_url(region)}" for region in REGIONS),
        f"  client id     : {CLIENT_ID}",
        f"  client secret : {CLIENT_SECRET}",
        f"  partner domain: {PARTNER_DOMAIN}",
        *(
            f"  public key of {domain} fetched from {origin}{PUBLIC_KEY_PATH}"
            for domain, origin in sim.resolved_domains.items()
        ),
        (
            f"  control       : {sim.url}/_sim/state, /_sim/clock, /_sim/faults,"
            " /_sim/counts, /_sim/apply_delay"
        ),
        f"  clock         : {sim.clock!r}",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


async def serve(args: argparse.Namespace) -> None:
    """Start the simulator and wait for a stop signal."""
    start = datetime.fromisoformat(args.start) if args.start else None
    clock = SimClock(start, realtime=not args.sim_time)
    sim = Simulator(clock, partner_registered=not args.unregistered)
    sim.set_apply_delay(args.apply_delay)
    for domain, origin in args.resolve:
        sim.resolve_domain(domain, origin)
    await sim.start(args.host, args.port)
    sys.stdout.write(describe(sim) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback and not args.allow_remote:
        sys.stderr.write(
            f"refusing to bind non-loopback address {args.host} without --allow-remote\n"
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
