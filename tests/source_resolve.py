"""Which strings and placeholder names an expression can hold, read statically.

Follows literals, module constants (also imported ones), a function's
parameters to every call site, ``obj.field`` to the constructions of the
object's class (an ``except C as obj``: only the ``raise C(...)`` its try
body reaches), and functions' return values. What it cannot follow raises
:class:`Unresolved`.
"""

from __future__ import annotations

import ast

from .source_index import (
    NONE,
    Ctx,
    Placeholders,
    SourceIndex,
    Unresolved,
    all_args,
    called_name,
    local_value,
    name_of,
    param_names,
    subscript_keys,
    target_is,
)


class Scanner(SourceIndex):
    """A package's source, able to tell what values reach a place."""

    def strings(self, expr: ast.expr, ctx: Ctx) -> set[str]:
        """Every string ``expr`` can be, or :class:`Unresolved`."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.Constant) and expr.value is None:
            return set()
        if isinstance(expr, ast.BoolOp):
            return set().union(*(self.strings(value, ctx) for value in expr.values))
        if (
            isinstance(expr, ast.Call)
            and (called := called_name(expr)) in self.functions
        ):
            found: set[str] = set()
            for module, function in self.functions[called]:
                for node in ast.walk(function):
                    if isinstance(node, ast.Return) and node.value is not None:
                        found |= self.strings(node.value, Ctx(module, function))
            return found
        if isinstance(expr, ast.Name):
            return self._name_strings(expr, ctx)
        if isinstance(expr, ast.Attribute):
            return self._attribute_strings(expr, ctx)
        if isinstance(expr, ast.IfExp):
            return self.strings(expr.body, ctx) | self.strings(expr.orelse, ctx)
        raise Unresolved(f"{self.where(ctx, expr)}: {ast.unparse(expr)}")

    def _name_strings(self, expr: ast.Name, ctx: Ctx) -> set[str]:
        if (bound := ctx.bound(expr.id)) is not None:
            return self.strings(*bound)
        function = ctx.function
        if function is not None and expr.id in param_names(function):
            guard = (id(function), expr.id)
            if guard in self._expanding:
                return set()  # a call of the function inside itself adds nothing
            self._expanding.add(guard)
            try:
                found: set[str] = set()
                for call, caller in self.call_sites(function):
                    found |= self.strings(expr, self.bind_call(function, call, caller))
            finally:
                self._expanding.discard(guard)
            return found
        if (
            function is not None
            and (value := local_value(function, expr.id)) is not None
        ):
            return self.strings(value, ctx)
        if (constant := self.lookup(ctx.module, expr.id)) is not None:
            return self.strings(constant[1], Ctx(constant[0]))
        raise Unresolved(f"{self.where(ctx, expr)}: {expr.id}")

    def _attribute_strings(self, expr: ast.Attribute, ctx: Ctx) -> set[str]:
        found: set[str] = set()
        for value, value_ctx in self.attribute_values(expr, ctx):
            found |= self.strings(value, value_ctx)
        return found

    def object_classes(self, expr: ast.expr, ctx: Ctx) -> list[str] | None:
        """The package classes a name can hold, when the code says so."""
        if not isinstance(expr, ast.Name):
            return None
        node: ast.AST = expr
        while node in self.parents:
            node = self.parents[node]
            if isinstance(
                node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
            ):
                for generator in node.generators:
                    if target_is(generator.target, expr.id):
                        return self._iterated_classes(generator.iter, ctx)
        function = ctx.function
        if function is None:
            return None
        for node in ast.walk(function):
            if (
                isinstance(node, ast.ExceptHandler)
                and node.name == expr.id
                and node.type
            ):
                types = (
                    node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                )
                return [name for t in types if (name := name_of(t))]
            if (
                isinstance(node, ast.Assign)
                and any(target_is(t, expr.id) for t in node.targets)
                and isinstance(node.value, ast.Call)
                and (called := called_name(node.value))
            ):
                if called in self.classes:
                    return [called]
                for _, candidate in self.functions.get(called, []):
                    if candidate.returns is not None and (
                        returned := name_of(candidate.returns)
                    ):
                        return [returned]
            if isinstance(node, ast.comprehension | ast.For) and target_is(
                node.target, expr.id
            ):
                return self._iterated_classes(node.iter, ctx)
        for arg in all_args(function):
            if (
                arg.arg == expr.id
                and arg.annotation is not None
                and (annotated := name_of(arg.annotation)) in self.classes
            ):
                return [annotated]
        return None

    def _iterated_classes(self, iterable: ast.expr, ctx: Ctx) -> list[str] | None:
        if isinstance(iterable, ast.Name) and (
            constant := self.lookup(ctx.module, iterable.id)
        ):
            value = constant[1]
            if isinstance(value, ast.Tuple | ast.List):
                return sorted(
                    {
                        name
                        for item in value.elts
                        if isinstance(item, ast.Call) and (name := called_name(item))
                    }
                )
        return None

    def _handler(self, expr: ast.Name, ctx: Ctx) -> ast.ExceptHandler | None:
        if ctx.function is None:
            return None
        for node in ast.walk(ctx.function):
            if isinstance(node, ast.ExceptHandler) and node.name == expr.id:
                return node
        return None

    def raised_in(
        self, handler: ast.ExceptHandler, names: set[str]
    ) -> list[tuple[ast.Call, Ctx]]:
        """``raise C(...)`` of the classes ``names`` the handler's try body can reach.

        Follows the calls in the try body into package functions (by name),
        transitively.
        """
        body = self.parents[handler]
        assert isinstance(body, ast.Try | ast.TryStar)
        queue: list[tuple[list[ast.stmt], Ctx]] = [
            (body.body, Ctx(*self.owner[handler]))
        ]
        seen: set[int] = set()
        found: list[tuple[ast.Call, Ctx]] = []
        while queue:
            statements, ctx = queue.pop()
            for statement in statements:
                for node in ast.walk(statement):
                    if (
                        isinstance(node, ast.Raise)
                        and isinstance(node.exc, ast.Call)
                        and called_name(node.exc) in names
                    ):
                        found.append((node.exc, ctx))
                    elif isinstance(node, ast.Call) and (called := called_name(node)):
                        for module, function in self.functions.get(called, []):
                            if id(function) not in seen:
                                seen.add(id(function))
                                queue.append((function.body, Ctx(module, function)))
        return found

    def attribute_values(
        self, expr: ast.Attribute, ctx: Ctx
    ) -> list[tuple[ast.expr, Ctx]]:
        """What ``obj.field`` can hold: the field's argument at every construction.

        For an exception caught with ``except C as obj``, only the ``raise
        C(...)`` its try body can reach count.
        """
        classes = self.object_classes(expr.value, ctx)
        if not classes:
            raise Unresolved(f"{self.where(ctx, expr)}: {ast.unparse(expr)}")
        names = {sub for cls in classes for sub in self.subclasses(cls)}
        handler = (
            self._handler(expr.value, ctx) if isinstance(expr.value, ast.Name) else None
        )
        constructions: list[tuple[ast.Call, Ctx]] = []
        if handler is not None:
            constructions = self.raised_in(handler, names)
        if not constructions:
            constructions = [
                (node, node_ctx)
                for node, node_ctx in self.nodes()
                if isinstance(node, ast.Call) and called_name(node) in names
            ]
        values: list[tuple[ast.expr, Ctx]] = []
        for name in names:
            values.extend(self._class_attribute(name, expr.attr))
        for call, call_ctx in constructions:
            values.extend(
                self._constructed(called_name(call) or "", call, call_ctx, expr.attr)
            )
        if not values:
            raise Unresolved(
                f"{self.where(ctx, expr)}: no value for {ast.unparse(expr)}"
            )
        return values

    def _class_attribute(self, name: str, attr: str) -> list[tuple[ast.expr, Ctx]]:
        module, cls = self.classes[name]
        return [
            (node.value, Ctx(module))
            for node in cls.body
            if isinstance(node, ast.Assign)
            and any(target_is(t, attr) for t in node.targets)
        ]

    def _constructed(
        self, name: str, call: ast.Call, ctx: Ctx, attr: str
    ) -> list[tuple[ast.expr, Ctx]]:
        """The argument a construction binds to field ``attr`` (init parameter or dataclass field)."""
        for cls_name in self.base_names(name):
            if cls_name not in self.classes:
                continue
            module, cls = self.classes[cls_name]
            init = next(
                (
                    n
                    for n in cls.body
                    if isinstance(n, ast.FunctionDef) and n.name == "__init__"
                ),
                None,
            )
            if init is not None:
                bound = self.bind_call(init, call, ctx).bound(attr)
                return [bound] if bound is not None else []
            fields = [
                n
                for n in cls.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            ]
            if fields:
                for index, item in enumerate(fields):
                    assert isinstance(item.target, ast.Name)
                    if item.target.id != attr:
                        continue
                    for keyword in call.keywords:
                        if keyword.arg == attr:
                            return [(keyword.value, ctx)]
                    if index < len(call.args):
                        return [(call.args[index], ctx)]
                    return [(item.value, Ctx(module))] if item.value is not None else []
                return []
        return []

    def placeholders(self, expr: ast.expr | None, ctx: Ctx) -> Placeholders | None:
        """The placeholder names a dict expression holds; ``None``: unknown."""
        if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
            return NONE
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            return self.placeholders(expr.values[0], ctx)
        if isinstance(expr, ast.Dict):
            names: set[str] = set()
            exact = True
            spread = None
            for key, value in zip(expr.keys, expr.values, strict=True):
                if key is not None:
                    names |= self.strings(key, ctx)
                    continue
                inner = self.placeholders(value, ctx)
                if inner is None:
                    exact = False
                    spread = ast.unparse(value)
                    continue
                names |= inner.names
                exact = exact and inner.exact
                spread = spread or inner.spread
            return Placeholders(frozenset(names), exact, spread)
        if isinstance(expr, ast.Name):
            if ctx.extra is not None and ctx.extra[0] == expr.id:
                return Placeholders(ctx.extra[1])
            if (bound := ctx.bound(expr.id)) is not None:
                return self.placeholders(*bound)
            if (
                ctx.function is not None
                and (assigned := local_value(ctx.function, expr.id)) is not None
            ):
                found = self.placeholders(assigned, ctx)
                added = subscript_keys(ctx.function, expr.id)
                if found is None:
                    return None
                if not added:
                    return found
                return Placeholders(
                    found.names | added, exact=False, spread=found.spread
                )
            return None
        if isinstance(expr, ast.Attribute) and not (
            isinstance(expr.value, ast.Name) and expr.value.id == "self"
        ):
            try:
                values = self.attribute_values(expr, ctx)
            except Unresolved:
                return None
            union: set[str] = set()
            for value, value_ctx in values:
                inner = self.placeholders(value, value_ctx)
                if inner is None:
                    return None
                union |= inner.names
            return Placeholders(frozenset(union), exact=False)
        if isinstance(expr, ast.Call) and (called := called_name(expr)):
            returned: set[str] = set()
            exact = True
            spread = None
            candidates = self.functions.get(called, [])
            if not candidates:
                return None
            for module, function in candidates:
                inner_ctx = Ctx(module, function)
                for node in ast.walk(function):
                    if isinstance(node, ast.Return) and node.value is not None:
                        inner = self.placeholders(node.value, inner_ctx)
                        if inner is None:
                            return None
                        returned |= inner.names
                        exact = exact and inner.exact
                        spread = spread or inner.spread
            return Placeholders(frozenset(returned), exact, spread)
        return None
