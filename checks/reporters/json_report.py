"""Machine-readable JSON: a stable, sorted list of findings (keys sorted, paths POSIX)."""

from __future__ import annotations

import json
from typing import Any

from somatrace.checks.lint.engine import CheckResult
from somatrace.rules import rule_by_code


def finding_record(f: Any) -> dict[str, Any]:
    rule = rule_by_code(f.code)
    fix = None
    if f.fix is not None:
        fix = {
            "description": f.fix.description,
            "safe": f.fix.safe,
            "edits": [
                {
                    "location": {"line": e.line, "col": e.col},
                    "end_location": {"line": e.end_line, "col": e.end_col},
                    "content": e.replacement,
                }
                for e in f.fix.edits
            ],
        }
    return {
        "code": f.code,
        "name": rule.NAME if rule else None,
        "message": f.message,
        "path": f.path,
        "location": {"line": f.line, "col": f.col},
        "end_location": {"line": f.end_line or f.line, "col": f.end_col or f.col},
        "fix": fix,
    }


def render(result: CheckResult) -> str:
    records = [finding_record(f) for f in result.findings]
    return json.dumps(records, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
