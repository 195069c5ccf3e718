"""ST301 beyond its samples: what a finding tells the fixer, the unprovable switch acting on
only the unprovable findings of a file, and the pre-filter keeping non-OpenTelemetry files
out of the parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from somatrace.checks.api import CheckSettings, run_check
from somatrace.checks.lint.findings import Finding
from tests.helpers import write_files, write_pyproject

SERVICE = "services/demo/app/main.py"

MIXED = """
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from traceloop.sdk.decorators import workflow

tracer = trace.get_tracer(__name__)

@workflow(name="rag")
def rag(attributes, **kwargs):
    tracer.start_span("absent").end()
    tracer.start_span("keyword", attributes={"tenant_id": "t"}).end()
    tracer.start_span("positional", None, SpanKind.CLIENT, {"agent_id": "a"}).end()
    tracer.start_span("variable", attributes=attributes).end()
    tracer.start_span("spread", **kwargs).end()
"""


def _findings(root: Path, settings: dict[str, Any]) -> list[Finding]:
    write_pyproject(root, {"select": ["ST301"], **settings})
    write_files(root, {SERVICE: MIXED})
    return run_check([root], CheckSettings(use_cache=False)).findings


def test_findings_tell_the_fixer_what_it_is_looking_at(tmp_path: Path) -> None:
    findings = _findings(tmp_path, {})
    summary = [
        (
            f.line,
            f.data["kind"],
            f.data.get("attributes"),
            f.data["unprovable"],
            tuple(f.data["missing"]),
        )
        for f in findings
    ]
    every = ("tenant_id", "workflow_name", "agent_id")
    assert summary == [
        (7, "traceloop-decorator", None, False, every),
        (9, "otel-span", "absent", False, every),
        (10, "otel-span", "keyword", False, ("workflow_name", "agent_id")),
        (11, "otel-span", "positional", False, ("tenant_id", "workflow_name")),
        (12, "otel-span", "keyword", True, every),
        (13, "otel-span", "spread", True, every),
    ]
    assert findings[0].col == 2  # the decorator expression, after "@"
    unprovable = [f for f in findings if f.data["unprovable"]]
    assert all(f.message.startswith("cannot prove tags") for f in unprovable)
    assert not any("cannot prove" in f.message for f in findings if not f.data["unprovable"])


def test_report_unprovable_tags_false_drops_only_the_unprovable(tmp_path: Path) -> None:
    findings = _findings(tmp_path, {"report-unprovable-tags": False})
    assert [f.line for f in findings] == [7, 9, 10, 11]


def test_required_tags_come_from_the_config(tmp_path: Path) -> None:
    findings = _findings(tmp_path, {"required-tags": ["tenant_id"]})
    assert [(f.line, f.data["missing"]) for f in findings] == [
        (7, ["tenant_id"]),
        (9, ["tenant_id"]),
        (11, ["tenant_id"]),
        (12, ["tenant_id"]),
        (13, ["tenant_id"]),
    ]


def test_span_starts_on_other_receivers_are_parsed_and_not_reported(tmp_path: Path) -> None:
    """A file that spells a span start is parsed (its tracer may come from any module of the
    project); one that only mentions decorators of its own is not."""
    write_pyproject(tmp_path, {"select": ["ST301"]})
    write_files(
        tmp_path,
        {
            "lib/langfuse_only.py": """
                from langfuse import Langfuse

                Langfuse().start_span(name="x").end()
                """,
            "lib/otel_no_tracer.py": """
                from opentelemetry import context

                def start_span(name):
                    return context.get_current(), name

                start_span("mine")
                """,
            "lib/decorators_without_traceloop.py": """
                from app import decorators

                @decorators.workflow
                def run():
                    return None
                """,
            SERVICE: """
                from opentelemetry import trace

                trace.get_tracer(__name__).start_span("x").end()
                """,
        },
    )
    result = run_check([tmp_path], CheckSettings(use_cache=False))
    assert result.files_checked == 4
    # langfuse_only, otel_no_tracer and the service: each spells `start_span`.
    assert result.files_parsed == 3
    assert result.counts["parsed"] == 3
    assert [(Path(f.path).name, f.line) for f in result.findings] == [("main.py", 3)]


def test_a_star_parameter_is_what_the_call_builds_not_a_keyword_it_passes(tmp_path: Path) -> None:
    """``def run(**kwargs)`` gets a dict: a call's ``kwargs=tracer`` lands inside it, so
    ``kwargs.start_span`` is no span start; a keyword-only parameter does take the keyword."""
    write_pyproject(tmp_path, {"select": ["ST301"]})
    write_files(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/run.py": (
                "def run(*args, **kwargs):\n"
                '    kwargs.start_span("a dict").end()\n'
                '    args.start_span("a tuple").end()\n\n\n'
                "def go(*, t):\n"
                '    t.start_span("keyword-only").end()\n'
            ),
            "svc/main.py": (
                "from opentelemetry import trace\n\n"
                "from svc.run import go, run\n\n"
                'run(trace.get_tracer("svc"), kwargs=trace.get_tracer("svc"))\n'
                'go(t=trace.get_tracer("svc"))\n'
            ),
        },
    )
    findings = run_check([tmp_path], CheckSettings(use_cache=False)).findings
    assert [(Path(f.path).name, f.line) for f in findings] == [("run.py", 7)]
