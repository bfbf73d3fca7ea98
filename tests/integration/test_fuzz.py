"""Fuzzed Tesla payloads through the real coordinators and platforms (issue 14).

Hypothesis builds live_status, site_info, tariff and calendar_history payloads
with wrong types, huge and non-finite numbers, hostile text (paths, NUL, very
long, unpaired surrogates, odd Unicode), missing and extra keys and nested
garbage. The simulator serves them (field overrides, or a fault answering 200
with the whole payload) to an entry with every platform loaded. After each
payload: nothing reaches Home Assistant's log as a crash, no state is longer
than 255 characters, an entity whose field is bad is unavailable while the
others keep working, and the next good payload brings everything back.

Cost in CI: the example counts in ``EXAMPLES`` (440 payloads, plus 8 pinned
ones), about 30-45 s on one core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
import contextlib
import copy
from dataclasses import dataclass
from datetime import timedelta
import logging
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.json import json_bytes
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, event, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.powerwall_fleet.const import DOMAIN
from custom_components.powerwall_fleet.coordinator import SiteCoordinators
from custom_components.powerwall_fleet.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.powerwall_fleet.energy.ledger import EnergyLedger
from custom_components.powerwall_fleet.fleet import ENERGY_FIELDS
from custom_components.powerwall_fleet.fleet.tariff import PERIOD_NAMES
from custom_components.powerwall_fleet.site import site_zone
from custom_components.powerwall_fleet.tou import PERIOD_STATES
from tests.integration.entity_helpers import new_entry, setup_sites
from tests.simulator import Simulator
from tests.simulator.scenario import SITE_FULL

# Examples per test (one Home Assistant per test serves them all).
EXAMPLES = {"field": 150, "garbage": 100, "response": 50, "tariff": 80, "history": 60}
# Hostile site time zones too (every reader goes through site.site_zone).
FUZZ_TIME_ZONE = True

pytestmark = pytest.mark.platforms(
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
)
MAX_STATE = 255


def fuzz(examples: str) -> settings:
    """Hypothesis settings for one test: its example count, no deadline.

    One Home Assistant serves all examples of a test (each restores the site).
    """
    return settings(
        max_examples=EXAMPLES[examples],
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        print_blob=False,
    )


# ----------------------------------------------------------------- payloads

HOSTILE_TEXT = [
    "",
    " ",
    "/etc/localtime",
    "../../etc/passwd",
    "Europe/../UTC",
    "C:\\Windows\\system32",
    "\x00",
    "on_grid\x00",
    "Active\x00",
    "\ud800",
    "24.44.0\udfff",
    "x" * 256,
    "9" * 400,
    "é" * 300,
    "\u202eevil",
    "\u200b",
    "\ufeffActive",
    "\uffff",
    "\U0010ffff",
    "☀️" * 200,
    "%s%n%x",
    "{{ states }}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "'; DROP TABLE states; --",
    "NaN",
    "Infinity",
    "1e309",
    "true",
    "null",
    "active",
    "ON_GRID",
]
hostile_text = st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40)
huge_ints = st.integers(min_value=10**20, max_value=10**400).flatmap(
    lambda n: st.sampled_from([n, -n])
) | st.sampled_from([10**309, -(10**309), 2**63, 2**64, 2**1024])
non_finite = st.sampled_from([math.inf, -math.inf, math.nan])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | huge_ints
    | st.floats()
    | hostile_text
)
garbage = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=10,
)
wrong_types: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(scalars, max_size=2),
    st.dictionaries(hostile_text, scalars, max_size=2),
)
not_a_number = wrong_types | hostile_text
not_text = wrong_types | st.integers() | st.floats() | huge_ints


def bad_numbers(low: float, high: float) -> st.SearchStrategy[Any]:
    """Anything that is no reading in ``[low, high]``."""
    outside = st.floats(min_value=high, exclude_min=True) | st.floats(
        max_value=low, exclude_max=True
    )
    return not_a_number | huge_ints | non_finite | outside


bad_booleans: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    hostile_text,
    st.integers(),
    st.floats(),
    st.lists(st.booleans(), max_size=2),
    st.dictionaries(hostile_text, st.booleans(), max_size=2),
)
# No firmware version: blank, or text no Tesla field holds.
bad_text = st.sampled_from(
    ["", " ", "\t\n", "\x00", "24.44.0\x00", "\ud800", "x" * 256, "9" * 400, "é" * 300]
) | st.text(min_size=1, max_size=5).map(lambda s: s + "\x00")


def bad_choice(valid: Iterable[str]) -> st.SearchStrategy[Any]:
    """Anything but one of ``valid``."""
    options = set(valid)
    texts = hostile_text.filter(lambda s: s not in options)
    return wrong_types | st.integers() | st.floats() | huge_ints | texts


POWER = bad_numbers(-1e10, 1e10)
ENERGY = bad_numbers(-1e10, 1e10)
PERCENT = bad_numbers(-5, 105)
COUNT = bad_numbers(0, 1_000_000) | st.floats(0.1, 0.9)


@dataclass(frozen=True)
class Field:
    """A payload field, the entities it feeds and what is no value for it."""

    endpoint: str  # "live_status" | "site_info"
    path: str  # dotted, as the simulator's overrides take it
    entities: tuple[tuple[str, str], ...]  # (platform, key)
    bad: st.SearchStrategy[Any]
    may_be_missing: bool = True  # left out means "no value" (not a default)


TOU = (
    ("sensor", "tou_period"),
    ("sensor", "tou_buy_price"),
    ("sensor", "tou_sell_price"),
    ("sensor", "tou_next_change"),
    ("calendar", "tariff"),
)
FIELDS = (
    *(
        Field("live_status", name, (("sensor", name),), POWER)
        for name in (
            "solar_power",
            "battery_power",
            "grid_power",
            "load_power",
            "generator_power",
            "grid_services_power",
        )
    ),
    Field(
        "live_status",
        "percentage_charged",
        (("sensor", "percentage_charged"),),
        PERCENT,
    ),
    Field("live_status", "energy_left", (("sensor", "energy_left"),), ENERGY),
    Field(
        "live_status", "total_pack_energy", (("sensor", "total_pack_energy"),), ENERGY
    ),
    Field(
        "live_status",
        "island_status",
        (("sensor", "island_status"),),
        bad_choice(
            ["on_grid", "off_grid", "off_grid_intentional", "off_grid_unintentional"]
        ),
    ),
    Field(
        "live_status",
        "grid_status",
        (("binary_sensor", "grid_status"),),
        bad_choice(["Active", "Inactive"]),
    ),
    *(
        Field("live_status", name, (("binary_sensor", name),), bad_booleans)
        for name in ("storm_mode_active", "backup_capable", "grid_services_active")
    ),
    Field(
        "site_info", "backup_reserve_percent", (("number", "backup_reserve"),), PERCENT
    ),
    Field(
        "site_info",
        "off_grid_vehicle_charging_reserve_percent",
        (("number", "off_grid_vehicle_charging_reserve"),),
        PERCENT,
    ),
    Field("site_info", "battery_count", (("sensor", "battery_count"),), COUNT),
    Field("site_info", "nameplate_power", (("sensor", "nameplate_power"),), POWER),
    Field("site_info", "nameplate_energy", (("sensor", "nameplate_energy"),), ENERGY),
    Field("site_info", "version", (("sensor", "version"),), not_text | bad_text),
    Field(
        "site_info",
        "default_real_mode",
        (("select", "operation_mode"),),
        bad_choice(["self_consumption", "autonomous", "backup"]),
    ),
    Field(
        "site_info",
        "user_settings.storm_mode_enabled",
        (("switch", "storm_watch"),),
        bad_booleans,
    ),
    Field(
        "site_info",
        "components.disallow_charge_from_grid_with_solar_installed",
        (("switch", "grid_charging"),),
        bad_booleans.filter(lambda value: value is not None),
        may_be_missing=False,  # Tesla leaves it out while grid charging is allowed
    ),
    Field(
        "site_info",
        "components.customer_preferred_export_rule",
        (("select", "export_rule"),),
        bad_choice(["battery_ok", "pv_only", "never"]),
    ),
    Field("site_info", "tariff_content_v2", TOU, not_a_number | huge_ints | non_finite),
)
WATCHED = {entity for f in FIELDS for entity in f.entities}
PARENTS = ("components", "user_settings")


def _sources(entity: tuple[str, str]) -> set[tuple[str, str]]:
    """The (endpoint, path) an entity reads, parents included."""
    found: set[tuple[str, str]] = set()
    for f in FIELDS:
        if entity in f.entities:
            found.add((f.endpoint, f.path))
            parent = f.path.split(".")[0]
            if parent != f.path:
                found.add((f.endpoint, parent))
    return found


@st.composite
def one_bad_field(draw: st.DrawFn) -> tuple[Field, dict[str, Any], list[str]]:
    """One field made bad (or left out), plus extra keys nobody reads."""
    target = draw(st.sampled_from(FIELDS))
    extra = draw(
        st.dictionaries(hostile_text.map(lambda k: f"x_{k}"), garbage, max_size=3)
    )
    if target.may_be_missing and draw(st.booleans()):
        return target, extra, [target.path]
    return target, {target.path: draw(target.bad), **extra}, []


KNOWN_PATHS = {
    endpoint: sorted(
        {f.path for f in FIELDS if f.endpoint == endpoint}
        | (
            {"installation_time_zone"}
            if FUZZ_TIME_ZONE and endpoint == "site_info"
            else set()
        )
        | (set(PARENTS) if endpoint == "site_info" else set())
        | {"timestamp", "wall_connectors", "id", "site_name", "components.gateways"}
    )
    for endpoint in ("live_status", "site_info")
}


@st.composite
def garbage_overrides(draw: st.DrawFn) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Garbage in several known and unknown fields of both endpoints."""
    result = {}
    for endpoint, paths in KNOWN_PATHS.items():
        keys = draw(st.lists(st.sampled_from(paths), max_size=5, unique=True))
        keys = [k for k in keys if k.split(".")[0] not in keys or "." not in k]
        removed = draw(st.lists(st.sampled_from(paths), max_size=2, unique=True))
        values = {key: draw(garbage) for key in keys if key not in removed}
        values.update(draw(st.dictionaries(hostile_text, garbage, max_size=3)))
        result[endpoint] = (values, removed)
    return result


# -------------------------------------------------------------- the harness


@pytest.fixture
async def loaded(
    hass: HomeAssistant,
    simulator: Simulator,
    credentials: None,
    no_retry_delay: None,
    freezer: FrozenDateTimeFactory,
) -> MockConfigEntry:
    """The full site with every platform and every entity enabled.

    Home Assistant's clock is the simulator's (history asks for its days).
    """
    freezer.move_to(simulator.clock.now())
    entry = await setup_sites(hass, new_entry(simulator), SITE_FULL, enable_all=True)
    for entity in WATCHED:
        assert _state(hass, entity) != STATE_UNAVAILABLE, entity
    return entry


def _site(entry: MockConfigEntry) -> SiteCoordinators:
    site: SiteCoordinators = entry.runtime_data.sites[SITE_FULL]
    return site


def _entity_id(hass: HomeAssistant, entity: tuple[str, str]) -> str:
    platform, key = entity
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{SITE_FULL}_{key}"
    )
    assert entity_id is not None, entity
    return entity_id


def _state(hass: HomeAssistant, entity: tuple[str, str]) -> str:
    state = hass.states.get(_entity_id(hass, entity))
    assert state is not None, entity
    return state.state


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry, *which: str) -> None:
    site = _site(entry)
    for name in which:
        await getattr(site, name).async_refresh()
    await hass.async_block_till_done()


def _assert_sound(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """No crash in the log, no over-long state, every number a number."""
    crashes = [
        record.getMessage()[:300]
        for record in caplog.records
        if record.levelno >= logging.ERROR
        and (
            record.exc_info
            or "Unexpected error" in record.getMessage()
            or "longer than" in record.getMessage()
        )
    ]
    assert not crashes
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        state = hass.states.get(entity.entity_id)
        if state is None:
            continue
        assert len(state.state) <= MAX_STATE, entity.entity_id
        if state.attributes.get("unit_of_measurement") and state.state not in (
            STATE_UNAVAILABLE,
            "unknown",
        ):
            assert math.isfinite(float(state.state)), entity.entity_id


@contextlib.asynccontextmanager
async def _example(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[None]:
    """One payload: a clean log before; after, the good payloads again, come what may.

    Hypothesis runs every example of a test in the same Home Assistant.
    """
    caplog.clear()
    try:
        yield
    finally:
        simulator.clear_overrides()
        simulator.clear_faults()
        await _refresh(hass, entry, "info", "live")


def _assert_restored(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The next good payloads brought every watched entity back."""
    _assert_sound(hass, entry, caplog)
    back = {entity: _state(hass, entity) for entity in WATCHED}
    assert STATE_UNAVAILABLE not in back.values(), back


# ------------------------------------------------------------------- tests


# What issue 14 reported, pinned: (endpoint, overrides, entities made unavailable).
ISSUE_14 = [
    pytest.param(
        "live_status",
        {"solar_power": 10**309},
        [("sensor", "solar_power")],
        id="solar-power-309-digits",
    ),
    pytest.param(
        "live_status",
        {"percentage_charged": math.nan, "grid_power": -math.inf},
        [("sensor", "percentage_charged"), ("sensor", "grid_power")],
        id="not-finite",
    ),
    pytest.param(
        "site_info",
        {"backup_reserve_percent": 10**309, "battery_count": 10**309},
        [("number", "backup_reserve"), ("sensor", "battery_count")],
        id="reserve-and-count-309-digits",
    ),
    pytest.param(
        "site_info",
        {"battery_count": 10**300, "nameplate_power": 10**30},
        [("sensor", "battery_count"), ("sensor", "nameplate_power")],
        id="integer-state-longer-than-255",
    ),
    pytest.param(
        "site_info",
        {"components.disallow_charge_from_grid_with_solar_installed": "false"},
        [("switch", "grid_charging")],
        id="grid-charging-flag-string",
    ),
    pytest.param(
        "site_info",
        {"components.disallow_charge_from_grid_with_solar_installed": 0},
        [("switch", "grid_charging")],
        id="grid-charging-flag-number",
    ),
    pytest.param(
        "site_info",
        {"version": "9" * 300},
        [("sensor", "version")],
        id="version-300-characters",
    ),
    pytest.param(
        "site_info",
        {"version": "24.44.0\x00", "user_settings.storm_mode_enabled": "on"},
        [("sensor", "version"), ("switch", "storm_watch")],
        id="nul-and-string-boolean",
    ),
]


@pytest.mark.parametrize(("endpoint", "values", "gone"), ISSUE_14)
async def test_issue_14_payloads(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    values: dict[str, Any],
    gone: list[tuple[str, str]],
) -> None:
    """The reported payloads: those entities unavailable, the rest working, then back."""
    async with _example(hass, loaded, simulator, caplog):
        simulator.override_fields(SITE_FULL, endpoint, set=values)
        await _refresh(hass, loaded, "info" if endpoint == "site_info" else "live")
        _assert_sound(hass, loaded, caplog)
        for entity in WATCHED:
            expected = entity in gone
            assert (_state(hass, entity) == STATE_UNAVAILABLE) is expected, entity
    _assert_restored(hass, loaded, caplog)
    assert _state(hass, ("switch", "grid_charging")) == "on"


@fuzz("field")
@given(case=one_bad_field())
async def test_one_bad_field_one_unavailable_entity(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    case: tuple[Field, dict[str, Any], list[str]],
) -> None:
    """A bad or missing field: its entities unavailable, every other one working."""
    target, values, removed = case
    endpoint = target.endpoint
    event(f"field: {target.path}")
    async with _example(hass, loaded, simulator, caplog):
        simulator.override_fields(SITE_FULL, endpoint, set=values, remove=removed)
        await _refresh(hass, loaded, "info" if endpoint == "site_info" else "live")
        _assert_sound(hass, loaded, caplog)
        for entity in WATCHED:
            state = _state(hass, entity)
            if entity in target.entities:
                assert state == STATE_UNAVAILABLE, (entity, values, removed)
            else:
                assert state != STATE_UNAVAILABLE, (entity, target.path)
    _assert_restored(hass, loaded, caplog)


@fuzz("garbage")
@given(overrides=garbage_overrides())
async def test_garbage_in_many_fields(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, tuple[dict[str, Any], list[str]]],
) -> None:
    """Garbage anywhere: no crash; entities reading only untouched fields keep working."""
    touched: set[tuple[str, str]] = set()
    async with _example(hass, loaded, simulator, caplog):
        for endpoint, (values, removed) in overrides.items():
            simulator.override_fields(SITE_FULL, endpoint, set=values, remove=removed)
            touched |= {(endpoint, path) for path in [*values, *removed]}
        await _refresh(hass, loaded, "info", "live")
        _assert_sound(hass, loaded, caplog)
        for entity in WATCHED:
            if not _sources(entity) & touched:
                assert _state(hass, entity) != STATE_UNAVAILABLE, (entity, overrides)
    _assert_restored(hass, loaded, caplog)


whole_answers = st.one_of(
    st.builds(lambda payload: {"json": {"response": payload}}, garbage),
    st.builds(lambda payload: {"json": payload}, garbage),
    st.builds(
        lambda body: {"body": body},
        st.binary(max_size=40)
        | st.sampled_from(
            [
                b'{"response": {"solar_power": 1\xff}}',
                b"\xc3\x28",
                b'{"response": 1e99999}',
            ]
        ),
    ),
    st.builds(
        lambda digits: {"body": '{"response": {"solar_power": 1' + "0" * digits + "}}"},
        st.integers(min_value=300, max_value=5000),
    ),
)


@fuzz("response")
@given(endpoint=st.sampled_from(["live_status", "site_info"]), answer=whole_answers)
async def test_whole_answer_replaced(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    answer: dict[str, Any],
) -> None:
    """Any body for a 200 answer: that coordinator's entities may go, the others stay."""
    async with _example(hass, loaded, simulator, caplog):
        fault = simulator.add_fault(rf"/{endpoint}$", status=200, times=None, **answer)
        await _refresh(hass, loaded, "info" if endpoint == "site_info" else "live")
        assert fault.hits
        _assert_sound(hass, loaded, caplog)
        for entity in WATCHED:
            if all(source != endpoint for source, _ in _sources(entity)):
                assert _state(hass, entity) != STATE_UNAVAILABLE, entity
    _assert_restored(hass, loaded, caplog)


def _replace(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``data`` with the item at ``path`` (into objects and lists) replaced."""
    data = copy.deepcopy(data)
    holder = data
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    return data


def _paths(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to an item of ``data`` (objects and lists), outermost first."""
    found = [path] if path else []
    items: Iterable[tuple[str | int, Any]] = ()
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    for key, value in items:
        found.extend(_paths(value, (*path, key)))
    return found


# Prices and charges too large for a float (once an OverflowError in the
# tariff reader; see test_tariff_price_too_large_for_a_float).
FUZZ_HUGE_TARIFF_NUMBERS = True
tariff_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(),
    non_finite,
    hostile_text,
    *([huge_ints] if FUZZ_HUGE_TARIFF_NUMBERS else []),
)
tariff_values = st.recursive(
    tariff_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            hostile_text | st.sampled_from(PERIOD_NAMES), children, max_size=3
        )
    ),
    max_leaves=6,
)


def _broken_tariffs(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The site's own tariff with one to three items replaced, or garbage alone.

    A number is mostly replaced by a bad number, text by hostile text.
    """
    paths = _paths(base)

    def item(path: tuple[str | int, ...]) -> Any:
        holder: Any = base
        for part in path:
            holder = holder[part]
        return holder

    def bad_for(path: tuple[str | int, ...]) -> st.SearchStrategy[Any]:
        value = item(path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            numbers = [non_finite, st.floats(), st.integers()]
            if FUZZ_HUGE_TARIFF_NUMBERS:
                numbers.append(huge_ints)
            return st.one_of(*numbers, tariff_values)
        if isinstance(value, str):
            return hostile_text | tariff_values
        return tariff_values

    def mutate(changes: list[tuple[tuple[str | int, ...], Any]]) -> Any:
        tariff = base
        for path, value in changes:
            if path in _paths(tariff):  # not under an item replaced before
                tariff = _replace(tariff, path, value)
        return tariff

    change = st.sampled_from(paths).flatmap(lambda p: st.tuples(st.just(p), bad_for(p)))
    changes = st.lists(change, min_size=1, max_size=3).map(mutate)
    return st.one_of(tariff_values, changes, changes, changes)


def _tou_sound(hass: HomeAssistant) -> None:
    """An available time-of-use sensor shows a real value."""
    period = _state(hass, ("sensor", "tou_period"))
    assert period in (STATE_UNAVAILABLE, "unknown", *PERIOD_STATES), period
    for key in ("tou_buy_price", "tou_sell_price"):
        price = _state(hass, ("sensor", key))
        if price not in (STATE_UNAVAILABLE, "unknown"):
            assert math.isfinite(float(price))


@fuzz("tariff")
@given(data=st.data())
async def test_tariff_garbage(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    """The site's tariff broken anywhere: time-of-use entities go or stay sane, nothing else."""
    base = simulator.site_info_payload(simulator.site(SITE_FULL))["tariff_content_v2"]
    tariff = data.draw(_broken_tariffs(base), label="tariff_content_v2")
    async with _example(hass, loaded, simulator, caplog):
        simulator.override_fields(
            SITE_FULL, "site_info", set={"tariff_content_v2": tariff}
        )
        await _refresh(hass, loaded, "info")
        event(f"tariff calendar: {_state(hass, ('calendar', 'tariff'))}")
        if _state(hass, ("calendar", "tariff")) != STATE_UNAVAILABLE:
            now = dt_util.utcnow()
            await hass.services.async_call(
                "calendar",
                "get_events",
                {
                    "entity_id": _entity_id(hass, ("calendar", "tariff")),
                    "start_date_time": now - timedelta(days=1),
                    "end_date_time": now + timedelta(days=7),
                },
                blocking=True,
                return_response=True,
            )
        _assert_sound(hass, loaded, caplog)
        _tou_sound(hass)
        for entity in WATCHED - set(TOU):
            assert _state(hass, entity) != STATE_UNAVAILABLE, entity
    _assert_restored(hass, loaded, caplog)


energy_values = (
    st.floats(min_value=0, max_value=5000)
    | st.integers(min_value=-10, max_value=5000)
    | huge_ints
    | non_finite
    | st.floats()
    | not_a_number
)
offsets = st.sampled_from(["Z", "+00:00", "-07:00", "+14:00", "-12:00", "+05:45", ""])
# Buckets around the simulator's start (2026-06-21), in any offset or none.
bucket_times = (
    st.builds(
        "2026-06-{:02d}T{:02d}:{:02d}:00{}".format,
        st.integers(17, 22),
        st.integers(0, 23),
        st.integers(0, 11).map(lambda n: n * 5),
        offsets,
    )
    | hostile_text
    | st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:55:00-12:00",
            "2026-02-30T00:00:00Z",
        ]
    )
    | not_a_number
)
buckets = (
    st.fixed_dictionaries(
        {"timestamp": bucket_times},
        optional=dict.fromkeys(ENERGY_FIELDS, energy_values),
    )
    | garbage
)
events = (
    st.fixed_dictionaries(
        {},
        optional={
            "timestamp": bucket_times,
            "duration": energy_values
            | st.integers(min_value=-(10**13), max_value=10**13),
        },
    )
    | garbage
)
histories = (
    st.fixed_dictionaries(
        {},
        optional={
            "period": hostile_text,
            "time_series": st.lists(buckets, max_size=6) | garbage,
            "events": st.lists(events, max_size=4) | garbage,
            "total_events": bad_numbers(0, 1_000_000) | st.integers(0, 50),
            **({"installation_time_zone": hostile_text} if FUZZ_TIME_ZONE else {}),
        },
    )
    | garbage
)


GOOD_HISTORY = {"response": {"period": "day", "time_series": [], "events": []}}


@fuzz("history")
@given(history=histories)
async def test_calendar_history_garbage(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
    history: Any,
) -> None:
    """Any energy or outage history: totals stay finite, the rest keeps working.

    Each example starts a new ledger on another day than the last (21 and 22
    June in turn), so the coordinator asks for that day's energy and then for
    the outages, and both get the payload.
    """
    site = _site(loaded)
    coordinator = site.history
    start, day = simulator.clock.now(), timedelta(days=1)
    freezer.move_to(start if dt_util.utcnow() >= start + day else start + day)
    today = dt_util.utcnow().astimezone(site_zone(site.info.latest)).date()
    coordinator.ledger = EnergyLedger(next_day=today)
    async with _example(hass, loaded, simulator, caplog):
        fault = simulator.add_fault(
            r"/calendar_history$", status=200, times=None, json={"response": history}
        )
        await _refresh(hass, loaded, "history")
        assert fault.hits
        event(f"calendar_history requests: {fault.hits}")
        _assert_sound(hass, loaded, caplog)
        totals = coordinator.ledger.totals.values()
        assert all(math.isfinite(total) for total in totals)
        for entity in WATCHED:
            assert _state(hass, entity) != STATE_UNAVAILABLE, entity
        simulator.clear_faults()
        simulator.add_fault(
            r"/calendar_history$", status=200, times=None, json=GOOD_HISTORY
        )
        await _refresh(hass, loaded, "history")
        assert coordinator.last_update_success
    _assert_restored(hass, loaded, caplog)


async def test_tariff_price_too_large_for_a_float(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A price of 10**309: the time-of-use entities unavailable, no crash."""
    base = simulator.site_info_payload(simulator.site(SITE_FULL))["tariff_content_v2"]
    tariff = _replace(base, ("energy_charges", "Summer", "rates", "ON_PEAK"), 10**309)
    async with _example(hass, loaded, simulator, caplog):
        simulator.override_fields(
            SITE_FULL, "site_info", set={"tariff_content_v2": tariff}
        )
        await _refresh(hass, loaded, "info")
        _assert_sound(hass, loaded, caplog)
        for entity in TOU:
            assert _state(hass, entity) == STATE_UNAVAILABLE, entity
    _assert_restored(hass, loaded, caplog)


@pytest.mark.parametrize("value", ["\ud800", 10**20], ids=["surrogate", "int-65-bits"])
async def test_diagnostics_of_hostile_payloads(
    hass: HomeAssistant, simulator: Simulator, loaded: MockConfigEntry, value: Any
) -> None:
    """A field nobody reads, with a value JSON cannot carry: diagnostics still download."""
    simulator.override_fields(SITE_FULL, "site_info", set={"x_unread": value})
    await _refresh(hass, loaded, "info")
    data = await async_get_config_entry_diagnostics(hass, loaded)
    assert json_bytes(data)
