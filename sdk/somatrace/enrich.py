"""Span in, span out, on the export thread: the cost of LLM spans and the content policy.

Why here and not in ``on_end``: by the time a span processor's ``on_end`` runs, the SDK has
frozen the span's attributes (``ReadableSpan`` is immutable). Rather than unfreezing SDK
internals (as Traceloop's ``span_postprocess_callback`` does, tracing.py:138-160), the
enricher builds a copy of each span that needs a change; other spans pass through untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan

from somatrace.content import ContentPolicy, is_content_event
from somatrace.cost import (
    COST_STATUS_ATTRIBUTE,
    PriceTable,
    Unpriced,
    cost_attributes,
    model_of,
    provider_of,
    unpriced_attributes,
)
from somatrace.costing import Usage
from somatrace.policy import DEFAULT_UNPRICED
from somatrace.stats import PipelineStats, logger


def _copy_span(
    span: ReadableSpan, attributes: dict[str, Any], events: Sequence[Event]
) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class SpanEnricher:
    """Adds the cost of LLM spans and applies the content policy."""

    def __init__(
        self,
        prices: PriceTable,
        content: ContentPolicy,
        stats: PipelineStats,
        unpriced: str = DEFAULT_UNPRICED,
    ) -> None:
        self.prices = prices
        self.content = content
        self.stats = stats
        self.unpriced = unpriced

    def enrich(self, span: ReadableSpan) -> ReadableSpan:
        try:
            return self._enrich(span)
        except Exception:
            self.stats.add(enrichment_errors=1)
            logger.debug("somatrace: could not enrich span %s", span.name, exc_info=True)
            return span

    def _enrich(self, span: ReadableSpan) -> ReadableSpan:
        source = span.attributes or {}
        events = span.events
        decision = self.content.apply(source, [event.name for event in events])
        attributes = decision.attributes
        if decision.strip_events or decision.redact_events:
            events = [self._event(event, decision.redact_events) for event in events]
            events = [event for event in events if event is not None]
        if attributes is not None or decision.strip_events or decision.redact_events:
            if self.content.keeps_content(source):
                self.stats.add(spans_content_redacted=1)
            else:
                self.stats.add(spans_content_stripped=1)
        usage = Usage.from_attributes(source)
        if usage is not None and COST_STATUS_ATTRIBUTE not in source:
            attributes = dict(source) if attributes is None else attributes
            attributes.update(self._cost_attributes(span, source, usage))
        if attributes is None and events is span.events:
            return span
        return _copy_span(span, attributes if attributes is not None else dict(source), events)

    def _cost_attributes(self, span: ReadableSpan, source: Any, usage: Usage) -> dict[str, Any]:
        model = model_of(source)
        when = dt.datetime.fromtimestamp(span.start_time / 1e9, dt.UTC) if span.start_time else None
        found = (
            self.prices.quote(model, usage, when, provider_of(source))
            if model
            else Unpriced("no-model")
        )
        if isinstance(found, Unpriced):
            with self.stats.lock:
                self.stats.llm_spans_unpriced += 1
                name = model or "<no model>"
                self.stats.unpriced_models[name] = self.stats.unpriced_models.get(name, 0) + 1
            return unpriced_attributes(found, self.unpriced)
        self.stats.add(llm_spans_priced=1)
        return cost_attributes(found)

    def _event(self, event: Event, redact: bool) -> Event | None:
        if not is_content_event(event.name):
            return event
        if not redact:
            return None
        attributes = {
            key: self.content.redact_value(value) for key, value in (event.attributes or {}).items()
        }
        return Event(event.name, attributes, event.timestamp)
