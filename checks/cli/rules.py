"""``somatrace rules``: every rule with its code, name, fixability and one-line summary."""

from __future__ import annotations

import argparse
import json

from somatrace.rules import all_rules


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.output_format == "json":
        payload = [
            {
                "code": r.CODE,
                "name": r.NAME,
                "fixable": r.FIX.fixable,
                "fix": r.FIX.value,
                "summary": r.summary(),
            }
            for r in rules
        ]
        print(json.dumps(payload, indent=2))
        return 0
    width = max(len(r.NAME) for r in rules)
    for r in rules:
        mark = "fix" if r.FIX.fixable else "   "
        print(f"{r.CODE}  {r.NAME:<{width}}  {mark}  {r.summary()}")
    return 0
