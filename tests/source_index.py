"""An index of a package's source for following values statically (ast).

Modules, their constants and package imports, functions and classes by name,
every node with its module and function, and how one call binds a function's
parameters. source_resolve.py builds on it; translation_usage.py uses both.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
import string


class Unresolved(Exception):
    """The scan cannot tell statically which key or placeholders are used."""


@dataclass(frozen=True)
class Placeholders:
    """Placeholder names passed at one use.

    ``exact``: the code passes exactly ``names``; otherwise ``names`` is what
    the code may pass (a dict built up over branches, or with a spread of
    something only known at run time, ``spread``).
    """

    names: frozenset[str]
    exact: bool = True
    spread: str | None = None


NONE = Placeholders(frozenset())


@dataclass
class Module:
    """One parsed source file."""

    name: str
    path: Path
    tree: ast.Module
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ctx:
    """Where an expression is evaluated: module, function and bound parameters."""

    module: Module
    function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    bindings: tuple[tuple[str, ast.expr, Ctx], ...] = ()
    # The ``**kwargs`` parameter and the keyword names one call gave it.
    extra: tuple[str, frozenset[str]] | None = None

    def bound(self, name: str) -> tuple[ast.expr, Ctx] | None:
        """The argument (and where it is evaluated) a parameter is bound to here."""
        for key, value, ctx in self.bindings:
            if key == name:
                return value, ctx
        return None


def placeholders_in(text: str) -> set[str]:
    """The ``{name}`` placeholders of a translation string."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class SourceIndex:
    """A package's modules, parsed and indexed."""

    def __init__(
        self, package_dir: Path, package: str, *, skip: tuple[str, ...] = ()
    ) -> None:
        """Parse every module under ``package_dir`` but the folders in ``skip``."""
        self.package = package
        self.modules: dict[str, Module] = {}
        paths = (
            [package_dir]
            if package_dir.is_file()
            else sorted(package_dir.rglob("*.py"))
        )
        for path in paths:
            relative = path.relative_to(
                package_dir.parent if package_dir.is_file() else package_dir
            )
            if len(relative.parts) > 1 and relative.parts[0] in skip:
                continue
            name = ".".join((package, *relative.with_suffix("").parts)).removesuffix(
                ".__init__"
            )
            self._add(Module(name, path, ast.parse(path.read_text(encoding="utf-8"))))
        self._expanding: set[tuple[int, str]] = set()
        self._all: list[tuple[ast.AST, Ctx]] = []
        self.functions: dict[
            str, list[tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef]]
        ] = {}
        self.classes: dict[str, tuple[Module, ast.ClassDef]] = {}
        self.parents: dict[ast.AST, ast.AST] = {}
        self.owner: dict[
            ast.AST, tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef | None]
        ] = {}
        for module in self.modules.values():
            self._index(module)
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                owner = self.owner.get(node)
                self._all.append((node, Ctx(module, owner[1] if owner else None)))

    # ------------------------------------------------------------ indexing

    def _add(self, module: Module) -> None:
        self.modules[module.name] = module
        package = module.name.split(".")
        if module.path.name != "__init__.py":
            package = package[:-1]
        for node in module.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    module.constants[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    module.constants[node.target.id] = node.value
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                self.package
            ):
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (
                        node.module or "",
                        alias.name,
                    )

    def _index(self, module: Module) -> None:
        def visit(
            node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None
        ) -> None:
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
                inner = function
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(child.name, []).append((module, child))
                    inner = child
                elif isinstance(child, ast.ClassDef):
                    self.classes[child.name] = (module, child)
                self.owner[child] = (module, inner)
                visit(child, inner)

        visit(module.tree, None)

    def nodes(self) -> Iterator[tuple[ast.AST, Ctx]]:
        """Every node of every module, with its module and function."""
        yield from self._all

    def where(self, ctx: Ctx, node: ast.AST) -> str:
        """file:line of a node, for messages."""
        return f"{ctx.module.path.name}:{getattr(node, 'lineno', '?')}"

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The class a node is written in."""
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.ClassDef):
                return node
        return None

    def base_names(self, name: str) -> list[str]:
        """A class and its ancestors, by name (outside classes end the chain)."""
        seen = [name]
        if name in self.classes:
            for base in self.classes[name][1].bases:
                base_name = name_of(base)
                if base_name and base_name not in seen:
                    seen.extend(self.base_names(base_name))
        return seen

    def subclasses(self, name: str) -> list[str]:
        """A package class and the package classes derived from it."""
        return [cls for cls in self.classes if name in self.base_names(cls)]

    # -------------------------------------------------------- resolving

    def lookup(self, module: Module, name: str) -> tuple[Module, ast.expr] | None:
        """A module-level constant, following package imports."""
        if name in module.constants:
            return module, module.constants[name]
        if name in module.imports:
            source, original = module.imports[name]
            if source in self.modules:
                return self.lookup(self.modules[source], original)
        return None

    def call_sites(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> list[tuple[ast.Call, Ctx]]:
        """Every call of a function (by name) in the package."""
        found = []
        for node, ctx in self.nodes():
            if isinstance(node, ast.Call) and called_name(node) == function.name:
                found.append((node, ctx))
        return found

    def bind_call(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        call: ast.Call,
        caller: Ctx,
    ) -> Ctx:
        """The function's context with its parameters bound to one call's arguments."""
        params = [*function.args.posonlyargs, *function.args.args]
        if params and params[0].arg in {"self", "cls"}:
            params = params[1:]
        defaults = dict(
            zip(
                [p.arg for p in params][len(params) - len(function.args.defaults) :],
                function.args.defaults,
                strict=True,
            )
        )
        for param, default in zip(
            function.args.kwonlyargs, function.args.kw_defaults, strict=True
        ):
            params.append(param)
            if default is not None:
                defaults[param.arg] = default
        bindings: list[tuple[str, ast.expr, Ctx]] = []
        for param, arg in zip(params, call.args, strict=False):
            bindings.append((param.arg, arg, caller))
        extra: dict[str, tuple[ast.expr, Ctx]] = {}
        names = {p.arg for p in params}
        for keyword in call.keywords:
            if keyword.arg in names:
                bindings.append((keyword.arg, keyword.value, caller))
            elif keyword.arg is not None:
                extra[keyword.arg] = (keyword.value, caller)
            else:
                raise Unresolved(f"{self.where(caller, call)}: **arguments")
        bound = {name for name, _, _ in bindings}
        for name, default in defaults.items():
            if name not in bound:
                bindings.append((name, default, Ctx(self.owner[function][0])))
        kwargs = function.args.kwarg
        return Ctx(
            self.owner[function][0],
            function,
            tuple(bindings),
            (kwargs.arg, frozenset(extra)) if kwargs is not None else None,
        )


# -------------------------------------------------------------- ast helpers


def name_of(node: ast.expr) -> str | None:
    """The name an expression (``x``, ``a.x``, ``x[...]``, ``"x"``) ends in."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return name_of(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split("[")[0].split(".")[-1]
    return None


def called_name(call: ast.Call) -> str | None:
    """The name of the called function or class."""
    return name_of(call.func)


def target_is(target: ast.expr, name: str) -> bool:
    """Whether an assignment or loop target is the plain name ``name``."""
    return isinstance(target, ast.Name) and target.id == name


def all_args(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """Positional and keyword-only parameters."""
    args = function.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def param_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameter names but ``self`` and ``cls``."""
    return {arg.arg for arg in all_args(function)} - {"self", "cls"}


def local_value(
    function: ast.FunctionDef | ast.AsyncFunctionDef, name: str
) -> ast.expr | None:
    """The value of a local assigned exactly once in ``function``."""
    values = [
        value
        for node in ast.walk(function)
        if (
            value := (
                node.value
                if isinstance(node, ast.Assign)
                and any(target_is(t, name) for t in node.targets)
                else node.value
                if isinstance(node, ast.AnnAssign) and target_is(node.target, name)
                else None
            )
        )
        is not None
    ]
    return values[0] if len(values) == 1 else None


def subscript_keys(
    function: ast.FunctionDef | ast.AsyncFunctionDef, name: str
) -> set[str]:
    """Keys set later with ``name["key"] = ...``."""
    keys = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and target_is(target.value, name)
                    and isinstance(target.slice, ast.Constant)
                ):
                    keys.add(str(target.slice.value))
    return keys


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    """The value of a keyword argument of a call."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None
