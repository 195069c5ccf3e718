"""ST102 direct-traceloop-init."""

from __future__ import annotations

import ast
from typing import ClassVar

from somatrace.checks.analysis.traceloop_init import (
    TRACELOOP_INIT,
    argument_names,
    unfixable_reason,
)
from somatrace.checks.lint.byte_words import CALL_FOLLOWS, word_then
from somatrace.checks.lint.codes import DIRECT_TRACELOOP_INIT
from somatrace.checks.lint.module import Module
from somatrace.checks.lint.rule import FileContext, FixAvailability, Invalid, PythonRule, Valid


def call_argument_names(call: ast.Call) -> list[str] | str:
    star = next(("*" for a in call.args if type(a) is ast.Starred), None)
    star = star or next(("**" for kw in call.keywords if kw.arg is None), None)
    positional = len(call.args)
    return argument_names(positional, [kw.arg for kw in call.keywords if kw.arg], star)


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

    CODE = DIRECT_TRACELOOP_INIT
    NAME = "direct-traceloop-init"
    TRIGGERS = (b"Traceloop", b"traceloop")
    FIX = FixAvailability.SOMETIMES

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # The call spells `init(` under every alias (`TL.init(`, `init = Traceloop.init`
        # then `init(`); a word, so `__init__(` and `init_tracing(` are not it. Most of
        # traceloop's own modules and its users' exporters name it without calling `init`.
        return any(t in source for t in cls.TRIGGERS) and word_then(source, b"init", CALL_FOLLOWS)

    MESSAGE = (
        "`Traceloop.init` called directly; call `init_tracing` instead "
        "(traceloop-sdk 0.62 captures prompt content by default and this bypasses the "
        "content policy, required tags and cost attribution)"
    )

    def check(self, module: Module) -> None:
        for call, _scope, _name in module.calls_to(TRACELOOP_INIT):
            reason = unfixable_reason(call_argument_names(call))
            if reason is None:
                # `client = Traceloop.init(...)`: init_tracing returns no Traceloop client.
                safety = "safe" if id(call) in module.statement_values else "unsafe"
                self.report(call, self.MESSAGE, data={"fix": safety})
            else:
                self.report(call, f"{self.MESSAGE}; no automatic fix: {reason}")

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
            col=1,
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
            col=1,
        ),
        Invalid(
            """
import traceloop.sdk

traceloop.sdk.Traceloop.init(app_name="billing")
""",
            line=3,
            col=1,
        ),
    ]
