"""Where the integration's code uses translation keys, read from its source with ast.

tests/test_translations.py compares what this finds with translations/en.json.
Nothing here is a hand-kept list of our keys: every key comes from the code.

A use is a path into en.json (``("config", "abort", "no_sites")``) with the
placeholders the code passes there. Keys are followed through the ways this
code base hands them on:

- literals: ``translation_key="x"``, ``reason="x"``, ``step_id="x"``,
  ``errors[...] = "x"``;
- a parameter: every call site of the function gives one use, with its own
  arguments (``validation_error("no_battery", site=...)``, ``_power("solar_power")``);
- an attribute of an object whose class is known (``except PartnerSetupError
  as err: ... err.reason``; ``failure = sign_in_failure(err)`` annotated to
  return ``SignInFailure``; ``for flow in FLOWS: flow.key``): every
  construction of that class (and its subclasses) in the package, with the
  argument bound to that field;
- module constants, also imported ones (``SERVICE_REFRESH``);
- repair issues: each row of the issue table (a construction of a class with
  an ``is_fixable`` field, ``issues.py``) is one use, with the placeholders
  and fixability it declares; the generic ``async_create_issue`` that raises
  a row's ``translation_key`` adds none of its own.

What cannot be followed raises :class:`Unresolved`, so a new way of passing a
key makes the test fail instead of silently checking less.

Framework behaviour that is not in our source is taken from Home Assistant
itself: the OAuth2 flow handler's source is scanned like ours, and the default
``reason`` of ConfigFlow helpers is read from their signatures.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
import inspect
import re

from .source_index import (
    NONE,
    Ctx,
    Placeholders,
    Unresolved,
    called_name,
    keyword_value,
    param_names,
)
from .source_resolve import Scanner

FLOW_KINDS = {
    "ConfigFlow": "config",
    "AbstractOAuth2FlowHandler": "config",
    "OptionsFlow": "options",
    "OptionsFlowWithReload": "options",
    "RepairsFlow": "repairs",
}
SHOW_STEP = {
    "async_show_form",
    "async_show_menu",
    "async_show_progress",
    "async_external_step",
}


@dataclass(frozen=True)
class Use:
    """One use of a translation key by the code."""

    path: tuple[str, ...]
    placeholders: Placeholders | None
    where: str
    framework: bool = False
    function: str = ""
    fixable: bool = False
    # The class the use is written in (a flow's steps and aborts).
    cls: str = ""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ------------------------------------------------------------------ the scan


def _uses_param(expr: ast.expr | None, ctx: Ctx) -> bool:
    if expr is None or ctx.function is None:
        return False
    params = param_names(ctx.function)
    if ctx.function.args.kwarg is not None:
        params.add(ctx.function.args.kwarg.arg)
    return any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(expr))


def _variants(scanner: Scanner, ctx: Ctx, *exprs: ast.expr | None) -> list[Ctx]:
    """One context per call site when the use depends on its function's parameters."""
    if ctx.function is not None and any(_uses_param(e, ctx) for e in exprs):
        return [
            scanner.bind_call(ctx.function, call, caller)
            for call, caller in scanner.call_sites(ctx.function)
        ]
    return [ctx]


def flow_kind(scanner: Scanner, cls: ast.ClassDef | None) -> str | None:
    """config, options or repairs: which flow a class is (through its bases)."""
    if cls is None:
        return None
    for name in scanner.base_names(cls.name):
        if name in FLOW_KINDS:
            return FLOW_KINDS[name]
    return None


def is_issue_row(scanner: Scanner, class_name: str) -> bool:
    """Whether a package class describes a repair issue (it has an ``is_fixable`` field)."""
    if class_name not in scanner.classes:
        return False
    return any(
        isinstance(item, ast.AnnAssign)
        and isinstance(item.target, ast.Name)
        and item.target.id == "is_fixable"
        for item in scanner.classes[class_name][1].body
    )


def _issue_row_use(scanner: Scanner, call: ast.Call, ctx: Ctx) -> Use:
    """The use one row of the issue table declares."""
    key = keyword_value(call, "translation_key")
    fixable = keyword_value(call, "is_fixable")
    names = keyword_value(call, "placeholders")
    if key is None or not isinstance(names, ast.Tuple):
        raise Unresolved(f"{scanner.where(ctx, call)}: an issue row without its texts")
    (value,) = scanner.strings(key, ctx)
    declared = frozenset().union(*(scanner.strings(name, ctx) for name in names.elts))
    return Use(
        ("issues", value),
        Placeholders(declared),
        scanner.where(ctx, call),
        fixable=isinstance(fixable, ast.Constant) and fixable.value is True,
    )


def entity_platform(scanner: Scanner, class_name: str) -> str | None:
    """The platform of an entity description class (SensorEntityDescription: sensor)."""
    for name in scanner.base_names(class_name):
        if name.endswith("EntityDescription") and name not in scanner.classes:
            return _snake(name.removesuffix("EntityDescription"))
    return None


def scan(scanner: Scanner, *, framework: bool = False) -> list[Use]:
    """Every translation key the scanned code uses."""
    uses: list[Use] = []

    def add(
        path: tuple[str, ...], ph: Placeholders | None, ctx: Ctx, node: ast.AST
    ) -> None:
        cls = scanner.enclosing_class(node)
        uses.append(
            Use(
                path,
                ph,
                scanner.where(ctx, node),
                framework,
                ctx.function.name if ctx.function else "",
                cls=cls.name if cls else "",
            )
        )

    for node, ctx in scanner.nodes():
        if isinstance(node, ast.Call):
            called = called_name(node) or ""
            kind = flow_kind(scanner, scanner.enclosing_class(node))
            key = keyword_value(node, "translation_key")
            if key is not None:
                if keyword_value(node, "translation_domain") is not None:
                    section: tuple[str, ...] = ("exceptions",)
                    ph_expr = keyword_value(node, "translation_placeholders")
                elif called == "async_create_issue":
                    if isinstance(key, ast.Attribute) and any(
                        is_issue_row(scanner, cls)
                        for cls in scanner.object_classes(key.value, ctx) or ()
                    ):
                        continue  # raises a row of the table: the row is the use
                    section = ("issues",)
                    ph_expr = keyword_value(node, "translation_placeholders")
                elif called.endswith("SelectorConfig"):
                    section = ("selector",)
                    ph_expr = None
                elif platform := entity_platform(scanner, called):
                    section = ("entity", platform)
                    ph_expr = keyword_value(node, "translation_placeholders")
                elif is_issue_row(scanner, called):
                    uses.append(_issue_row_use(scanner, node, ctx))
                    continue
                else:
                    raise Unresolved(
                        f"{scanner.where(ctx, node)}: translation_key in {called}()"
                    )
                for variant in _variants(scanner, ctx, key, ph_expr):
                    ph = scanner.placeholders(ph_expr, variant)
                    for value in scanner.strings(key, variant):
                        if section == ("issues",):
                            fixable = keyword_value(node, "is_fixable")
                            fix = (
                                isinstance(fixable, ast.Constant)
                                and fixable.value is True
                            )
                            uses.append(
                                Use(
                                    ("issues", value),
                                    ph,
                                    scanner.where(ctx, node),
                                    framework,
                                    fixable=fix,
                                )
                            )
                        else:
                            add((*section, value), ph, ctx, node)
                continue
            if kind is None:
                continue
            reason = keyword_value(node, "reason")
            if called in SHOW_STEP:
                step = keyword_value(node, "step_id")
                if step is None:
                    raise Unresolved(
                        f"{scanner.where(ctx, node)}: {called} without step_id"
                    )
                ph_expr = keyword_value(node, "description_placeholders")
                for variant in _variants(scanner, ctx, step, ph_expr):
                    ph = scanner.placeholders(ph_expr, variant)
                    for value in scanner.strings(step, variant):
                        add((kind, "step", value), ph, ctx, node)
            elif reason is not None or called == "async_abort":
                if reason is None:
                    raise Unresolved(
                        f"{scanner.where(ctx, node)}: async_abort without reason"
                    )
                ph_expr = keyword_value(node, "description_placeholders")
                for variant in _variants(scanner, ctx, reason, ph_expr):
                    ph = scanner.placeholders(ph_expr, variant)
                    for value in scanner.strings(reason, variant):
                        add((kind, "abort", value), ph, ctx, node)
        elif isinstance(node, ast.Assign) and ctx.function is not None:
            cls = scanner.enclosing_class(node)
            kind = flow_kind(scanner, cls)
            for target in node.targets:
                if (
                    kind is not None
                    and isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                ):
                    for value in scanner.strings(node.value, ctx):
                        add((kind, "error", value), None, ctx, node)
        elif (
            isinstance(node, ast.AsyncFunctionDef)
            and node.name == "async_get_description_placeholders"
            and ctx.module.path.name == "application_credentials.py"
        ):
            # Home Assistant's hook for the credentials dialog's description.
            returns = [
                n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value
            ]
            for returned in returns:
                inner = Ctx(ctx.module, node)
                add(
                    ("application_credentials", "description"),
                    scanner.placeholders(returned, inner),
                    inner,
                    node,
                )
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "_attr_translation_key"
                    for t in item.targets
                ):
                    raise Unresolved(
                        f"{scanner.where(ctx, item)}: _attr_translation_key (teach the scan its platform)"
                    )
    return uses


def framework_defaults(flow_base: type, scanner: Scanner) -> list[Use]:
    """Abort reasons ConfigFlow helpers use by default when our flow calls them bare."""
    uses: list[Use] = []
    for node, ctx in scanner.nodes():
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if flow_kind(scanner, scanner.enclosing_class(node)) != "config":
            continue
        method = getattr(flow_base, node.func.attr, None)
        if method is None:
            continue
        try:
            parameters = inspect.signature(method).parameters
        except TypeError, ValueError:
            continue
        # _abort_if_unique_id_configured calls its reason ``error``.
        parameter = parameters.get("reason") or parameters.get("error")
        if parameter is None or parameter.default is inspect.Parameter.empty:
            continue
        if keyword_value(node, parameter.name) is not None:
            continue
        if isinstance(parameter.default, str):
            reasons = {parameter.default}
        else:
            # async_update_reload_and_abort: the reason follows the flow's source.
            cls = scanner.enclosing_class(node)
            assert cls is not None
            methods = {
                n.name
                for name in scanner.base_names(cls.name)
                if name in scanner.classes
                for n in scanner.classes[name][1].body
                if isinstance(n, ast.AsyncFunctionDef)
            }
            reasons = {
                f"{source}_successful"
                for source in ("reauth", "reconfigure")
                if f"async_step_{source}" in methods
            }
        uses.extend(
            Use(("config", "abort", reason), NONE, scanner.where(ctx, node), True)
            for reason in reasons
        )
    return uses
