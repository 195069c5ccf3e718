"""``somatrace check [PATHS...]``: the gate."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from somatrace.checks.lint.config import CODE_PREFIX
from somatrace.checks.lint.engine import CheckResult, CheckSettings, Engine
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.reporters import FORMATS, get_reporter
from somatrace.rules import all_rules, rule_by_code


def _codes(value: str) -> list[str]:
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    for code in codes:
        if not CODE_PREFIX.match(code):
            raise argparse.ArgumentTypeError(
                f"{code!r} is not a rule code or prefix (e.g. ST101, ST1)"
            )
    return codes


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=Path, default=[Path(".")], help="files or folders (default: .)"
    )
    parser.add_argument(
        "--select", type=_codes, help="only these rule codes or prefixes (comma-separated)"
    )
    parser.add_argument(
        "--extend-select", type=_codes, default=[], help="add codes to the selection"
    )
    parser.add_argument(
        "--ignore", type=_codes, default=[], help="skip these rule codes or prefixes"
    )
    parser.add_argument(
        "--config", type=Path, help="use this pyproject.toml / somatrace.toml for every file"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the result cache"
    )
    parser.add_argument("--jobs", "-j", type=int, help="worker processes (default: one per core)")


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
    )


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
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but findings")
    parser.add_argument(
        "--no-fix-edits",
        action="store_true",
        help="json/sarif: leave out each fix's exact edits (computing them parses every file "
        "with a fixable finding with LibCST)",
    )
    from somatrace.checks.cli.fix import add_fix_options  # fixers' options, owned there

    add_fix_options(parser, for_check=True)


def statistics(result: CheckResult) -> str:
    counts = Counter(f.code for f in result.findings)
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = rule_by_code(code)
        rows.append(f"{count:>5}\t{code}\t{rule.NAME if rule else ''}")
    return "\n".join(rows) + ("\n" if rows else "")


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.cli.fix import fix_before_check  # --fix / --diff

    fixed_exit = fix_before_check(args)
    if fixed_exit is not None:
        return fixed_exit
    settings = settings_from_args(args)
    result = Engine(settings, all_rules()).run(list(args.paths))
    if args.output_format in ("sarif", "json") and not args.statistics and not args.no_fix_edits:
        # Machine-readable formats carry every available fix as exact edits.
        from somatrace.fixers.support.sarif import with_fix_edits

        result.findings = with_fix_edits(result.findings, config_file=args.config)
    if args.statistics:
        output = statistics(result)
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
    if result.findings and not args.exit_zero:
        return 1
    return 0
