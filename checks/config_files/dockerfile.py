"""Dockerfile ``ENV`` instructions, both syntaxes, with exact positions.

``ENV NAME=value OTHER="two words"`` (the current syntax, several pairs, quotes and escapes)
and ``ENV NAME value with blanks`` (the legacy one: the rest of the line is the value).
Instructions may continue over lines with the escape character (``\\``, or the one a
``# escape=`` parser directive sets). Every build stage (``FROM``) is one environment.
"""

from __future__ import annotations

import re

from somatrace.checks.config_files.model import EnvGroup, LocatedVar, TextIndex

_DIRECTIVE = re.compile(r"^#[ \t]*escape[ \t]*=[ \t]*(?P<char>\S)[ \t]*$", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        stripped = line.rstrip("\r")
        if not stripped.startswith("#"):
            break
        match = _DIRECTIVE.match(stripped)
        if match:
            return match.group("char")
    return "\\"


def _logical_lines(text: str) -> list[tuple[str, list[int]]]:
    """Instructions joined over continuation lines: (text, source offset of each character)."""
    lines = text.split("\n")
    escape = _escape_char(lines)
    out: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    offsets: list[int] = []
    offset = 0
    continuing = False
    for line in lines:
        start = offset
        offset += len(line) + 1
        body = line.rstrip("\r")
        stripped = body.lstrip(" \t")
        if continuing and (not stripped or stripped.startswith("#")):
            continue
        if not continuing and (not stripped or stripped.startswith("#")):
            continue
        content = body.rstrip(" \t")
        continues = content.endswith(escape)
        if continues:
            content = content[:-1]
        chars.extend(content)
        offsets.extend(range(start, start + len(content)))
        if continues:
            continuing = True
            continue
        out.append(("".join(chars), offsets))
        chars, offsets, continuing = [], [], False
    if chars:
        out.append(("".join(chars), offsets))
    return out


def _words(text: str, start: int, escape: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-separated word, quotes and escapes respected."""
    words: list[tuple[int, int]] = []
    i = start
    while i < len(text):
        while i < len(text) and text[i] in " \t":
            i += 1
        if i >= len(text):
            break
        begin = i
        quote = ""
        while i < len(text):
            c = text[i]
            if quote:
                if c == escape and quote == '"' and i + 1 < len(text):
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c == escape and i + 1 < len(text):
                i += 2
                continue
            elif c in "'\"":
                quote = c
            elif c in " \t":
                break
            i += 1
        words.append((begin, i))
    return words


def _unquote(raw: str, escape: str) -> str:
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == escape and quote != "'" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        if quote and c == quote:
            quote = ""
        elif not quote and c in "'\"":
            quote = c
        else:
            out.append(c)
        i += 1
    return "".join(out)


def scan_dockerfile(text: str) -> tuple[EnvGroup, ...]:
    index = TextIndex(text)
    escape = _escape_char(text.split("\n"))
    groups: list[EnvGroup] = []
    stage = "Dockerfile"
    current: list[LocatedVar] = []

    def located(
        name_at: tuple[int, int], value_at: tuple[int, int], logical: str, offsets: list[int]
    ) -> LocatedVar:
        (ns, ne), (vs, ve) = name_at, value_at
        name_span = index.span(offsets[ns], offsets[ne - 1] + 1)
        raw = logical[vs:ve]
        value = _unquote(raw, escape)
        value_span = index.span(offsets[vs], offsets[ve - 1] + 1) if ve > vs else None
        contiguous = ve > vs and offsets[ve - 1] - offsets[vs] == ve - vs - 1
        token = index.token_span(offsets[vs], raw) if contiguous and escape not in raw else None
        return LocatedVar(logical[ns:ne], value, name_span, value_span, token, stage)

    for logical, offsets in _logical_lines(text):
        head = logical.lstrip(" \t")
        skip = len(logical) - len(head)
        keyword = head.split(None, 1)[0].upper() if head.split() else ""
        if keyword == "FROM":
            if current:
                groups.append(EnvGroup(stage, tuple(current)))
            current = []
            parts = head.split()
            stage = (
                f"stage {parts[3]}"
                if len(parts) >= 4 and parts[2].upper() == "AS"
                else (f"stage FROM {parts[1]}" if len(parts) > 1 else "Dockerfile")
            )
            continue
        if keyword != "ENV":
            continue
        args_start = skip + 3
        words = _words(logical, args_start, escape)
        if not words:
            continue
        first_start, first_end = words[0]
        first = logical[first_start:first_end]
        if "=" in first:
            for start, end in words:
                word = logical[start:end]
                name_match = _NAME.match(word)
                if not name_match or word[name_match.end() : name_match.end() + 1] != "=":
                    continue
                name_end = start + name_match.end()
                current.append(located((start, name_end), (name_end + 1, end), logical, offsets))
        elif _NAME.fullmatch(first):
            value_start = words[1][0] if len(words) > 1 else first_end
            value_end = len(logical.rstrip(" \t"))
            current.append(
                located(
                    (first_start, first_end),
                    (value_start, max(value_end, value_start)),
                    logical,
                    offsets,
                )
            )
    if current:
        groups.append(EnvGroup(stage, tuple(current)))
    return tuple(groups)
