"""Human output, like Ruff's: ``path:line:col: CODE message`` and a summary line."""

from __future__ import annotations

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.lint.findings import Finding


def is_fixable(finding: Finding) -> bool:
    """A finding is fixable when it carries edits, or its rule has a fixer that did not opt out
    for this finding (``data["fixable"] = False`` with a reason in the message)."""
    if finding.fix is not None:
        return True
    from somatrace.fixers import fixer_for

    return fixer_for(finding.code) is not None and finding.data.get("fixable", True) is not False


def _summary(result: CheckResult) -> str:
    n = len(result.findings)
    if n == 0:
        return f"All checks passed! ({_files(result.files_checked)} checked)"
    fixable = sum(1 for f in result.findings if is_fixable(f))
    files_with = _files(len({f.path for f in result.findings}))
    parts = [f"Found {n} finding{'s' if n != 1 else ''} in {files_with}"]
    parts.append(f"({_files(result.files_checked)} checked)")
    line = " ".join(parts) + "."
    if fixable:
        line += f"\n[*] {fixable} fixable with `somatrace fix`."
    return line


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def render(result: CheckResult) -> str:
    lines = [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in result.findings]
    if lines:
        lines.append("")
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def render_concise(result: CheckResult) -> str:
    return "".join(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}\n" for f in result.findings)
