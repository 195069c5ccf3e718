"""GitHub Actions workflow commands: one ``::error`` annotation per finding.

Escaping follows the runner's rules: in the message ``%``, CR and LF are percent-encoded; in
property values also ``:`` and ``,``.
"""

from __future__ import annotations

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.reporters.text import fix_hint
from somatrace.rules import rule_by_code


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(result: CheckResult) -> str:
    lines = []
    for f in result.findings:
        rule = rule_by_code(f.code)
        title = f"{f.code} {rule.NAME}" if rule else f.code
        props = [f"file={escape_property(f.path)}", f"line={f.line}", f"col={f.col}"]
        if f.end_line is not None:
            props.append(f"endLine={f.end_line}")
        if f.end_col is not None and f.end_line == f.line:
            props.append(f"endColumn={f.end_col}")
        props.append(f"title={escape_property(title)}")
        hint = fix_hint(f)
        message = f"{f.code} {f.message}" + (f" ({hint})" if hint else "")
        lines.append(f"::error {','.join(props)}::{escape_data(message)}")
    return "".join(line + "\n" for line in lines)
