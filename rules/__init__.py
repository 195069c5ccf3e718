"""One module per lint rule; each rule class documents itself and carries VALID/INVALID samples.

This package is also the catalogue: :func:`all_rules` finds every rule class defined in the
modules beside this one, and every other layer (the engine, reporters, fixers, the command
line) asks it instead of listing codes itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from somatrace.checks.lint.rule import PythonRule, Rule, TextRule


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and getattr(value, "CODE", None)
            ):
                if value.CODE in found:
                    raise RuntimeError(f"two rules share the code {value.CODE}")
                found[value.CODE] = value
    # The gate's rules first (ST), then deploy validation's (DV): the order `rules` lists them.
    return tuple(found[code] for code in sorted(found, key=lambda c: (not c.startswith("ST"), c)))


def rule_by_code(code: str) -> type[Rule] | None:
    wanted = code.strip().upper()
    for rule in all_rules():
        if wanted == rule.CODE or code.strip().lower() == rule.NAME:
            return rule
    return None


def python_rules() -> tuple[type[PythonRule], ...]:
    return tuple(r for r in all_rules() if issubclass(r, PythonRule))


def text_rules() -> tuple[type[TextRule], ...]:
    return tuple(r for r in all_rules() if issubclass(r, TextRule))
