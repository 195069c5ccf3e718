"""ST201 trace-content-enabled."""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import ProviderT, ScopeProvider

from somatrace.checks.analysis.names import (
    call_arguments_mapping,
    callee_names,
    constant_string,
    keyword,
    literal_mapping,
    matches_name,
    module_constants,
    resolve_constant,
)
from somatrace.checks.lint.rule import FileContext, Invalid, PythonRule, Valid

CONTENT_SWITCHES = frozenset(
    {
        "TRACE_CONTENT",
        "TRACELOOP_TRACE_CONTENT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    }
)
TRUTHY_STRINGS = frozenset({"true", "1", "yes", "on"})
OS_ENVIRON = frozenset({"os.environ"})
ENVIRON_SETDEFAULT = frozenset({"os.environ.setdefault"})
ENVIRON_UPDATE = frozenset({"os.environ.update"})
PUTENV = frozenset({"os.putenv"})
SOMATRACE_INIT = "somatrace.tracing.init_tracing"
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

    CODE = "ST201"
    NAME = "trace-content-enabled"
    TRIGGERS = (
        b"TRACE_CONTENT",
        b"CAPTURE_MESSAGE_CONTENT",
        b"trace_content",
        b"capture_input",
        b"capture_output",
    )
    FIXABLE = True
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (ScopeProvider,)

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

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.constants: dict[str, cst.BaseExpression] = {}
        self.init_functions = frozenset({SOMATRACE_INIT, *ctx.config.init_functions})
        self._reported: set[int] = set()

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_constants(self, node)

    # -- environment ----------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            switch = self._environ_item(target.target)
            if switch is not None:
                self._check_env(switch, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, cst.BitOrAssign) and matches_name(
            self, node.target, OS_ENVIRON
        ):
            mapping = literal_mapping(self, node.value, self.constants)
            if mapping is not None:
                for switch, value in mapping.items:
                    self._check_env(switch, value)

    def visit_Call(self, node: cst.Call) -> None:
        names = callee_names(self, node)
        if not names:
            return
        if names & (ENVIRON_SETDEFAULT | PUTENV):
            key = _argument(node, 0, "key")
            value = _argument(node, 1, "default")
            if key is not None and value is not None:
                switch = constant_string(self, key, self.constants)
                self._check_env(switch, value)
        elif names & ENVIRON_UPDATE:
            for switch, value in call_arguments_mapping(self, node, self.constants).items:
                self._check_env(switch, value)
        elif names & self.init_functions:
            self._check_keyword(node, "trace_content", "`init_tracing(trace_content=...)`")
        elif names & LANGFUSE_OBSERVE:
            for name in OBSERVE_CAPTURE_KEYWORDS:
                self._check_keyword(node, name, "Langfuse `observe(...)`")

    def _environ_item(self, target: cst.BaseExpression) -> str | None:
        """The content switch ``target`` assigns when it is ``os.environ[<switch>]``."""
        if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
            return None
        index = target.slice[0].slice
        if not isinstance(index, cst.Index) or not matches_name(self, target.value, OS_ENVIRON):
            return None
        return constant_string(self, index.value, self.constants)

    def _check_env(self, switch: str | None, value: cst.BaseExpression) -> None:
        if switch not in CONTENT_SWITCHES or not self._truthy(value):
            return
        shown = _code(value)
        self._report_value(
            value,
            f"`{switch}` set to {shown} turns prompt and completion content capture on; "
            'set it to "false" (content is personal data and leaves the service with every span)',
            {"kind": "env", "switch": switch, "replacement": '"false"'},
        )

    def _check_keyword(self, call: cst.Call, name: str, where: str) -> None:
        arg = keyword(call, name)
        if arg is None or not self._truthy(arg.value):
            return
        self._report_value(
            arg.value,
            f"{where} with `{name}={_code(arg.value)}` sends prompt and completion content to "
            f"the trace backend; pass `{name}=False`",
            {"kind": "keyword", "keyword": name, "replacement": "False"},
        )

    def _truthy(self, value: cst.BaseExpression) -> bool:
        value = resolve_constant(self, value, self.constants)
        if isinstance(value, cst.Name):
            return value.value == "True"
        if isinstance(value, cst.Integer):
            try:
                return int(value.value.replace("_", ""), 0) != 0
            except ValueError:
                return False
        text = constant_string(self, value, self.constants)
        return text is not None and text.strip().lower() in TRUTHY_STRINGS

    def _report_value(self, value: cst.BaseExpression, message: str, data: dict[str, Any]) -> None:
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


def _argument(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    by_name = keyword(call, name)
    if by_name is not None:
        return by_name.value
    positional = [arg for arg in call.args if arg.keyword is None and arg.star == ""]
    return positional[index].value if index < len(positional) else None


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
