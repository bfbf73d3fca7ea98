"""The integration's shape: one room per responsibility, dependencies pointing down.

Read from the source with ``ast`` (nothing is imported): every module says what
it owns in its opening docstring, no module is over the size limit, the
package's own imports form no cycle and are not hidden inside functions, and
each layer imports only what is below it (DESIGN.md: platforms and actions →
commands → coordinators → client).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "custom_components" / "powerwall_fleet"
PACKAGE = "custom_components.powerwall_fleet"
MAX_LINES = 500

# What each room may not import (prefixes of module names inside the package).
PLATFORMS = (
    "binary_sensor",
    "button",
    "calendar",
    "number",
    "select",
    "sensor",
    "switch",
    "wall_connector",
    "tou",
)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Facts and bookkeeping: nothing above them.
    "site": ("coordinator", "commands", "actions", "overrides", "entity", *PLATFORMS),
    "energy": ("coordinator", "commands", "actions", "overrides", "entity", *PLATFORMS),
    # Coordinators poll; they know nothing of controls, actions or entities.
    "coordinator": (
        "commands",
        "actions",
        "overrides",
        "entity",
        "config_flow",
        *PLATFORMS,
    ),
    # Controls: below the entities and the actions that call them.
    "commands": ("actions", "overrides", "entity", "config_flow", *PLATFORMS),
    # Overrides: below the entities and the actions, above the controls.
    "overrides": ("actions", "config_flow", *PLATFORMS),
    "actions": ("entity", "config_flow", *PLATFORMS),
    # Platforms never reach into the actions.
    **dict.fromkeys(PLATFORMS, ("actions", "config_flow")),
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _own_imports(module: str, path: Path) -> tuple[set[str], list[str]]:
    """The package modules ``module`` imports at run time, and imports hidden in functions."""
    is_package = path.name == "__init__.py"
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    known = {name for name, _ in _modules()}
    imported: set[str] = set()
    hidden: list[str] = []

    def resolve(node: ast.ImportFrom) -> list[str]:
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
        found = []
        for alias in node.names:  # "from . import const" imports a module
            sub = f"{name}.{alias.name}" if name else alias.name
            found.append(sub if sub in known else name)
        return found

    def visit(nodes: list[ast.stmt], *, in_function: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue  # types only
            if isinstance(node, ast.ImportFrom):
                for name in resolve(node):
                    if in_function:
                        hidden.append(f"line {node.lineno} imports .{name}")
                    else:
                        imported.add(name)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    nested = in_function or isinstance(
                        node, (ast.FunctionDef, ast.AsyncFunctionDef)
                    )
                    visit([child], in_function=nested)

    visit(ast.parse(path.read_text(encoding="utf-8")).body, in_function=False)
    imported.discard(module)
    return imported, hidden


def _graph() -> dict[str, set[str]]:
    return {module: _own_imports(module, path)[0] for module, path in _modules()}


def _room(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=str)
def test_module_says_what_it_owns(module: str, path: Path) -> None:
    """Every module opens with a docstring of at least one sentence."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path.relative_to(REPO_ROOT)} has no opening docstring"
    assert len(docstring) >= 30, f"{path.relative_to(REPO_ROOT)}: {docstring!r}"


def test_no_source_file_over_the_limit() -> None:
    """One room, one job: no module over MAX_LINES lines."""
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for _, path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


def test_no_import_hidden_in_a_function() -> None:
    """Imports of the package's own modules sit at the top, not in functions to dodge a cycle."""
    hidden = {
        module: found
        for module, path in _modules()
        if (found := _own_imports(module, path)[1])
    }
    assert not hidden


def test_no_import_cycle() -> None:
    """The package's run-time imports form no cycle."""
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            # A package imports its own submodules and they import their
            # siblings through it: only cycles between rooms count.
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


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_dependencies_point_down(room: str) -> None:
    """A room imports nothing from the rooms above it."""
    graph = _graph()
    modules = [m for m in graph if _room(m) == room]
    if not modules:
        pytest.skip(f"no {room} module yet")
    wrong = {
        module: sorted(t for t in graph[module] if _room(t) in FORBIDDEN[room])
        for module in modules
    }
    assert not {module: found for module, found in wrong.items() if found}


@pytest.mark.parametrize(
    "name", ["ledger", "energy_flows", "buckets", "pricing", "outages"]
)
def test_ledger_has_no_home_assistant_import(name: str) -> None:
    """The energy ledger (and its parts) is plain Python the coordinator drives."""
    path = PACKAGE_DIR / "energy" / f"{name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [n for n in names if n.split(".")[0] == "homeassistant"]


def test_the_checks_see_cycles_and_hidden_imports(tmp_path: Path) -> None:
    """The scanner itself: a function-level import is found, a TYPE_CHECKING one is not."""
    source = tmp_path / "probe.py"
    source.write_text(
        '"""Probe."""\n'
        "from typing import TYPE_CHECKING\n"
        "from .const import DOMAIN\n"
        "if TYPE_CHECKING:\n    from .coordinator import X\n"
        "def f():\n    from .commands import y\n"
    )
    imported, hidden = _own_imports("probe", source)
    assert imported == {"const"}
    assert hidden == ["line 7 imports .commands"]
