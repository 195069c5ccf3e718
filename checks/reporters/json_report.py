"""Machine-readable JSON: a stable, sorted list of findings (keys sorted, paths POSIX).

Each record's ``fix`` says whether ``somatrace fix`` applies it (``"applicability": "safe"``)
or needs ``--unsafe-fixes`` (``"unsafe"``), as the text summary counts them.
"""

from __future__ import annotations

import json
from typing import Any

from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.reporters.text import fix_safety
from somatrace.rules import rule_by_code


def finding_record(f: Any) -> dict[str, Any]:
    rule = rule_by_code(f.code)
    fix = None
    safety = fix_safety(f)
    if f.fix is None and safety is not None:
        # A fix `somatrace fix` has, without its edits (--no-fix-edits).
        fix = {"applicability": safety, "description": None, "safe": safety == "safe", "edits": []}
    elif f.fix is not None:
        fix = {
            "applicability": safety,
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
