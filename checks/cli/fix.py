"""``somatrace fix [PATHS...]``, and the ``--fix``/``--diff`` path of ``somatrace check``.

Applies every available fix (safe ones; unsafe ones too with ``--unsafe-fixes``), writes each
file atomically, re-checks and reports what is left::

    Fixed 12 findings in 9 files (3 remaining)

``--diff`` prints a unified diff and writes nothing; it exits 1 when anything would change, so
CI can require a tree that needs no fixes. The diff never shows a secret: every secret-looking
value (the detector behind ST401, :func:`~somatrace.checks.policy.environ.mask_secrets`) is
masked whatever rules are selected or ignored. Read-only files are refused unless ``--force``.
The work is done by :mod:`somatrace.fixers.support.session`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from somatrace.checks.cli.check import add_selection_options, settings_from_args
from somatrace.checks.cli.presentation import printable
from somatrace.checks.cli.progress import progress_for
from somatrace.checks.lint.findings import Finding
from somatrace.checks.policy.environ import mask_secrets
from somatrace.fixers.support.edits import unified_diff
from somatrace.rules import rule_by_code

if TYPE_CHECKING:
    from somatrace.fixers.support.session import FixReport
# The fixer machinery (LibCST: ~0.8 s to import) is imported only when a fix runs, so that
# `somatrace check`, whose parser carries these options, never pays for it.


def add_fix_options(parser: argparse.ArgumentParser, *, for_check: bool = False) -> None:
    """The fix options; ``for_check`` adds ``--fix`` (``somatrace check --fix``)."""
    if for_check:
        parser.add_argument(
            "--fix", action="store_true", help="apply the available fixes, then report the rest"
        )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff, write nothing; exit 1 if anything would change",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply fixes that may change behaviour beyond the policy (see `explain`)",
    )
    parser.add_argument(
        "--show-fixes", action="store_true", help="list every fix applied, per file and rule"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="also rewrite read-only files (they are refused otherwise); the mode is kept",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection_options(parser)
    add_fix_options(parser)
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(report: FixReport) -> str:
    files = len(report.changed_files)
    remaining = len(report.remaining())
    verb = "Would fix" if report.dry_run else "Fixed"
    return (
        f"{verb} {_plural(report.fixed_count, 'finding')} in {_plural(files, 'file')} "
        f"({remaining} remaining)"
    )


def show_fixes(report: FixReport, out: TextIO) -> None:
    by_file: dict[str, Counter[str]] = {}
    for display, finding, _ in report.applied:
        by_file.setdefault(display, Counter())[finding.code] += 1
    if not by_file:
        return
    out.write(f"{'Would fix' if report.dry_run else 'Fixed'}:\n")
    for display in sorted(by_file):
        out.write(f"- {printable(display)}:\n")
        for code, count in sorted(by_file[display].items()):
            rule = rule_by_code(code)
            out.write(f"    {count} x {code} ({rule.NAME if rule else code})\n")


def _remaining_line(report: FixReport, finding: Finding) -> str:
    line = f"{finding.path}:{finding.line}:{finding.col}: {finding.code} {finding.message}"
    reason = report.reason_for(finding)
    if reason:
        line += f" [not fixed: {reason}]"
    return printable(line)


def write_diff(report: FixReport, out: TextIO) -> None:
    """The fixes as a unified diff; secret-looking values masked on both sides (a diff's
    context lines may show a hard-coded secret near a fixed line, whatever rules ran)."""
    for path in report.changed_files:
        fixed = report.files[path]
        before, after = report.originals[path], fixed.after
        out.write(unified_diff(mask_secrets(before), mask_secrets(after), printable(fixed.display)))


def print_errors(report: FixReport) -> None:
    for stale in report.stale_removed:
        print(
            printable(f"somatrace: removed {stale} (left by an interrupted fix)"), file=sys.stderr
        )
    for error in report.errors:
        print(printable(f"somatrace: {error}"), file=sys.stderr)


def execute(args: argparse.Namespace) -> FixReport:
    from somatrace.fixers.support.session import FixOptions, run_fixes

    settings = settings_from_args(args)
    options = FixOptions(
        unsafe=args.unsafe_fixes, dry_run=args.diff, force=getattr(args, "force", False)
    )

    def progress(files: int):
        return progress_for(files, "fixing")

    return run_fixes(list(args.paths), settings, options, progress=progress)


def fix_stdin(args: argparse.Namespace, buffers: dict[Path, bytes]) -> int:
    """``somatrace fix - --stdin-filename PATH``: the fixed buffer on stdout (unchanged when
    nothing applies), what is left on stderr; exit 1 if findings remain (like Ruff)."""
    from somatrace.checks.lint.engine import Engine
    from somatrace.checks.lint.source import Unreadable, decode
    from somatrace.fixers.support.runner import can_fix, fix_source
    from somatrace.rules import all_rules

    [(path, data)] = buffers.items()
    engine = Engine(settings_from_args(args), all_rules(), Path.cwd(), buffers=buffers)
    result = engine.run([path])
    decoded = decode(path, data, python=path.suffix == ".py")
    if isinstance(decoded, Unreadable):
        sys.stdout.buffer.write(data)
        remaining = result.findings
    else:
        config = engine.config_for(engine.resolver.for_path(path))
        display = result.findings[0].path if result.findings else path.name
        fixable = [f for f in result.findings if can_fix(f)]
        fixed = fix_source(
            decoded, display, fixable, config, config.relpath(path), args.unsafe_fixes
        )
        if fixed.changed and not args.diff:
            sys.stdout.buffer.write(fixed.after.encode(decoded.encoding))
        elif fixed.changed:
            sys.stdout.write(
                unified_diff(
                    mask_secrets(fixed.before), mask_secrets(fixed.after), printable(display)
                )
            )
        elif not args.diff:
            sys.stdout.buffer.write(data)
        done = {id(f) for f, _ in fixed.applied} | {id(f) for f in fixed.resolved}
        remaining = [f for f in result.findings if id(f) not in done]
        if args.diff:
            return 1 if fixed.changed else 0
    for finding in remaining:
        print(printable(f"{finding.path}:{finding.line}:{finding.col}: {finding.code} "
                        f"{finding.message}"), file=sys.stderr)  # fmt: skip
    return 1 if remaining and not args.exit_zero else 0


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.cli.check import stdin_buffer

    buffers = stdin_buffer(args, Path.cwd())
    if buffers:
        return fix_stdin(args, buffers)
    report = execute(args)
    out = sys.stdout
    if args.diff:
        write_diff(report, out)
        if args.show_fixes:
            show_fixes(report, sys.stderr)
        print_errors(report)
        if not args.quiet:
            print(summary(report), file=sys.stderr)
        return 1 if report.changed_files else 0
    if args.show_fixes and not args.quiet:
        show_fixes(report, out)
    # -q as in `check` (and Ruff): the findings that are left, nothing else.
    for finding in report.remaining():
        out.write(_remaining_line(report, finding) + "\n")
    print_errors(report)
    if not args.quiet:
        out.write(summary(report) + "\n")
    if report.remaining() and not args.exit_zero:
        return 1
    return 0


def fix_before_check(args: argparse.Namespace) -> int | None:
    """``somatrace check --fix`` / ``--diff``: fix first (summary on stderr, so machine-readable
    reports on stdout stay clean); ``None`` means "go on and report what is left"."""
    if not (getattr(args, "fix", False) or getattr(args, "diff", False)):
        return None
    report = execute(args)
    if args.diff:
        write_diff(report, sys.stdout)
        if args.show_fixes:
            show_fixes(report, sys.stderr)
        print(summary(report), file=sys.stderr)
        return 1 if report.changed_files else 0
    if args.show_fixes:
        show_fixes(report, sys.stderr)
    print_errors(report)
    print(summary(report), file=sys.stderr)
    return None
