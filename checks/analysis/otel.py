"""OpenTelemetry, Traceloop and Langfuse as the rules see them: what is a tracer, a span, a span
start, a Traceloop decorator, and somatrace's own tag API.

One notion of each, shared by ST301 (spans must carry tags), ST203 (span attributes must not
hold personal data) and ST302 (tag bindings must be complete).
"""

from __future__ import annotations

import ast

from somatrace.checks.lint.known import ApiTable
from somatrace.checks.lint.module import Module, Scope
from somatrace.policy import SPAN_TAGS, TAGS_BIND

TRACER = "otel.tracer"
PROVIDER = "otel.provider"
SPAN = "otel.span"
SPAN_CM = "otel.span_cm"  # what `start_as_current_span(...)` returns: `with` binds a span
TRACER_CM = "otel.tracer_cm"  # traceloop's `with get_tracer() as tracer:`

SPAN_METHODS = frozenset({"start_as_current_span", "start_span"})
# opentelemetry-api: Tracer.start_span(name, context, kind, attributes, links, start_time, ...)
# (opentelemetry/trace/__init__.py, class Tracer); the same order for start_as_current_span.
ATTRIBUTES_POSITION = 3

_TRACERS = (
    "opentelemetry.trace.Tracer",
    "opentelemetry.trace.ProxyTracer",
    "opentelemetry.trace.NoOpTracer",
    "opentelemetry.sdk.trace.Tracer",
)
_PROVIDERS = (
    "opentelemetry.trace.TracerProvider",
    "opentelemetry.trace.ProxyTracerProvider",
    "opentelemetry.trace.NoOpTracerProvider",
    "opentelemetry.sdk.trace.TracerProvider",
)
# What a file that names one of those types spells as a whole word (`tracer: Tracer`,
# `trace.NoOpTracer()`, `from opentelemetry.trace import Tracer as T`); LangChain's
# `BaseTracer` and `LangChainTracer` name none of them.
TRACER_TYPE_WORDS = tuple(
    sorted({name.rsplit(".", 1)[-1].encode() for name in _TRACERS + _PROVIDERS})
)
_SPANS = (
    "opentelemetry.trace.Span",
    "opentelemetry.trace.span.Span",
    "opentelemetry.trace.NonRecordingSpan",
    "opentelemetry.trace.span.NonRecordingSpan",
    "opentelemetry.sdk.trace.Span",
    "opentelemetry.sdk.trace._Span",
)

TABLE = ApiTable(
    calls={
        "opentelemetry.trace.get_tracer": TRACER,
        "opentelemetry.trace.get_tracer_provider": PROVIDER,
        "opentelemetry.trace.get_current_span": SPAN,
        "opentelemetry.trace.use_span": SPAN_CM,
        # traceloop-sdk 0.62, traceloop/sdk/tracing/tracing.py: `@contextmanager def
        # get_tracer(flush_on_exit=False)` yields the SDK's tracer.
        "traceloop.sdk.tracing.get_tracer": TRACER_CM,
        "traceloop.sdk.tracing.tracing.get_tracer": TRACER_CM,
    },
    types={
        **dict.fromkeys(_TRACERS, TRACER),
        **dict.fromkeys(_PROVIDERS, PROVIDER),
        **dict.fromkeys(_SPANS, SPAN),
    },
    methods={
        (PROVIDER, "get_tracer"): "otel.provider.get_tracer",
        (TRACER, "start_span"): "otel.tracer.start_span",
        (TRACER, "start_as_current_span"): "otel.tracer.start_as_current_span",
    },
    results={
        "otel.provider.get_tracer": TRACER,
        "otel.tracer.start_span": SPAN,
        "otel.tracer.start_as_current_span": SPAN_CM,
    },
    enters={SPAN_CM: SPAN, SPAN: SPAN, TRACER_CM: TRACER},
)

TRACELOOP_DECORATOR_NAMES = ("workflow", "task", "agent", "tool")
# The a-prefixed forms are deprecated aliases in traceloop-sdk 0.62 (traceloop/sdk/decorators).
TRACELOOP_DECORATORS = {
    f"traceloop.sdk.decorators.{prefix}{name}": name
    for name in TRACELOOP_DECORATOR_NAMES
    for prefix in ("", "a")
}
SET_ASSOCIATION_PROPERTIES = frozenset(
    {
        "traceloop.sdk.Traceloop.set_association_properties",
        "traceloop.sdk.set_association_properties",
        "traceloop.sdk.tracing.tracing.set_association_properties",
        "traceloop.sdk.tracing.set_association_properties",
    }
)
BIND = frozenset({TAGS_BIND})
SPAN_TAGS_CALL = frozenset({SPAN_TAGS})
SEMCONV_PREFIXES = ("opentelemetry.semconv", "opentelemetry.semconv_ai")


def traceloop_decorator(module: Module, node: ast.expr, scope: Scope) -> str | None:
    """``workflow`` for ``@workflow`` / ``@workflow(name=...)`` (``traceloop.sdk.decorators``)."""
    target = node.func if type(node) is ast.Call else node  # type: ignore[attr-defined]
    for name in module.qualified_names(target, scope):
        found = TRACELOOP_DECORATORS.get(name)
        if found is not None:
            return found
    return None


def is_span_tags_call(module: Module, node: ast.expr, scope: Scope) -> bool:
    return type(node) is ast.Call and bool(
        module.qualified_names(node.func, scope) & SPAN_TAGS_CALL  # type: ignore[attr-defined]
    )


def is_bind_call(module: Module, node: ast.expr, scope: Scope) -> bool:
    return type(node) is ast.Call and bool(
        module.qualified_names(node.func, scope) & BIND  # type: ignore[attr-defined]
    )


def is_span_start(call: ast.Call) -> bool:
    """``<receiver>.start_span(...)`` / ``.start_as_current_span(...)``: a span start when the
    receiver proves to be an OpenTelemetry tracer."""
    func = call.func
    return type(func) is ast.Attribute and func.attr in SPAN_METHODS


# Calls that give a span: what `with ... as x` / `x = ...` binds, or a receiver itself.
SPAN_FACTORIES = frozenset(
    {"start_as_current_span", "start_span", "get_current_span", "use_span", "INVALID_SPAN"}
)
# Span methods whose `attributes=` hold attribute keys.
SPAN_METHODS_WITH_ATTRIBUTES = frozenset(
    {"start_span", "start_as_current_span", "add_event", "record_exception"}
)


def _last_name(node: ast.expr | None) -> str | None:
    if type(node) is ast.Name:
        return node.id  # type: ignore[union-attr]
    if type(node) is ast.Attribute:
        return node.attr  # type: ignore[union-attr]
    return None


def is_span_factory(node: ast.expr | None) -> bool:
    return type(node) is ast.Call and _last_name(node.func) in SPAN_FACTORIES  # type: ignore[union-attr]


def local_span_evidence(module: Module, receiver: ast.expr, scope: Scope) -> bool:
    """What this module alone proves: ``receiver`` is a span factory's result, a name bound
    from one (``with tracer.start_as_current_span(...) as s``, ``s = get_current_span()``), or
    a parameter annotated as a ``Span``."""
    if is_span_factory(receiver):
        return True
    if type(receiver) is not ast.Name:
        return False
    found = scope.lookup(receiver.id)  # type: ignore[attr-defined]
    if found is None:
        return False
    for binding in found[1]:
        if binding.kind in ("with", "assign") and is_span_factory(binding.value):
            return True
        if binding.kind == "param":
            annotation = binding.node.annotation
            text = annotation.value if type(annotation) is ast.Constant else _last_name(annotation)
            if isinstance(text, str) and text.rsplit(".", 1)[-1].endswith("Span"):
                return True
    return False


def receiver_name(node: ast.expr) -> str | None:
    """The name a receiver goes by (``span``, ``self.root_span`` -> ``root_span``)."""
    return _last_name(node)


def is_span_kinds(kinds: frozenset[str], name: str | None) -> bool:
    """The one notion of "this receiver is a span": the project model says so, or, when it
    knows nothing at all about the receiver, the receiver is named as spans are."""
    if SPAN in kinds:
        return True
    return not kinds and looks_like_span_name(name)


def imports_opentelemetry(module: Module) -> bool:
    """Whether the module imports OpenTelemetry's API or SDK (anywhere in it)."""
    for node, _ in module.imports:
        names = (
            [alias.name for alias in node.names]
            if type(node) is ast.Import
            else [node.module or ""]  # type: ignore[union-attr]
        )
        if any(name == "opentelemetry" or name.startswith("opentelemetry.") for name in names):
            return True
    return False


def is_tracer_kinds(kinds: frozenset[str], name: str | None, otel_imported: bool) -> bool:
    """The one notion of "this receiver is an OpenTelemetry tracer": the project model says
    so, or, when it knows nothing at all about the receiver (a parameter no call site of the
    project fills, a value from ``kwargs``), the receiver is named as tracers are in a module
    that imports OpenTelemetry."""
    if TRACER in kinds:
        return True
    return not kinds and otel_imported and looks_like_tracer_name(name)


def looks_like_tracer_name(name: str | None) -> bool:
    return name is not None and "tracer" in name.lower()


def looks_like_span_name(name: str | None) -> bool:
    """The fallback when nothing is known about a receiver: it is named as a span is."""
    return name is not None and "span" in name.lower()
