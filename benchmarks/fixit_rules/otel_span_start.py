"""A Fixit 2.2.1 rule doing what ST301 does in its simplest form, for the speed comparison.

Used by ``benchmarks/check_vs_ruff.py`` (``fixit --rules .otel_span_start lint ...`` run from
this folder, in the ``benchmarks/.venv-fixit`` environment); test it with
``benchmarks/.venv-fixit/bin/fixit test .otel_span_start`` from this folder.

It reports ``<x>.start_span(...)`` and ``<x>.start_as_current_span(...)`` where ``<x>`` is a
module-level name assigned from ``opentelemetry.trace.get_tracer(...)``, resolved with
``QualifiedNameProvider`` (so ``from opentelemetry import trace; trace.get_tracer`` and
``from opentelemetry.trace import get_tracer`` both count). It does not look at the span's
attributes or at tag bindings: every such span start is reported, which is what ST301 reports
in third-party code.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from fixit import Invalid, LintRule, Valid
from libcst.metadata import QualifiedNameProvider

GET_TRACER = "opentelemetry.trace.get_tracer"
SPAN_STARTS = frozenset({"start_span", "start_as_current_span"})


class OtelSpanStart(LintRule):
    """A span is started on a module-level OpenTelemetry tracer without the required tags."""

    METADATA_DEPENDENCIES: ClassVar = (QualifiedNameProvider,)
    MESSAGE = "span started on an OpenTelemetry tracer without tenant_id/workflow_name/agent_id"

    VALID: ClassVar = [
        Valid("client.start_span('x')"),
        Valid(
            """
            from opentelemetry import trace
            def f():
                tracer = trace.get_tracer(__name__)
            other.start_span("x")
            """
        ),
    ]
    INVALID: ClassVar = [
        Invalid(
            """
            from opentelemetry import trace
            tracer = trace.get_tracer(__name__)
            with tracer.start_as_current_span("x"):
                pass
            """
        ),
        Invalid(
            """
            from opentelemetry.trace import get_tracer
            tracer = get_tracer(__name__)
            span = tracer.start_span("x")
            """
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tracers: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
        self.tracers = set()
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and self._is_get_tracer(small.value):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            self.tracers.add(target.target.value)

    def _is_get_tracer(self, value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call):
            return False
        names = self.get_metadata(QualifiedNameProvider, value.func, set())
        return any(name.name == GET_TRACER for name in names)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in SPAN_STARTS
            and isinstance(func.value, cst.Name)
            and func.value.value in self.tracers
        ):
            self.report(node, self.MESSAGE)
