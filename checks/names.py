"""Name resolution shared by rules: what does this expression refer to?

Wraps LibCST's ``QualifiedNameProvider`` and finishes its job: relative imports are made
absolute from the file's module name (LibCST #460), so ``from .tracing import init_tracing``
inside ``app/main.py`` resolves to ``app.tracing.init_tracing``.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameProvider
from somatrace.checks.modules import resolve_relative
from somatrace.checks.rule import PythonRule


def qualified_names(rule: PythonRule, node: cst.CSTNode) -> set[str]:
    """Every absolute dotted name ``node`` may refer to (empty when unknown)."""
    try:
        names = rule.get_metadata(QualifiedNameProvider, node, set())
    except KeyError:
        return set()
    out: set[str] = set()
    is_package = rule.ctx.path.name == "__init__.py"
    for qn in names:
        name = qn.name
        if name.startswith("."):
            resolved = resolve_relative(name, rule.ctx.module_name, is_package)
            if resolved:
                out.add(resolved)
        else:
            out.add(name)
    return out


def callee_names(rule: PythonRule, call: cst.Call) -> set[str]:
    return qualified_names(rule, call.func)


def matches_name(rule: PythonRule, node: cst.CSTNode, wanted: set[str] | frozenset[str]) -> bool:
    return not qualified_names(rule, node).isdisjoint(wanted)


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else ``None``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non f-) string literal, including implicit concatenation."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None
