"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDEs).

Every rule is described in ``tool.driver.rules`` (its docs as ``help.markdown``, ``helpUri`` to
its generated page ``docs/rules/<code>.md``; ST201/ST202/ST401 carry ``security-severity`` so
GitHub shows them as security alerts); every result points at its rule by id and index, carries
``partialFingerprints`` (so code scanning tracks it across commits; see
:mod:`somatrace.checks.cli.presentation`) and its fix safety; every available fix is emitted as
a SARIF ``fix`` with ``artifactChanges`` (the gap that Ruff #19962 and Semgrep #9072 complain
about). Paths are relative to the repository root (the command line rewrites them).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from somatrace.checks.lint import codes
from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.version import VERSION
from somatrace.checks.reporters.text import fix_safety
from somatrace.rules import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/somatrace/somatrace"
RULE_PAGE = INFO_URI + "/blob/main/docs/rules/{code}.md"
FINGERPRINT_KEY = "somatrace/v1"
# GitHub code scanning: >= 9.0 critical, >= 7.0 high. Content capture leaks prompts (PII) to
# the trace store; a literal credential gives write access to it.
SECURITY_SEVERITY = {
    codes.TRACE_CONTENT_ENABLED: "7.5",
    codes.TRACE_CONTENT_ENABLED_CONFIG: "7.5",
    codes.HARDCODED_OTLP_SECRET: "9.0",
}


def _uri(path: str) -> str:
    return PurePosixPath(path).as_uri() if path.startswith("/") else path


def _rule_descriptor(rule: type) -> dict[str, Any]:
    docs = rule.docs()
    properties: dict[str, Any] = {"tags": ["observability", "llm"], "fixable": rule.FIX.fixable}
    if rule.CODE in SECURITY_SEVERITY:
        properties["tags"].append("security")
        properties["security-severity"] = SECURITY_SEVERITY[rule.CODE]
    return {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": docs, "markdown": docs},
        "helpUri": RULE_PAGE.format(code=rule.CODE),
        "defaultConfiguration": {"level": "error"},
        "properties": properties,
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
                    "artifactLocation": {"uri": _uri(f.path)},
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
                        "artifactLocation": {"uri": _uri(f.path)},
                        "region": _region(f.line, f.col, f.end_line, f.end_col),
                    }
                }
            ],
        }
        if f.data.get("fingerprint"):
            entry["partialFingerprints"] = {FINGERPRINT_KEY: f.data["fingerprint"]}
        safety = fix_safety(f)
        if safety is not None:
            entry["properties"] = {"fixSafety": safety}
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
