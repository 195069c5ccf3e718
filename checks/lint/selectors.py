"""Rule selectors (``--select``, ``select = [...]``, ``# noqa: ...``): which are known.

A selector is ``ALL``, a registered code (``ST101``) or a prefix of one (``ST``, ``ST1``,
``DV2``). The known codes are the ones :mod:`~somatrace.checks.lint.codes` declares, so a
selector that names no rule (``ST999``) is caught instead of quietly selecting nothing:
Ruff's ``Unknown rule selector`` (an error for options and config, a warning for ``noqa``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from somatrace.checks.lint import codes

_CODE = re.compile(r"^(?:ST|DV)[0-9]{3}$")


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    return frozenset(v for v in vars(codes).values() if isinstance(v, str) and _CODE.match(v))


def is_ours(code: str) -> bool:
    """Whether a code is in somatrace's namespace (``ST…``, ``DV…``, ``ALL``). A ``# noqa``
    also carries other tools' codes (``# noqa: F401, ST102`` serves Ruff and somatrace): those
    are theirs to check, like the codes Ruff's ``lint.external`` lists."""
    return bool(codes.SELECTOR.match(code))


def is_known(selector: str) -> bool:
    """``ALL``, or a code / prefix of a code that exists."""
    if selector == "ALL":
        return True
    if not codes.SELECTOR.match(selector):
        return False
    return any(code.startswith(selector) for code in known_codes())


def unknown_message(selector: str) -> str:
    return f"Unknown rule selector: `{selector}`"


def check_selectors(selectors: list[str]) -> str | None:
    """The message for the first unknown selector, or ``None`` when all are known."""
    for selector in selectors:
        if not is_known(selector):
            return unknown_message(selector)
    return None
