"""Path patterns for config keys (``entrypoints``, ``exclude``, ``per-file-ignores``).

Semantics, chosen to be unsurprising for people who write ``.gitignore`` files:

- Patterns are matched against the POSIX path relative to the config root.
- ``*`` and ``?`` never cross ``/``; ``**`` matches any number of whole directories.
- A pattern without ``/`` matches the file or any directory by its name, anywhere
  (``migrations`` excludes every ``migrations`` folder); a trailing ``/`` is allowed.
- A pattern naming a directory also matches everything below it.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    pat = pattern.strip()
    if pat.startswith("./"):
        pat = pat[2:]
    pat = pat.rstrip("/") or pat
    body = _translate(pat.lstrip("/"))
    if "/" not in pat.strip("/"):
        # bare name: any path component, and everything below it
        return re.compile(rf"(?:^|.*/){body}(?:/.*)?$")
    return re.compile(rf"^{body}(?:/.*)?$")


def matches(pattern: str, relpath: str) -> bool:
    return compile_glob(pattern).match(relpath) is not None


def matches_any(patterns: tuple[str, ...] | list[str], relpath: str) -> bool:
    return any(compile_glob(p).match(relpath) is not None for p in patterns)
