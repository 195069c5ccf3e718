"""``somatrace explain CODE``: a rule's documentation, with its examples."""

from __future__ import annotations

import argparse

from somatrace.checks.lint.errors import UsageError
from somatrace.rules import all_rules, rule_by_code


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", help="rule code (ST101) or name (missing-init-tracing)")


def run(args: argparse.Namespace) -> int:
    rule = rule_by_code(args.code)
    if rule is None:
        known = ", ".join(r.CODE for r in all_rules())
        raise UsageError(f"unknown rule {args.code!r}; known rules: {known}")
    fix = "fixable with `somatrace fix`" if rule.FIX.fixable else "not auto-fixable"
    print(f"# {rule.CODE} {rule.NAME} ({fix})\n")
    print(rule.docs())
    return 0
