"""Path patterns for config keys (``entrypoints``, ``exclude``, ``per-file-ignores``) and for the
text rules' ``FILE_PATTERNS``: ``.gitignore`` semantics, implemented by ``pathspec``.

- Patterns are matched against the POSIX path relative to the config root.
- ``*`` and ``?`` never cross ``/``; ``**`` matches any number of whole directories.
- A pattern without a ``/`` (other than a trailing one) matches a file or directory of that
  name anywhere (``migrations`` excludes every ``migrations`` folder); a leading ``/`` anchors
  it to the root (``/vendor`` is the root's ``vendor`` only, not ``lib/vendor``).
- A pattern naming a directory also matches everything below it; a trailing ``/`` matches
  directories only.
- ``!pattern`` re-includes what an earlier pattern of the same list matched; ``\\`` escapes
  (``\\!name``, ``\\*``). A list is read top to bottom; the last matching pattern decides.

A leading ``./`` is dropped, so ``./services/*/app/main.py`` means ``services/*/app/main.py``.
"""

from __future__ import annotations

from functools import lru_cache

import pathspec


def _normalise(pattern: str) -> str:
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


@lru_cache(maxsize=2048)
def compile_globs(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([_normalise(p) for p in patterns if p.strip()])


def matches(pattern: str, relpath: str) -> bool:
    return matches_any((pattern,), relpath)


def matches_any(patterns: tuple[str, ...] | list[str], relpath: str) -> bool:
    if not patterns:
        return False
    return compile_globs(tuple(patterns)).match_file(relpath)


def is_negation(pattern: str) -> bool:
    return _normalise(pattern).startswith("!")
