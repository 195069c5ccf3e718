"""``# noqa`` handling, like Ruff: ``# noqa`` silences every finding on its line,
``# noqa: ST101, ST2`` only those codes (prefixes allowed), and a line ``# somatrace: noqa``
anywhere in a file silences the whole file."""

from __future__ import annotations

import re
from collections.abc import Iterable

from somatrace.checks.lint.findings import Finding

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?(?![:\w])", re.IGNORECASE
)
_FILE_NOQA = re.compile(r"^\s*#\s*somatrace:\s*noqa\s*$", re.MULTILINE | re.IGNORECASE)


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


def apply_noqa(findings: Iterable[Finding], text: str) -> list[Finding]:
    kept = list(findings)
    if not kept:
        return kept
    if file_is_exempt(text):
        return []
    lines = text.splitlines()
    out = []
    for finding in kept:
        index = finding.line - 1
        if (
            0 <= index < len(lines)
            and "noqa" in lines[index].lower()
            and line_suppresses(lines[index], finding.code)
        ):
            continue
        out.append(finding)
    return out
