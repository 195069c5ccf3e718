"""The bounds that keep one hostile file from costing more than a file should: each is written
once here and enforced wherever files are read (``docs/security.md``, "Bounds").

Nesting. CPython's parser and LibCST's are recursive: 1,400 nested parentheses crash LibCST's
native parser (a segmentation fault, measured on Python 3.11 / LibCST 1.x), a 100,000-term
``a + a + ...`` makes CPython raise ``RecursionError`` and LibCST spin for minutes. So before a
file is parsed, :func:`nesting_depth` estimates how deep its syntax tree goes with one linear
scan of the text (brackets, operator chains, indented blocks, f-string replacement fields; text
in strings and comments does not count) and a file deeper than :data:`MAX_NESTING` is reported
ST900 "nested too deeply to analyse" instead of parsed. The limit is well below every crash and
every ``RecursionError`` of both parsers (``tests/hostile/test_nesting.py`` proves a file just
under it is checked and fixed normally).

Size. ``max-file-size`` (:data:`DEFAULT_MAX_FILE_SIZE`, configurable) applies to every file the
gate reads: Python, YAML, TOML, ``.env``, Dockerfile, JSON, and buffers from stdin or an editor.

YAML. :mod:`.yaml_bounds` composes documents under :data:`YAML_LIMITS`: documents per file,
nodes, nesting, and nodes reached through aliases and ``<<`` merges (the "billion laughs" and
merge-key bombs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# How deep a syntax tree may go (the estimate of :func:`nesting_depth`). CPython itself refuses
# more than 200 nested brackets and 100 indented blocks; LibCST raises RecursionError past about
# 450 nested operators and crashes past 1,350 nested brackets.
MAX_NESTING = 200
NESTED_TOO_DEEPLY = "nested too deeply to analyse"
# Replacement fields in one f-string: CPython 3.11 parses an f-string's fields in time quadratic
# in their number (20,000 `{b}` take 1.3 s, 200,000 over a minute); real f-strings hold a few.
MAX_FSTRING_FIELDS = 2_000
FSTRING_TOO_LARGE = f"an f-string with more than {MAX_FSTRING_FIELDS} replacement fields"

# Bytes. Generated files (vendored bundles, data dumps, lock files) are the only files this big;
# other linters skip them too. Configurable as `max-file-size`.
DEFAULT_MAX_FILE_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class YamlLimits:
    documents: int = 1_000  # documents in one file (`---` separated)
    nodes: int = 200_000  # nodes composed in one file, all documents together
    depth: int = 200  # nested collections
    expanded: int = 100_000  # nodes reached through aliases and `<<` merges, counted each time


YAML_LIMITS = YamlLimits()


class TooComplex(Exception):
    """A file past one of the bounds; the message says which (the ST900 / DV001 reason)."""


# One token of interest per match: a comment, a string opening (with its prefix), a number, a
# word (identifier or keyword), a bracket, a run of operator characters, a separator, a line
# continuation, or a newline. Everything else (spaces) is skipped by ``search``.
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>(?:[rRbBuUfF]{1,2})?(?:'''|\"\"\"|'|"))
  | (?P<number>\.?[0-9](?:[eE][+-]|[\w.])*)
  | (?P<word>\w+)
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<op>[-+*/%@&|^~<>!=.:]+)
  | (?P<sep>[,;])
  | (?P<cont>\\\r?\n)
  | (?P<newline>\r?\n|\r)
    """,
    re.VERBOSE,
)
# The rest of a string after its opening quote(s), up to and including the closing one; each
# is an unrolled loop (no two ways to match one character), so a match or a failure is linear.
_STRING_BODY = {
    "'": re.compile(r"[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'"),
    '"': re.compile(r'[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'),
    "'''": re.compile(r"[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"),
    '"""': re.compile(r'[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'),
}
_OPERATOR_WORDS = frozenset({"and", "or", "not", "if", "else", "lambda", "await", "in", "is"})
_ASSIGN = re.compile(r"(?:[-+*/%@&|^]|//|\*\*|>>|<<)?=")
_INDENT = re.compile(r"[ \t\f]*")
_FSTRING_BRACKETS = re.compile(r"\{\{|\}\}|[(\[{]|[)\]}]")


def nesting_depth(text: str, limit: int = MAX_NESTING) -> int:
    """An estimate of how deep ``text``'s syntax tree goes, in one pass; it stops as soon as
    the estimate passes ``limit`` (and returns that figure), so its cost is linear in the text.

    Each open bracket, each operator in a chain (``a + b + c``, ``a.b.c``, ``f()()``, ``not
    not x``, ``x if c else y``, ``lambda: lambda: 1``, ``"a" "b"``), each indented block and
    each bracket of an f-string's replacement fields adds one; a separator (``,`` ``;`` an
    assignment, the end of a statement) ends a chain. Raises :class:`TooComplex` for an
    f-string of more than :data:`MAX_FSTRING_FIELDS` fields."""
    runs = [0]  # the operator chain at each open bracket level (0: outside brackets)
    total = 0  # sum(runs): the estimated depth of the expression at this point
    deepest = 0
    indents = [0]  # widths of the open indented blocks
    at_line_start = True
    after_string = False
    position = 0
    length = len(text)
    finder = _TOKEN.search
    while position < length:
        if at_line_start:
            at_line_start = False
            width = _INDENT.match(text, position).end() - position  # type: ignore[union-attr]
            following = text[position + width : position + width + 1]
            if following not in ("", "\n", "\r", "#", "\\"):
                while width < indents[-1]:
                    indents.pop()
                if width > indents[-1]:
                    indents.append(width)
            position += width
        match = finder(text, position)
        if match is None:
            break
        kind = match.lastgroup
        position = match.end()
        string = kind == "string"
        if string:
            opening = match.group()
            quote = opening.lstrip("rRbBuUfF")
            body = _STRING_BODY[quote].match(text, position)
            if body is not None:
                position = body.end()
            else:  # not closed: CPython reports that; the estimate skips the rest
                newline = text.find("\n", position) if len(quote) == 1 else -1
                position = length if newline < 0 else newline
            if after_string:  # implicit concatenation nests in LibCST's tree
                runs[-1] += 1
                total += 1
            if "f" in opening or "F" in opening:
                fields = _fstring_depth(text, match.end(), position)
                if fields < 0:
                    raise TooComplex(FSTRING_TOO_LARGE)
                inner = total + len(indents) - 1 + fields
                if inner > deepest:
                    deepest = inner
        elif kind == "word":
            if match.group() in _OPERATOR_WORDS:
                runs[-1] += 1
                total += 1
        elif kind == "op":
            token = match.group()
            if _ASSIGN.fullmatch(token):
                total -= runs[-1]
                runs[-1] = 0
            elif token != ":" or runs[-1]:
                runs[-1] += 1
                total += 1
        elif kind == "open":
            runs[-1] += 1
            total += 1
            runs.append(0)
        elif kind == "close":
            if len(runs) > 1:
                total -= runs.pop()
        elif kind == "sep":
            total -= runs[-1]
            runs[-1] = 0
        elif kind == "newline":
            if len(runs) == 1:
                total = runs[0] = 0
                at_line_start = True
        if string or kind not in ("comment", "cont", "newline"):
            after_string = string
        depth = total + len(indents) - 1
        if depth > deepest:
            deepest = depth
        if deepest > limit:
            return deepest
    return deepest


def _fstring_depth(text: str, start: int, end: int) -> int:
    """How deep the brackets of an f-string's replacement fields nest (brackets of its literal
    text, ``{{`` and ``}}`` do not count); -1 past :data:`MAX_FSTRING_FIELDS` fields."""
    depth = deepest = fields = 0
    for match in _FSTRING_BRACKETS.finditer(text, start, end):
        token = match.group()
        if not depth:
            if token == "{":
                deepest = max(deepest, 1)
                depth = 1
                fields += 1
                if fields > MAX_FSTRING_FIELDS:
                    return -1
            continue
        for char in token:
            if char in "([{":
                depth += 1
                if depth > deepest:
                    deepest = depth
            else:
                depth -= 1
                if not depth:
                    break
    return deepest


def refusal(text: str, limit: int = MAX_NESTING) -> str | None:
    """Why ``text`` must not be parsed (nested too deeply, an f-string too large), or None."""
    try:
        return NESTED_TOO_DEEPLY if nesting_depth(text, limit) > limit else None
    except TooComplex as exc:
        return str(exc)


def ast_needs_refusal_scan(data: bytes) -> bool:
    """Whether CPython's ``ast.parse`` needs :func:`refusal` first. CPython's parser keeps its own
    bounds (200 nested brackets, 100 indented blocks, ``RecursionError`` for long chains: each
    an ST900 with CPython's reason), so the scan - as costly as the parse - is skipped, except
    where ``ast.parse`` itself is quadratic: f-string fields, which a file with no more than
    :data:`MAX_FSTRING_FIELDS` opening braces cannot exceed. LibCST (``fix``) always scans."""
    return data.count(b"{") > MAX_FSTRING_FIELDS
