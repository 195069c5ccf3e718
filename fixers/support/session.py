"""``somatrace fix``: check -> fix every file in memory -> write atomically -> re-check.

The same pipeline as ``somatrace check`` finds what to fix. Files with ST900 (unreadable or
unparsable) are never touched. Each file's fixes are applied in one transform, then written with
:func:`somatrace.fixers.support.write.write_atomic`. The tree is re-checked after writing; if a
fixable finding is left in a file that was just changed (a fix that waited for another in the
same place), one more pass fixes it - at most ``MAX_PASSES`` passes, so a fixer that does not
converge cannot loop. ``--diff`` runs one pass and writes nothing.

What is written is bounded (see docs/security.md): only files whose real location is
inside their project (a tracked symlink to elsewhere is ST900 and never read or written), not
read-only ones unless ``--force``, only in encodings that round-trip; a fixer's config that
would write unsafe code (an ``init-function`` that is not the project's own) stops the run with
a config error before anything is written; stale temporary files of killed writes are removed
from the folders being fixed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from somatrace.checks.lint.boundary import OUTSIDE_REASON
from somatrace.checks.lint.cache import Cache
from somatrace.checks.lint.engine import CheckResult, CheckSettings, Engine
from somatrace.checks.lint.errors import ConfigError
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.source import Unreadable, decode, rewrite_problem
from somatrace.fixers import fixer_for
from somatrace.fixers.support.runner import FileFix, can_fix, fix_source
from somatrace.fixers.support.write import (
    ChangedOnDisk,
    Refused,
    Snapshot,
    encode_text,
    remove_stale_temps,
    write_atomic,
)
from somatrace.rules import all_rules

MAX_PASSES = 3
PARSE_ERROR = "ST900"

Progress = Callable[[int, int], None]


@dataclass
class FixOptions:
    unsafe: bool = False
    dry_run: bool = False  # --diff: compute, print, write nothing
    force: bool = False  # --force: write read-only files too


@dataclass
class FixReport:
    files: dict[Path, FileFix] = field(default_factory=dict)  # last state per changed file
    applied: list[tuple[str, Finding, str]] = field(default_factory=list)  # display, finding, what
    not_fixed: dict[tuple[str, int, int, str], str] = field(default_factory=dict)
    not_fixed_by_message: dict[tuple[str, str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    originals: dict[Path, str] = field(default_factory=dict)  # text before the first pass
    final: CheckResult | None = None
    passes: int = 0
    files_checked: int = 0
    dry_run: bool = False
    resolved: list[Finding] = field(default_factory=list)  # removed by another finding's fix
    stale_removed: list[Path] = field(default_factory=list)  # temp files of killed writes

    @property
    def fixed_count(self) -> int:
        return len(self.applied)

    @property
    def changed_files(self) -> list[Path]:
        return sorted(p for p, f in self.files.items() if self.originals.get(p) != f.after)

    def remaining(self) -> list[Finding]:
        """Findings left after fixing (with ``--diff``: those the fixes would leave)."""
        if self.final is None:
            return []
        if not self.dry_run:
            return list(self.final.findings)
        fixed = {id(finding) for _, finding, _ in self.applied}
        fixed |= {id(finding) for finding in self.resolved}
        return [f for f in self.final.findings if id(f) not in fixed]

    def reason_for(self, finding: Finding) -> str | None:
        """Why ``finding`` was not fixed. A fix higher up in the file may have moved it, so
        when its position is unknown, a finding of that file, rule and message is used."""
        exact = self.not_fixed.get((finding.path, finding.line, finding.col, finding.code))
        if exact is not None:
            return exact
        return self.not_fixed_by_message.get((finding.path, finding.code, finding.message))


def _absolute(cwd: Path, display: str) -> Path:
    return Path(os.path.abspath(cwd / display))


def _group(findings: list[Finding], cwd: Path) -> dict[Path, list[Finding]]:
    by_file: dict[Path, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(_absolute(cwd, finding.path), []).append(finding)
    return by_file


def _not_fixed(report: FixReport, findings: list[Finding], reason: str) -> None:
    for finding in findings:
        report.not_fixed[(finding.path, finding.line, finding.col, finding.code)] = reason
        report.not_fixed_by_message[(finding.path, finding.code, finding.message)] = reason


def _fix_one(
    engine: Engine, path: Path, findings: list[Finding], options: FixOptions, report: FixReport
) -> FileFix | None:
    display = findings[0].path
    config = engine.resolver.for_path(path)
    if not engine.boundary.contains(path, config.root):
        report.errors.append(f"{display}: not fixed: {OUTSIDE_REASON}")
        _not_fixed(report, findings, OUTSIDE_REASON)
        return None
    root = engine.boundary.root_of(path, config.root)
    try:
        snapshot = Snapshot.take(path)
    except OSError as exc:
        report.errors.append(f"{display}: cannot read: {exc.strerror or exc}")
        return None
    decoded = decode(snapshot.path, snapshot.data, python=path.suffix == ".py")
    if isinstance(decoded, Unreadable):
        return None  # ST900 territory: never touched
    problem = rewrite_problem(decoded.encoding)
    if problem is not None:
        report.errors.append(f"{display}: not fixed: {problem}")
        _not_fixed(report, findings, problem)
        return None
    fixed = fix_source(decoded, display, findings, config, config.relpath(path), options.unsafe)
    for finding, reason in fixed.not_fixed:
        _not_fixed(report, [finding], reason)
    if fixed.error:
        report.errors.append(f"{display}: {fixed.error}")
    if not fixed.changed:
        return None
    if not options.dry_run:
        try:
            data = encode_text(fixed.after, decoded.encoding, snapshot.data)
            write_atomic(snapshot, data, root=root, force=options.force)
        except Refused as exc:
            report.errors.append(f"{display}: not written: {exc}")
            _not_fixed(report, [f for f, _ in fixed.applied], str(exc))
            return None
        except ChangedOnDisk as exc:
            report.errors.append(f"{display}: {exc}")
            _not_fixed(
                report,
                [f for f, _ in fixed.applied],
                "the file changed on disk while fixing; not written",
            )
            return None
        except (OSError, UnicodeEncodeError) as exc:
            report.errors.append(f"{display}: not written: {exc}")
            return None
    report.originals.setdefault(path, fixed.before)
    report.files[path] = fixed
    for finding, description in fixed.applied:
        report.applied.append((display, finding, description))
    report.resolved.extend(fixed.resolved)
    return fixed


def check_fixer_configs(engine: Engine, findings: list[Finding], cwd: Path) -> None:
    """:class:`ConfigError` when a fixer that would run refuses its config (e.g. an
    ``init-function`` that is not somatrace's or the project's own): before anything is
    written, so a hostile config changes no file."""
    seen: set[tuple[int, str]] = set()
    for finding in findings:
        if not can_fix(finding):
            continue
        fixer = fixer_for(finding.code)
        if fixer is None:
            continue
        path = _absolute(cwd, finding.path)
        config = engine.config_for(engine.resolver.for_path(path))
        key = (id(config), finding.code)
        if key in seen:
            continue
        seen.add(key)
        problem = fixer.config_problem(config, Path(engine.boundary.root_of(path, config.root)))
        if problem is not None:
            raise ConfigError(problem)


def _remove_stale(
    work: list[tuple[Path, list[Finding]]], engine: Engine, report: FixReport
) -> None:
    folders: dict[str, None] = {}
    for path, _ in work:
        config = engine.resolver.for_path(path)
        if engine.boundary.contains(path, config.root):
            folders[os.path.dirname(engine.boundary.real_path(path))] = None
    for folder in folders:
        report.stale_removed.extend(Path(folder, n) for n in remove_stale_temps(folder))


def run_fixes(
    paths: list[Path],
    settings: CheckSettings,
    options: FixOptions,
    *,
    cwd: Path | None = None,
    progress: Callable[[int], Progress | None] | None = None,
) -> FixReport:
    """Fix ``paths``; ``progress(files_checked)`` may return a callback shown while fixing."""
    cwd = Path(os.path.abspath(cwd or Path.cwd()))
    paths = [Path(p) if Path(p).is_absolute() else cwd / p for p in paths]
    report = FixReport(dry_run=options.dry_run)
    caches: dict[Path, Cache] = {}  # one read of the cache file for every engine below
    first = Engine(settings, all_rules(), cwd, caches=caches)
    result = first.run(paths)
    check_fixer_configs(first, result.findings, cwd)
    report.files_checked = result.files_checked
    bar = progress(result.files_checked) if progress is not None else None
    touched_last_pass: set[Path] | None = None
    for _ in range(MAX_PASSES):
        engine = Engine(settings, all_rules(), cwd, caches=caches)
        by_file = _group(result.findings, cwd)
        work = []
        for path, findings in sorted(by_file.items()):
            if any(f.code == PARSE_ERROR for f in findings):
                continue
            if touched_last_pass is not None and path not in touched_last_pass:
                continue  # what was not fixable before is not fixable now
            fixable = [f for f in findings if can_fix(f)]
            if fixable:
                work.append((path, fixable))
        if not work:
            break
        if not options.dry_run and report.passes == 0:
            _remove_stale(work, engine, report)
        touched: set[Path] = set()
        for done, (path, fixable) in enumerate(work, start=1):
            if _fix_one(engine, path, fixable, options, report) is not None:
                touched.add(path)
            if bar is not None:
                bar(done, len(work))
        report.passes += 1
        if options.dry_run:
            break
        result = Engine(settings, all_rules(), cwd, caches=caches).run(paths)
        if not touched:
            break
        touched_last_pass = touched
    report.final = result
    return report
