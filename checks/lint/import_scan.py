"""Which modules a file may import, read off its bytes: a superset, with no parse.

The project join uses it to skip modules that cannot matter (ST101 asks "does any module this
entrypoint imports initialise tracing?", and a module whose imports, transitively, reach no
file that spells the init function cannot). Every ``import`` keyword is taken as the start of
an ``import a.b, c`` statement and every ``from X import`` as a from-import, wherever they are
(also in strings, comments and functions), so the names found include every name
:func:`somatrace.checks.analysis.frameworks.import_time_imports` finds from the syntax tree:
``tests/lint/test_import_scan.py`` checks that on real trees.

The workers scan a file only where a screen reads its imports (ST101's, for a file that spells
a framework's name); the engine has every other file scanned, on all cores, only when the join
will read the scans: on llm-stack, where no file spells the init function, that is never (0.46 s
of the workers' 5.5 s of CPU before).

Two limits, both far outside real code: a ``from`` clause with more than 300 characters
between ``from`` and ``import``, and an import list longer than 20,000 characters, are cut
there (the scan stays linear on hostile input). Names are decoded as UTF-8.
"""

from __future__ import annotations

import re

from somatrace.checks.lint.byte_words import (
    IDENTIFIER_BYTES,
    has_word,
    is_whole_word,
    word_positions,
)
from somatrace.checks.lint.modules import resolve_relative

_SPACE = rb"(?:[ \t\f]|\\\r?\n|\\\r)"
_WORD = rb"[A-Za-z_\x80-\xff][\w\x80-\xff]*"
_NAME = re.compile(_WORD + rb"(?:" + _SPACE + rb"*\." + _SPACE + rb"*" + _WORD + rb")*")
# What may stand between `from` and `import`: dots, a dotted name, spacing, continuations.
_FROM_CLAUSE = re.compile(rb"(?:[ \t\f.\w\x80-\xff]|\\\r?\n|\\\r)*")
_FROM_LIMIT = 300
_LIST_LIMIT = 20_000
_LEAD = re.compile(rb"(?:[ \t\f]|\\\r?\n|\\\r)*")
_LINE = re.compile(rb"(?:[^\r\n;#\\]|\\(?:\r\n|[\s\S]))*")
_COMMENT = re.compile(rb"#[^\r\n]*")
_CONTINUATION = re.compile(rb"\\\r?\n|\\\r|[ \t\f]")


def _keyword_at(data: bytes, start: int, length: int) -> bool:
    """Whether ``data[start:start + length]`` is a whole word (not part of an identifier)."""
    return is_whole_word(data, start, length, IDENTIFIER_BYTES)


def spells(data: bytes, word: bytes) -> bool:
    """Whether ``word`` occurs in ``data`` as a whole identifier: ``init_tracing`` is not
    spelled inside ``self._init_tracing`` or ``init_tracing2``."""
    return has_word(data, word, IDENTIFIER_BYTES)


def _keywords(data: bytes, word: bytes) -> list[int]:
    return list(word_positions(data, word, IDENTIFIER_BYTES))


def _names_after(data: bytes, start: int, end: int) -> list[str]:
    """The dotted names of the import list between ``start`` (just after ``import``) and
    ``end`` (the next ``import`` keyword, so that the scan stays linear): up to the closing
    parenthesis of ``(a, b)``, else to the end of the logical line."""
    lead = _LEAD.match(data, start, end)
    i = lead.end() if lead is not None else start
    if i < end and data[i] == 0x28:  # "(": the list ends at ")"
        close = data.find(b")", i, end)
        chunk = _COMMENT.sub(b"", data[i + 1 : close if close != -1 else end])
    else:
        line = _LINE.match(data, i, end)
        chunk = data[i : line.end()] if line is not None else b""
    return [_decode(m.group()) for m in _NAME.finditer(chunk)]


def _from_clause(data: bytes, keyword: int) -> str | None:
    """What stands between ``from`` and the ``import`` keyword at ``keyword`` (``..pkg``), when
    a ``from`` within ``_FROM_LIMIT`` characters before it starts a from-import."""
    low = max(0, keyword - _FROM_LIMIT)
    at = data.rfind(b"from", low, keyword)
    while at != -1 and not _keyword_at(data, at, 4):
        at = data.rfind(b"from", low, at + 3)
    if at == -1:
        return None
    clause = data[at + 4 : keyword]
    if _FROM_CLAUSE.fullmatch(clause) is None:
        return None
    return _decode(clause)


def _decode(name: bytes) -> str:
    return _CONTINUATION.sub(b"", name).decode("utf-8", "replace")


# The common statement, one per line: `import a.b as c, d` or `from .m import x as y, z`,
# then spacing and perhaps a comment. For such a line the general scan below finds exactly
# the words of the list and the dotted name after `from` (given the checks in
# `_simple_lines`), so one C-level match replaces its ~10 steps per keyword;
# `tests/lint/test_import_scan.py` checks both give the same names on real trees.
_ITEM = rb"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:[ \t]+as[ \t]+[A-Za-z_]\w*)?"
_SIMPLE = re.compile(
    rb"^[ \t]*(?:(?P<from>from)[ \t]+(?P<spec>\.*(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?)[ \t]+)?"
    rb"(?P<kw>import)[ \t]+(?P<names>" + _ITEM + rb"(?:[ \t]*,[ \t]*" + _ITEM + rb")*)"
    rb"[ \t]*(?:#[^\r\n]*)?\r?$",
    re.MULTILINE,
)


def _simple_lines(data: bytes, keywords: list[int]) -> dict[int, tuple[list[str], str | None]]:
    """Keyword offset -> (names, from clause) for the simple import lines of ``data``."""
    found: dict[int, tuple[list[str], str | None]] = {}
    for k, keyword in enumerate(keywords):
        # Tried at the keyword's line start only (a `^` searched for through the whole file
        # costs the regex engine a step per byte).
        start = data.rfind(b"\n", 0, keyword) + 1
        match = _SIMPLE.match(data, start)
        if match is None:
            continue
        begin, end = match.start("kw"), match.end()
        following = keywords[k + 1] if k + 1 < len(keywords) else len(data)
        if begin != keyword or following < end or end - begin > _LIST_LIMIT:
            continue  # another `import` in the list, or a list past the limit
        if match.start("from") == -1:
            # A continuation at the end of the previous line could join a `from` to it.
            if data.endswith(b"\\\n", 0, start) or data.endswith(b"\\\r\n", 0, start):
                continue
            spec = None
        else:
            clause = match.group("spec")
            if b"from" in clause or begin - match.start("from") > _FROM_LIMIT:
                continue  # the nearest `from` might be another one
            spec = clause.decode("ascii")
        names = match.group("names").replace(b",", b" ").decode("ascii").split()
        found[begin] = (names, spec)
    return found


def scan_imports(
    data: bytes, module_name: str | None, is_package: bool, *, simple_lines: bool = True
) -> list[str]:
    """Every module ``data`` may import (absolute dotted names, sorted): ``import a.b`` gives
    ``a.b``; ``from m import x`` gives ``m`` and ``m.x`` (``x`` may be a submodule); relative
    imports are resolved against ``module_name``. ``simple_lines=False`` takes the general
    path for every keyword (the two give the same names)."""
    out: set[str] = set()
    keywords = _keywords(data, b"import")
    simple = _simple_lines(data, keywords) if simple_lines else {}
    for k, begin in enumerate(keywords):
        known = simple.get(begin)
        if known is not None:
            names, spec = known
        else:
            after = begin + 6
            following = keywords[k + 1] if k + 1 < len(keywords) else len(data)
            names = _names_after(data, after, min(following, after + _LIST_LIMIT))
            spec = _from_clause(data, begin)
        out.update(names)
        if not spec:
            continue
        level = len(spec) - len(spec.lstrip("."))
        base = resolve_relative(spec, module_name, is_package) if level else spec
        if base is None or not all(part.isidentifier() for part in base.split(".")):
            continue
        out.add(base)
        out.update(f"{base}.{name}" for name in names if "." not in name)
    return sorted(n for n in out if n and n != "import")
