"""Positions and diagnostics: findings (1-based lines, character columns) to LSP (0-based,
UTF-16 code units) and the other way round."""

from __future__ import annotations

from lsprotocol import types

from somatrace.checks.lint.findings import Finding
from somatrace.checks.reporters.text import fix_safety

SOURCE = "somatrace"
RULE_PAGE = "https://github.com/somatrace/somatrace/blob/main/docs/rules/{code}.md"


def _utf16(line_text: str, char_col: int) -> int:
    prefix = line_text[: max(char_col, 0)]
    return len(prefix.encode("utf-16-le")) // 2


def position(lines: list[str], line: int, col: int) -> types.Position:
    """A finding's 1-based (line, character column) as an LSP position."""
    index = max(line - 1, 0)
    text = lines[index] if index < len(lines) else ""
    return types.Position(line=index, character=_utf16(text, col - 1))


def to_diagnostic(finding: Finding, lines: list[str]) -> types.Diagnostic:
    start = position(lines, finding.line, finding.col)
    if finding.end_line is not None and finding.end_col is not None:
        end = position(lines, finding.end_line, finding.end_col)
    else:
        end = types.Position(line=start.line, character=start.character + 1)
    if (end.line, end.character) <= (start.line, start.character):
        end = types.Position(line=start.line, character=start.character + 1)
    safety = fix_safety(finding)
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=finding.message,
        severity=types.DiagnosticSeverity.Error,
        code=finding.code,
        code_description=types.CodeDescription(href=RULE_PAGE.format(code=finding.code)),
        source=SOURCE,
        data={"fix": safety, "line": finding.line, "col": finding.col},
    )


def whole_document(text: str) -> types.Range:
    lines = text.split("\n")
    last = lines[-1] if lines else ""
    return types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(lines) - 1, character=_utf16(last, len(last))),
    )
