"""Fixing one file in memory: findings in, new text (or reasons why not) out.

Python files: parse once, resolve positions and parents once, ask each finding's fixer for a
plan, merge the plans into one transform, add the imports they need once, drop imports they made
unused, and verify that the result parses (LibCST) and compiles (CPython). Other files (``.env``,
YAML, Dockerfile): apply the exact text edits the rule's :class:`TextFixer` makes from each
finding.

Nothing here writes: :mod:`somatrace.fixers.support.session` decides that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from somatrace.checks.lint.bounds import NESTED_TOO_DEEPLY, refusal
from somatrace.checks.lint.codes import PARSE_ERROR
from somatrace.checks.lint.config import Config
from somatrace.checks.lint.findings import Finding, Fix
from somatrace.checks.lint.source import Source
from somatrace.fixers import fixer_for
from somatrace.fixers.support.base import (
    FileFacts,
    Fixer,
    NoFix,
    Plan,
    ServiceName,
    TextFixer,
    resolve_metadata,
)
from somatrace.fixers.support.edits import apply_edits
from somatrace.fixers.support.imports import add_imports, remove_unused
from somatrace.fixers.support.service_name import resolve_service_name
from somatrace.fixers.support.transform import apply_merged, merge_plans

UNSAFE_HINT = "unsafe fix: run with --unsafe-fixes to apply"


@dataclass
class FileFix:
    path: Path
    display: str
    before: str
    after: str
    applied: list[tuple[Finding, str]] = field(default_factory=list)  # finding, description
    not_fixed: list[tuple[Finding, str]] = field(default_factory=list)  # finding, reason
    resolved: list[Finding] = field(default_factory=list)  # gone through another finding's fix
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and self.after != self.before


def can_fix(finding: Finding) -> bool:
    """Whether a fix may exist for ``finding``: its rule has a fixer."""
    return finding.code != PARSE_ERROR and fixer_for(finding.code) is not None


def text_fix(finding: Finding, text: str) -> Fix | NoFix:
    """The fix of a finding on a text file, from its rule's :class:`TextFixer`."""
    if finding.fix is not None and finding.fix.edits:
        return finding.fix  # already attached (check --output-format json/sarif)
    fixer = fixer_for(finding.code)
    if not isinstance(fixer, TextFixer):
        return NoFix("no automatic fix")
    return fixer.fix_text(finding, text)


def fix_text_file(source: Source, display: str, findings: list[Finding], unsafe: bool) -> FileFix:
    out = FileFix(source.path, display, source.text, source.text)
    edits = []
    chosen: list[tuple[Finding, Fix]] = []
    for finding in findings:
        fix = text_fix(finding, source.text)
        if isinstance(fix, NoFix):
            out.not_fixed.append((finding, fix.reason))
        elif not fix.safe and not unsafe:
            out.not_fixed.append((finding, UNSAFE_HINT))
        else:
            edits.extend(fix.edits)
            chosen.append((finding, fix))
    text, skipped = apply_edits(source.text, edits)
    skipped_set = set(skipped)
    for finding, fix in chosen:
        if skipped_set.intersection(fix.edits):
            out.not_fixed.append((finding, "overlaps another fix; run fix again"))
        else:
            out.applied.append((finding, fix.description))
    out.after = text
    return out


def _parse(text: str) -> cst.Module | str:
    """LibCST's parse, or why not. LibCST's parser is recursive in native code (a file nested
    deep enough crashes the process), so the kernel's nesting bound is checked first."""
    refused = refusal(text)
    if refused is not None:
        return f"cannot parse: {refused}"
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return f"cannot parse: {exc.message} (line {exc.raw_line})"
    except RecursionError:
        return f"cannot parse: {NESTED_TOO_DEEPLY}"
    except Exception as exc:
        return f"cannot parse: {type(exc).__name__}: {exc}"[:300]
    if text.endswith("\r") and not module.has_trailing_newline:
        # LibCST 1.9 takes a file whose lines end in a lone `\r` for one without a final
        # newline, and its code would drop the last `\r`: keep the file's last byte.
        module = module.with_changes(has_trailing_newline=True)
    return module


def plan_file(
    source: Source, display: str, findings: list[Finding], config: Config, relpath: str
) -> tuple[FileFacts | None, list[tuple[Finding, Plan | NoFix]], str | None]:
    """Each finding's plan (or why none) against the parsed file; an error string when the file
    cannot be parsed."""
    parsed = _parse(source.text)
    if isinstance(parsed, str):
        return None, [], parsed
    try:
        module, positions, parents = resolve_metadata(parsed)
    except RecursionError:
        return None, [], f"cannot parse: {NESTED_TOO_DEEPLY}"
    name_cache: list[ServiceName] = []

    def service_name() -> ServiceName:
        if not name_cache:
            name_cache.append(resolve_service_name(source.path, relpath, config))
        return name_cache[0]

    facts = FileFacts(
        path=source.path,
        relpath=relpath,
        config=config,
        module=module,
        positions=positions,
        parents=parents,
        service_name=service_name,
        findings=list(findings),
    )
    plans: list[tuple[Finding, Plan | NoFix]] = []
    for finding in sorted(findings, key=lambda f: f.sort_key):
        fixer = fixer_for(finding.code)
        if not isinstance(fixer, Fixer):
            plans.append((finding, NoFix("no automatic fix")))
            continue
        try:
            plans.append((finding, fixer.plan(finding, facts)))
        except Exception as exc:
            plans.append((finding, NoFix(f"the fixer failed: {type(exc).__name__}: {exc}")))
    return facts, plans, None


def render(facts: FileFacts, plans: list[Plan]) -> tuple[str, list[Plan]]:
    """The file's text with ``plans`` applied in one transform; returns the deferred plans."""
    merged = merge_plans(plans, facts)
    module = apply_merged(facts.module, merged)
    module = add_imports(module, [spec for plan in merged.accepted for spec in plan.imports])
    module = remove_unused(module, [d for plan in merged.accepted for d in plan.drop_if_unused])
    return module.code, merged.deferred


def verify(text: str, display: str) -> str | None:
    """Why the fixed text is not valid Python, or None."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        return parsed
    try:
        compile(text, display, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"the fixed code does not compile: {exc}"
    return None


def fix_python_file(
    source: Source,
    display: str,
    findings: list[Finding],
    config: Config,
    relpath: str,
    unsafe: bool,
) -> FileFix:
    out = FileFix(source.path, display, source.text, source.text)
    facts, planned, error = plan_file(source, display, findings, config, relpath)
    if facts is None:
        out.error = error
        out.not_fixed.extend((f, error or "cannot parse") for f in findings)
        return out
    chosen: list[tuple[Finding, Plan]] = []
    for finding, plan in planned:
        if isinstance(plan, NoFix) and plan.resolved:
            out.resolved.append(finding)
        elif isinstance(plan, NoFix):
            out.not_fixed.append((finding, plan.reason))
        elif not plan.safe and not unsafe:
            out.not_fixed.append((finding, UNSAFE_HINT))
        else:
            chosen.append((finding, plan))
    if not chosen:
        return out
    try:
        text, deferred = render(facts, [plan for _, plan in chosen])
    except Exception as exc:  # a broken fix must not stop the run: this file stays as it is
        out.error = f"fix not applied: {type(exc).__name__}: {exc}"[:300]
        out.not_fixed.extend((f, out.error) for f, _ in chosen)
        return out
    deferred_ids = {id(p) for p in deferred}
    problem = verify(text, display) if text != source.text else None
    if problem is not None:
        out.error = f"fix not applied: {problem}"
        out.not_fixed.extend((f, out.error) for f, _ in chosen)
        return out
    for finding, plan in chosen:
        if id(plan) in deferred_ids:
            out.not_fixed.append((finding, "overlaps another fix; run fix again"))
        else:
            out.applied.append((finding, plan.description))
    out.after = text
    return out


def fix_source(
    source: Source,
    display: str,
    findings: list[Finding],
    config: Config,
    relpath: str,
    unsafe: bool = False,
) -> FileFix:
    """Fix ``findings`` (all of one file) in memory."""
    if source.path.suffix == ".py" or relpath.endswith(".py"):
        return fix_python_file(source, display, findings, config, relpath, unsafe)
    return fix_text_file(source, display, findings, unsafe)
