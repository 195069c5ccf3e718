"""Fixes as text edits, for reporters that carry fixes (SARIF ``fixes``, JSON).

Ruff (#19962) and Semgrep (#9072) emit SARIF without fixes. Here every finding that a fixer can
fix gets its :class:`~somatrace.checks.lint.findings.Fix` filled with the exact
:class:`~somatrace.checks.lint.findings.Edit` s of *that* fix alone (its import included),
computed by applying the fix in memory and diffing before/after
(:func:`somatrace.fixers.support.edits.edits_between`).
Fixes of config-file rules come from their :class:`~somatrace.fixers.support.base.TextFixer`
without any parse. Nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from somatrace.checks.lint.config import ConfigResolver, load_config_file
from somatrace.checks.lint.findings import Finding, Fix
from somatrace.checks.lint.source import Unreadable, read_source
from somatrace.fixers import fixer_for
from somatrace.fixers.support.base import Plan, TextFixer
from somatrace.fixers.support.edits import edits_between
from somatrace.fixers.support.runner import plan_file, render, verify


def with_fix_edits(
    findings: Iterable[Finding], cwd: Path | None = None, config_file: Path | None = None
) -> list[Finding]:
    """``findings`` (same order) with a ``fix`` holding edits wherever a fixer offers one.

    Unsafe fixes are included with ``safe=False``; findings without a fix are unchanged.
    """
    cwd = Path(os.path.abspath(cwd or Path.cwd()))
    explicit = load_config_file(config_file) if config_file else None
    resolver = ConfigResolver(explicit=explicit, fallback_root=cwd)
    findings = list(findings)
    by_file: dict[Path, list[int]] = {}
    out = list(findings)
    texts: dict[Path, str | None] = {}
    for i, finding in enumerate(findings):
        fixer = fixer_for(finding.code)
        if finding.fix is not None or fixer is None:
            continue
        path = Path(os.path.abspath(cwd / finding.path))
        if isinstance(fixer, TextFixer):
            if path not in texts:
                limit = int(resolver.for_path(path).get("max-file-size"))
                read = read_source(path, limit, python=False)
                texts[path] = None if isinstance(read, Unreadable) else read.text
            text = texts[path]
            fix = fixer.fix_text(finding, text) if text is not None else None
            if isinstance(fix, Fix):
                out[i] = replace(finding, fix=fix)
            continue
        by_file.setdefault(path, []).append(i)
    for path, indexes in by_file.items():
        if any(f.code == "ST900" and Path(os.path.abspath(cwd / f.path)) == path for f in findings):
            continue
        config = resolver.for_path(path)
        source = read_source(path, int(config.get("max-file-size")), python=True)
        if isinstance(source, Unreadable):
            continue
        group = [findings[i] for i in indexes]
        facts, planned, _ = plan_file(source, group[0].path, group, config, config.relpath(path))
        if facts is None:
            continue
        plans = {id(f): p for f, p in planned}
        for i in indexes:
            plan = plans.get(id(findings[i]))
            if not isinstance(plan, Plan):
                continue
            text, deferred = render(facts, [plan])
            if deferred or text == source.text or verify(text, findings[i].path) is not None:
                continue
            edits = edits_between(source.text, text)
            fix = Fix(description=plan.description, edits=edits, safe=plan.safe)
            out[i] = replace(findings[i], fix=fix)
    return out
