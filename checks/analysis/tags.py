"""Which of the required tags are in force where a span starts or a binding is made.

somatrace and traceloop keep the tags in one context value (traceloop-sdk 0.62,
traceloop/sdk/tracing/tracing.py: ``set_association_properties`` stores the whole dict under
one context key, replacing what was there; it never merges). So, statement by statement in one
function body:

- ``with bind(...)`` adds to the tags in force until its ``with`` ends (an earlier item of the
  same ``with`` counts for later items; a later one does not count for an earlier item);
- ``@bind(...)`` on a function binds for its whole body;
- ``Traceloop.set_association_properties({...})`` replaces the tags in force until the
  enclosing ``with`` ends (its exit resets the context).

A binding in a caller, or around the *definition* of a nested function, proves nothing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from somatrace.checks.analysis.otel import (
    BIND,
    SET_ASSOCIATION_PROPERTIES,
    SPAN_METHODS,
    is_span_tags_call,
)
from somatrace.checks.analysis.values import (
    LiteralMapping,
    call_arguments_mapping,
    is_none,
    literal_mapping,
)
from somatrace.checks.lint.module import FunctionNode, Module, Scope, walk_shallow


@dataclass(frozen=True, slots=True)
class TagProof:
    """Which tags a piece of code is proven to set, and which parts of it hide their keys:
    ``opaque`` parts may hold any number of tags, each of ``unknown_keys`` at most one. Both
    hold descriptions for messages, e.g. "`**extra`"."""

    keys: frozenset[str] = frozenset()
    opaque: tuple[str, ...] = ()
    unknown_keys: tuple[str, ...] = ()

    def __or__(self, other: TagProof) -> TagProof:
        return TagProof(
            self.keys | other.keys,
            self.opaque + other.opaque,
            self.unknown_keys + other.unknown_keys,
        )

    def missing(self, required: tuple[str, ...]) -> list[str]:
        return [tag for tag in required if tag not in self.keys]

    def may_supply(self, missing: list[str]) -> bool:
        """Could the hidden parts hold every missing tag? (A key read elsewhere is one tag.)"""
        return bool(self.opaque) or len(self.unknown_keys) >= len(missing)

    def unknown_keys_note(self) -> str:
        """For a definite finding despite keys defined elsewhere: why they cannot make up."""
        if not self.unknown_keys:
            return ""
        keys = ", ".join(dict.fromkeys(self.unknown_keys))
        return f" (keys defined elsewhere, {keys}, can supply at most {len(self.unknown_keys)})"


def _quoted(module: Module, node: ast.AST) -> str:
    return f"`{module.source_of(node)}`"


def mapping_proof(module: Module, mapping: LiteralMapping, scope: Scope) -> TagProof:
    """Tags a literal mapping proves: its known keys, every tag for each ``**span_tags()``
    spread (it supplies whatever is bound at run time); other opaque parts are named."""
    keys = set(mapping.keys)
    every = False
    opaque: list[str] = []
    for part in mapping.opaque:
        inner = part.value if type(part) is ast.Starred else part  # type: ignore[attr-defined]
        if is_span_tags_call(module, inner, scope):
            every = True
        else:
            opaque.append(_quoted(module, part))
    proof = TagProof(
        frozenset(keys), tuple(opaque), tuple(_quoted(module, k) for k in mapping.unknown_keys)
    )
    return _with_every(proof) if every else proof


_EVERY = "*"  # stands for "every required tag" (span_tags() supplies whatever is configured)


def _with_every(proof: TagProof) -> TagProof:
    return TagProof(proof.keys | {_EVERY}, proof.opaque, proof.unknown_keys)


def expression_proof(module: Module, node: ast.expr, scope: Scope) -> TagProof:
    """Tags an expression used as a mapping of tags proves (``{...}``, ``dict(...)``,
    ``span_tags()``); anything else is opaque."""
    if is_span_tags_call(module, node, scope):
        return TagProof(frozenset({_EVERY}))
    mapping = literal_mapping(module, node, scope)
    if mapping is None:
        return TagProof(frozenset(), (_quoted(module, node),))
    return mapping_proof(module, mapping, scope)


def bind_call_proof(module: Module, call: ast.Call, scope: Scope) -> TagProof:
    """Tags ``somatrace.tags.bind(...)`` binds: its keyword arguments (``tenant_id=None``
    binds nothing: it keeps what the outer scope had)."""
    mapping = call_arguments_mapping(module, call, scope)
    items = tuple(item for item in mapping.items if not is_none(item[2]))
    return mapping_proof(module, LiteralMapping(items, mapping.opaque, mapping.unknown_keys), scope)


def association_call_proof(module: Module, call: ast.Call, scope: Scope) -> TagProof:
    """Tags ``Traceloop.set_association_properties(...)`` sets: its mapping argument."""
    argument: ast.expr | None = None
    if call.args and type(call.args[0]) is not ast.Starred:
        argument = call.args[0]
    else:
        for kw in call.keywords:
            if kw.arg == "properties":
                argument = kw.value
    if argument is None:
        return TagProof(frozenset(), (_quoted(module, call),))
    return expression_proof(module, argument, scope)


def complete(proof: TagProof, required: tuple[str, ...]) -> TagProof:
    """``proof`` with the every-tag marker expanded to the configured tags."""
    if _EVERY not in proof.keys:
        return proof
    return TagProof((proof.keys - {_EVERY}) | frozenset(required), proof.opaque, proof.unknown_keys)


@dataclass
class TagFlow:
    """The tags in force at each call of interest of a module, computed in one ordered pass
    over every function body (and the module body)."""

    before: dict[int, TagProof] = field(default_factory=dict)  # call id -> tags in force
    bound_by_decorators: dict[int, TagProof] = field(default_factory=dict)  # function id
    decorator_binds: dict[int, TagProof] = field(default_factory=dict)  # `@bind` call id
    association_in_body: dict[int, TagProof] = field(default_factory=dict)  # function id
    bind_siblings: dict[int, TagProof] = field(default_factory=dict)  # with-item bind id
    binds: list[tuple[ast.Call, Scope]] = field(default_factory=list)
    associations: list[tuple[ast.Call, Scope]] = field(default_factory=list)


_INTERESTING = frozenset({*SPAN_METHODS, "bind", "set_association_properties"})


def _union(proofs: list[TagProof]) -> TagProof:
    out = TagProof()
    for proof in proofs:
        out = out | proof
    return out


def _last_name(node: ast.expr) -> str | None:
    if type(node) is ast.Name:
        return node.id  # type: ignore[attr-defined]
    if type(node) is ast.Attribute:
        return node.attr  # type: ignore[attr-defined]
    return None


def tag_flow(module: Module) -> TagFlow:
    """Memoised per module: ST301, ST302 and ST203 share it."""
    cached = getattr(module, "_tag_flow", None)
    if cached is None:
        cached = _TagWalker(module).run()
        module._tag_flow = cached  # type: ignore[attr-defined]
    return cached


class _TagWalker:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.flow = TagFlow()

    def run(self) -> TagFlow:
        # Only bodies that make one of the calls of interest are walked in order.
        relevant: set[int] = set()
        for call, scope in self.module.calls:
            if _last_name(call.func) in _INTERESTING:
                function = scope.function
                relevant.add(id(function.node) if function is not None else id(self.module.tree))
        if id(self.module.tree) in relevant:
            self._body(self.module.tree.body, self.module.scope, TagProof())
        for fn, scope in self.module.functions:
            context = TagProof()
            outer = scope.parent or self.module.scope
            for decorator in fn.decorator_list:
                if type(decorator) is ast.Call and self._is(decorator, outer, BIND, "bind"):
                    proof = bind_call_proof(self.module, decorator, outer)
                    context = context | proof
            for decorator in fn.decorator_list:
                if type(decorator) is ast.Call and self._is(decorator, outer, BIND, "bind"):
                    self.flow.decorator_binds[id(decorator)] = context
            self.flow.bound_by_decorators[id(fn)] = context
            if id(fn) in relevant:
                self._body(fn.body, scope, context, fn)
        return self.flow

    def _is(self, call: ast.Call, scope: Scope, wanted: frozenset[str], last: str) -> bool:
        if _last_name(call.func) != last:
            return False
        return bool(self.module.qualified_names(call.func, scope) & wanted)

    def _body(
        self,
        body: list[ast.stmt],
        scope: Scope,
        context: TagProof,
        function: FunctionNode | None = None,
    ) -> TagProof:
        state = [context]
        for statement in body:
            self._statement(statement, scope, state, function)
        return state[0]

    def _statement(
        self,
        statement: ast.stmt,
        scope: Scope,
        state: list[TagProof],
        function: FunctionNode | None,
    ) -> None:
        kind = type(statement)
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            return  # their bodies are walked as their own functions; decorators elsewhere
        if kind in (ast.With, ast.AsyncWith):
            saved = state[0]
            items = statement.items  # type: ignore[attr-defined]
            binds = {
                id(item.context_expr): bind_call_proof(self.module, item.context_expr, scope)
                for item in items
                if type(item.context_expr) is ast.Call
                and self._is(item.context_expr, scope, BIND, "bind")
            }
            for item in items:
                expr = item.context_expr
                self._expressions(expr, scope, state, function)
                if id(expr) in binds:
                    # Nothing runs between the items of one `with`: for a binding, the other
                    # bindings of the same statement count too (a span still needs them first).
                    others = [p for key, p in binds.items() if key != id(expr)]
                    self.flow.bind_siblings[id(expr)] = _union(others)
                    state[0] = state[0] | binds[id(expr)]
            for inner in statement.body:  # type: ignore[attr-defined]
                self._statement(inner, scope, state, function)
            state[0] = saved
            return
        blocks: list[list[ast.stmt]] = []
        for name in statement._fields:
            value = getattr(statement, name, None)
            if type(value) is list and value and isinstance(value[0], ast.stmt):
                blocks.append(value)
            elif type(value) is list and value and type(value[0]) is ast.ExceptHandler:
                for handler in value:
                    blocks.append(handler.body)
            elif type(value) is list and value and type(value[0]) is ast.match_case:
                for case in value:
                    blocks.append(case.body)
            elif isinstance(value, ast.expr):
                self._expressions(value, scope, state, function)
        for block in blocks:
            for inner in block:
                self._statement(inner, scope, state, function)

    def _expressions(
        self, node: ast.AST, scope: Scope, state: list[TagProof], function: FunctionNode | None
    ) -> None:
        module = self.module
        for child in walk_shallow(node):
            if type(child) is not ast.Call:
                continue
            call: ast.Call = child  # type: ignore[assignment]
            name = _last_name(call.func)
            if name in SPAN_METHODS:
                self.flow.before[id(call)] = state[0]
            elif name == "bind" and self._is(call, scope, BIND, "bind"):
                self.flow.before[id(call)] = state[0]
                self.flow.binds.append((call, scope))
            elif (
                name == "set_association_properties"
                and module.qualified_names(call.func, scope) & SET_ASSOCIATION_PROPERTIES
            ):
                proof = association_call_proof(module, call, scope)
                self.flow.associations.append((call, scope))
                state[0] = proof
                if function is not None:
                    key = id(function)
                    previous = self.flow.association_in_body.get(key, TagProof())
                    self.flow.association_in_body[key] = previous | proof
