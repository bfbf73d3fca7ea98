"""Property tests: no payload, however malformed, escapes as anything but FleetError."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.powerwall_fleet.fleet import (
    BackupHistory,
    ChargeHistory,
    CommandResult,
    Components,
    EnergyHistory,
    FleetClient,
    FleetError,
    LiveStatus,
    Product,
    Region,
    SiteInfo,
)
from custom_components.powerwall_fleet.fleet.models import FleetModel
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

MODELS: tuple[type[FleetModel], ...] = (
    LiveStatus,
    SiteInfo,
    Product,
    Components,
    EnergyHistory,
    BackupHistory,
    ChargeHistory,
    Region,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _shaped(model: type[FleetModel]) -> st.SearchStrategy[Any]:
    """Dicts using the model's own keys with arbitrary values (the likely breakage)."""
    names = [f.name for f in fields(model) if f.name != "raw"]
    nested = {
        name: st.fixed_dictionaries(
            {},
            optional={
                "gateways": st.lists(json_values, max_size=3),
                "batteries": st.lists(json_values, max_size=3),
                "time_series": st.lists(json_values, max_size=3),
                "events": st.lists(json_values, max_size=3),
            },
        )
        | json_values
        for name in names
    }
    return st.fixed_dictionaries({}, optional=nested)


payloads = st.sampled_from(MODELS).flatmap(
    lambda model: st.tuples(st.just(model), _shaped(model) | json_values)
)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_models_never_raise(case: tuple[type[FleetModel], Any]) -> None:
    """Any JSON value builds a model; typed fields hold their type or None."""
    model, payload = case
    parsed = model.from_dict(payload)
    for f in fields(parsed):
        value = getattr(parsed, f.name)
        if f.name == "raw" or value is None:
            continue
        annotation = str(f.type)
        if annotation.startswith("bool"):
            assert isinstance(value, bool)
        elif annotation.startswith("str"):
            assert isinstance(value, str)
        elif annotation.startswith(("int", "float")):
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)
            assert math.isfinite(value)
        elif annotation.startswith("tuple"):
            assert isinstance(value, tuple)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_command_result_never_raises(body: Any) -> None:
    """Any write answer body is understood or ignored."""
    result = CommandResult.from_body(body)
    assert result.result is None or isinstance(result.result, bool)


STATUSES = st.sampled_from(
    [
        200,
        201,
        202,
        400,
        401,
        402,
        403,
        404,
        408,
        412,
        421,
        422,
        429,
        500,
        502,
        503,
        540,
    ]
)
ANSWERS = st.one_of(
    st.builds(
        lambda status, payload: {"status": status, "json": payload},
        STATUSES,
        json_values,
    ),
    st.builds(
        lambda status, payload: {"status": status, "json": {"response": payload}},
        STATUSES,
        _shaped(LiveStatus) | _shaped(SiteInfo) | json_values,
    ),
    st.builds(
        lambda status, body: {"status": status, "body": body},
        STATUSES,
        st.binary(max_size=64),
    ),
    st.builds(
        lambda status, payload, headers: {
            "status": status,
            "json": payload,
            "headers": headers,
        },
        STATUSES,
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "Retry-After": st.text(alphabet="0123456789-., aZ:", max_size=12)
            },
        ),
    ),
)
CALLS = st.sampled_from(
    [
        "live_status",
        "site_info",
        "products",
        "region",
        "energy_history",
        "set_backup_reserve",
        "set_grid_import_export",
    ]
)


async def _call(client: FleetClient, name: str) -> object:
    if name in ("live_status", "site_info"):
        return await getattr(client, name)(SITE_FULL)
    if name in ("products", "region"):
        return await getattr(client, name)()
    if name == "energy_history":
        return await client.energy_history(
            SITE_FULL,
            period="day",
            end=datetime(2026, 6, 21, 23, 59, 59, tzinfo=UTC),
            time_zone="UTC",
        )
    if name == "set_backup_reserve":
        return await client.set_backup_reserve(SITE_FULL, 20)
    return await client.set_grid_import_export(SITE_FULL, export_rule="never")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(answer=ANSWERS, call=CALLS)
async def test_client_over_http_only_raises_fleet_errors(
    client: FleetClient, simulator: Simulator, answer: dict[str, Any], call: str
) -> None:
    """Whatever the server answers, only FleetError subclasses escape."""
    simulator.clear_faults()
    simulator.add_fault(r"/api/1/", **answer)
    try:
        result = await _call(client, call)
    except FleetError:
        result = None
    if isinstance(result, list):
        assert all(isinstance(item, Product) for item in result)
    elif result is not None:
        assert isinstance(result, FleetModel)
    simulator.clear_faults()
