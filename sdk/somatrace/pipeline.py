"""The export pipeline: tags at span start; cost and content policy before export; a
bounded queue and bounded export time so the service never waits on, or breaks because
of, the tracing backend.

Why cost is added in the exporter and not in ``on_end``: by the time a span processor's
``on_end`` runs, the SDK has frozen the span's attributes (``ReadableSpan`` is
immutable). Rather than unfreezing SDK internals, :class:`EnrichingSpanExporter` wraps
the real exporter and hands it a copy of each span that needs changes (an LLM span that
gets its cost, a span whose content is stripped or redacted); other spans pass through
untouched. The work runs on the export thread, not in the service's request path.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, attach, detach, set_value
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from somatrace.content import ContentPolicy, is_content_event
from somatrace.cost import (
    COST_STATUS_ATTRIBUTE,
    PriceTable,
    Usage,
    compute_cost,
    cost_attributes,
    model_of,
)
from somatrace.tags import TagSpanProcessor

logger = logging.getLogger("somatrace")


@dataclass
class PipelineStats:
    """Counters of what happened to spans after they ended. Thread-safe via ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    spans_ended: int = 0
    spans_queued: int = 0
    spans_dropped_queue_full: int = 0
    spans_dropped_at_shutdown: int = 0
    spans_exported: int = 0
    spans_export_failed: int = 0
    export_errors: int = 0
    llm_spans_priced: int = 0
    llm_spans_unpriced: int = 0
    unpriced_models: dict[str, int] = field(default_factory=dict)
    spans_content_stripped: int = 0
    spans_content_redacted: int = 0
    enrichment_errors: int = 0

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                name: (dict(value) if isinstance(value, dict) else value)
                for name, value in vars(self).items()
                if name != "lock"
            }

    @property
    def spans_dropped(self) -> int:
        return (
            self.spans_dropped_queue_full
            + self.spans_dropped_at_shutdown
            + self.spans_export_failed
        )


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
    """Adds the cost of LLM spans and applies the content policy: span in, span out."""

    def __init__(self, prices: PriceTable, content: ContentPolicy, stats: PipelineStats) -> None:
        self.prices = prices
        self.content = content
        self.stats = stats

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
            attributes.update(self._cost_attributes(source, usage))
        if attributes is None and events is span.events:
            return span
        return _copy_span(span, attributes if attributes is not None else dict(source), events)

    def _cost_attributes(self, source: Any, usage: Usage) -> dict[str, Any]:
        model = model_of(source)
        price = self.prices.lookup(model) if model else None
        if price is None:
            with self.stats.lock:
                self.stats.llm_spans_unpriced += 1
                name = model or "<no model>"
                self.stats.unpriced_models[name] = self.stats.unpriced_models.get(name, 0) + 1
            return {COST_STATUS_ATTRIBUTE: "unpriced"}
        self.stats.add(llm_spans_priced=1)
        return cost_attributes(compute_cost(price, usage, model))

    def _event(self, event: Event, redact: bool) -> Event | None:
        if not is_content_event(event.name):
            return event
        if not redact:
            return None
        attributes = {
            key: self.content.redact_value(value) for key, value in (event.attributes or {}).items()
        }
        return Event(event.name, attributes, event.timestamp)


class EnrichingSpanExporter(SpanExporter):
    """Wraps an exporter: enriches each span, never lets an exception out, counts results."""

    def __init__(
        self, exporter: SpanExporter, enricher: SpanEnricher | None, stats: PipelineStats
    ) -> None:
        self.exporter = exporter
        self.enricher = enricher
        self.stats = stats

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.enricher is not None:
            spans = [self.enricher.enrich(span) for span in spans]
        try:
            result = self.exporter.export(spans)
        except Exception:
            logger.warning(
                "somatrace: span export raised; %d span(s) dropped", len(spans), exc_info=True
            )
            self.stats.add(export_errors=1, spans_export_failed=len(spans))
            return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.stats.add(spans_exported=len(spans))
        else:
            self.stats.add(spans_export_failed=len(spans))
        return result

    def shutdown(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception:
            logger.debug("somatrace: exporter shutdown raised", exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class SomatraceSpanProcessor(SpanProcessor):
    """Tags spans at start; queues ended spans (bounded) for a background exporter thread.

    - the queue holds at most ``max_queue_size`` spans; a span that finds it full is
      dropped and counted (``spans_dropped_queue_full``) -- memory stays bounded;
    - each export is bounded by the exporter's own timeout (``export_timeout_ms``);
    - ``force_flush`` and ``shutdown`` return within their timeout whatever the backend
      does; spans still queued at shutdown are counted as dropped;
    - with ``batch=False`` spans are exported synchronously in ``on_end`` (the seed's
      ``disable_batch``: for short scripts and tests; each span then waits for the backend).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        tagger: TagSpanProcessor | None = None,
        stats: PipelineStats | None = None,
        batch: bool = True,
        max_queue_size: int = 2048,
        max_export_batch_size: int = 512,
        schedule_delay_ms: int = 1000,
        flush_timeout_ms: int = 10_000,
    ) -> None:
        self.exporter = exporter
        self.tagger = tagger
        self.stats = stats or PipelineStats()
        self.batch = batch
        self.max_queue_size = max_queue_size
        self.max_export_batch_size = min(max_export_batch_size, max_queue_size)
        self.schedule_delay = schedule_delay_ms / 1000
        self.flush_timeout_ms = flush_timeout_ms
        self._shutdown = False
        self._init_worker()
        if hasattr(os, "register_at_fork"):
            reference = weakref.WeakMethod(self._init_worker)

            def reinit_in_child() -> None:
                method = reference()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=reinit_in_child)

    def _init_worker(self) -> None:
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._lock = threading.Lock()
        self._progress = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        self._enqueued = 0
        self._done = 0
        self._worker: threading.Thread | None = None
        if self.batch and not self._shutdown:
            self._worker = threading.Thread(target=self._run, name="somatrace-export", daemon=True)
            self._worker.start()

    # -- span lifecycle ---------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.tagger is not None:
            self.tagger.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if not span.context.trace_flags.sampled:
                return
            if not self.batch:
                self.stats.add(spans_ended=1)
                self._export([span])
                return
            with self._lock:
                self.stats.spans_ended += 1
                if self._shutdown or len(self._queue) >= self.max_queue_size:
                    self.stats.spans_dropped_queue_full += 1
                    return
                self._queue.append(span)
                self._enqueued += 1
                self.stats.spans_queued += 1
                full = len(self._queue) >= self.max_export_batch_size
            if full:
                self._wake.set()
        except Exception:
            logger.debug("somatrace: on_end failed", exc_info=True)

    # -- export thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.schedule_delay)
            self._wake.clear()
            self._drain()
            if self._shutdown:
                return

    def _drain(self) -> None:
        while True:
            with self._lock:
                count = min(len(self._queue), self.max_export_batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
            if not batch:
                return
            self._export(batch)
            with self._progress:
                self._done += len(batch)
                self._progress.notify_all()

    def _export(self, batch: list[ReadableSpan]) -> None:
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            self.exporter.export(batch)
        except Exception:
            self.stats.add(export_errors=1, spans_export_failed=len(batch))
            logger.debug("somatrace: export failed", exc_info=True)
        finally:
            detach(token)

    # -- flush and shutdown -----------------------------------------------------------

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Wait (at most ``timeout_millis``) until every span queued so far was handled."""
        if not self.batch or self._worker is None:
            return True
        timeout = (timeout_millis if timeout_millis is not None else self.flush_timeout_ms) / 1000
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._enqueued
        self._wake.set()
        with self._progress:
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(remaining)
        return True

    def shutdown(self, timeout_millis: int | None = None) -> None:
        if self._shutdown:
            return
        timeout = (timeout_millis if timeout_millis is not None else self.flush_timeout_ms) / 1000
        self.force_flush(int(timeout * 1000))
        with self._lock:
            self._shutdown = True
            left = len(self._queue)
            self._queue.clear()
            if left:
                self.stats.spans_dropped_at_shutdown += left
        self._wake.set()
        if left:
            logger.warning("somatrace: %d span(s) not exported before shutdown", left)
        if self._worker is not None:
            self._worker.join(timeout=0.2)
        try:
            self.exporter.shutdown()
        except Exception:
            logger.debug("somatrace: exporter shutdown raised", exc_info=True)

    def queue_length(self) -> int:
        return len(self._queue)
