"""ST201 trace-content-enabled."""

from __future__ import annotations

import ast
from typing import Any, ClassVar

from somatrace.checks.analysis.environ import environ_writes
from somatrace.checks.analysis.values import is_truthy
from somatrace.checks.lint.codes import TRACE_CONTENT_ENABLED
from somatrace.checks.lint.module import Module, Scope, keyword_arg
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    Valid,
)
from somatrace.policy import CONTENT_SWITCHES, INIT_TRACING

LANGFUSE_OBSERVE = frozenset({"langfuse.observe", "langfuse.decorators.observe"})
OBSERVE_CAPTURE_KEYWORDS = ("capture_input", "capture_output")


class TraceContentEnabled(PythonRule):
    """Code switches prompt and completion content capture on.

    ## What it does
    Reports code that turns content capture on:

    - the environment switches `TRACE_CONTENT`, `TRACELOOP_TRACE_CONTENT` and
      `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` set to a truthy value through
      `os.environ[...] = ...`, `os.environ.setdefault(...)`, `os.environ.update(...)` (a dict,
      `dict(...)` or keyword arguments), `os.environ |= {...}` or `os.putenv(...)`, with `os`
      or `environ` imported under any alias;
    - `init_tracing(..., trace_content=<truthy>)` (`somatrace.tracing.init_tracing` and every
      configured `init-function`);
    - Langfuse's `observe(capture_input=<truthy>)` / `observe(capture_output=<truthy>)`
      (imported from `langfuse` or `langfuse.decorators`), as a decorator or called directly.

    Truthy means the strings `true`, `1`, `yes`, `on` in any case and with surrounding spaces,
    the literal `True`, or a non-zero integer literal (a non-string in `os.environ` fails at
    run time, but its intent is unmistakable). Names and values may come through module-level
    constants of the same file (`KEY = "TRACE_CONTENT"; os.environ[KEY] = ON`), followed when
    the constant is bound exactly once at module level. Values that are only known at run time
    (a setting, a function argument) and keyword values such as the string `"false"` are not
    reported. Each finding points at the value that turns capture on.

    ## Why is this bad?
    With content capture on, every prompt and completion — customer messages, documents,
    personal data — is copied into span attributes (`gen_ai.input.messages`,
    `gen_ai.output.messages`) and shipped to the trace backend, where it is kept and shown to
    everyone who can read traces. The fleet's policy keeps content off; `init_tracing` turns it
    on only for tenants that opted in, and redacts it. traceloop-sdk 0.62 even defaults
    `TRACELOOP_TRACE_CONTENT` to "true", so a service must never switch it back on itself.

    ## Example
    ```python
    import os

    from langfuse import observe
    from somatrace.tracing import init_tracing

    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
    init_tracing("billing", trace_content=True)

    @observe(capture_input=True)
    def answer(question: str) -> str: ...
    ```

    ## Use instead
    ```python
    import os

    from langfuse import observe
    from somatrace.tracing import init_tracing

    os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
    init_tracing("billing", trace_content=False)

    @observe(capture_input=False)
    def answer(question: str) -> str: ...
    ```

    ## Fix safety
    `somatrace fix` replaces exactly the reported value: `"false"` for an environment value,
    `False` for a keyword. The fix is safe: it only does what the policy asks, though a
    service that relied on seeing content in its traces will no longer see it there.
    """

    CODE = TRACE_CONTENT_ENABLED
    NAME = "trace-content-enabled"
    TRIGGERS = (
        b"TRACE_CONTENT",
        b"CAPTURE_MESSAGE_CONTENT",
        b"trace_content",
        b"capture_input",
        b"capture_output",
    )
    FIX = FixAvailability.ALWAYS

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # Reading a switch (`os.getenv("TRACELOOP_TRACE_CONTENT")`) is common in
        # instrumentation code; setting one needs `environ` or `putenv` in the same file.
        # `capture_output=` is everywhere (subprocess); Langfuse's needs `observe` too.
        if b"TRACE_CONTENT" in source or b"CAPTURE_MESSAGE_CONTENT" in source:
            if b"environ" in source or b"putenv" in source:
                return True
        if b"capture_input" in source or b"capture_output" in source:
            if b"observe" in source:
                return True
        return b"trace_content" in source

    def check(self, module: Module) -> None:
        self._reported: set[int] = set()
        for write in environ_writes(module):
            if write.name in CONTENT_SWITCHES and is_truthy(module, write.value, write.scope):
                shown = module.source_of(write.value)
                self._report_value(
                    write.value,
                    f"`{write.name}` set to {shown} turns prompt and completion content capture "
                    'on; set it to "false" (content is personal data and leaves the service with '
                    "every span)",
                    {"kind": "env", "switch": write.name, "replacement": '"false"', "fix": "safe"},
                )
        init_functions = frozenset({INIT_TRACING, *self.ctx.config.init_functions})
        for call, scope, _ in module.calls_to(init_functions | LANGFUSE_OBSERVE):
            names = module.qualified_names(call.func, scope)
            if names & init_functions:
                self._check_keyword(
                    module, call, scope, "trace_content", "`init_tracing(trace_content=...)`"
                )
            else:
                for name in OBSERVE_CAPTURE_KEYWORDS:
                    self._check_keyword(module, call, scope, name, "Langfuse `observe(...)`")

    def _check_keyword(
        self, module: Module, call: ast.Call, scope: Scope, name: str, where: str
    ) -> None:
        kw = keyword_arg(call, name)
        if kw is None or not is_truthy(module, kw.value, scope):
            return
        self._report_value(
            kw.value,
            f"{where} with `{name}={module.source_of(kw.value)}` sends prompt and completion "
            f"content to the trace backend; pass `{name}=False`",
            {"kind": "keyword", "keyword": name, "replacement": "False", "fix": "safe"},
        )

    def _report_value(self, value: ast.expr, message: str, data: dict[str, Any]) -> None:
        if id(value) in self._reported:
            return
        self._reported.add(id(value))
        self.report(value, message, data=data)

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
import os

from langfuse import observe
from somatrace.tracing import init_tracing

os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
os.environ.setdefault("TRACE_CONTENT", "0")
os.environ.update({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "off"})
os.environ.update(TRACE_CONTENT="no")
os.putenv("TRACELOOP_TRACE_CONTENT", "False")
init_tracing("billing", trace_content=False)

@observe(capture_input=False, capture_output=False)
def answer(question):
    return question
""",
            why="every switch set to false",
        ),
        Valid(
            '''
"""Never write os.environ["TRACELOOP_TRACE_CONTENT"] = "true" in a service."""
import os

HELP = 'os.environ["TRACE_CONTENT"] = "true"'
# os.environ["TRACE_CONTENT"] = "true"
# init_tracing("x", trace_content=True)
''',
            why="strings, docstrings and comments are not code",
        ),
        Valid(
            """
import os

if os.environ.get("TRACE_CONTENT", "true") == "true":
    print(os.environ["TRACELOOP_TRACE_CONTENT"])
os.environ["ANOTHER_FLAG"] = "true"
os.environ["TRACE_CONTENT_TENANTS"] = "acme"
""",
            why="reading a switch, or setting an unrelated variable, turns nothing on",
        ),
        Valid(
            """
environ = {}
environ["TRACE_CONTENT"] = "true"
settings = {"TRACELOOP_TRACE_CONTENT": "true"}
settings.update(TRACELOOP_TRACE_CONTENT="true")
""",
            why="a project's own dict is not the process environment",
        ),
        Valid(
            """
import os

from app.settings import settings

os.environ["TRACELOOP_TRACE_CONTENT"] = settings.trace_content
os.environ.setdefault("TRACE_CONTENT", os.environ.get("LEGACY_CONTENT", "false"))
""",
            why="a value only known at run time cannot be proven truthy",
        ),
        Valid(
            """
import os

KEY = "TRACE_CONTENT"
ON = "true"

def configure(KEY, ON):
    os.environ[KEY] = ON

FLAG = "TRACELOOP_TRACE_CONTENT"
FLAG = "SOMETHING_ELSE"
os.environ[FLAG] = "true"
""",
            why="parameters shadow the constants; a name bound twice is no constant",
        ),
        Valid(
            """
from app.observability import observe

def init_tracing(name, trace_content=False):
    return name, trace_content

init_tracing("billing", trace_content=True)

@observe(capture_input=True)
def answer(question):
    return question
""",
            why="a project's own init_tracing and observe are not the policed ones",
        ),
        Valid(
            """
from langfuse import observe
from somatrace.tracing import init_tracing

init_tracing("billing", trace_content="false")

@observe(name="answer")
def answer(question):
    return question
""",
            why="the string 'false' and a bare observe() do not switch content on explicitly",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
import os

os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
""",
            line=3,
            col=41,
            message='`TRACELOOP_TRACE_CONTENT` set to "true"',
        ),
        Invalid(
            """
from os import environ as env

def configure():
    env["TRACE_CONTENT"] = " Yes "
""",
            line=4,
            col=28,
        ),
        Invalid(
            """
import os

KEY = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ON = "TRUE"
ALSO_ON = ON

def configure():
    os.environ[KEY] = ALSO_ON
""",
            line=8,
            col=23,
            why="the switch and its value come through module constants",
        ),
        Invalid(
            """
import os

os.environ.setdefault("TRACE_CONTENT", "on")
""",
            line=3,
            col=40,
        ),
        Invalid(
            """
import os as operating_system

operating_system.environ.update({"TRACELOOP_TRACE_CONTENT": "1", "OTHER": "x"})
""",
            line=3,
            col=61,
        ),
        Invalid(
            """
import os

os.environ.update(LOG_LEVEL="info", TRACELOOP_TRACE_CONTENT="true")
""",
            line=3,
            col=61,
        ),
        Invalid(
            """
import os

os.environ.update(dict(TRACE_CONTENT="true"), **{"TRACELOOP_TRACE_CONTENT": "yes"})
""",
            count=2,
            line=3,
            col=38,
            expect=(
                Expect(
                    3, 38, '`TRACE_CONTENT` set to "true" turns prompt and completion content capt'
                ),
                Expect(
                    3, 77, '`TRACELOOP_TRACE_CONTENT` set to "yes" turns prompt and completion con'
                ),
            ),
        ),
        Invalid(
            """
import os

os.environ |= {"TRACE_CONTENT": "true"}
""",
            line=3,
            col=33,
        ),
        Invalid(
            """
import os

os.putenv("TRACELOOP_TRACE_CONTENT", "true")
""",
            line=3,
            col=38,
        ),
        Invalid(
            """
import os

os.environ["TRACE_CONTENT"] = True
""",
            line=3,
            col=31,
            why="a Python True says content on, even though os.environ rejects it",
        ),
        Invalid(
            """
from somatrace.tracing import init_tracing

init_tracing("billing", trace_content=True)
""",
            line=3,
            col=39,
            message="pass `trace_content=False`",
        ),
        Invalid(
            """
import somatrace.tracing as st

CONTENT = True

def create_app():
    st.init_tracing("billing", trace_content=CONTENT)
""",
            line=6,
            col=46,
        ),
        Invalid(
            """
import platform_obs

platform_obs.setup("billing", trace_content=True)
""",
            line=3,
            col=45,
            config={"init-function": ["platform_obs.setup"]},
            why="the configured init-function is policed too",
        ),
        Invalid(
            """
from langfuse import observe

@observe(capture_input=True)
def answer(question):
    return question
""",
            line=3,
            col=24,
            message="Langfuse `observe(...)` with `capture_input=True`",
        ),
        Invalid(
            """
from langfuse.decorators import observe

@observe(name="answer", capture_input=True, capture_output=True)
def answer(question):
    return question
""",
            count=2,
            line=3,
            col=39,
            expect=(
                Expect(
                    3, 39, "Langfuse `observe(...)` with `capture_input=True` sends prompt and com"
                ),
                Expect(
                    3, 60, "Langfuse `observe(...)` with `capture_output=True` sends prompt and co"
                ),
            ),
        ),
        Invalid(
            """
import langfuse

def answer(question):
    return question

traced_answer = langfuse.observe(capture_output=True)(answer)
""",
            line=6,
            col=49,
            why="call form of the decorator",
        ),
    ]
