"""ST301 span-missing-tags."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any, ClassVar

from somatrace.checks.analysis import otel
from somatrace.checks.analysis.tags import (
    TagProof,
    bind_call_proof,
    complete,
    expression_proof,
    tag_flow,
)
from somatrace.checks.analysis.values import is_none, string_value
from somatrace.checks.lint.byte_words import has_word
from somatrace.checks.lint.codes import SPAN_MISSING_TAGS
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.module import FunctionNode, Module, Scope, keyword_arg
from somatrace.checks.lint.project import ModuleFacts, ProjectModel, to_term
from somatrace.checks.lint.provenance import VALUES_FACET, terms_for, values_facet
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    Valid,
)


def _tags(missing: list[str]) -> str:
    return ("tags " if len(missing) > 1 else "tag ") + ", ".join(missing)


class SpanMissingTags(PythonRule):
    """A span is started without the required tags.

    ## What it does
    Reports a span that does not carry every `required-tags` key (default `tenant_id`,
    `workflow_name`, `agent_id`) and names the missing ones. Spans are:

    - `start_as_current_span(...)` / `start_span(...)` called on an **OpenTelemetry tracer**:
      the result of `opentelemetry.trace.get_tracer(...)`, of `get_tracer(...)` on a tracer
      provider (`trace.get_tracer_provider()`, `TracerProvider(...)`, or a variable holding
      one), or a variable, parameter or attribute annotated as `Tracer` (also quoted or
      optional). A tracer kept in a module variable, a local, a class attribute or
      `self.<attr>` set in any method of the same class is followed within the file. The same
      method names on anything else — a Langfuse or MLflow client, a project's own helper,
      a tracer imported from another module — are not OpenTelemetry spans of this file and
      are not reported.
    - a Traceloop `@workflow`, `@task`, `@agent`, `@tool` (and the deprecated `aworkflow`,
      `atask`, `aagent`, `atool`) from `traceloop.sdk.decorators`, bare or called, on a
      function, on a class with `method_name=`, or in call form `workflow(name="x")(fn)`.

    For an OpenTelemetry span, tags are proven by the union of: its own literal `attributes`
    (keyword, or the fourth positional argument) — keys of a dict or `dict(...)`, a
    `**span_tags()` spread or `attributes=span_tags()` (which supply every tag); an enclosing
    `with somatrace.tags.bind(...)` (sync or async, including an earlier item of the same
    `with`) in the same function; a `@bind(...)` decorator on that function; and
    `Traceloop.set_association_properties({...})` called earlier in the same function —
    which *replaces* the tags bound so far (traceloop and somatrace keep them in one context
    value) until the enclosing `with` ends. `bind(tenant_id=None)` binds nothing. A
    binding in a caller, or around the *definition* of a nested function, proves nothing.
    Used as a decorator (`@tracer.start_as_current_span("x")`), only its own attributes and
    `@bind(...)` decorators above it count.

    For a Traceloop decorator, the span starts when the function is called, before its body
    runs, so tags are proven by `@bind(...)` decorators **above** it (they bind before the
    span starts) and by `Traceloop.set_association_properties({...})` anywhere in the body
    (traceloop stamps those on the running workflow/task span). A `@bind` below it, or a
    `with bind(...)` inside the body, binds only after the span started and does not count.
    In call form the function's body is looked up in the same file.

    When the missing tags might hide in a part whose keys cannot be known — attributes from
    a variable or a call, a `**spread` other than `span_tags()`, a `bind(**kwargs)`, a
    decorated function defined elsewhere — the finding says it **cannot prove** the tags;
    `report-unprovable-tags = false` turns these findings off. A dict key whose value is
    defined elsewhere (`{SpanAttributes.LLM_SYSTEM: ...}`) is still one key: when there are
    fewer such keys than missing tags, a tag is missing for certain and the span is reported
    as such.

    ## Why is this bad?
    Langfuse segments traces, cost and evaluations by the tags (as
    `langfuse.trace.metadata.<key>`): a span without `tenant_id` makes a tenant's traffic
    and spend disappear from its views, and one without `workflow_name` or `agent_id` cannot
    be attributed to the workflow or agent that produced it.

    ## Example
    ```python
    from opentelemetry import trace

    tracer = trace.get_tracer(__name__)

    def retrieve(query):
        with tracer.start_as_current_span("retrieve", attributes={"query.len": len(query)}):
            ...
    ```

    ## Use instead
    ```python
    from opentelemetry import trace
    from somatrace.tags import span_tags

    tracer = trace.get_tracer(__name__)

    def retrieve(query):
        with tracer.start_as_current_span(
            "retrieve", attributes={"query.len": len(query), **span_tags()}
        ):
            ...
    ```

    ## Fix safety
    For OpenTelemetry spans `somatrace fix` adds `**span_tags()` to the span's `attributes`
    (creating the keyword if absent) and imports `span_tags` from `somatrace.tags`; the fix
    is safe when `attributes` is absent, `None`, a dict literal or a `dict(...)` call, as
    `span_tags()` only adds the tags bound at run time. When `attributes` is another
    expression (a variable, a call) the fix wraps it, `{**attrs, **span_tags()}`, which is
    offered as unsafe (`--unsafe-fixes`): it evaluates the expression as a mapping. Traceloop
    decorators get no fix: where to bind the tags is the author's choice.
    """

    CODE = SPAN_MISSING_TAGS
    NAME = "span-missing-tags"
    TRIGGERS = (b"start_span", b"start_as_current_span", b"decorators")
    FIX = FixAvailability.SOMETIMES
    API = (otel.TABLE,)
    FACETS = {VALUES_FACET: values_facet}

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # A span start is spelled in the file (its tracer may come from anywhere in the
        # project), or the file obtains a tracer (`get_tracer`, a `Tracer` annotation: the
        # OpenTelemetry type's name as a word) and so may hand it to the functions that start
        # spans (on llm-stack 26 files spelled only LangChain's `BaseTracer` and the like, 0.9 MB,
        # and were parsed for nothing); Traceloop decorators are only
        # importable from `traceloop.sdk.decorators`.
        if b"start_span" in source or b"start_as_current_span" in source:
            return True
        if b"get_tracer" in source or any(has_word(source, w) for w in otel.TRACER_TYPE_WORDS):
            return True
        return b"traceloop" in source and b"decorators" in source

    def check(self, module: Module) -> None:
        self.required = tuple(self.ctx.config.required_tags)
        self.report_unprovable = bool(self.ctx.config.get("report-unprovable-tags"))
        flow = tag_flow(module)
        otel_imported = otel.imports_opentelemetry(module)
        decorators = {id(d): fn for fn, _ in module.functions for d in fn.decorator_list}
        terms = terms_for(module)
        for call, scope in module.calls:
            if not otel.is_span_start(call):
                continue
            own, form, written_out = self._own_attributes(module, call, scope)
            function = decorators.get(id(call))
            if function is not None:
                context = self._binds_above(module, function, call, scope)
            else:
                context = flow.before.get(id(call), TagProof())
            proof = complete(own | context, self.required)
            missing = proof.missing(self.required)
            if not missing:
                continue
            receiver = call.func.value  # type: ignore[attr-defined]
            data: dict[str, Any] = {
                "kind": "otel-span",
                "missing": missing,
                "attributes": form,
                "unprovable": proof.may_supply(missing),
                "fix": "safe" if written_out else "unsafe",
            }
            message = self._span_message(proof, missing, data)
            if message is None:
                continue
            term = terms.of(receiver, scope)
            name = otel.receiver_name(receiver)
            self.defer(call, message, ["tracer", term, name, otel_imported], data=data)
        self._traceloop(module, flow)

    @classmethod
    def settle(
        cls, finding: Finding, query: Any, project: ProjectModel, facts: ModuleFacts
    ) -> Iterable[Finding]:
        _, term, name, otel_imported = query
        if otel.is_tracer_kinds(project.kinds(to_term(term), facts), name, otel_imported):
            yield finding

    # -- OpenTelemetry spans ----------------------------------------------------------------

    def _own_attributes(
        self, module: Module, call: ast.Call, scope: Scope
    ) -> tuple[TagProof, str, bool]:
        """The tags the span's own ``attributes`` prove, the form they take (``absent``,
        ``keyword``, ``positional``, ``spread``), and whether they are written out (absent,
        ``None``, a dict display or ``dict(...)``: the fixer can add to them safely)."""
        kw = keyword_arg(call, "attributes")
        form = "keyword"
        value: ast.expr | None = kw.value if kw is not None else None
        if kw is None:
            for spread in call.keywords:
                if spread.arg is None:
                    shown = f"`**{module.source_of(spread.value)}`"
                    return TagProof(frozenset(), (shown,)), "spread", False
            positional = []
            for arg in call.args:
                if type(arg) is ast.Starred:
                    return TagProof(frozenset(), (f"`{module.source_of(arg)}`",)), "spread", False
                positional.append(arg)
            if len(positional) <= otel.ATTRIBUTES_POSITION:
                return TagProof(), "absent", True
            value, form = positional[otel.ATTRIBUTES_POSITION], "positional"
        assert value is not None
        if is_none(value):
            return TagProof(), form, True
        literal = type(value) is ast.Dict or (
            type(value) is ast.Call and "builtins.dict" in module.qualified_names(value.func, scope)  # type: ignore[attr-defined]
        )
        return expression_proof(module, value, scope), form, literal

    def _binds_above(
        self, module: Module, fn: FunctionNode, call: ast.Call, scope: Scope
    ) -> TagProof:
        proof = TagProof()
        for decorator in fn.decorator_list:
            if decorator is call:
                break
            if type(decorator) is ast.Call and otel.is_bind_call(module, decorator, scope):
                proof = proof | bind_call_proof(module, decorator, scope)
        return proof

    def _span_message(
        self, proof: TagProof, missing: list[str], data: dict[str, Any]
    ) -> str | None:
        if data["unprovable"]:
            return self._unprovable_message(proof, missing)
        return (
            f"span started without required {_tags(missing)}{proof.unknown_keys_note()}: "
            "add `**span_tags()` to its `attributes`, or start it inside `with bind(...)`"
        )

    def _unprovable_message(self, proof: TagProof, missing: list[str]) -> str | None:
        if not self.report_unprovable:
            return None
        hidden = ", ".join(dict.fromkeys(proof.opaque + proof.unknown_keys))
        return (
            f"cannot prove {_tags(missing)} on this span: they may come from {hidden}, which "
            "cannot be read here (bind them visibly, or set `report-unprovable-tags = false`)"
        )

    # -- Traceloop decorators ---------------------------------------------------------------

    def _traceloop(self, module: Module, flow: Any) -> None:
        bodies: dict[str, TagProof] = {}
        for fn, scope in module.functions:
            bodies[scope.qualname] = flow.association_in_body.get(id(fn), TagProof())
        for fn, scope in module.functions:
            outer = scope.parent or module.scope
            above = TagProof()
            for index, decorator in enumerate(fn.decorator_list):
                if type(decorator) is ast.Call and otel.is_bind_call(module, decorator, outer):
                    above = above | bind_call_proof(module, decorator, outer)
                    continue
                name = otel.traceloop_decorator(module, decorator, outer)
                if name is None:
                    continue
                inner_bind = any(
                    type(d) is ast.Call and otel.is_bind_call(module, d, outer)
                    for d in fn.decorator_list[index + 1 :]
                )
                self._decoration(decorator, name, above | bodies[scope.qualname], inner_bind)
        for cls, scope in module.classes:
            outer = scope.parent or module.scope
            for decorator in cls.decorator_list:
                name = otel.traceloop_decorator(module, decorator, outer)
                if name is None or type(decorator) is not ast.Call:
                    continue
                method = keyword_arg(decorator, "method_name")
                method_name = string_value(method.value) if method is not None else None
                if method_name is None:
                    continue  # traceloop only wraps a class's method named by `method_name=`
                body = bodies.get(f"{scope.qualname}.{method_name}", TagProof())
                self._decoration(decorator, name, body, False)
        for call, scope in module.calls:
            func = call.func
            if type(func) is not ast.Call or not call.args or type(call.args[0]) is ast.Starred:
                continue
            name = otel.traceloop_decorator(module, func, scope)
            if name is None:
                continue
            method = keyword_arg(func, "method_name")
            method_name = string_value(method.value) if method is not None else None
            self._decoration(
                call,
                name,
                self._call_form_body(module, call.args[0], scope, method_name, bodies),
                False,
            )

    def _call_form_body(
        self,
        module: Module,
        target: ast.expr,
        scope: Scope,
        method_name: str | None,
        bodies: dict[str, TagProof],
    ) -> TagProof:
        if type(target) is ast.Lambda:
            return TagProof()  # a lambda holds no statement that could bind tags
        if type(target) is ast.Name:
            found = scope.lookup(target.id)
            if found is not None:
                _, bindings = found
                for binding in bindings:
                    if binding.kind in ("def", "class"):
                        qualname = module.scopes[binding.node].qualname
                        if method_name is not None:
                            qualname = f"{qualname}.{method_name}"
                        if qualname in bodies:
                            return bodies[qualname]
        return TagProof(
            frozenset(), (f"the body of `{module.source_of(target)}`, defined elsewhere",)
        )

    def _decoration(self, node: ast.AST, decorator: str, proof: TagProof, inner_bind: bool) -> None:
        proof = complete(proof, self.required)
        missing = proof.missing(self.required)
        if not missing:
            return
        unprovable = proof.may_supply(missing)
        data: dict[str, Any] = {
            "kind": "traceloop-decorator",
            "decorator": decorator,
            "missing": missing,
            "unprovable": unprovable,
        }
        if unprovable:
            message = self._unprovable_message(proof, missing)
            if message is not None:
                self.report(node, message, data=data)
            return
        hint = (
            f" (a `@bind` below `@{decorator}` binds only after its span started)"
            if inner_bind
            else ""
        )
        self.report(
            node,
            f"Traceloop `@{decorator}` span lacks required {_tags(missing)}"
            f"{proof.unknown_keys_note()}: put "
            "`@bind(...)` above it, or call `Traceloop.set_association_properties({...})` "
            f"in its body{hint}",
            data=data,
        )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from somatrace.tags import span_tags

tracer = trace.get_tracer(__name__)
TENANT = "tenant_id"
TAGS = {TENANT: "acme", "workflow_name": "nightly", "agent_id": "eval"}

def handle(tenant):
    tags = {"tenant_id": tenant, "workflow_name": "rag", "agent_id": "retriever"}
    with tracer.start_as_current_span("a", attributes={**tags, **span_tags()}):
        pass
    with tracer.start_as_current_span(
        "b", None, SpanKind.INTERNAL, {"tenant_id": tenant, "workflow_name": "rag", "agent_id": "r"}
    ):
        pass
    tracer.start_span("c", attributes={"step": 1, **span_tags()}).end()
    tracer.start_span("d", attributes=span_tags()).end()
    tracer.start_span("e", attributes=TAGS).end()
    tracer.start_span("f", attributes=dict(tenant_id=tenant, workflow_name="w", agent_id="a"))
""",
            why="literal attributes (keyword, positional, dict(), module constant) and span_tags()",
        ),
        Valid(
            """
from opentelemetry import trace
from somatrace.tags import bind
from traceloop.sdk import Traceloop

tracer = trace.get_tracer(__name__)

def handle(tenant):
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="retriever"):
        with tracer.start_as_current_span("retrieve"):
            pass
    with bind(tenant_id=tenant):
        with bind(workflow_name="rag", agent_id="retriever"):
            tracer.start_span("nested binds add up").end()

async def ahandle(tenant):
    async with bind(tenant_id=tenant, workflow_name="rag"), tracer.start_as_current_span(
        "answer", attributes={"agent_id": "answerer"}
    ):
        pass

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
def nightly():
    with tracer.start_as_current_span("evaluate"):
        pass

def legacy(tenant):
    Traceloop.set_association_properties(
        {"tenant_id": tenant, "workflow_name": "legacy", "agent_id": "bot"}
    )
    span = tracer.start_span("legacy")
    span.end()
""",
            why="an enclosing bind (sync, async, earlier with-item), @bind, or association "
            "properties set earlier in the same function",
        ),
        Valid(
            """
import mlflow
from langfuse import Langfuse
from mlflow import MlflowClient
from opentelemetry import trace

from app.telemetry import tracer as shared_tracer

langfuse = Langfuse()

class Pipeline:
    def __init__(self):
        self._client = Langfuse()
        self._tracer = trace.get_tracer(__name__)

    def run(self):
        self._client.start_span(name="run").end()
        with self._tracer.start_as_current_span(
            "run", attributes={"tenant_id": "t", "workflow_name": "w", "agent_id": "a"}
        ):
            pass

def start_span(name):
    return name

def work():
    langfuse.start_span(name="work").end()
    with mlflow.start_span("work"):
        pass
    MlflowClient().start_span("work", request_id="r")
    start_span("mine")
    shared_tracer.start_span("elsewhere")
""",
            why="Langfuse, MLflow, a project's own start_span and a tracer from another module "
            "are not OpenTelemetry tracers of this file",
        ),
        Valid(
            '''
"""Example: tracer.start_as_current_span("x") from opentelemetry."""
from opentelemetry import trace

tracer = trace.get_tracer(__name__)
DOC = 'with tracer.start_as_current_span("x"):'
# tracer.start_span("commented out")
''',
            why="strings, docstrings and comments are not spans",
        ),
        Valid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)

def handle(attributes, extra):
    tracer.start_span("a", attributes=attributes).end()
    tracer.start_span("b", attributes={"tenant_id": "t", **extra}).end()
""",
            config={"report-unprovable-tags": False},
            why="report-unprovable-tags = false silences spans whose attributes cannot be read",
        ),
        Valid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)
tracer.start_span("a", attributes={"tenant_id": "acme"}).end()
""",
            config={"required-tags": ["tenant_id"]},
            why="only the configured required tags are asked for",
        ),
        Valid(
            """
from somatrace.tags import bind
from traceloop.sdk import Traceloop
from traceloop.sdk.decorators import agent, task, tool, workflow

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
@workflow(name="nightly")
def nightly():
    return None

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
@task
def step():
    return None

@agent(name="support")
def support(tenant):
    if tenant:
        Traceloop.set_association_properties(
            {"tenant_id": tenant, "workflow_name": "support", "agent_id": "support"}
        )
    return tenant

@workflow(name="pipeline", method_name="run")
class Pipeline:
    @staticmethod
    def run(tenant):
        Traceloop.set_association_properties(
            {"tenant_id": tenant, "workflow_name": "pipeline", "agent_id": "runner"}
        )

def lookup(tenant):
    Traceloop.set_association_properties(
        {"tenant_id": tenant, "workflow_name": "support", "agent_id": "lookup"}
    )

lookup_tool = tool(name="lookup")(lookup)
""",
            why="Traceloop spans tagged by @bind above them or association properties in the body",
        ),
        Valid(
            """
from typing import TYPE_CHECKING

from somatrace.tags import bind

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

def handle(tracer: "Tracer", tenant):
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="retriever"):
        tracer.start_span("retrieve").end()

class Retriever:
    @bind(tenant_id="acme", workflow_name="rag", agent_id="retriever")
    @tracer_decorator
    def run(self):
        return None

def tracer_decorator(fn):
    return fn
""",
            why="an annotated tracer inside a bind",
        ),
        Valid(
            """
from opentelemetry import trace
from somatrace.tags import bind

tracer = trace.get_tracer(__name__)

@bind(tenant_id="acme", workflow_name="nightly", agent_id="eval")
@tracer.start_as_current_span("nightly")
def nightly():
    return None
""",
            why="a span used as a decorator, with @bind above it",
        ),
        Valid(
            """
from opentelemetry import trace
from somatrace.tags import span_tags

tracer = trace.get_tracer(__name__)
tracer.start_span("a", attributes={"tenant_id": "t", **span_tags()}).end()
""",
            config={"required-tags": ["tenant_id", "region"]},
            why="span_tags() supplies every required tag, whichever are configured",
        ),
        Valid(
            """
from opentelemetry import trace

from app.keys import Keys

tracer = trace.get_tracer(__name__)
tracer.start_span("a", attributes={Keys.TENANT: "t", Keys.WORKFLOW: "w", Keys.AGENT: "a"})
""",
            config={"report-unprovable-tags": False},
            why="three keys defined elsewhere may be the three tags: not provably missing",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)

def retrieve(query):
    with tracer.start_as_current_span("retrieve"):
        return query
""",
            line=6,
            col=10,
            message="span started without required tags tenant_id, workflow_name, agent_id",
        ),
        Invalid(
            """
from opentelemetry import trace
from opentelemetry.trace import SpanKind

def retrieve(query, tenant):
    tracer = trace.get_tracer(__name__)
    span = tracer.start_span(
        "retrieve", None, SpanKind.CLIENT, {"tenant_id": tenant, "workflow_name": "rag"}
    )
    span.end()
""",
            line=6,
            col=12,
            message="required tag agent_id:",
            why="positional attributes missing one tag",
        ),
        Invalid(
            """
from opentelemetry import trace

class Retriever:
    def run(self):
        with self._tracer.start_as_current_span("run", attributes={"agent_id": "r"}):
            pass

    def __init__(self):
        self._tracer = trace.get_tracer(__name__)
""",
            line=5,
            col=14,
            message="tags tenant_id, workflow_name:",
            why="self attribute set in __init__, even below its use",
        ),
        Invalid(
            """
from typing import TYPE_CHECKING, Optional

from opentelemetry import trace
from opentelemetry.trace import Tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import Tracer as SdkTracer

def a(tracer: Tracer):
    tracer.start_span("a").end()

def b(tracer: Optional[trace.Tracer] = None):
    tracer.start_span("b").end()

def c(tracer: "SdkTracer | None"):
    tracer.start_span("c").end()

class D:
    tracer: Tracer

    def d(self):
        self.tracer.start_span("d").end()
""",
            count=4,
            line=10,
            col=5,
            why="parameters and attributes annotated as Tracer, optional or quoted",
            expect=(
                Expect(
                    10, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
                Expect(
                    13, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
                Expect(
                    16, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
                Expect(
                    22, 9, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
            ),
        ),
        Invalid(
            """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

provider = TracerProvider()
tracer = provider.get_tracer(__name__)

def run():
    trace.get_tracer_provider().get_tracer("x").start_span("chained").end()
    trace.get_tracer(__name__).start_span("direct").end()
    tracer.start_span("via provider").end()
""",
            count=3,
            line=8,
            col=5,
            why="tracers from a provider, chained or through a variable",
            expect=(
                Expect(
                    8, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
                Expect(
                    9, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
                Expect(
                    10, 5, "span started without required tags tenant_id, workflow_name, agent_id"
                ),
            ),
        ),
        Invalid(
            """
from opentelemetry import trace
from opentelemetry.semconv_ai import SpanAttributes

tracer = trace.get_tracer(__name__)

def call_llm():
    with tracer.start_as_current_span(
        "openai.chat", attributes={SpanAttributes.LLM_SYSTEM: "openai", "tenant_id": "t"}
    ):
        pass
""",
            config={"report-unprovable-tags": False},
            line=7,
            col=10,
            message="span started without required tags workflow_name, agent_id (keys defined "
            "elsewhere, `SpanAttributes.LLM_SYSTEM`, can supply at most 1)",
            why="one key defined elsewhere cannot supply two missing tags: a definite finding",
        ),
        Invalid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)

def handle(attributes):
    tracer.start_span("a", attributes=attributes).end()
""",
            line=6,
            col=5,
            message="cannot prove tags tenant_id, workflow_name, agent_id on this span: "
            "they may come from `attributes`",
        ),
        Invalid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)

def handle(extra, **kwargs):
    tracer.start_span("a", attributes={"tenant_id": "t", **extra}).end()
    tracer.start_span("b", **kwargs).end()
""",
            count=2,
            line=6,
            message="cannot prove tags workflow_name, agent_id",
            expect=(
                Expect(6, 5, "cannot prove tags workflow_name, agent_id on this span"),
                Expect(7, 5, "cannot prove tags tenant_id, workflow_name, agent_id on this span"),
            ),
        ),
        Invalid(
            """
from opentelemetry import trace
from somatrace.tags import bind

tracer = trace.get_tracer(__name__)

def handle(tenant):
    with bind(tenant_id=tenant):
        def later():
            with tracer.start_as_current_span("later"):
                pass
        return later
""",
            line=9,
            col=18,
            message="tags tenant_id, workflow_name, agent_id",
            why="a bind around a nested function's definition does not cover its spans",
        ),
        Invalid(
            """
from opentelemetry import trace
from somatrace.tags import bind

tracer = trace.get_tracer(__name__)

def handle(tenant):
    with tracer.start_as_current_span("first"), bind(
        tenant_id=tenant, workflow_name="rag", agent_id="a"
    ):
        pass
""",
            line=7,
            col=10,
            why="a bind entered after the span started does not tag it",
        ),
        Invalid(
            """
from opentelemetry import trace
from somatrace.tags import bind
from traceloop.sdk import Traceloop

tracer = trace.get_tracer(__name__)

def handle(tenant):
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="a"):
        Traceloop.set_association_properties({"tenant_id": tenant})
        tracer.start_span("replaced").end()
    with bind(tenant_id=None, workflow_name="rag", agent_id="a"):
        with tracer.start_as_current_span("unbound"):
            pass
""",
            count=2,
            line=10,
            col=9,
            message="tags workflow_name, agent_id",
            why="association properties replace the bound tags; bind(tenant_id=None) binds none",
            expect=(
                Expect(10, 9, "span started without required tags workflow_name, agent_id"),
                Expect(12, 14, "span started without required tag tenant_id"),
            ),
        ),
        Invalid(
            """
from opentelemetry import trace
from traceloop.sdk import Traceloop

tracer = trace.get_tracer(__name__)

def handle(tenant):
    span = tracer.start_span("early")
    Traceloop.set_association_properties(
        {"tenant_id": tenant, "workflow_name": "rag", "agent_id": "a"}
    )
    span.end()
""",
            line=7,
            col=12,
            why="association properties set after the span started",
        ),
        Invalid(
            """
from opentelemetry import trace
from somatrace.tags import bind

tracer = trace.get_tracer(__name__)

def handle(tenant, tags):
    with bind(tenant_id=tenant, **tags):
        tracer.start_span("a").end()
""",
            line=8,
            col=9,
            message="cannot prove tags workflow_name, agent_id on this span: they may come from "
            "`tags`",
        ),
        Invalid(
            """
from somatrace.tags import bind
from traceloop.sdk.decorators import workflow

@workflow(name="rag")
def rag(tenant):
    with bind(tenant_id=tenant, workflow_name="rag", agent_id="a"):
        return tenant
""",
            line=4,
            col=2,
            message="Traceloop `@workflow` span lacks required tags tenant_id, workflow_name, "
            "agent_id",
            why="a bind inside the body starts after the workflow span",
        ),
        Invalid(
            """
from somatrace.tags import bind
from traceloop.sdk import decorators as tl

@tl.task(name="step")
@bind(tenant_id="acme", workflow_name="w", agent_id="a")
def step():
    return None
""",
            line=4,
            col=2,
            message="a `@bind` below `@task` binds only after its span started",
        ),
        Invalid(
            """
from traceloop.sdk.decorators import agent, aworkflow

@agent
def bare():
    return None

@aworkflow(name="legacy")
async def legacy():
    return None
""",
            count=2,
            line=3,
            col=2,
            message="Traceloop `@agent` span lacks",
            expect=(
                Expect(
                    3, 2, "Traceloop `@agent` span lacks required tags tenant_id, workflow_name, "
                ),
                Expect(
                    7, 2, "Traceloop `@workflow` span lacks required tags tenant_id, workflow_nam"
                ),
            ),
        ),
        Invalid(
            """
from traceloop.sdk.decorators import workflow

@workflow(name="pipeline", method_name="run")
class Pipeline:
    def run(self):
        return None
""",
            line=3,
            col=2,
        ),
        Invalid(
            """
from traceloop.sdk.decorators import tool

def lookup(query):
    return query

lookup_tool = tool(name="lookup")(lookup)
echo_tool = tool(name="echo")(lambda text: text)
""",
            count=2,
            line=6,
            col=15,
            message="Traceloop `@tool` span lacks required tags",
            why="call form: the function's body binds nothing",
            expect=(
                Expect(
                    6, 15, "Traceloop `@tool` span lacks required tags tenant_id, workflow_name, a"
                ),
                Expect(
                    7, 13, "Traceloop `@tool` span lacks required tags tenant_id, workflow_name, a"
                ),
            ),
        ),
        Invalid(
            """
from traceloop.sdk.decorators import tool

from app.search import lookup

lookup_tool = tool(name="lookup")(lookup)
""",
            line=5,
            col=15,
            message="they may come from the body of `lookup`, defined elsewhere",
            why="call form over a function defined elsewhere",
        ),
        Invalid(
            """
from opentelemetry import trace
from somatrace.tags import bind

tracer = trace.get_tracer(__name__)

@tracer.start_as_current_span("nightly")
def nightly():
    with bind(tenant_id="acme", workflow_name="nightly", agent_id="eval"):
        return None
""",
            line=6,
            col=2,
            why="a span used as a decorator starts before the body binds",
        ),
        Invalid(
            """
from opentelemetry import trace

tracer = trace.get_tracer(__name__)
tracer.start_span(
    "a", attributes={"tenant_id": "t", "workflow_name": "w", "agent_id": "a"}
).end()
""",
            config={"required-tags": ["tenant_id", "region"]},
            line=4,
            col=1,
            message="required tag region:",
            why="the configured required tags are asked for",
        ),
    ]
