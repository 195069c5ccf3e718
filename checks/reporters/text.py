"""Human output, like Ruff's: ``path:line:col: CODE message`` and a summary line."""

from __future__ import annotations

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.lint.findings import Finding


def fix_safety(finding: Finding) -> str | None:
    """``safe`` / ``unsafe`` when ``somatrace fix`` has a fix for the finding, else ``None``:
    the edits it carries, or what its rule declared for it (``data["fix"]``)."""
    if finding.fix is not None:
        return "safe" if finding.fix.safe else "unsafe"
    declared = finding.data.get("fix")
    return declared if declared in ("safe", "unsafe") else None


def fix_hint(finding: Finding) -> str:
    """The fix a finding has, in words ("" when none): the same count every format gives."""
    safety = fix_safety(finding)
    if safety == "safe":
        return "safe fix available: `somatrace fix`"
    if safety == "unsafe":
        return "unsafe fix available: `somatrace fix --unsafe-fixes`"
    return ""


def _summary(result: CheckResult) -> str:
    n = len(result.findings)
    if n == 0:
        return f"All checks passed! ({_files(result.files_checked)} checked)"
    safeties = [fix_safety(f) for f in result.findings]
    fixable, unsafe = safeties.count("safe"), safeties.count("unsafe")
    files_with = _files(len({f.path for f in result.findings}))
    parts = [f"Found {n} finding{'s' if n != 1 else ''} in {files_with}"]
    parts.append(f"({_files(result.files_checked)} checked)")
    line = " ".join(parts) + "."
    if fixable:
        line += f"\n[*] {fixable} fixable with `somatrace fix`."
    if unsafe:
        line += (
            f"\n({unsafe} unsafe fix{'es' if unsafe != 1 else ''} available with "
            "`somatrace fix --unsafe-fixes`)"
        )
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
