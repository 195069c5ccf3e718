"""``.env`` files: ``NAME=value`` lines as python-dotenv and docker compose read them.

Handles ``export NAME=value``, blanks around ``=``, single- and double-quoted values (a double
quoted value may span lines), unquoted values with a trailing `` # comment``, and comments.
"""

from __future__ import annotations

import re

from somatrace.checks.config_files.model import EnvGroup, LocatedVar, TextIndex

_ASSIGN = re.compile(r"[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*")
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _closing_quote(text: str, start: int, quote: str) -> int:
    """Index of the quote closing the one at ``start`` (honouring ``\\`` in double quotes)."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and quote == '"':
            i += 2
            continue
        if c == quote:
            return i
        i += 1
    return -1


def _unescape_double(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _DOUBLE_ESCAPES.get(m.group(1), m.group(0)), raw)


def scan_dotenv(text: str, where: str = ".env file") -> tuple[EnvGroup, ...]:
    index = TextIndex(text)
    found: list[LocatedVar] = []
    pos = 0
    while pos < len(text):
        end_of_line = text.find("\n", pos)
        if end_of_line == -1:
            end_of_line = len(text)
        match = _ASSIGN.match(text, pos, end_of_line)
        if match is None:
            pos = end_of_line + 1
            continue
        name = match.group("name")
        name_span = index.span(match.start("name"), match.end("name"))
        value_start = match.end()
        first = text[value_start : value_start + 1]
        if first in ("'", '"'):
            close = _closing_quote(text, value_start, first)
            if close == -1:  # unterminated: the rest of the line, as python-dotenv would
                close = end_of_line - 1
            raw = text[value_start : close + 1]
            inner = raw[1:-1] if len(raw) >= 2 else ""
            value = _unescape_double(inner) if first == '"' else inner
            token = index.token_span(value_start, raw) if value == inner else None
            next_line = text.find("\n", close + 1)
            pos = len(text) if next_line == -1 else next_line + 1
        else:
            line_text = text[value_start:end_of_line]
            comment = re.search(r"[ \t]#", line_text)
            raw = (line_text[: comment.start()] if comment else line_text).rstrip(" \t\r")
            value = raw
            token = index.token_span(value_start, raw)
            pos = end_of_line + 1
        value_span = index.span(value_start, value_start + len(raw)) if raw else None
        found.append(LocatedVar(name, value, name_span, value_span, token, where))
    return (EnvGroup(where, tuple(found)),) if found else ()
