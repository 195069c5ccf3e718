"""One codemod per fixable rule, named like the rule it fixes (``fixers/<rule module>.py``).

Each fixer module defines one :class:`somatrace.fixers.support.base.Fixer` subclass (a LibCST
codemod, for Python rules) or :class:`somatrace.fixers.support.base.TextFixer` subclass (exact
text edits, for rules on config files) whose ``RULE`` is the rule class it fixes;
:func:`fixer_for` finds it by the rule's code. The machinery every fixer shares lives in
:mod:`somatrace.fixers.support`, so that every module directly in this package is a rule's
fixer.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from somatrace.fixers.support.base import AnyFixer


@lru_cache(maxsize=1)
def all_fixers() -> dict[str, AnyFixer]:
    from somatrace.fixers.support.base import FixerBase

    found: dict[str, AnyFixer] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, FixerBase)
                and value.__module__ == module.__name__
                and getattr(value, "RULE", None)
            ):
                code = value.RULE.CODE
                if code in found:
                    raise RuntimeError(f"two fixers fix {code}")
                found[code] = value()
    return found


def fixer_for(code: str) -> AnyFixer | None:
    return all_fixers().get(code)
