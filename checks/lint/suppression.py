"""``# noqa`` handling, like Ruff: ``# noqa`` silences every finding on its line,
``# noqa: ST101, ST2`` only those codes (prefixes allowed); a line ``# somatrace: noqa``
anywhere in a file silences the whole file, ``# somatrace: noqa: ST102,ST301`` only those codes
in the whole file.

A file's suppressions are read once into a :class:`NoqaMap`, which is kept with the file's
cached result so that findings settled later (by the project join) are suppressed the same way
without reading the file again. :func:`directives` lists every directive with its position, for
the audit of unknown and unused codes (``--report-unused-noqa``) and for ``--add-noqa``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.selectors import is_known, is_ours
from somatrace.checks.lint.source import line_starts, split_lines

_CODES = r"[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*"
_NOQA = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{_CODES}))?(?![:\w])", re.IGNORECASE)
_FILE_NOQA = re.compile(
    rf"^[ \t]*#\s*somatrace:\s*noqa(?::\s*(?P<codes>{_CODES}))?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_ALL = "*"

# Set by ``--report-unused-noqa``'s second pass (before its workers fork): read every
# directive, apply none, so that what each would suppress can be seen.
_APPLY = [True]


def set_applied(applied: bool) -> None:
    _APPLY[0] = applied


def _split(codes: str) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,]+", codes) if c]


def file_is_exempt(text: str) -> bool:
    return any(m.group("codes") is None for m in _FILE_NOQA.finditer(text))


def line_suppresses(line: str, code: str) -> bool:
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.startswith(c) for c in _split(codes)):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Directive:
    """One ``# noqa`` comment: its 1-based position and codes (``None``: a bare ``# noqa``)."""

    line: int
    col: int
    codes: tuple[str, ...] | None
    file_level: bool = False


def directives(text: str) -> list[Directive]:
    if "noqa" not in text.lower():
        return []
    out: list[Directive] = []
    starts = line_starts(text)
    for match in _FILE_NOQA.finditer(text):
        line = bisect.bisect_right(starts, match.start())
        codes = match.group("codes")
        col = match.group(0).index("#") + 1
        out.append(Directive(line, col, tuple(_split(codes)) if codes else None, True))
    file_lines = {d.line for d in out}
    for number, line in enumerate(split_lines(text), start=1):
        if number in file_lines or "noqa" not in line.lower():
            continue
        for match in _NOQA.finditer(line):
            codes = match.group("codes")
            out.append(
                Directive(number, match.start() + 1, tuple(_split(codes)) if codes else None)
            )
    return sorted(out, key=lambda d: (d.line, d.col))


@dataclass
class NoqaMap:
    """Line number -> the codes (or prefixes) ``# noqa`` suppresses there (``*``: all);
    ``file_codes``: codes suppressed in the whole file."""

    exempt: bool = False
    lines: dict[int, tuple[str, ...]] = field(default_factory=dict)
    file_codes: tuple[str, ...] = ()

    def suppresses(self, finding: Finding) -> bool:
        if self.exempt:
            return True
        if any(finding.code.startswith(c) for c in self.file_codes):
            return True
        codes = self.lines.get(finding.line)
        if codes is None:
            return False
        return _ALL in codes or any(finding.code.startswith(c) for c in codes)

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if not self.suppresses(f)]

    def to_json(self) -> dict[str, Any]:
        return {
            "exempt": self.exempt,
            "lines": {str(k): list(v) for k, v in self.lines.items()},
            "file_codes": list(self.file_codes),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> NoqaMap:
        if not raw:
            return cls()
        lines = {int(k): tuple(v) for k, v in raw.get("lines", {}).items()}
        return cls(bool(raw.get("exempt")), lines, tuple(raw.get("file_codes", ())))


def noqa_map(text: str) -> NoqaMap:
    return read_noqa(text)[0]


def read_noqa(text: str) -> tuple[NoqaMap, list[tuple[int, int, str]]]:
    """The file's :class:`NoqaMap`, and each code of somatrace's namespace that its
    directives name and no rule has (line, column, code): the noqa audit's warnings, found
    where the file is already read."""
    if "noqa" not in text.lower():
        return NoqaMap(), []
    found = directives(text)
    return (_map(found) if _APPLY[0] else NoqaMap()), unknown_codes(found)


def unknown_codes(found: Iterable[Directive]) -> list[tuple[int, int, str]]:
    """The codes of somatrace's namespace that ``found`` names and no rule has (another
    tool's code, ``F401``, is that tool's), as (line, column, code), in order."""
    return [
        (d.line, d.col, code)
        for d in found
        for code in d.codes or ()
        if is_ours(code) and not is_known(code)
    ]


def _map(found: list[Directive]) -> NoqaMap:
    lines: dict[int, tuple[str, ...]] = {}
    file_codes: list[str] = []
    for directive in found:
        if directive.file_level:
            if directive.codes is None:
                return NoqaMap(exempt=True)
            file_codes.extend(directive.codes)
            continue
        codes = (_ALL,) if directive.codes is None else directive.codes
        merged = lines.get(directive.line, ())
        lines[directive.line] = (_ALL,) if _ALL in merged + codes else merged + codes
    return NoqaMap(lines=lines, file_codes=tuple(file_codes))


def apply_noqa(findings: Iterable[Finding], text: str) -> list[Finding]:
    return noqa_map(text).apply(findings)
