"""ST201 beyond its samples: the finding's range is exactly the value a fixer replaces, and the
pre-filter keeps files that only *read* a content switch out of the parser."""

from __future__ import annotations

import ast
from pathlib import Path

from somatrace.checks.api import CheckSettings, check_paths, run_check
from somatrace.checks.lint.findings import Finding
from tests.helpers import write_files, write_pyproject

SERVICE = "services/demo/app/main.py"

MANY_SWITCHES = """
import os
from os import environ

from langfuse import observe
from somatrace.tracing import init_tracing

ON = "true"

os.environ["TRACELOOP_TRACE_CONTENT"] = "true"  # turned on for debugging
environ.setdefault("TRACE_CONTENT", 'YES')
os.environ.update({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "1"}, TRACE_CONTENT=ON)
os.putenv("TRACELOOP_TRACE_CONTENT", "on")
init_tracing("billing", trace_content=True, disable_batch=True)

@observe(capture_input=True, capture_output=1)
def answer(question):
    return question
"""


def _check(root: Path) -> list[Finding]:
    return [f for f in check_paths([root], CheckSettings(use_cache=False)) if f.code == "ST201"]


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(text) for text in lines[: line - 1]) + col - 1


def _apply(source: str, findings: list[Finding]) -> str:
    """Replace each finding's range with the replacement it carries, last first."""
    lines = source.splitlines(keepends=True)
    for finding in sorted(findings, key=lambda f: (f.line, f.col), reverse=True):
        assert finding.end_line is not None and finding.end_col is not None
        start = _offset(lines, finding.line, finding.col)
        end = _offset(lines, finding.end_line, finding.end_col)
        source = source[:start] + finding.data["replacement"] + source[end:]
    return source


def test_each_finding_spans_exactly_the_value_and_replacing_it_complies(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST201"]})
    write_files(tmp_path, {SERVICE: MANY_SWITCHES})
    findings = _check(tmp_path)
    source = (tmp_path / SERVICE).read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    spanned = [
        source[_offset(lines, f.line, f.col) : _offset(lines, f.end_line or 0, f.end_col or 0)]
        for f in findings
    ]
    assert spanned == ['"true"', "'YES'", '"1"', "ON", '"on"', "True", "True", "1"]
    assert [f.data["kind"] for f in findings] == ["env"] * 5 + ["keyword"] * 3
    assert {f.data["switch"] for f in findings if f.data["kind"] == "env"} == {
        "TRACELOOP_TRACE_CONTENT",
        "TRACE_CONTENT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    }
    assert [f.data["keyword"] for f in findings if f.data["kind"] == "keyword"] == [
        "trace_content",
        "capture_input",
        "capture_output",
    ]

    fixed = _apply(source, findings)
    ast.parse(fixed)
    assert "# turned on for debugging" in fixed  # nothing else on the line is touched
    assert "TRACE_CONTENT=ON" not in fixed and 'TRACE_CONTENT="false"' in fixed
    (tmp_path / SERVICE).write_text(fixed, encoding="utf-8")
    assert _check(tmp_path) == []


def test_files_that_only_read_a_switch_or_capture_output_are_not_parsed(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST201"]})
    write_files(
        tmp_path,
        {
            "lib/reader.py": """
                import os

                def content_on():
                    return (os.getenv("TRACELOOP_TRACE_CONTENT") or "true").lower() == "true"
                """,
            "lib/shell.py": """
                import subprocess

                def run(command):
                    return subprocess.run(command, capture_output=True, check=True)
                """,
            SERVICE: """
                import os

                os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
                """,
        },
    )
    result = run_check([tmp_path], CheckSettings(use_cache=False))
    assert result.files_checked == 3
    assert result.files_parsed == 1
    assert [(Path(f.path).name, f.line) for f in result.findings] == [("main.py", 3)]
