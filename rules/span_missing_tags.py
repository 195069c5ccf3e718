"""ST301 span-missing-tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import ProviderT, ScopeProvider

from somatrace.checks.analysis.names import (
    SET_ASSOCIATION_PROPERTIES,
    TAGS_BIND,
    TagProof,
    TagScope,
    annotation_refers_to,
    expression_tag_proof,
    keyword,
    matches_name,
    module_constants,
    qualified_names,
    string_value,
    tag_call_proof,
)
from somatrace.checks.lint.rule import FileContext, Invalid, PythonRule, Valid

SPAN_METHODS = frozenset({"start_as_current_span", "start_span"})
ATTRIBUTES_POSITION = 3  # start_span(name, context, kind, attributes, ...) in opentelemetry-api
GET_TRACER = frozenset({"opentelemetry.trace.get_tracer"})
TRACER_PROVIDER_FACTORIES = frozenset(
    {
        "opentelemetry.trace.get_tracer_provider",
        "opentelemetry.sdk.trace.TracerProvider",
    }
)
TRACER_TYPES = frozenset(
    {
        "opentelemetry.trace.Tracer",
        "opentelemetry.trace.ProxyTracer",
        "opentelemetry.trace.NoOpTracer",
        "opentelemetry.sdk.trace.Tracer",
    }
)
TRACER_PROVIDER_TYPES = frozenset(
    {"opentelemetry.trace.TracerProvider", "opentelemetry.sdk.trace.TracerProvider"}
)
TRACELOOP_DECORATOR_NAMES = (
    "workflow",
    "task",
    "agent",
    "tool",
    "aworkflow",
    "atask",
    "aagent",
    "atool",
)
TRACELOOP_DECORATORS = {
    f"traceloop.sdk.decorators.{name}": name for name in TRACELOOP_DECORATOR_NAMES
}
TRACELOOP_DECORATOR_SET = frozenset(TRACELOOP_DECORATORS)
STATICMETHOD = frozenset({"builtins.staticmethod"})


@dataclass
class _Frame:
    """A module, class or function body: the tag bindings in force for spans started in it."""

    kind: str  # "module" | "class" | "function"
    qualname: str = ""
    self_name: str | None = None  # first parameter of a method
    class_qualname: str | None = None  # the class a method belongs to
    tags: TagScope = field(default_factory=TagScope)
    decorations: list[_Decoration] = field(default_factory=list)


@dataclass
class _Decoration:
    """A Traceloop decorator on a function defined here; settled when the body has been seen."""

    node: cst.BaseExpression
    decorator: str
    outer_binds: TagProof
    inner_bind: bool


@dataclass
class _Span:
    """``<receiver>.start_span(...)``; reported if the receiver proves to be an OTel tracer."""

    node: cst.Call
    receiver: cst.BaseExpression
    proof: TagProof
    attributes: str  # "absent" | "keyword" | "positional" | "spread"


@dataclass
class _CallForm:
    """``workflow(name="x")(fn)``: tags come from ``fn``'s body, known once the file is read."""

    node: cst.Call
    decorator: str
    target: cst.BaseExpression
    method_name: str | None


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

    CODE = "ST301"
    NAME = "span-missing-tags"
    TRIGGERS = (b"start_span", b"start_as_current_span", b"decorators")
    FIXABLE = True
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (ScopeProvider,)

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # An OpenTelemetry tracer must be obtained (`get_tracer`) or named (`Tracer`,
        # `TracerProvider`) in this file; Traceloop decorators are only importable from
        # `traceloop.sdk.decorators`.
        otel = (
            b"opentelemetry" in source
            and (b"get_tracer" in source or b"Tracer" in source)
            and (b"start_span" in source or b"start_as_current_span" in source)
        )
        return otel or (b"traceloop" in source and b"decorators" in source)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.required = tuple(ctx.config.required_tags)
        self.required_set = frozenset(self.required)
        self.report_unprovable = bool(ctx.config.get("report-unprovable-tags"))
        self.constants: dict[str, cst.BaseExpression] = {}
        self.frames: list[_Frame] = []
        # Bindings seen in the file, by key: a qualified name (`tracer`, `f.<locals>.t`) or
        # `<class>.<attr>` for class attributes and `self.<attr>`.
        self.assigned: dict[str, list[cst.BaseExpression]] = {}
        self.annotated_tracer: set[str] = set()
        self.annotated_provider: set[str] = set()
        self.self_attribute_keys: dict[int, str] = {}
        self.decorator_span_proofs: dict[int, TagProof] = {}
        self.function_bodies: dict[str, TagProof] = {}
        self.spans: list[_Span] = []
        self.call_forms: list[_CallForm] = []
        self.class_decorations: list[tuple[_Decoration, str, str]] = []

    # -- frames ---------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_constants(self, node)
        self.frames.append(_Frame("module"))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        qualname = _first(qualified_names(self, node.name)) or node.name.value
        for decorator in node.decorators:
            call = decorator.decorator
            name = self._traceloop_decorator(call)
            if name is None:
                continue
            method = keyword(call, "method_name") if isinstance(call, cst.Call) else None
            method_name = string_value(method.value) if method is not None else None
            if method_name is None:
                continue  # traceloop only wraps a class's method named by `method_name=`
            # The class decorator wraps the method last: the method's own @bind is inside.
            decoration = _Decoration(call, name, TagProof(), inner_bind=False)
            self.class_decorations.append((decoration, qualname, method_name))
        self.frames.append(_Frame("class", qualname=qualname))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.frames[-1]
        qualname = _first(qualified_names(self, node.name)) or node.name.value
        frame = _Frame("function", qualname=qualname)
        if parent.kind == "class" and not any(
            matches_name(self, d.decorator, STATICMETHOD) for d in node.decorators
        ):
            params = [*node.params.posonly_params, *node.params.params]
            if params:
                frame.self_name = params[0].name.value
                frame.class_qualname = parent.qualname
        above = TagProof()
        for index, decorator in enumerate(node.decorators):
            expression = decorator.decorator
            bound = self._bind_proof(expression)
            if bound is not None:
                frame.tags.bind(bound)  # every @bind wraps the body, whatever its position
                above = above | bound
                continue
            name = self._traceloop_decorator(expression)
            if name is not None:
                inner_bind = any(
                    self._bind_proof(d.decorator) is not None for d in node.decorators[index + 1 :]
                )
                frame.decorations.append(_Decoration(expression, name, above, inner_bind))
            elif _is_span_call(expression):
                self.decorator_span_proofs[id(expression)] = above
        self.frames.append(frame)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        # Traceloop stamps association properties set anywhere in the body on its running span.
        body = frame.tags.association_all
        self.function_bodies[frame.qualname] = body
        for decoration in frame.decorations:
            self._settle_decoration(decoration, decoration.outer_binds | body)

    def visit_With(self, node: cst.With) -> None:
        self.frames[-1].tags.enter_with()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        bound = self._bind_proof(node.item)
        if bound is not None:
            self.frames[-1].tags.bind(bound)

    def leave_With(self, original_node: cst.With) -> None:
        self.frames[-1].tags.leave_with()

    # -- bindings of tracers and providers ------------------------------------------------

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not isinstance(node.value, cst.Name):
            return
        for frame in reversed(self.frames):
            if frame.kind != "function":
                return
            if frame.self_name is not None:
                if node.value.value == frame.self_name:
                    key = f"{frame.class_qualname}.{node.attr.value}"
                    self.self_attribute_keys[id(node)] = key
                return

    # Targets are read on leaving, once `self.<attr>` targets have been keyed by visit_Attribute.

    def leave_Assign(self, original_node: cst.Assign) -> None:
        node = original_node
        for target in node.targets:
            for key in self._keys(target.target):
                self.assigned.setdefault(key, []).append(node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        node = original_node
        keys = self._keys(node.target)
        self._note_annotation(keys, node.annotation.annotation)
        if node.value is not None:
            for key in keys:
                self.assigned.setdefault(key, []).append(node.value)

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        node = original_node
        for key in self._keys(node.target):
            self.assigned.setdefault(key, []).append(node.value)

    def visit_Param(self, node: cst.Param) -> None:
        if node.annotation is not None:
            self._note_annotation(qualified_names(self, node.name), node.annotation.annotation)

    def _note_annotation(self, keys: set[str], annotation: cst.BaseExpression) -> None:
        if not keys:
            return
        if annotation_refers_to(self, annotation, TRACER_TYPES):
            self.annotated_tracer |= keys
        elif annotation_refers_to(self, annotation, TRACER_PROVIDER_TYPES):
            self.annotated_provider |= keys

    def _keys(self, node: cst.BaseExpression) -> set[str]:
        if isinstance(node, cst.Name):
            return qualified_names(self, node)
        key = self.self_attribute_keys.get(id(node))
        return {key} if key is not None else set()

    # -- spans ----------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Call):
            name = self._traceloop_decorator(func)
            if name is not None and node.args and node.args[0].keyword is None:
                method = keyword(func, "method_name")
                method_name = string_value(method.value) if method is not None else None
                self.call_forms.append(_CallForm(node, name, node.args[0].value, method_name))
                return
        if isinstance(func, cst.Attribute) and func.attr.value in SPAN_METHODS:
            self._note_span(node, func.value)
            return
        if matches_name(self, func, SET_ASSOCIATION_PROPERTIES):
            proof = tag_call_proof(self, node, self.constants, self.required_set)
            if proof is not None:
                self.frames[-1].tags.set_association_properties(proof)

    def _note_span(self, node: cst.Call, receiver: cst.BaseExpression) -> None:
        own, attributes = self._own_attributes(node)
        context = self.decorator_span_proofs.get(id(node))
        if context is None:
            context = self.frames[-1].tags.context
        self.spans.append(_Span(node, receiver, own | context, attributes))

    def _own_attributes(self, call: cst.Call) -> tuple[TagProof, str]:
        arg = keyword(call, "attributes")
        form = "keyword"
        if arg is None:
            positional = []
            for candidate in call.args:
                if candidate.star:
                    return TagProof(frozenset(), (f"`{_code(candidate)}`",)), "spread"
                if candidate.keyword is None:
                    positional.append(candidate)
            if len(positional) <= ATTRIBUTES_POSITION:
                return TagProof(), "absent"
            arg, form = positional[ATTRIBUTES_POSITION], "positional"
        value = arg.value
        if isinstance(value, cst.Name) and value.value == "None":
            return TagProof(), form
        return expression_tag_proof(self, value, self.constants, self.required_set), form

    def leave_Module(self, original_node: cst.Module) -> None:
        for span in self.spans:
            if self._is_tracer(span.receiver, set()):
                self._settle_span(span)
        for call_form in self.call_forms:
            self._settle_call_form(call_form)
        for decoration, class_qualname, method_name in self.class_decorations:
            body = self.function_bodies.get(f"{class_qualname}.{method_name}", TagProof())
            self._settle_decoration(decoration, body)

    def _is_tracer(self, node: cst.BaseExpression, seen: set[str]) -> bool:
        if isinstance(node, cst.Call):
            if matches_name(self, node.func, GET_TRACER):
                return True
            func = node.func
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value == "get_tracer"
                and self._is_provider(func.value, seen)
            )
        return self._bound_to(node, seen, self.annotated_tracer, self._is_tracer)

    def _is_provider(self, node: cst.BaseExpression, seen: set[str]) -> bool:
        if isinstance(node, cst.Call):
            return matches_name(self, node.func, TRACER_PROVIDER_FACTORIES)
        return self._bound_to(node, seen, self.annotated_provider, self._is_provider)

    def _bound_to(
        self,
        node: cst.BaseExpression,
        seen: set[str],
        annotated: set[str],
        test: Callable[[cst.BaseExpression, set[str]], bool],
    ) -> bool:
        for key in self._keys(node):
            if key in annotated:
                return True
            if key in seen:
                continue
            seen.add(key)
            if any(test(value, seen) for value in self.assigned.get(key, ())):
                return True
        return False

    # -- verdicts -------------------------------------------------------------------------

    def _settle_span(self, span: _Span) -> None:
        missing = span.proof.missing(self.required)
        if not missing:
            return
        unprovable = span.proof.may_supply(missing)
        data: dict[str, Any] = {
            "kind": "otel-span",
            "missing": missing,
            "attributes": span.attributes,
            "unprovable": unprovable,
        }
        if unprovable:
            self._report_unprovable(span.node, missing, span.proof, data)
            return
        self.report(
            span.node,
            f"span started without required {_tags(missing)}{span.proof.unknown_keys_note()}: "
            "add `**span_tags()` to its `attributes`, or start it inside `with bind(...)`",
            data=data,
        )

    def _settle_decoration(self, decoration: _Decoration, proof: TagProof) -> None:
        missing = proof.missing(self.required)
        if not missing:
            return
        unprovable = proof.may_supply(missing)
        data: dict[str, Any] = {
            "kind": "traceloop-decorator",
            "decorator": decoration.decorator,
            "missing": missing,
            "unprovable": unprovable,
        }
        if unprovable:
            self._report_unprovable(decoration.node, missing, proof, data)
            return
        hint = (
            f" (a `@bind` below `@{decoration.decorator}` binds only after its span started)"
            if decoration.inner_bind
            else ""
        )
        self.report(
            decoration.node,
            f"Traceloop `@{decoration.decorator}` span lacks required {_tags(missing)}"
            f"{proof.unknown_keys_note()}: put "
            "`@bind(...)` above it, or call `Traceloop.set_association_properties({...})` "
            f"in its body{hint}",
            data=data,
        )

    def _settle_call_form(self, call_form: _CallForm) -> None:
        body: TagProof | None = None
        if isinstance(call_form.target, cst.Lambda):
            body = TagProof()  # a lambda holds no statement that could bind tags
        elif isinstance(call_form.target, cst.Name):
            for key in qualified_names(self, call_form.target):
                if call_form.method_name is not None:
                    key = f"{key}.{call_form.method_name}"
                if key in self.function_bodies:
                    body = self.function_bodies[key]
                    break
        if body is None:
            body = TagProof(
                frozenset(), (f"the body of `{_code(call_form.target)}`, defined elsewhere",)
            )
        decoration = _Decoration(call_form.node, call_form.decorator, TagProof(), False)
        self._settle_decoration(decoration, body)

    def _report_unprovable(
        self, node: cst.CSTNode, missing: list[str], proof: TagProof, data: dict[str, Any]
    ) -> None:
        if not self.report_unprovable:
            return
        hidden = ", ".join(dict.fromkeys(proof.opaque + proof.unknown_keys))
        self.report(
            node,
            f"cannot prove {_tags(missing)} on this span: they may come from {hidden}, which "
            "cannot be read here (bind them visibly, or set `report-unprovable-tags = false`)",
            data=data,
        )

    # -- helpers --------------------------------------------------------------------------

    def _traceloop_decorator(self, node: cst.BaseExpression) -> str | None:
        target = node.func if isinstance(node, cst.Call) else node
        for name in qualified_names(self, target) & TRACELOOP_DECORATOR_SET:
            return TRACELOOP_DECORATORS[name]
        return None

    def _bind_proof(self, node: cst.BaseExpression) -> TagProof | None:
        if isinstance(node, cst.Call) and matches_name(self, node.func, TAGS_BIND):
            return tag_call_proof(self, node, self.constants, self.required_set)
        return None

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


def _is_span_call(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in SPAN_METHODS
    )


def _first(names: set[str]) -> str | None:
    return min(names) if names else None


def _tags(missing: list[str]) -> str:
    return ("tags " if len(missing) > 1 else "tag ") + ", ".join(missing)


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
