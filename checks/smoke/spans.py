"""Reading the spans a smoke run received: which are LLM spans, their tags, cost and timing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from somatrace.checks.runtime.receiver import SpanDict, iter_attribute_strings
from somatrace.checks.smoke.contract import RUN_RESOURCE_ATTRIBUTE
from somatrace.cost import (
    COST_ATTRIBUTE,
    COST_CURRENCY_ATTRIBUTE,
    COST_STATUS_ATTRIBUTE,
    COST_TOTAL_ATTRIBUTE,
    REQUEST_MODEL,
    RESPONSE_MODEL,
)

ASSOCIATION_PREFIX = "traceloop.association.properties."
METADATA_PREFIX = "langfuse.trace.metadata."
RESPONSE_ID = "gen_ai.response.id"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
# What the spine writes on a span is named once, in somatrace.cost.
COST_FLOAT = COST_ATTRIBUTE
COST_TOTAL = COST_TOTAL_ATTRIBUTE
COST_CURRENCY = COST_CURRENCY_ATTRIBUTE
COST_STATUS = COST_STATUS_ATTRIBUTE
SERVICE_NAME = "service.name"


def run_id_of(span: SpanDict) -> str | None:
    value = span.get("resource", {}).get(RUN_RESOURCE_ATTRIBUTE)
    return str(value) if value is not None else None


def is_llm_span(span: SpanDict) -> bool:
    attributes = span.get("attributes", {})
    return any(key in attributes for key in (REQUEST_MODEL, RESPONSE_MODEL, INPUT_TOKENS))


def tag_values(span: SpanDict, tag: str) -> tuple[str | None, str | None]:
    """The tag as OpenLLMetry carries it and as Langfuse trace metadata (filterable)."""
    attributes = span.get("attributes", {})
    association = attributes.get(ASSOCIATION_PREFIX + tag)
    metadata = attributes.get(METADATA_PREFIX + tag)
    return (
        None if association is None else str(association),
        None if metadata is None else str(metadata),
    )


def tag(span: SpanDict, name: str) -> str | None:
    association, metadata = tag_values(span, name)
    return association if association is not None else metadata


def span_cost(span: SpanDict) -> Decimal | None:
    """The exact cost the spine wrote (``somatrace.cost.total``), if any.

    An unpriced span has no cost: under ``SOMATRACE_UNPRICED=zero-with-flag`` it carries a
    placeholder ``0`` (so that Langfuse does not infer a price of its own), which is not a
    price and is not reported as one."""
    attributes = span.get("attributes", {})
    if attributes.get(COST_STATUS) == "unpriced":
        return None
    text = attributes.get(COST_TOTAL)
    if text is None:
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def duration_ms(span: SpanDict) -> Decimal:
    """Span duration in milliseconds, exactly (nanosecond timestamps)."""
    nanoseconds = int(span["end_time_unix_nano"]) - int(span["start_time_unix_nano"])
    return Decimal(nanoseconds) / Decimal(1_000_000)


def describe(span: SpanDict) -> str:
    return f"span {span.get('name')!r} (span_id {span.get('span_id')})"


def roots_by_trace(spans: Iterable[SpanDict]) -> dict[str, SpanDict]:
    """The root span (no parent) of each trace among ``spans``."""
    roots: dict[str, SpanDict] = {}
    for span in spans:
        if not span.get("parent_span_id"):
            roots.setdefault(span["trace_id"], span)
    return roots


def strings_in(span: SpanDict) -> Iterator[tuple[str, str]]:
    """Every (where, text) in a span: name, attributes, resource, events, links."""
    yield from iter_attribute_strings(span)
    for index, link in enumerate(span.get("links", [])):
        for key, value in (link.get("attributes") or {}).items():
            yield f"links[{index}].attributes.{key}", str(value)
    status = span.get("status") or {}
    if status.get("message"):
        yield "status.message", str(status["message"])


def attribute(span: SpanDict, key: str) -> Any:
    return span.get("attributes", {}).get(key)
