"""What literal values code spells out: strings, numbers, truth values, mappings, and the module
constants they may come through (``KEY = "TRACE_CONTENT"; os.environ[KEY] = ON``).

A module-level name is a constant when a plain statement binds it exactly once at module level
(not in ``if``/``try``/loops, never rebound, augmented or deleted) and no function declares it
``global``: then its value is known everywhere the name resolves to that binding.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from somatrace.checks.lint.module import Module, Scope
from somatrace.policy import TRUE_VALUES

_MAX_HOPS = 8


def module_constants(module: Module) -> dict[str, ast.expr]:
    """Names bound exactly once, by a plain statement at module level, mapped to their value."""
    cached = getattr(module, "_constants", None)
    if cached is not None:
        return cached
    top_level = {id(statement) for statement in module.tree.body}
    constants: dict[str, ast.expr] = {}
    for name, bindings in module.scope.bindings.items():
        if len(bindings) != 1:
            continue
        binding = bindings[0]
        if binding.kind != "assign" or binding.value is None or id(binding.node) not in top_level:
            continue
        if type(binding.node) is ast.Assign and len(binding.node.targets) != 1:  # type: ignore[attr-defined]
            continue
        constants[name] = binding.value
    module._constants = constants  # type: ignore[attr-defined]
    return constants


def resolve_constant(module: Module, node: ast.expr, scope: Scope) -> ast.expr:
    """``node``, or the value of the module constant it names (followed through further
    constants); a local or parameter that shadows the constant is not followed."""
    constants = module_constants(module)
    for _ in range(_MAX_HOPS):
        if type(node) is not ast.Name or node.id not in constants:  # type: ignore[attr-defined]
            return node
        found = scope.lookup(node.id)  # type: ignore[attr-defined]
        if found is None or found[0] is not module.scope:
            return node
        node = constants[node.id]  # type: ignore[attr-defined]
        scope = module.scope
    return node


def string_value(node: ast.expr | None) -> str | None:
    """The value of a plain string literal (implicit concatenation included; not f-strings)."""
    if type(node) is ast.Constant and type(node.value) is str:  # type: ignore[union-attr]
        return node.value  # type: ignore[union-attr]
    return None


def constant_string(module: Module, node: ast.expr | None, scope: Scope) -> str | None:
    """The string ``node`` stands for, literally or through module constants."""
    if node is None:
        return None
    return string_value(resolve_constant(module, node, scope))


def fstring_literal_parts(node: ast.expr) -> list[str] | None:
    """The literal text pieces of an f-string (``f"gen_ai.prompt.{i}.content"`` ->
    ``["gen_ai.prompt.", ".content"]``), or ``None`` when ``node`` is not one."""
    if type(node) is not ast.JoinedStr:
        return None
    return [
        part.value
        for part in node.values  # type: ignore[attr-defined]
        if type(part) is ast.Constant and type(part.value) is str
    ]


def fstring_display(node: ast.JoinedStr) -> str:
    """An f-string as its author reads it, without the quotes: ``gen_ai.prompt.{i}.content``
    (each replacement field as its expression; conversions and format specs left out)."""
    return "".join(
        part.value
        if type(part) is ast.Constant and type(part.value) is str
        else "{" + ast.unparse(part.value) + "}"  # type: ignore[attr-defined]
        for part in node.values
    )


def is_none(node: ast.expr | None) -> bool:
    return type(node) is ast.Constant and node.value is None  # type: ignore[union-attr]


def is_truthy(module: Module, node: ast.expr, scope: Scope) -> bool:
    """``True``, a non-zero integer, or a string that environment parsers read as true."""
    value = resolve_constant(module, node, scope)
    if type(value) is ast.Constant:
        literal = value.value  # type: ignore[attr-defined]
        if literal is True:
            return True
        if type(literal) is int:
            return literal != 0
        if type(literal) is str:
            return literal.strip().lower() in TRUE_VALUES
    return False


def number_value(module: Module, node: ast.expr, scope: Scope) -> Decimal | None:
    """A literal number (``0.1``, ``-1``, ``1e-2``) or a numeric string, as a ``Decimal``
    (read from its source text, so ``0.1`` is exactly one tenth)."""
    value = resolve_constant(module, node, scope)
    negative = False
    if type(value) is ast.UnaryOp and type(value.op) in (ast.USub, ast.UAdd):  # type: ignore[attr-defined]
        negative = type(value.op) is ast.USub  # type: ignore[attr-defined]
        value = value.operand  # type: ignore[attr-defined]
    if type(value) is not ast.Constant:
        return None
    literal = value.value  # type: ignore[attr-defined]
    if type(literal) is str:
        raw = literal.strip()
    elif type(literal) is int:
        raw = str(literal)
    elif type(literal) is float:
        raw = _numeric_source(module, value) or repr(literal)
    else:
        return None
    try:
        number = Decimal(raw.replace("_", ""))
    except InvalidOperation:
        return None
    if number.is_nan():
        return None
    return -number if negative else number


def _numeric_source(module: Module, node: ast.expr) -> str | None:
    segment = ast.get_source_segment(module.text, node)
    return segment.strip() if segment else None


# --- mappings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiteralMapping:
    """What can be read from a mapping written in the code (``{...}``, ``dict(...)``, keyword
    arguments): keys whose names are known, with their key and value nodes; parts that may hold
    any number of unknown keys (``**spread``, a positional mapping of unknown content); and
    keys whose name cannot be read here (``{SpanAttributes.LLM_SYSTEM: ...}``), each still
    exactly one key. Each item carries the scope its value is evaluated in (a mapping read
    through a module constant is evaluated at module level)."""

    items: tuple[tuple[str, ast.AST, ast.expr, Scope], ...] = ()  # key, its node, value, scope
    opaque: tuple[ast.expr, ...] = ()
    unknown_keys: tuple[ast.expr, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(item[0] for item in self.items)

    def __add__(self, other: LiteralMapping) -> LiteralMapping:
        return LiteralMapping(
            self.items + other.items,
            self.opaque + other.opaque,
            self.unknown_keys + other.unknown_keys,
        )


def literal_mapping(module: Module, node: ast.expr, scope: Scope) -> LiteralMapping | None:
    """Read a dict display or a ``dict(...)`` call (directly or through a module constant);
    ``None`` when ``node`` is not a mapping written in the code."""
    resolved = resolve_constant(module, node, scope)
    if resolved is not node:
        scope = module.scope
    if type(resolved) is ast.Dict:
        result = LiteralMapping()
        for key, value in zip(resolved.keys, resolved.values, strict=True):  # type: ignore[attr-defined]
            if key is None:  # `**spread`
                inner = literal_mapping(module, value, scope)
                result = result + (inner or LiteralMapping(opaque=(value,)))
                continue
            name = constant_string(module, key, scope)
            if name is None:
                result = result + LiteralMapping(unknown_keys=(key,))
            else:
                result = result + LiteralMapping(items=((name, key, value, scope),))
        return result
    if type(resolved) is ast.Call and "builtins.dict" in module.qualified_names(
        resolved.func,  # type: ignore[attr-defined]
        scope,
    ):
        return call_arguments_mapping(module, resolved, scope)  # type: ignore[arg-type]
    return None


def call_arguments_mapping(module: Module, call: ast.Call, scope: Scope) -> LiteralMapping:
    """A call's arguments read as one mapping, as ``dict(...)`` builds it: keyword arguments by
    name, ``**spread`` and positional mappings by their content."""
    result = LiteralMapping()
    for arg in call.args:
        if type(arg) is ast.Starred:
            result = result + LiteralMapping(opaque=(arg,))
            continue
        inner = literal_mapping(module, arg, scope)
        result = result + (inner if inner is not None else LiteralMapping(opaque=(arg,)))
    for kw in call.keywords:
        if kw.arg is not None:
            result = result + LiteralMapping(items=((kw.arg, kw, kw.value, scope),))
        else:
            inner = literal_mapping(module, kw.value, scope)
            result = result + (inner if inner is not None else LiteralMapping(opaque=(kw.value,)))
    return result
