"""ST102 direct-traceloop-init."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.metadata import ProviderT, ScopeProvider

from somatrace.checks.analysis.names import callee_names
from somatrace.checks.lint.rule import Invalid, PythonRule, Valid

TRACELOOP_INIT = frozenset(
    {"traceloop.sdk.Traceloop.init", "traceloop.sdk.tracing.tracing.Traceloop.init"}
)


class DirectTraceloopInit(PythonRule):
    """Service code calls `Traceloop.init` itself instead of `init_tracing`.

    ## What it does
    Reports every call of `Traceloop.init` from `traceloop.sdk`, under any import alias
    (`from traceloop.sdk import Traceloop as TL; TL.init(...)`, `import traceloop.sdk as ts;
    ts.Traceloop.init(...)`).

    ## Why is this bad?
    `init_tracing` is the one place where the fleet's policy lives: content capture off unless a
    tenant opted in, the required tags stamped on every span, cost attached to every LLM span,
    export bounded and pointed at the self-hosted Langfuse only. A direct `Traceloop.init`
    bypasses all of it. Worse, on traceloop-sdk 0.62 content capture **defaults to on**
    (`TRACELOOP_TRACE_CONTENT` is "true" unless set), so a bare `Traceloop.init(...)` ships
    every prompt and completion to the trace backend.

    ## Example
    ```python
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name="billing", disable_batch=True)
    ```

    ## Use instead
    ```python
    from somatrace.tracing import init_tracing

    init_tracing("billing", disable_batch=True)
    ```

    ## Fix safety
    `somatrace fix` rewrites the call when its arguments map onto `init_tracing`'s; a call
    with a custom exporter or processor is left alone and the finding says why.
    """

    CODE = "ST102"
    NAME = "direct-traceloop-init"
    TRIGGERS = (b"Traceloop", b"traceloop")
    FIXABLE = True
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (ScopeProvider,)

    MESSAGE = (
        "`Traceloop.init` called directly; call `init_tracing` instead "
        "(traceloop-sdk 0.62 captures prompt content by default and this bypasses the "
        "content policy, required tags and cost attribution)"
    )

    def visit_Call(self, node: cst.Call) -> None:
        if callee_names(self, node) & TRACELOOP_INIT:
            # The fixer knows which arguments map onto init_tracing; say why when none can.
            from somatrace.fixers.direct_traceloop_init import unfixable_reason

            reason = unfixable_reason(node)
            if reason is None:
                self.report(node, self.MESSAGE)
            else:
                message = f"{self.MESSAGE}; no automatic fix: {reason}"
                self.report(node, message, data={"fixable": False})

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
from somatrace.tracing import init_tracing

init_tracing("billing")
""",
            why="the helper is the compliant way",
        ),
        Valid(
            '''
"""Docs mention Traceloop.init(app_name="x") but never call it."""
text = "Traceloop.init(app_name='x')"
# Traceloop.init(app_name="x")
''',
            why="strings, docstrings and comments are not calls",
        ),
        Valid(
            """
class Traceloop:
    @staticmethod
    def init(**kwargs):
        return kwargs

Traceloop.init(app_name="x")
""",
            why="a project's own class that happens to be called Traceloop",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from traceloop.sdk import Traceloop

Traceloop.init(app_name="billing", exporter=ConsoleSpanExporter())
""",
            line=4,
            message="no automatic fix:",
            why="a custom exporter does not map onto init_tracing, and the finding says so",
        ),
        Invalid(
            """
from traceloop.sdk import Traceloop

Traceloop.init(app_name="billing", disable_batch=True)
""",
            line=3,
            col=1,
            message="content by default",
        ),
        Invalid(
            """
from traceloop.sdk import Traceloop as TL

def main():
    TL.init(app_name="billing")
""",
            line=4,
            col=5,
        ),
        Invalid(
            """
import traceloop.sdk as ts

ts.Traceloop.init(app_name="billing")
""",
            line=3,
        ),
        Invalid(
            """
import traceloop.sdk

traceloop.sdk.Traceloop.init(app_name="billing")
""",
            line=3,
        ),
    ]
