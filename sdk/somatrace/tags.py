"""Required tags (tenant, workflow, agent) bound in context and stamped on every span.

``bind(tenant_id=..., workflow_name=..., agent_id=...)`` is a context manager and a
decorator (sync and async). The tags live in the OpenTelemetry context twice: under the key
Traceloop uses for association properties (so Traceloop stamps them and its content
allow-list sees them) and under somatrace's own key. ``Traceloop.set_association_properties``
*replaces* Traceloop's dict (traceloop-sdk 0.62, tracing/tracing.py:247-248: it never
merges), so a call inside ``bind`` would silently drop the bound tags; the own key keeps
them, and the effective tags are the bound ones overlaid by the association properties
(the later, inner call wins per key). They follow the code into asyncio tasks (each task
copies its context) and into threads (``init_tracing`` turns on OpenTelemetry's threading
instrumentation).

:class:`TagSpanProcessor` stamps the effective tags on every span when it starts, as

- ``traceloop.association.properties.<key>`` (OpenLLMetry's convention; Traceloop stamps
  the keys of its own dict, the processor re-stamps bound keys that dict lost),
- ``langfuse.trace.metadata.<key>`` (Langfuse metadata: filterable, not groupable),
- ``langfuse.trace.tags`` (``["tenant_id:acme", ...]`` for the required keys): trace tags are
  the dimension Langfuse's metrics API can filter and group cost by,
- ``langfuse.user.id`` / ``langfuse.session.id`` when ``user_id`` / ``session_id`` are bound,

reading them from the *current* context, as Traceloop does (tracing.py:189-200, 389-391): a
span started with an explicit ``context=`` gets the tags (and the content decision) of the
code that starts it, never a mix of two contexts,

and counts spans that start without a required tag (see :func:`stats`); such spans also
carry ``somatrace.tags.missing`` naming what is missing.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry.context import Context, attach, detach, get_value, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from somatrace.policy import REQUIRED_TAGS

ASSOCIATION_PROPERTIES_KEY = "association_properties"  # Traceloop's context key
BOUND_TAGS_KEY = "somatrace.bound_tags"  # ours: what `bind` bound, whatever Traceloop replaces
ASSOCIATION_PREFIX = "traceloop.association.properties."
LANGFUSE_METADATA_PREFIX = "langfuse.trace.metadata."
LANGFUSE_TAGS = "langfuse.trace.tags"
MISSING_ATTRIBUTE = "somatrace.tags.missing"
_LANGFUSE_SPECIAL = {"user_id": "langfuse.user.id", "session_id": "langfuse.session.id"}

F = TypeVar("F", bound=Callable[..., Any])
_binding_ids = itertools.count()


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def effective_tags(context: Context | None = None) -> dict[str, Any]:
    """The bound tags overlaid by Traceloop's association properties (raw values)."""
    bound = _mapping(get_value(BOUND_TAGS_KEY, context))
    association = _mapping(get_value(ASSOCIATION_PROPERTIES_KEY, context))
    if association is None:
        return dict(bound) if bound else {}
    if bound is None or bound is association:
        return dict(association)
    return {**bound, **association}


def span_tags(context: Context | None = None) -> dict[str, str]:
    """The tags bound in ``context`` (default: the current one), values as strings.

    Spread them into spans you start yourself:
    ``tracer.start_as_current_span("step", attributes={**span_tags()})``.
    """
    return {
        str(key): str(value) for key, value in effective_tags(context).items() if value is not None
    }


class TagBinding:
    """The object ``bind`` returns: use it in ``with`` or as a decorator."""

    def __init__(self, tags: Mapping[str, object]) -> None:
        for key in tags:
            if not key.isidentifier():
                raise ValueError(f"tag name {key!r} must be an identifier")
        self._tags = {key: (None if value is None else str(value)) for key, value in tags.items()}
        self._tokens: contextvars.ContextVar[tuple[object, ...]] = contextvars.ContextVar(
            f"somatrace_tag_binding_{next(_binding_ids)}", default=()
        )

    @property
    def tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def __enter__(self) -> dict[str, str]:
        merged = effective_tags()
        for key, value in self._tags.items():
            if value is None:
                merged.pop(key, None)  # bind(key=None) unbinds a tag in this scope
            else:
                merged[key] = value
        # The same dict under both keys: Traceloop reads one, `set_association_properties`
        # replaces that one only, the other survives.
        context = set_value(BOUND_TAGS_KEY, merged, set_value(ASSOCIATION_PROPERTIES_KEY, merged))
        token = attach(context)
        self._tokens.set((*self._tokens.get(), token))
        return span_tags()

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._tokens.get()
        if not tokens:
            return
        self._tokens.set(tokens[:-1])
        detach(tokens[-1])  # type: ignore[arg-type]

    async def __aenter__(self) -> dict[str, str]:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    def __call__(self, function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_bound(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await function(*args, **kwargs)

            return async_bound  # type: ignore[return-value]

        @functools.wraps(function)
        def bound(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return bound  # type: ignore[return-value]


def bind(
    tenant_id: object = None,
    workflow_name: object = None,
    agent_id: object = None,
    **other_tags: object,
) -> TagBinding:
    """Bind tags for the code inside ``with bind(...):`` or a function decorated ``@bind(...)``.

    Nested bindings add to (and override) the outer ones; ``None`` leaves a required tag
    as the outer scope had it, and for other tags unbinds it.
    """
    tags: dict[str, object] = {
        key: value
        for key, value in (
            ("tenant_id", tenant_id),
            ("workflow_name", workflow_name),
            ("agent_id", agent_id),
        )
        if value is not None
    }
    tags.update(other_tags)
    return TagBinding(tags)


class _TagCounters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans = 0
        self.spans_missing = 0
        self.missing_by_tag: dict[str, int] = {}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "spans_seen": self.spans,
                "spans_missing_required_tags": self.spans_missing,
                "missing_by_tag": dict(self.missing_by_tag),
            }

    def reset(self) -> None:
        with self.lock:
            self.spans = self.spans_missing = 0
            self.missing_by_tag = {}


_COUNTERS = _TagCounters()


def stats() -> dict[str, Any]:
    """How many spans the tag processors saw, and how many lacked each required tag."""
    return _COUNTERS.snapshot()


def reset_stats() -> None:
    _COUNTERS.reset()


class TagSpanProcessor(SpanProcessor):
    """Stamps the bound tags on every span at start and counts missing required tags.

    ``stamp_association_properties=False`` leaves ``traceloop.association.properties.*`` of
    Traceloop's own dict to Traceloop's processor (``init_tracing`` does so) and stamps only
    the bound keys that dict lacks.
    """

    _CACHE_LIMIT = 256

    def __init__(
        self,
        required_tags: tuple[str, ...] = REQUIRED_TAGS,
        *,
        stamp_association_properties: bool = True,
    ) -> None:
        self.required_tags = tuple(required_tags)
        self._stamp_association = stamp_association_properties
        # Tag dicts are created once per `bind` and reused by every span inside it: cache the
        # attributes computed from each (bound, association) pair (holding the dicts keeps
        # their ids valid).
        self._cache: dict[tuple[int, int], tuple[Any, Any, dict[str, Any], tuple[str, ...]]] = {}
        self._cache_lock = threading.Lock()

    def _attributes_for(
        self, bound: Mapping[str, Any] | None, association: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        if bound is None and association is None:
            return {MISSING_ATTRIBUTE: list(self.required_tags)}, self.required_tags
        key = (id(bound), id(association))
        cached = self._cache.get(key)
        if cached is not None and cached[0] is bound and cached[1] is association:
            return cached[2], cached[3]
        effective = {**(bound or {}), **(association or {})}
        tags = {str(k): str(v) for k, v in effective.items() if v is not None}
        stamped_by_traceloop = set() if self._stamp_association else set(association or {})
        attributes: dict[str, Any] = {}
        for name, value in tags.items():
            if name not in stamped_by_traceloop:
                attributes[ASSOCIATION_PREFIX + name] = value
            attributes[LANGFUSE_METADATA_PREFIX + name] = value
            if name in _LANGFUSE_SPECIAL:
                attributes[_LANGFUSE_SPECIAL[name]] = value
        labels = [f"{name}:{tags[name]}" for name in self.required_tags if tags.get(name)]
        if labels:
            attributes[LANGFUSE_TAGS] = labels
        missing = tuple(name for name in self.required_tags if not tags.get(name))
        if missing:
            attributes[MISSING_ATTRIBUTE] = list(missing)
        with self._cache_lock:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (bound, association, attributes, missing)
        return attributes, missing

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # The current context, not `parent_context`: Traceloop stamps association properties
        # and decides content capture from the current one (tracing.py:194, 389), so a span
        # started with an explicit `context=` must not get tags from another.
        try:
            attributes, missing = self._attributes_for(
                _mapping(get_value(BOUND_TAGS_KEY)),
                _mapping(get_value(ASSOCIATION_PROPERTIES_KEY)),
            )
            span.set_attributes(attributes)
            counters = _COUNTERS
            with counters.lock:
                counters.spans += 1
                if missing:
                    counters.spans_missing += 1
                    for name in missing:
                        counters.missing_by_tag[name] = counters.missing_by_tag.get(name, 0) + 1
        except Exception:
            return

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
