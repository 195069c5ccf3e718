"""``# noqa`` handling, like Ruff: ``# noqa`` silences every finding on its line,
``# noqa: ST101, ST2`` only those codes (prefixes allowed), and a line ``# somatrace: noqa``
anywhere in a file silences the whole file.

A file's suppressions are read once into a :class:`NoqaMap`, which is kept with the file's
cached result so that findings settled later (by the project join) are suppressed the same way
without reading the file again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from somatrace.checks.lint.findings import Finding

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?(?![:\w])", re.IGNORECASE
)
_FILE_NOQA = re.compile(r"^\s*#\s*somatrace:\s*noqa\s*$", re.MULTILINE | re.IGNORECASE)
_ALL = "*"


def file_is_exempt(text: str) -> bool:
    return _FILE_NOQA.search(text) is not None


def line_suppresses(line: str, code: str) -> bool:
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.startswith(c.upper()) for c in re.split(r"[\s,]+", codes) if c):
            return True
    return False


@dataclass
class NoqaMap:
    """Line number -> the codes (or prefixes) ``# noqa`` suppresses there (``*``: all)."""

    exempt: bool = False
    lines: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def suppresses(self, finding: Finding) -> bool:
        if self.exempt:
            return True
        codes = self.lines.get(finding.line)
        if codes is None:
            return False
        return _ALL in codes or any(finding.code.startswith(c) for c in codes)

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if not self.suppresses(f)]

    def to_json(self) -> dict[str, Any]:
        return {"exempt": self.exempt, "lines": {str(k): list(v) for k, v in self.lines.items()}}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> NoqaMap:
        if not raw:
            return cls()
        lines = {int(k): tuple(v) for k, v in raw.get("lines", {}).items()}
        return cls(bool(raw.get("exempt")), lines)


def noqa_map(text: str) -> NoqaMap:
    if file_is_exempt(text):
        return NoqaMap(exempt=True)
    lines: dict[int, tuple[str, ...]] = {}
    if "noqa" not in text.lower():
        return NoqaMap()
    for number, line in enumerate(text.splitlines(), start=1):
        if "noqa" not in line.lower():
            continue
        codes: list[str] = []
        for match in _NOQA.finditer(line):
            listed = match.group("codes")
            if listed is None:
                codes = [_ALL]
                break
            codes.extend(c.upper() for c in re.split(r"[\s,]+", listed) if c)
        if codes:
            lines[number] = tuple(codes)
    return NoqaMap(lines=lines)


def apply_noqa(findings: Iterable[Finding], text: str) -> list[Finding]:
    return noqa_map(text).apply(findings)
