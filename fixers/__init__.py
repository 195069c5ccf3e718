"""One codemod per fixable rule, named like the rule it fixes (``fixers/<rule module>.py``).

Each fixer module defines one :class:`somatrace.fixers.base.Fixer` subclass whose ``CODE`` is
the rule's code; :func:`fixer_for` finds it. Shared machinery: :mod:`.base` (plans),
:mod:`.transform` (all plans of a file in one transform), :mod:`.imports` (imports added once),
:mod:`.write` (atomic, byte-faithful writes), :mod:`.edits` (text edits and diffs),
:mod:`.runner` (one file), :mod:`.session` (check -> fix -> write -> re-check).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from somatrace.fixers.base import Fixer

_SHARED = frozenset(
    {
        "base",
        "transform",
        "imports",
        "write",
        "edits",
        "runner",
        "session",
        "service_name",
        "progress",
        "sarif",
    }
)


@lru_cache(maxsize=1)
def all_fixers() -> dict[str, Fixer]:
    from somatrace.fixers.base import Fixer

    found: dict[str, Fixer] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SHARED or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Fixer)
                and value.__module__ == module.__name__
                and getattr(value, "CODE", None)
            ):
                if value.CODE in found:
                    raise RuntimeError(f"two fixers share the code {value.CODE}")
                found[value.CODE] = value()
    return found


def fixer_for(code: str) -> Fixer | None:
    return all_fixers().get(code)
