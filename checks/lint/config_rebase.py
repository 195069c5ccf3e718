"""Moving path patterns from one config root to another (``extend`` inheritance).

A pattern is written relative to the folder of the file that holds it. When
``services/chat/pyproject.toml`` extends ``../../pyproject.toml``, the platform's
``entrypoints = ["services/*/app/main.py"]`` must keep meaning what it meant there, while the
service's own config matches paths relative to ``services/chat``. :func:`rebase` rewrites such a
pattern for the nested root: ``services/*/app/main.py`` becomes ``/app/main.py`` (anchored),
a bare name (``migrations``) stays as it is (it matches anywhere either way), and a pattern that
can match nothing below the new root is dropped.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path


def _consume(parts: list[str], rel: list[str]) -> list[list[str]]:
    """What is left of pattern ``parts`` after it matched the directories ``rel``."""
    if not rel:
        return [parts]
    if not parts:
        return [["**"]]  # the pattern named an ancestor folder: everything below matches
    head = parts[0]
    if head == "**":
        return _consume(parts[1:], rel) + _consume(parts, rel[1:])
    if fnmatch.fnmatchcase(rel[0], head):
        return _consume(parts[1:], rel[1:])
    return []


def rebase(pattern: str, rel: tuple[str, ...]) -> list[str]:
    """``pattern`` (relative to some root) as patterns relative to ``root/rel``."""
    if not rel:
        return [pattern]
    text = pattern.strip()
    while text.startswith("./"):
        text = text[2:]
    negated = text.startswith("!")
    body = text[1:] if negated else text
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    prefix = "!" if negated else ""
    if "/" not in body.lstrip("/") and not body.startswith("/"):
        # A bare name matches at any depth; if it names a folder above the new root, it
        # covers all of it.
        if any(fnmatch.fnmatchcase(part, body) for part in rel):
            return [prefix + "**"]
        return [pattern]
    parts = [p for p in body.lstrip("/").split("/") if p]
    out: list[str] = []
    for rest in _consume(parts, list(rel)):
        if not rest:
            continue  # matched the new root itself: a folder pattern covering everything
        rebased = "/" + "/".join(rest) + ("/" if dir_only and rest != ["**"] else "")
        if rest == ["**"]:
            rebased = "**"
        if prefix + rebased not in out:
            out.append(prefix + rebased)
    return out


def relative_parts(root: Path, base_root: Path) -> tuple[str, ...] | None:
    """``root`` relative to ``base_root`` as folder names; ``None`` when it is not below it."""
    try:
        rel = Path(os.path.abspath(root)).relative_to(Path(os.path.abspath(base_root)))
    except ValueError:
        return None
    return tuple(p for p in rel.parts if p not in ("", "."))


def rebase_list(patterns: list[str], rel: tuple[str, ...] | None) -> list[str]:
    if rel is None:  # a sibling's config: only its unanchored patterns still mean something
        return [p for p in patterns if "/" not in p.strip().strip("/")]
    out: list[str] = []
    for pattern in patterns:
        out.extend(p for p in rebase(pattern, rel) if p not in out)
    return out


def rebase_table(table: dict[str, list[str]], rel: tuple[str, ...] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for glob, values in table.items():
        for new in rebase_list([glob], rel):
            merged = out.setdefault(new, [])
            merged.extend(v for v in values if v not in merged)
    return out
