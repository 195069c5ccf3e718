"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDEs).

Every rule is described in ``tool.driver.rules`` (its docs as ``help.markdown``); every result
points at its rule by id and index; every available fix is emitted as a SARIF ``fix`` with
``artifactChanges`` (the gap that Ruff #19962 and Semgrep #9072 complain about).
"""

from __future__ import annotations

import json
from typing import Any

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.version import VERSION
from somatrace.rules import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/somatrace/somatrace"


def _rule_descriptor(rule: type) -> dict[str, Any]:
    docs = rule.docs()
    return {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["observability", "llm"], "fixable": rule.FIX.fixable},
    }


def _region(line: int, col: int, end_line: int | None, end_col: int | None) -> dict[str, int]:
    region = {"startLine": line, "startColumn": col}
    if end_line is not None:
        region["endLine"] = end_line
    if end_col is not None:
        region["endColumn"] = end_col
    return region


def _fixes(f: Finding) -> list[dict[str, Any]]:
    if f.fix is None or not f.fix.edits:
        return []
    return [
        {
            "description": {"text": f.fix.description},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": f.path},
                    "replacements": [
                        {
                            "deletedRegion": _region(e.line, e.col, e.end_line, e.end_col),
                            "insertedContent": {"text": e.replacement},
                        }
                        for e in f.fix.edits
                    ],
                }
            ],
        }
    ]


def render(result: CheckResult) -> str:
    rules = list(all_rules())
    index = {rule.CODE: i for i, rule in enumerate(rules)}
    results = []
    for f in result.findings:
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "level": "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path},
                        "region": _region(f.line, f.col, f.end_line, f.end_col),
                    }
                }
            ],
        }
        if f.code in index:
            entry["ruleIndex"] = index[f.code]
        fixes = _fixes(f)
        if fixes:
            entry["fixes"] = fixes
        results.append(entry)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "somatrace",
                        "version": VERSION,
                        "informationUri": INFO_URI,
                        "rules": [_rule_descriptor(r) for r in rules],
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
