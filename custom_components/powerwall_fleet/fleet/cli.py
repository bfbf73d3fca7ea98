"""The ``fleetapi`` command line: parse arguments, run one command, map the outcome to an exit status.

Owns the argument parser, the read and write commands (``sites``, ``status``,
``info``, ``getmode``, ``setmode``, ``getreserve``, ``setreserve``), their
text and ``--json`` output, debug logging with secrets redacted, and the exit
statuses: 0 done, 1 the request failed (:class:`FleetError`) or something
unexpected happened, 2 bad input (nothing changed), 3 setup needs the user.
A failure is one line of plain words (``cli_config.py``) with no secret;
the traceback only with ``--debug``. ``setup`` lives in ``cli_setup.py``,
``doctor`` in ``cli_doctor.py``, the config file in ``cli_config.py``.
Everything requests goes through the ``fleet`` client; the reserve rule and
rounding are the integration's (``rules.py``). No Home Assistant import.

Run it as ``scripts/fleetapi``, ``python -I custom_components/powerwall_fleet/fleet``
(no Home Assistant needed) or ``python -m custom_components.powerwall_fleet.fleet``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
import json
import logging
from pathlib import Path
import sys
import traceback
from typing import Any, Final, TypeAlias

import aiohttp

from .cli_config import (
    DEFAULT_CONFIG,
    UNEXPECTED,
    Config,
    Connection,
    SetupIncomplete,
    UsageError,
    failure_line,
    mode_words,
    os_error_line,
    percent_text,
    remember_sites,
)
from .cli_doctor import doctor
from .cli_setup import add_setup_arguments, setup
from .client import OPERATION_MODES
from .errors import FleetError, InvalidArgument, InvalidResponse
from .models import LiveStatus, SiteInfo
from .rules import MAX_RESERVE_OUTSIDE_BACKUP, reserve_needs_backup_mode, whole_percent

_LOGGER = logging.getLogger(__name__)
PACKAGE_LOGGER: Final = __name__.rpartition(".")[0]

MODE_ALIASES: Final = {"self": "self_consumption"}
SITE_COMMANDS: Final = (
    "status",
    "info",
    "getmode",
    "setmode",
    "getreserve",
    "setreserve",
)

Command: TypeAlias = Callable[
    [argparse.Namespace, Config, aiohttp.ClientSession], Awaitable[int]
]


# ------------------------------------------------------------------ parser


def reserve_argument(text: str) -> int | str:
    """A backup reserve: a whole percent 0-100 (``80`` or ``80%``) or ``current``."""
    value = text.strip().lower()
    if value == "current":
        return value
    try:
        percent = int(value.removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a percentage (a whole number 0-100) or 'current'"
        ) from None
    if not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError(f"{percent} is out of range: use 0-100")
    return percent


def build_parser() -> argparse.ArgumentParser:
    """The ``fleetapi`` parser; the common options work before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    parser = argparse.ArgumentParser(
        prog="fleetapi",
        description="Tesla Fleet API for Powerwall: command-line interface.",
        epilog="Examples: fleetapi setup | fleetapi status --json | "
        "fleetapi setreserve 80 | fleetapi setmode self | fleetapi doctor",
    )
    _add_common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=[common])

    add_setup_arguments(add("setup", "Set up the Fleet API for your site"))
    add("sites", "List the account's energy sites")
    add("status", "Report the current power flows of the site")
    add("info", "Show information about the site")
    add("getmode", "Print the operation mode")
    add("getreserve", "Print the backup reserve (percent)")
    setmode = add("setmode", "Set the operation mode")
    setmode.add_argument(
        "mode",
        choices=[*OPERATION_MODES, *MODE_ALIASES],
        help="'self' = self_consumption",
    )
    setreserve = add("setreserve", "Set the backup reserve")
    setreserve.add_argument(
        "reserve",
        type=reserve_argument,
        help="percent 0-100, or 'current' for the present charge level",
    )
    add("doctor", "Check the key, registration, token and sites, and say what to fix")
    return parser


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--config",
        default=default(DEFAULT_CONFIG),
        help=f"config file (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument("--site", default=default(None), help="energy site id or name")
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="debug logging (secrets are never logged)",
    )


# ------------------------------------------------------------------ running


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status."""
    try:
        return asyncio.run(run(argv))
    except KeyboardInterrupt:
        print("fleetapi: interrupted", file=sys.stderr)
        return 130


async def run(argv: Sequence[str] | None = None) -> int:
    """Run one command in the current event loop; the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or bad arguments (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    log_filter = _RedactSecrets()
    logger = logging.getLogger(PACKAGE_LOGGER)
    level = logger.level
    handler = _debug_handler(log_filter) if args.debug else None

    def fail(status: int, text: str, *, trace: bool = True) -> int:
        print(f"fleetapi: {log_filter.redact(text)}", file=sys.stderr)
        if args.debug and trace:
            sys.stderr.write(log_filter.redact(traceback.format_exc()))
        return status

    try:
        config = Config.load(Path(args.config), required=args.command != "setup")
        log_filter.secrets = config.secrets
        if args.command in SITE_COMMANDS:
            args.site_id = config.resolve_site(args.site)
        async with aiohttp.ClientSession() as session:
            return await COMMANDS[args.command](args, config, session)
    except (UsageError, InvalidArgument) as err:
        return fail(2, str(err), trace=False)
    except SetupIncomplete as err:
        return fail(3, f"setup is not finished: {err}", trace=False)
    except FleetError as err:
        return fail(1, failure_line(err, config=args.config))
    except OSError as err:
        return fail(1, os_error_line(err))
    except Exception:  # noqa: BLE001 - a bug: one line, the traceback with --debug
        return fail(1, UNEXPECTED)
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(level)


class _RedactSecrets(logging.Filter):
    """Replaces any secret of the config in a log line (belt and braces)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: Callable[[], tuple[str, ...]] = tuple

    def redact(self, text: str) -> str:
        """``text`` with every secret of the config replaced."""
        # Short values are no real secret and would garble every line.
        for secret in self.secrets():
            if len(secret) >= 8:
                text = text.replace(secret, "**REDACTED**")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _debug_handler(log_filter: _RedactSecrets) -> logging.Handler:
    """Send the package's debug log to stderr, through the redacting filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(log_filter)
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def print_json(value: Any) -> None:
    """Print a JSON document."""
    print(json.dumps(value, indent=2, sort_keys=False, default=str))


def _number(value: float | None) -> str:
    if value is None:
        return "unknown"
    return str(int(value)) if float(value).is_integer() else str(value)


def _kwh(watt_hours: float | None) -> str:
    return "unknown" if watt_hours is None else f"{watt_hours / 1000:.2f} kWh"


def _kw(watts: float | None) -> str:
    return "unknown" if watts is None else f"{watts / 1000:8.3f} kW"


# ---------------------------------------------------------------- commands


async def cmd_sites(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """List the energy sites and remember them (ids and names) in the config."""
    connection = Connection(config, session)
    sites = await connection.client.energy_sites()
    remember_sites(config, [dict(site.raw) for site in sites])
    config.save()
    if args.json:
        print_json([dict(site.raw) for site in sites])
        return 0
    if not sites:
        print("No energy sites in this account.")
    for site in sites:
        mark = "*" if site.energy_site_id == config.site_id else " "
        print(f"{mark} {site.energy_site_id}  {site.site_name or '(unnamed)'}")
    return 0


async def _live(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> LiveStatus:
    return await Connection(config, session).client.live_status(args.site_id)


async def _info(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> SiteInfo:
    return await Connection(config, session).client.site_info(args.site_id)


async def cmd_status(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """The site's live_status (Tesla's field names with --json)."""
    live = await _live(args, config, session)
    if args.json:
        print_json(dict(live.raw))
        return 0
    print(f"Site:          {_site_name(config, args.site_id)}")
    print(f"Solar:         {_kw(live.solar_power)}")
    print(f"Grid:          {_kw(live.grid_power)}  (+ import, - export)")
    print(f"Home:          {_kw(live.load_power)}")
    print(f"Battery:       {_kw(live.battery_power)}  (+ discharge, - charge)")
    print(f"Battery level: {percent_text(live.percentage_charged)}")
    print(f"Energy left:   {_kwh(live.energy_left)} of {_kwh(live.total_pack_energy)}")
    print(
        f"Grid status:   {live.grid_status or 'unknown'} ({live.island_status or 'unknown'})"
    )
    for connector in live.wall_connectors or ():
        print(
            f"Wall Connector {connector.din}: state {connector.wall_connector_state}, "
            f"{_kw(connector.wall_connector_power)}"
        )
    print(f"Reported at:   {live.timestamp or 'unknown'}")
    return 0


async def cmd_info(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """The site's site_info (Tesla's field names with --json)."""
    info = await _info(args, config, session)
    if args.json:
        print_json(dict(info.raw))
        return 0
    rows = (
        ("Site", f"{info.site_name or '(unnamed)'} (id {args.site_id})"),
        ("Firmware", info.version),
        ("Batteries", _number(info.battery_count)),
        ("Nameplate power", f"{_number(info.nameplate_power)} W"),
        ("Nameplate energy", f"{_number(info.nameplate_energy)} Wh"),
        ("Operation mode", info.default_real_mode),
        ("Backup reserve", f"{_number(info.backup_reserve_percent)} %"),
        ("Time zone", info.installation_time_zone),
        ("Installed", info.installation_date),
        ("Utility", info.utility),
    )
    for label, value in rows:
        print(f"{label + ':':18}{value if value is not None else 'unknown'}")
    return 0


async def cmd_getmode(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Print the operation mode, bare."""
    info = await _info(args, config, session)
    return _print_setting(args, "default_real_mode", info.default_real_mode)


async def cmd_getreserve(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Print the backup reserve percent, bare."""
    info = await _info(args, config, session)
    reserve = info.backup_reserve_percent
    return _print_setting(
        args,
        "backup_reserve_percent",
        reserve,
        None if reserve is None else _number(reserve),
    )


def _print_setting(
    args: argparse.Namespace, field: str, value: object, text: str | None = None
) -> int:
    """One site_info setting: bare (``text``, else the value) or as JSON."""
    if value is None:
        raise InvalidResponse(f"site_info has no {field}")
    if args.json:
        print_json({field: value})
    else:
        print(value if text is None else text)
    return 0


async def cmd_setmode(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Set the operation mode."""
    mode = MODE_ALIASES.get(args.mode, args.mode)
    connection = Connection(config, session)
    result = await connection.client.set_operation_mode(args.site_id, mode)
    return _report_write(
        args,
        raw=result.raw,
        accepted=result.result,
        field="default_real_mode",
        value=mode,
        text="Operation mode set to",
    )


async def cmd_setreserve(
    args: argparse.Namespace, config: Config, session: aiohttp.ClientSession
) -> int:
    """Set the backup reserve to a percent or to the present charge level.

    81-99 % outside backup-only mode is refused before sending (the rule of
    ``rules.py``, as in the integration): the mode is read only then.
    """
    client = Connection(config, session).client
    percent = args.reserve
    if percent == "current":
        live = await client.live_status(args.site_id)
        if live.percentage_charged is None:
            raise InvalidResponse("live_status has no percentage_charged")
        percent = whole_percent(live.percentage_charged)
    if MAX_RESERVE_OUTSIDE_BACKUP < percent < 100:  # allowed in backup-only mode
        mode = (await client.site_info(args.site_id)).default_real_mode
        if reserve_needs_backup_mode(percent, mode):
            raise UsageError(
                f"Tesla refuses a backup reserve of {percent} % outside backup-only"
                f" mode, and the site is in {mode_words(mode)} mode: choose"
                f" {MAX_RESERVE_OUTSIDE_BACKUP} % or less, or 100 %, or switch to"
                " backup-only first with 'fleetapi setmode backup'"
            )
    result = await client.set_backup_reserve(args.site_id, percent)
    return _report_write(
        args,
        raw=result.raw,
        accepted=result.result,
        field="backup_reserve_percent",
        value=percent,
        text="Backup reserve set to",
    )


def _report_write(
    args: argparse.Namespace,
    *,
    raw: Mapping[str, Any],
    accepted: bool | None,
    field: str,
    value: object,
    text: str,
) -> int:
    if accepted is False:
        raise FleetError(f"Tesla refused the change: {json.dumps(dict(raw))[:200]}")
    if args.json:
        print_json({field: value, "response": dict(raw).get("response")})
    else:
        suffix = "%" if field == "backup_reserve_percent" else ""
        print(f"{text} {value}{suffix} (Tesla may take a minute to apply it)")
    return 0


def _site_name(config: Config, site_id: int) -> str:
    for site in config.sites:
        if site.get("energy_site_id") == site_id and site.get("site_name"):
            return f"{site['site_name']} (id {site_id})"
    return str(site_id)


COMMANDS: Final[Mapping[str, Command]] = {
    "setup": setup,
    "sites": cmd_sites,
    "status": cmd_status,
    "info": cmd_info,
    "getmode": cmd_getmode,
    "setmode": cmd_setmode,
    "getreserve": cmd_getreserve,
    "setreserve": cmd_setreserve,
    "doctor": doctor,
}
