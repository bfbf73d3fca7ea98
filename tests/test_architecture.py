"""The integration's shape, read from the source with ``ast`` (nothing is imported).

Every module is placed on a layer (LAYER_OF) and imports only its own layer and
the layers below it, at run time and under ``TYPE_CHECKING`` alike; the run-time
imports form no cycle and none hides in a function; the energy bookkeeping has
no Home Assistant import. docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "custom_components" / "powerwall_fleet"
PACKAGE = "custom_components.powerwall_fleet"
THIS_FILE = "tests/test_architecture.py"

# Top first. A module imports modules of its own layer and of the layers on
# the rows below. Layers on one row sit side by side: neither imports the other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("entry",),  # __init__: sets the entry up, wires everything
    ("platforms", "actions", "flows"),  # entities, actions, config flow
    ("overrides", "prices"),  # temporary settings; price sync
    ("controls",),  # the control table: validate, send, confirm
    ("coordinators", "setup"),  # polling; config-flow helpers
    ("energy", "issues"),  # energy bookkeeping; repair issues raised/cleared
    ("site",),  # site facts
    ("base",),  # const; runtime (the entry type, see RUNTIME)
    ("client",),  # fleet/: imports nothing of the integration
)

# Every module of the package, by its path without ".py", and its layer.
LAYER_OF: dict[str, str] = {
    "__init__": "entry",
    # Entities and Home Assistant's platforms.
    "entity": "platforms",
    "binary_sensor": "platforms",
    "button": "platforms",
    "calendar": "platforms",
    "number": "platforms",
    "select": "platforms",
    "sensor": "platforms",
    "switch": "platforms",
    "tou": "platforms",
    "wall_connector": "platforms",
    "overrides/entities": "platforms",
    "diagnostics": "platforms",
    # Actions: schemas, one target resolver, responses.
    "actions/__init__": "actions",
    "actions/end": "actions",
    "actions/override": "actions",
    "actions/dispatch": "actions",
    "actions/settings": "actions",
    "actions/target": "actions",
    # What the owner sees while adding or reconfiguring an entry.
    "config_flow": "flows",
    "application_credentials": "flows",
    # Settings changed for a while, then restored.
    "overrides/__init__": "overrides",
    "overrides/engine": "overrides",
    "overrides/model": "overrides",
    "overrides/dispatch": "overrides",
    # Price sync: a price forecast pushed into the Tesla tariff.
    "prices/__init__": "prices",
    "prices/builder": "prices",
    "prices/levels": "prices",
    "prices/sync": "prices",
    "prices/entities": "platforms",
    # Reads a price entity's forecast, which the options form checks too.
    "prices/forecast": "energy",
    # The control table.
    "commands": "controls",
    "controls": "controls",
    # Polling.
    "coordinator/__init__": "coordinators",
    "coordinator/base": "coordinators",
    "coordinator/history": "coordinators",
    "coordinator/info": "coordinators",
    "coordinator/lifetime": "coordinators",
    "coordinator/live": "coordinators",
    "coordinator/sites": "coordinators",
    # Config-flow helpers: partner, account, server, OAuth, options form.
    "setup/__init__": "setup",
    "setup/account": "setup",
    "setup/oauth": "setup",
    "setup/options": "setup",
    "setup/partner": "setup",
    "setup/server": "setup",
    # Energy bookkeeping.
    "energy/__init__": "energy",
    "energy/buckets": "energy",
    "energy/dynamic_prices": "energy",
    "energy/energy_flows": "energy",
    "energy/ledger": "energy",
    "energy/lifetime": "energy",
    "energy/money": "energy",
    "energy/outages": "energy",
    "energy/pricing": "energy",
    "energy/statistics": "energy",
    # Raising and clearing repair issues (coordinators, controls and
    # overrides raise them); repairs.py holds the fix flows.
    "issues": "issues",
    "repairs": "flows",
    "site": "site",
    "const": "base",
    "runtime": "base",
    # The Fleet API client and the fleetapi tool.
    "fleet/__init__": "client",
    "fleet/__main__": "client",
    "fleet/auth": "client",
    "fleet/cli": "client",
    "fleet/cli_config": "client",
    "fleet/cli_doctor": "client",
    "fleet/cli_setup": "client",
    "fleet/client": "client",
    "fleet/errors": "client",
    "fleet/json_request": "client",
    "fleet/keys": "client",
    "fleet/models": "client",
    "fleet/partner": "client",
    "fleet/region": "client",
    "fleet/rules": "client",
    "fleet/values": "client",
    "fleet/tariff/__init__": "client",
    "fleet/tariff/convert": "client",
    "fleet/tariff/model": "client",
    "fleet/tariff/parse": "client",
    "fleet/tariff/resolve": "client",
    "fleet/tariff/validate": "client",
    "fleet/tariff/window": "client",
}
# Placed ahead of the branches that add them; an entry for any other module
# that does not exist is stale.
NOT_YET_WRITTEN = frozenset({"controls"})

# The one exception to the layers: runtime.py holds the config entry's type,
# ConfigEntry[PowerwallFleetData], which every layer needs. At run time it
# imports nothing of the package; under TYPE_CHECKING it names what the entry
# holds (client, tokens, overrides, coordinators), whatever their layer.
RUNTIME = "runtime"
RUNTIME_DATA = "PowerwallFleetData"

# energy/ is plain Python the history coordinator drives, except the two
# modules that read and write the recorder through its public API.
ENERGY_WITH_HOME_ASSISTANT = frozenset({"energy/statistics", "energy/dynamic_prices"})


@dataclass(frozen=True)
class Module:
    """One source file of the package."""

    key: str  # path inside the package without ".py": the key of LAYER_OF
    name: str  # dotted name inside the package, "" for the package itself
    path: Path

    @property
    def is_package(self) -> bool:
        """Whether the file is a package's ``__init__.py``."""
        return self.path.name == "__init__.py"


@dataclass
class Imports:
    """The package modules one module imports, by dotted name."""

    run_time: set[str]
    type_only: set[str]
    type_only_names: set[str]  # the names the type-only imports bind
    hidden: list[str]  # imports inside a function


def _modules() -> Iterator[Module]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield Module(relative.as_posix(), ".".join(parts), path)


MODULES = list(_modules())
BY_NAME = {module.name: module for module in MODULES}


def _rank(layer: str) -> int:
    return next(i for i, row in enumerate(LAYERS) if layer in row)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _own_imports(module: Module, source: str | None = None) -> Imports:
    """What ``module`` imports of the package, at run time and for types only."""
    base = module.name.split(".") if module.name else []
    if not module.is_package:
        base = base[:-1]
    found = Imports(set(), set(), set(), [])

    def resolve(node: ast.ImportFrom | ast.Import) -> list[str]:
        if isinstance(node, ast.Import):
            return [
                alias.name.removeprefix(PACKAGE).removeprefix(".")
                for alias in node.names
                if alias.name == PACKAGE or alias.name.startswith(f"{PACKAGE}.")
            ]
        if node.level:
            anchor = base[: len(base) - node.level + 1]
            target = [*anchor, *(node.module.split(".") if node.module else [])]
        elif node.module and node.module.startswith(f"{PACKAGE}."):
            target = node.module.removeprefix(f"{PACKAGE}.").split(".")
        elif node.module == PACKAGE:
            target = []
        else:
            return []
        name = ".".join(target)
        names = []
        for alias in node.names:  # "from . import const" imports a module
            sub = f"{name}.{alias.name}" if name else alias.name
            names.append(sub if sub in BY_NAME else name)
        return names

    def visit(nodes: list[ast.stmt], *, in_function: bool, type_only: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.body, in_function=in_function, type_only=True)
                visit(node.orelse, in_function=in_function, type_only=type_only)
                continue
            if isinstance(node, ast.ImportFrom | ast.Import):
                targets = resolve(node)
                if targets and in_function:
                    found.hidden.extend(
                        f"line {node.lineno} imports .{name}" for name in targets
                    )
                elif type_only:
                    found.type_only.update(targets)
                    if targets:
                        found.type_only_names.update(
                            alias.asname or alias.name for alias in node.names
                        )
                else:
                    found.run_time.update(targets)
            nested = in_function or isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef
            )
            children = [
                c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)
            ]
            visit(children, in_function=nested, type_only=type_only)

    text = source if source is not None else module.path.read_text(encoding="utf-8")
    visit(ast.parse(text).body, in_function=False, type_only=False)
    for names in (found.run_time, found.type_only):
        names.discard(module.name)
    found.type_only -= found.run_time
    return found


def _suggestion(module: Module) -> str:
    """The LAYER_OF line to add for a module that is on no layer."""
    folder = module.key.rpartition("/")[0]
    layer = LAYER_OF.get(f"{folder}/__init__") if folder else None
    if layer is None:
        rows = "; ".join(" | ".join(row) for row in LAYERS)
        return (
            f'    "{module.key}": "<layer>",\n'
            f"with <layer> one of (top first; side by side with |): {rows}"
        )
    return f'    "{module.key}": "{layer}",\n(the layer of {folder}/__init__.py)'


def test_layers_are_listed_once() -> None:
    """Every layer has one place in LAYERS, and LAYER_OF uses only those."""
    listed = [layer for row in LAYERS for layer in row]
    assert len(listed) == len(set(listed))
    unknown = {key: layer for key, layer in LAYER_OF.items() if layer not in listed}
    assert not unknown, f"layers not in LAYERS: {unknown}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.key)
def test_module_is_on_a_layer(module: Module) -> None:
    """A new module must be placed: the map holds every module of the package."""
    assert module.key in LAYER_OF, (
        f"{module.path.relative_to(REPO_ROOT)} is on no layer. "
        f"Add it to LAYER_OF in {THIS_FILE}:\n{_suggestion(module)}\n"
        "docs/architecture.md says what each layer holds."
    )


def test_layer_map_has_no_stale_entry() -> None:
    """An entry names a module that exists (or one a branch is about to add)."""
    present = {module.key for module in MODULES}
    stale = sorted(set(LAYER_OF) - present - NOT_YET_WRITTEN)
    assert not stale, f"LAYER_OF in {THIS_FILE} names modules that are gone: {stale}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.key)
def test_module_says_what_it_owns(module: Module) -> None:
    """Every module opens with a docstring of at least one sentence."""
    docstring = ast.get_docstring(ast.parse(module.path.read_text(encoding="utf-8")))
    relative = module.path.relative_to(REPO_ROOT)
    assert docstring, f"{relative} has no opening docstring"
    assert len(docstring) >= 30, f"{relative}: {docstring!r}"


def _upward(module: Module, imports: Imports) -> list[str]:
    """The imports of ``module`` that do not point down (runtime's types excepted)."""
    layer = LAYER_OF[module.key]
    checked = imports.run_time
    if module.key != RUNTIME:
        checked = checked | imports.type_only
    wrong = []
    for target in sorted(checked):
        key = BY_NAME[target].key if target in BY_NAME else target
        other = LAYER_OF.get(key)
        if other is None or other == layer:
            continue  # on no layer: test_module_is_on_a_layer says so
        if _rank(other) < _rank(layer):
            wrong.append(f"{key} ({other}, above {layer})")
        elif _rank(other) == _rank(layer):
            wrong.append(f"{key} ({other}, beside {layer})")
    return wrong


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.key)
def test_dependencies_point_down(module: Module) -> None:
    """A module imports its own layer and the layers below, for types too."""
    if module.key not in LAYER_OF:
        pytest.skip("on no layer (test_module_is_on_a_layer)")
    wrong = _upward(module, _own_imports(module))
    assert not wrong, f"{module.key} ({LAYER_OF[module.key]}) imports " + ", ".join(
        wrong
    )


def test_runtime_names_only_what_the_entry_holds() -> None:
    """runtime.py: nothing of the package at run time; for types, the data's fields."""
    module = BY_NAME[RUNTIME]
    imports = _own_imports(module)
    assert not imports.run_time, (
        f"runtime.py imports {sorted(imports.run_time)} at run time: "
        "put them under TYPE_CHECKING"
    )
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    data = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.ClassDef) and node.name == RUNTIME_DATA
        ),
        None,
    )
    assert data is not None, f"runtime.py defines no {RUNTIME_DATA}"
    held = {
        node.id
        for field in data.body
        if isinstance(field, ast.AnnAssign)
        for node in ast.walk(field.annotation)
        if isinstance(node, ast.Name)
    }
    extra = sorted(imports.type_only_names - held)
    assert not extra, f"runtime.py imports {extra}, which {RUNTIME_DATA} does not hold"


def test_no_import_hidden_in_a_function() -> None:
    """Imports of the package's own modules sit at the top, not in functions to dodge a cycle."""
    hidden = {
        module.key: found
        for module in MODULES
        if (found := _own_imports(module).hidden)
    }
    assert not hidden


def test_no_import_cycle() -> None:
    """The package's run-time imports form no cycle."""
    graph = {module.name: _own_imports(module).run_time for module in MODULES}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            # A package imports its own submodules and they import their
            # siblings through it: only cycles between packages count.
            if target.startswith(f"{module}.") or module.startswith(f"{target}."):
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert not cycles


@pytest.mark.parametrize(
    "module",
    [
        m
        for m in MODULES
        if m.key.startswith("energy/") and m.key not in ENERGY_WITH_HOME_ASSISTANT
    ],
    ids=lambda m: m.key,
)
def test_ledger_has_no_home_assistant_import(module: Module) -> None:
    """The energy ledger and its parts are plain Python the coordinator drives."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    names = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [n for n in names if n.split(".")[0] == "homeassistant"]


PROBE = '''"""Probe."""
from typing import TYPE_CHECKING
from .const import DOMAIN
import custom_components.powerwall_fleet.site
if TYPE_CHECKING:
    from .coordinator import X as Y
else:
    from .fleet import Z
def f():
    from .commands import y
'''


def test_the_scanner_sees_every_kind_of_import() -> None:
    """Run-time, absolute, type-only (its else is run time) and hidden imports."""
    imports = _own_imports(Module("probe", "probe", PACKAGE_DIR / "probe.py"), PROBE)
    assert imports.run_time == {"const", "site", "fleet"}
    assert imports.type_only == {"coordinator"}
    assert imports.type_only_names == {"Y"}
    assert imports.hidden == ["line 10 imports .commands"]


def test_the_layer_check_refuses_an_import_upwards() -> None:
    """A type-only import of a higher or a side-by-side layer fails, as a run-time one would."""
    site = BY_NAME["site"]
    source = site.path.read_text(encoding="utf-8") + (
        "if TYPE_CHECKING:\n    from .coordinator import SiteCoordinators\n"
    )
    assert _upward(site, _own_imports(site, source)) == [
        "coordinator/__init__ (coordinators, above site)"
    ]
    setup = BY_NAME["setup.server"]
    source = setup.path.read_text(encoding="utf-8") + (
        "if TYPE_CHECKING:\n    from ..coordinator.base import FleetCoordinator\n"
    )
    assert _upward(setup, _own_imports(setup, source)) == [
        "coordinator/base (coordinators, beside setup)"
    ]
    runtime = BY_NAME[RUNTIME]
    source = runtime.path.read_text(encoding="utf-8") + "from .coordinator import X\n"
    assert _upward(runtime, _own_imports(runtime, source)) == [
        "coordinator/__init__ (coordinators, above base)"
    ]


def test_a_module_on_no_layer_is_told_its_line() -> None:
    """The message names the line to add, with the folder's layer."""
    module = Module("actions/new", "actions.new", PACKAGE_DIR / "actions" / "new.py")
    assert _suggestion(module).startswith('    "actions/new": "actions",')
    root = Module("new", "new", PACKAGE_DIR / "new.py")
    assert '"new": "<layer>"' in _suggestion(root)
