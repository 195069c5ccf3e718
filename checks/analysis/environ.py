"""Environment variables set in code: ``os.environ[K] = v``, ``os.environ |= {...}``,
``os.environ.setdefault(K, v)``, ``os.environ.update(...)`` and ``os.putenv(K, v)``, with ``os`` or
``environ`` under any alias and names and values through module constants.

Shared by ST201 (content switches), ST401 (credentials) and ST402 (sampling). Reading a variable
sets nothing; a project's own dict called ``environ`` is not the process environment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from somatrace.checks.analysis.values import (
    call_arguments_mapping,
    constant_string,
    literal_mapping,
)
from somatrace.checks.lint.module import Module, Scope, argument

OS_ENVIRON = frozenset({"os.environ"})
_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
_UPDATE = frozenset({"os.environ.update"})
_TRIGGER_NAMES = frozenset({"setdefault", "putenv", "update"})
# What a file that writes the environment spells: every write goes through `os.environ` or
# `os.putenv`, whose last name is in the file (in its import under an alias, `from os import
# environ as env`, or in a binding, `env = os.environ`).
_WRITE_WORDS = (b"environ", b"putenv")


def may_write_environ(source: bytes) -> bool:
    """Whether the file's bytes could hold a write :func:`environ_writes` finds (a screen)."""
    return any(word in source for word in _WRITE_WORDS)


@dataclass(frozen=True, slots=True)
class EnvWrite:
    name: str  # the variable
    value: ast.expr  # the expression assigned (reported at)
    scope: Scope


def environ_writes(module: Module) -> list[EnvWrite]:
    """Every write of a variable whose name the code spells out, in source order."""
    cached = getattr(module, "_environ_writes", None)
    if cached is None:
        cached = sorted(_writes(module), key=lambda w: (w.value.lineno, w.value.col_offset))
        module._environ_writes = cached  # type: ignore[attr-defined]
    return cached


def _writes(module: Module) -> Iterator[EnvWrite]:
    for node, scope in module.assignments:
        if type(node) is ast.Assign:
            for target in node.targets:
                if (
                    type(target) is ast.Subscript
                    and module.qualified_names(target.value, scope) & OS_ENVIRON
                ):
                    name = constant_string(module, target.slice, scope)
                    if name is not None:
                        yield EnvWrite(name, node.value, scope)
        elif type(node) is ast.AugAssign and type(node.op) is ast.BitOr:
            if module.qualified_names(node.target, scope) & OS_ENVIRON:  # type: ignore[arg-type]
                mapping = literal_mapping(module, node.value, scope)
                if mapping is not None:
                    for key, _key_node, value, value_scope in mapping.items:
                        yield EnvWrite(key, value, value_scope)
    for call, scope in module.calls:
        func = call.func
        last = func.attr if type(func) is ast.Attribute else getattr(func, "id", None)
        if last not in _TRIGGER_NAMES:
            continue
        names = module.qualified_names(func, scope)
        if names & _SETTERS:
            key = argument(call, 0, "key")
            value = argument(call, 1, "default") or argument(call, 1, "value")
            name = constant_string(module, key, scope)
            if name is not None and value is not None:
                yield EnvWrite(name, value, scope)
        elif names & _UPDATE:
            for key, _key_node, value, value_scope in call_arguments_mapping(
                module, call, scope
            ).items:
                yield EnvWrite(key, value, value_scope)
