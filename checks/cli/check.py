"""``somatrace check [PATHS...]``: the gate.

``somatrace check - --stdin-filename services/x/app/main.py`` checks a buffer read from stdin
as if it were that file (editors, other tools); the rest of the project is read from disk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from somatrace.checks.cli.options import rule_codes
from somatrace.checks.cli.presentation import (
    printable,
    relative_to,
    repository_paths,
    sanitised,
    with_fingerprints,
)
from somatrace.checks.lint.discovery import discover, unmatched_patterns
from somatrace.checks.lint.engine import (
    CheckResult,
    CheckSettings,
    Engine,
    display_path,
    phases_json,
)
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.reporters import FORMATS, get_reporter
from somatrace.checks.reporters.text import fix_safety
from somatrace.rules import all_rules, rule_by_code

STDIN = Path("-")
DEFAULT_STDIN_NAME = "stdin.py"


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path(".")],
        help="files or folders (default: .); `-` reads one file from stdin",
    )
    parser.add_argument(
        "--select", type=rule_codes, help="only these rule codes or prefixes (comma-separated)"
    )
    parser.add_argument(
        "--extend-select", type=rule_codes, default=[], help="add codes to the selection"
    )
    parser.add_argument(
        "--ignore", type=rule_codes, default=[], help="skip these rule codes or prefixes"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="use this pyproject.toml / somatrace.toml for every file (its patterns are "
        "relative to the working directory)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the result cache"
    )
    parser.add_argument("--jobs", "-j", type=int, help="worker processes (default: one per core)")
    parser.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with `-`: the path the buffer read from stdin stands for (default: stdin.py)",
    )
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply `exclude` to files named on the command line too (for pre-commit, editors)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="also say what was skipped and why"
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print findings only: no summary, no warnings"
    )


def settings_from_args(args: argparse.Namespace) -> CheckSettings:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return CheckSettings(
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        config_file=args.config,
        use_cache=not args.no_cache,
        changed_since=getattr(args, "changed_since", None),
        jobs=args.jobs,
        force_exclude=args.force_exclude,
    )


def stdin_buffer(args: argparse.Namespace, cwd: Path) -> dict[Path, bytes]:
    """``-`` on the command line: the buffer on stdin, under ``--stdin-filename``'s path."""
    if STDIN not in args.paths:
        if args.stdin_filename:
            raise UsageError("--stdin-filename needs `-` among the paths")
        return {}
    if args.paths != [STDIN]:
        raise UsageError("`-` (stdin) cannot be combined with other paths")
    path = cwd / (args.stdin_filename or DEFAULT_STDIN_NAME)
    args.paths = [path]
    return {path: sys.stdin.buffer.read()}


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection_options(parser)
    parser.add_argument(
        "--output-format",
        choices=FORMATS,
        default="text",
        help="how to print findings (default: text)",
    )
    parser.add_argument(
        "--output-file", "-o", type=Path, help="write the report here instead of stdout"
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when there are findings"
    )
    parser.add_argument(
        "--statistics", action="store_true", help="print counts per rule instead of findings"
    )
    parser.add_argument(
        "--changed-since",
        metavar="REF",
        help="only report on files changed since this git revision",
    )
    parser.add_argument(
        "--no-fix-edits",
        action="store_true",
        help="json/sarif: leave out each fix's exact edits (computing them parses every file "
        "with a fixable finding with LibCST)",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the resolved configuration for the given file(s), each value with where it "
        "came from, and exit",
    )
    parser.add_argument(
        "--show-files", action="store_true", help="print the files that would be checked, and exit"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="report (and fail on) only findings that are not recorded in this baseline",
    )
    parser.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record today's findings in this baseline file, and exit 0",
    )
    parser.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODES` to every line with a finding, and exit 0",
    )
    parser.add_argument(
        "--report-unused-noqa",
        action="store_true",
        help="report `# noqa` directives that suppress nothing (also `report-unused-noqa`)",
    )
    from somatrace.checks.cli.fix import add_fix_options  # fixers' options, owned there

    add_fix_options(parser, for_check=True)


def statistics(result: CheckResult) -> list[dict[str, object]]:
    counts: Counter[str] = Counter(f.code for f in result.findings)
    safeties: dict[str, Counter[str | None]] = {}
    for f in result.findings:
        safeties.setdefault(f.code, Counter())[fix_safety(f)] += 1
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = rule_by_code(code)
        rows.append(
            {
                "code": code,
                "name": rule.NAME if rule else None,
                "count": count,
                "fixable": safeties[code]["safe"],
                "unsafe_fixable": safeties[code]["unsafe"],
            }
        )
    return rows


def statistics_text(rows: list[dict[str, object]]) -> str:
    out = []
    for row in rows:
        mark = "[*]" if row["fixable"] else ("[-]" if row["unsafe_fixable"] else "   ")
        out.append(f"{row['count']:>5}\t{row['code']}\t{row['name'] or ''}\t{mark}")
    return "\n".join(out) + ("\n" if out else "")


def _warn(message: str, args: argparse.Namespace) -> None:
    if not args.quiet:
        print(printable(f"warning: {message}"), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.cli.fix import fix_before_check  # --fix / --diff

    cwd = Path.cwd()
    buffers = stdin_buffer(args, cwd)
    if buffers and (args.fix or args.diff):
        raise UsageError("use `somatrace fix -` to fix a buffer from stdin")
    fixed_exit = fix_before_check(args)
    if fixed_exit is not None:
        return fixed_exit
    settings = settings_from_args(args)
    engine = Engine(settings, all_rules(), cwd, buffers=buffers)
    if args.show_settings:
        from somatrace.checks.cli.settings_view import show_settings

        sys.stdout.write(show_settings(engine, list(args.paths), args.output_format == "json"))
        return 0
    if args.show_files:
        virtual = frozenset(buffers)
        for cand in discover(list(args.paths), engine.resolver, engine.text_patterns(), virtual):
            print(printable(display_path(cand.path, cwd)))
        return 0
    result = engine.run(list(args.paths))
    started = time.perf_counter()
    code = report(args, engine, result, settings)
    result.phases["report"] = time.perf_counter() - started
    phases_file = os.environ.get(PHASES_VAR)
    if phases_file:  # the per-phase figures benchmarks/check_vs_ruff.py prints
        Path(phases_file).write_text(phases_json(result), encoding="utf-8")
    return code


PHASES_VAR = "SOMATRACE_PHASES"  # a file to write the run's per-phase timings and counts to


def report(
    args: argparse.Namespace, engine: Engine, result: CheckResult, settings: CheckSettings
) -> int:
    cwd = engine.cwd
    if args.verbose:
        for note in engine.log.notes:
            print(printable(f"note: {note}"), file=sys.stderr)
    for warning in engine.log.warnings:
        _warn(warning, args)
    configs = engine.resolver.known_configs()
    for config in configs:
        for warning in unmatched_patterns(config):
            _warn(warning, args)
    if result.files_checked == 0:
        _warn("No files found under the given path(s): nothing was checked", args)

    # The noqa audit: unknown codes in the files with findings (or in every file, with the
    # unused-directive report, which needs them all).
    report_unused = args.report_unused_noqa or any(c.get("report-unused-noqa") for c in configs)
    if report_unused:
        virtual = frozenset(Path(p) for p in engine.buffers)
        audited = [
            c.path
            for c in discover(list(args.paths), engine.resolver, engine.text_patterns(), virtual)
        ]
    else:
        audited = sorted({Path(os.path.abspath(cwd / f.path)) for f in result.findings})
    from somatrace.checks.cli.noqa import audit_noqa

    audit = audit_noqa(
        audited,
        lambda p: display_path(p, cwd),
        lambda s: Engine(s, all_rules(), cwd, buffers=engine.buffers),
        settings,
        report_unused,
        result.noqa_unknown,
    )
    for warning in audit.unknown:
        _warn(warning, args)
    unused = audit.unused

    if args.add_noqa:
        from somatrace.checks.cli.noqa import add_noqa

        added, notes = add_noqa(result.findings, cwd)
        for note in notes:
            print(printable(f"somatrace: {note}"), file=sys.stderr)
        print(f"Added {added} noqa directive{'' if added == 1 else 's'}.")
        return 0

    findings = sanitised(result.findings)
    root = engine.top or cwd
    if args.write_baseline or args.baseline or args.output_format == "sarif":
        # Only a baseline and SARIF's partialFingerprints read them, and they cost a read of
        # every file with a finding (0.04 s of a 4.5 s run on llm-stack's 179 such files).
        findings = with_fingerprints(findings, cwd, root)
    rel_paths = [relative_to(f.path, cwd, root) for f in findings]
    if args.write_baseline:
        from somatrace.checks.cli.baseline import write_baseline

        count = write_baseline(args.write_baseline, findings, rel_paths)
        print(f"Wrote {count} finding{'' if count == 1 else 's'} to {args.write_baseline}")
        return 0
    absorbed = 0
    if args.baseline:
        from somatrace.checks.cli.baseline import new_findings, read_baseline

        findings, absorbed = new_findings(findings, rel_paths, read_baseline(args.baseline))
    result.findings = findings

    if args.output_format in ("sarif", "json") and not args.statistics and not args.no_fix_edits:
        # Machine-readable formats carry every available fix as exact edits.
        from somatrace.fixers.support.sarif import with_fix_edits

        result.findings = with_fix_edits(result.findings, config_file=args.config)
    if args.output_format in ("sarif", "github"):
        result.findings = repository_paths(result.findings, cwd, engine.top)
    if args.statistics:
        rows = statistics(result)
        if args.output_format == "json":
            output = json.dumps(rows, indent=2) + "\n"
        else:
            output = statistics_text(rows)
    else:
        output = get_reporter(args.output_format)(result)
        if args.quiet and args.output_format == "text":
            output = "".join(
                line + "\n" for line in output.splitlines() if line and ":" in line.split(" ")[0]
            )
    if args.output_file:
        args.output_file.parent.mkdir(parents=True, exist_ok=True)
        args.output_file.write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    if absorbed and not args.quiet:
        print(f"{absorbed} finding(s) in the baseline {args.baseline} not shown", file=sys.stderr)
    for line in unused:
        print(printable(line), file=sys.stderr)
    if (result.findings or unused) and not args.exit_zero:
        return 1
    return 0
