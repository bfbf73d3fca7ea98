"""Async client for the energy endpoints of Tesla's Fleet API.

Owns :class:`FleetClient`: every read and write of an energy site, the one
retry after a 401 (through the injected token callback), following a 421 to
Tesla's named region, checking every argument before a request leaves,
decoding answers and mapping them to ``errors.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
import json
import logging
import math
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import quote, urlsplit

import aiohttp

from .errors import (
    CannotConnect,
    FleetError,
    InvalidArgument,
    InvalidResponse,
    ServerError,
    TokenExpired,
    WrongRegion,
    error_from_response,
)
from .json_request import DEFAULT_TIMEOUT, network_reason
from .models import (
    BackupHistory,
    ChargeHistory,
    CommandResult,
    EnergyHistory,
    LiveStatus,
    Product,
    Region,
    SiteInfo,
)

_LOGGER = logging.getLogger(__name__)

OPERATION_MODES: Final = ("self_consumption", "autonomous", "backup")
EXPORT_RULES: Final = ("battery_ok", "pv_only", "never")
HISTORY_PERIODS: Final = ("day", "week", "month", "year", "lifetime")
# Hosts a 421 may send us to without asking: Tesla's own. A redirect to another
# host is refused so a bearer token never leaves for an unknown server.
TRUSTED_HOST_SUFFIXES: Final = (".tesla.com", ".tesla.cn")

SiteId: TypeAlias = int | str
TokenProvider: TypeAlias = Callable[[], Awaitable[str]]
TokenRejectedHandler: TypeAlias = Callable[[str], Awaitable[str]]
BaseUrlListener: TypeAlias = Callable[[str], None]
_Shape = Literal["object", "list", "write"]


class FleetClient:
    """Reads and commands for Powerwall energy sites.

    ``session`` is injected and never closed here. ``token()`` returns a valid
    access token. Optional hooks: ``on_token_rejected(rejected_token)`` returns a
    fresh token after a 401 (the request is retried once with it), and
    ``on_base_url_change(url)`` is told when a 421 moved the client to the
    account's region (the request is retried once there).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: TokenProvider,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_token_rejected: TokenRejectedHandler | None = None,
        on_base_url_change: BaseUrlListener | None = None,
        follow_region_redirects: bool = True,
    ) -> None:
        """Create a client for one account."""
        self._session = session
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._on_token_rejected = on_token_rejected
        self._on_base_url_change = on_base_url_change
        self._follow_region_redirects = follow_region_redirects
        self.request_counts: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        """The Fleet API base URL in use (changes after a 421)."""
        return self._base_url

    # ---------------------------------------------------------------- reads

    async def products(self) -> list[Product]:
        """Every product of the account (vehicles included)."""
        response = await self._request("GET", "products", "/api/1/products", "list")
        return [
            Product.from_dict(item) for item in response if isinstance(item, Mapping)
        ]

    async def energy_sites(self) -> list[Product]:
        """The account's energy sites (vehicles left out)."""
        return [product for product in await self.products() if product.is_energy_site]

    async def region(self) -> Region:
        """The account's region and its Fleet API base URL."""
        response = await self._request(
            "GET", "users_region", "/api/1/users/region", "object"
        )
        return Region.from_dict(response)

    async def live_status(self, site_id: SiteId) -> LiveStatus:
        """Instantaneous power flows and battery level of a site."""
        response = await self._request(
            "GET", "live_status", f"{_site_path(site_id)}/live_status", "object"
        )
        return LiveStatus.from_dict(response)

    async def site_info(self, site_id: SiteId) -> SiteInfo:
        """Configuration of a site."""
        response = await self._request(
            "GET", "site_info", f"{_site_path(site_id)}/site_info", "object"
        )
        return SiteInfo.from_dict(response)

    async def energy_history(
        self,
        site_id: SiteId,
        *,
        period: str,
        end: datetime,
        time_zone: str,
        start: datetime | None = None,
    ) -> EnergyHistory:
        """Energy per interval (5-minute buckets for ``period="day"``).

        Tesla answers nothing for an ``end`` of exactly local midnight: ask up to
        23:59:59 of the day wanted.
        """
        return EnergyHistory.from_dict(
            await self._calendar_history(
                site_id,
                "energy",
                period=period,
                end=end,
                time_zone=time_zone,
                start=start,
            )
        )

    async def backup_history(
        self,
        site_id: SiteId,
        *,
        period: str,
        end: datetime,
        time_zone: str,
        start: datetime | None = None,
    ) -> BackupHistory:
        """Grid outages (``calendar_history kind=backup``)."""
        return BackupHistory.from_dict(
            await self._calendar_history(
                site_id,
                "backup",
                period=period,
                end=end,
                time_zone=time_zone,
                start=start,
            )
        )

    async def _calendar_history(
        self,
        site_id: SiteId,
        kind: str,
        *,
        period: str,
        end: datetime,
        time_zone: str,
        start: datetime | None,
    ) -> Any:
        """One ``calendar_history`` read of ``kind`` (energy or backup)."""
        return await self._request(
            "GET",
            "calendar_history",
            f"{_site_path(site_id)}/calendar_history",
            "object",
            params=_history_params(kind, period, end, time_zone, start),
        )

    async def charge_history(
        self,
        site_id: SiteId,
        *,
        start: datetime,
        end: datetime,
        time_zone: str,
    ) -> ChargeHistory:
        """Wall Connector charging sessions (``telemetry_history kind=charge``)."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        params = {
            "kind": "charge",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "time_zone": _require_time_zone(time_zone),
        }
        response = await self._request(
            "GET",
            "telemetry_history",
            f"{_site_path(site_id)}/telemetry_history",
            "object",
            params=params,
        )
        return ChargeHistory.from_dict(response)

    # --------------------------------------------------------------- writes

    async def set_backup_reserve(self, site_id: SiteId, percent: int) -> CommandResult:
        """Set the backup reserve (0-100 %; 81-99 only in backup mode)."""
        percent = _percent(percent, "percent")
        return await self._write("backup", site_id, {"backup_reserve_percent": percent})

    async def set_operation_mode(self, site_id: SiteId, mode: str) -> CommandResult:
        """Set the operation mode (self_consumption, autonomous or backup)."""
        if mode not in OPERATION_MODES:
            raise InvalidArgument(
                f"Unknown operation mode {mode!r}; expected one of "
                + ", ".join(OPERATION_MODES),
                error="invalid_operation_mode",
            )
        return await self._write("operation", site_id, {"default_real_mode": mode})

    async def set_storm_mode(self, site_id: SiteId, enabled: bool) -> CommandResult:
        """Turn storm watch on or off."""
        if not isinstance(enabled, bool):
            raise InvalidArgument("enabled must be a bool", error="invalid_value")
        return await self._write("storm_mode", site_id, {"enabled": enabled})

    async def set_grid_import_export(
        self,
        site_id: SiteId,
        *,
        allow_grid_charging: bool | None = None,
        export_rule: str | None = None,
    ) -> CommandResult:
        """Allow/disallow charging from the grid and/or set the export rule."""
        body: dict[str, Any] = {}
        if allow_grid_charging is not None:
            if not isinstance(allow_grid_charging, bool):
                raise InvalidArgument(
                    "allow_grid_charging must be a bool", error="invalid_value"
                )
            body[
                "disallow_charge_from_grid_with_solar_installed"
            ] = not allow_grid_charging
        if export_rule is not None:
            if export_rule not in EXPORT_RULES:
                raise InvalidArgument(
                    f"Unknown export rule {export_rule!r}; expected one of "
                    + ", ".join(EXPORT_RULES),
                    error="invalid_export_rule",
                )
            body["customer_preferred_export_rule"] = export_rule
        if not body:
            raise InvalidArgument(
                "Give allow_grid_charging, export_rule or both", error="invalid_value"
            )
        return await self._write("grid_import_export", site_id, body)

    async def set_off_grid_vehicle_charging_reserve(
        self, site_id: SiteId, percent: int
    ) -> CommandResult:
        """Set the share of the battery kept for charging vehicles off-grid."""
        percent = _percent(percent, "percent")
        return await self._write(
            "off_grid_vehicle_charging_reserve",
            site_id,
            {"off_grid_vehicle_charging_reserve_percent": percent},
        )

    async def set_time_of_use(
        self,
        site_id: SiteId,
        tariff: Mapping[str, Any],
        *,
        strategy: str | None = None,
    ) -> CommandResult:
        """Send a ``tariff_content_v2`` tariff.

        ``strategy`` is time-based control's optimisation strategy sent with it
        (``"economics"`` = the app's Cost Saving, or ``"balanced"``); ``None`` sends
        none, and owners report that such a push can leave the site in "balanced",
        which never exports (FLEET_API.md, Quirks; Predbat #4600). Mode and tariff
        changes can take minutes to act; read ``site_info().tariff_content_v2`` back
        to confirm.
        """
        to_dict = getattr(tariff, "to_dict", None)
        payload = to_dict() if callable(to_dict) else tariff
        if not isinstance(payload, Mapping):
            raise InvalidArgument("tariff must be a mapping", error="invalid_tariff")
        if strategy not in (None, "economics", "balanced"):
            raise InvalidArgument(
                "strategy must be 'economics' or 'balanced'", error="invalid_strategy"
            )
        settings: dict[str, Any] = {"tariff_content_v2": dict(payload)}
        if strategy is not None:
            settings["optimization_strategy"] = strategy
        return await self._write(
            "time_of_use_settings", site_id, {"tou_settings": settings}
        )

    # ------------------------------------------------------------ plumbing

    async def _write(
        self, endpoint: str, site_id: SiteId, body: Mapping[str, Any]
    ) -> CommandResult:
        result: CommandResult = await self._request(
            "POST",
            endpoint,
            f"{_site_path(site_id)}/{endpoint}",
            "write",
            json_body=body,
        )
        return result

    async def _request(
        self,
        method: str,
        endpoint: str,
        path: str,
        shape: _Shape,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request, refreshing once on 401 and following one 421."""
        token = await self._token()
        refreshed = False
        moved = False
        while True:
            try:
                return await self._send(
                    method=method,
                    endpoint=endpoint,
                    path=path,
                    shape=shape,
                    token=token,
                    params=params,
                    json_body=json_body,
                )
            except TokenExpired:
                if refreshed or self._on_token_rejected is None:
                    raise
                refreshed = True
                _LOGGER.debug("Access token rejected; refreshing once")
                token = await self._on_token_rejected(token)
            except WrongRegion as err:
                if moved or not self._follow_region_redirects:
                    raise
                moved = True
                new_base = err.base_url
                if new_base is None and endpoint != "users_region":
                    new_base = (await self.region()).fleet_api_base_url
                if not new_base or not self._may_move_to(new_base):
                    raise
                self._move_to(new_base)

    async def _send(
        self,
        *,
        method: str,
        endpoint: str,
        path: str,
        shape: _Shape,
        token: str,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
    ) -> Any:
        url = self._base_url + path
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.request_counts[endpoint] += 1
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                params=params,
                json=json_body,
                timeout=self._timeout,
            ) as resp:
                status = resp.status
                resp_headers = dict(resp.headers)
                data = await resp.read()
        except TimeoutError as err:
            raise CannotConnect(
                f"Timed out talking to the Fleet API ({endpoint})"
            ) from err
        except aiohttp.ClientError as err:
            raise CannotConnect(
                f"Could not reach the Fleet API ({endpoint}): {network_reason(err)}"
            ) from err
        _LOGGER.debug("%s %s -> %s", method, endpoint, status)
        body = _decode(data)
        if status >= 400 or status < 200:
            raise error_from_response(
                status,
                None if body is _NOT_JSON else body,
                resp_headers,
                secrets=(token,),
            )
        if shape == "write":
            return CommandResult.from_body(None if body is _NOT_JSON else body)
        if body is _NOT_JSON or not isinstance(body, Mapping):
            raise InvalidResponse(
                f"The Fleet API answered {endpoint} with something that is not a JSON object",
                status=status,
            )
        response = body.get("response")
        expected = list if shape == "list" else Mapping
        if not isinstance(response, expected):
            raise InvalidResponse(
                f"The Fleet API answered {endpoint} with a response of type "
                f"{type(response).__name__}",
                status=status,
            )
        return response

    def _may_move_to(self, new_base: str) -> bool:
        new = urlsplit(new_base)
        current = urlsplit(self._base_url)
        if new.scheme not in ("https", "http") or not new.hostname:
            return False
        if new.hostname == current.hostname and new.scheme == current.scheme:
            return True
        return new.scheme == "https" and new.hostname.endswith(TRUSTED_HOST_SUFFIXES)

    def _move_to(self, new_base: str) -> None:
        new_base = new_base.rstrip("/")
        if new_base == self._base_url:
            return
        _LOGGER.info("Fleet API account lives at %s; switching region", new_base)
        self._base_url = new_base
        if self._on_base_url_change is not None:
            self._on_base_url_change(new_base)


class _NotJson:
    """Marker for a body that is not JSON."""


_NOT_JSON: Final = _NotJson()
_MAX_INT_DIGITS: Final = 4000


def _decode(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data, parse_int=_parse_int)
    except ValueError:
        return _NOT_JSON


def _parse_int(digits: str) -> int | float:
    """An integer of the body; one too long for Python to read is infinite.

    So one absurd field is dropped by the models, instead of the whole body
    being refused (``int()`` refuses more than 4,300 digits).
    """
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else math.inf


def _site_path(site_id: SiteId) -> str:
    """The path of one energy site's endpoints."""
    if isinstance(site_id, bool) or not isinstance(site_id, int | str) or site_id == "":
        raise InvalidArgument("site_id must be an int or a non-empty str")
    return "/api/1/energy_sites/" + quote(str(site_id), safe="")


def _percent(value: object, name: str) -> int:
    """A whole percent 0-100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{name} must be a number", error="invalid_value")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidArgument(f"{name} must be a whole number", error="invalid_value")
    percent = int(value)
    if not 0 <= percent <= 100:
        raise InvalidArgument(f"{name} must be between 0 and 100", error="out_of_range")
    return percent


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidArgument(f"{name} must be a timezone-aware datetime")


def _require_time_zone(time_zone: str) -> str:
    """A non-empty zone name."""
    if not isinstance(time_zone, str) or not time_zone:
        raise InvalidArgument("time_zone must be an IANA zone name")
    return time_zone


def _history_params(
    kind: str,
    period: str,
    end: datetime,
    time_zone: str,
    start: datetime | None,
) -> dict[str, str]:
    """The query of one calendar_history read."""
    if period not in HISTORY_PERIODS:
        raise InvalidArgument(
            f"Unknown period {period!r}; expected one of " + ", ".join(HISTORY_PERIODS)
        )
    _require_aware(end, "end")
    params = {
        "kind": kind,
        "period": period,
        "end_date": end.isoformat(),
        "time_zone": _require_time_zone(time_zone),
    }
    if start is not None:
        _require_aware(start, "start")
        params["start_date"] = start.isoformat()
    return params


def is_retryable(err: FleetError) -> bool:
    """Whether an error is transient and unbilled (worth one more try at once).

    5xx answers (other than a site that is gone), timeouts and network
    errors. Tesla bills every answer below 500, 408 and 429 included: those
    are not re-sent at once.
    """
    if isinstance(err, ServerError):
        return not err.site_unavailable
    return isinstance(err, CannotConnect)


__all__ = (
    "EXPORT_RULES",
    "HISTORY_PERIODS",
    "OPERATION_MODES",
    "FleetClient",
    "is_retryable",
)
