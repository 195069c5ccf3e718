"""The span processor: tags at span start; a bounded queue; one export thread that enriches
(cost, content policy) and exports batches; deadlines on flush and shutdown.

Guarantees (tests/sdk/test_faults.py, benchmarks/sdk_load.py):

- the service thread never waits on the backend and nothing raises into it;
- memory is bounded: at most ``max_queue_size`` spans and ``max_queue_bytes`` (estimated
  from attribute and event sizes) wait; a span beyond either is dropped and counted;
- one export request carries at most ``max_export_batch_size`` spans and
  ``max_export_batch_bytes``; each is bounded by the export timeout, retries included;
- after a failed export the thread backs off (doubling, capped) before the next request, and
  never sends before a ``Retry-After`` the backend gave: no hot loop against a dead backend;
- every lost span is counted once (:data:`somatrace.stats.DROP_COUNTERS`), including those
  in flight when the shutdown deadline passes; drops and failures are logged at most once per
  ``log_interval_s`` per kind;
- ``force_flush`` and ``shutdown`` return within their timeout whatever the backend does.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, attach, detach, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from somatrace.enrich import SpanEnricher
from somatrace.exporter import ExportOutcome
from somatrace.stats import LogLimiter, PipelineStats, logger
from somatrace.tags import TagSpanProcessor

MAX_BACKOFF_S = 30.0
FIRST_BACKOFF_S = 1.0


def estimate_bytes(span: ReadableSpan) -> int:
    """A cheap upper-bound-ish estimate of a span's size in memory and on the wire."""
    size = 96 + len(span.name)
    for key, value in (span.attributes or {}).items():
        size += len(key) + _value_size(value)
    for event in span.events:
        size += 32 + len(event.name)
        for key, value in (event.attributes or {}).items():
            size += len(key) + _value_size(value)
    return size


def _value_size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, Sequence):
        return sum(2 + _value_size(item) for item in value)
    return 8


class _Entry:
    __slots__ = ("size", "span")

    def __init__(self, span: ReadableSpan, size: int) -> None:
        self.span = span
        self.size = size


class SomatraceSpanProcessor(SpanProcessor):
    """See the module docstring. ``exporter`` is an :class:`~somatrace.exporter.OTLPHttpExporter`
    (deadline-aware) or any ``SpanExporter``."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        enricher: SpanEnricher | None = None,
        tagger: TagSpanProcessor | None = None,
        stats: PipelineStats | None = None,
        batch: bool = True,
        max_queue_size: int = 2048,
        max_queue_bytes: int = 32 * 1024 * 1024,
        max_export_batch_size: int = 512,
        max_export_batch_bytes: int = 4 * 1024 * 1024,
        schedule_delay_ms: int = 1000,
        export_timeout_ms: int = 5000,
        flush_timeout_ms: int | None = None,
        log_interval_s: float = 60.0,
    ) -> None:
        self.exporter = exporter
        self.enricher = enricher
        self.tagger = tagger
        self.stats = stats or PipelineStats()
        self.batch = batch
        self.max_queue_size = max_queue_size
        self.max_queue_bytes = max_queue_bytes
        self.max_export_batch_size = min(max_export_batch_size, max_queue_size)
        self.max_export_batch_bytes = max_export_batch_bytes
        self.schedule_delay = schedule_delay_ms / 1000
        self.export_timeout = export_timeout_ms / 1000
        # force_flush waits for an export to end (up to its timeout) and for the next one;
        # shutdown (the exit handler) gets the export timeout alone.
        self.flush_timeout_ms = (
            flush_timeout_ms if flush_timeout_ms is not None else 2 * export_timeout_ms
        )
        self.shutdown_timeout_ms = export_timeout_ms
        self.logs = LogLimiter(log_interval_s)
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
        self._queue: collections.deque[_Entry] = collections.deque()
        self._queue_bytes = 0
        self._lock = threading.Lock()
        self._progress = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        self._closing = threading.Event()  # shutdown began: drain now
        self._stopped = threading.Event()  # shutdown ended: the thread exits
        self._enqueued = 0
        self._done = 0  # spans taken out of the queue and settled (exported, failed, dropped)
        self._inflight = 0  # spans of the batch being exported
        self._abandoned = False  # shutdown counted the in-flight batch as dropped
        self._not_before = 0.0  # monotonic time before which nothing is sent (backoff)
        self._backoff = 0.0
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
                self._export([span], time.monotonic() + self.export_timeout)
                return
            size = estimate_bytes(span)
            with self._lock:
                self.stats.spans_ended += 1
                if self._shutdown or self._closing.is_set():
                    self.stats.spans_dropped_at_shutdown += 1
                    return
                if len(self._queue) >= self.max_queue_size:
                    self.stats.spans_dropped_queue_full += 1
                    return
                if self._queue_bytes + size > self.max_queue_bytes:
                    self.stats.spans_dropped_queue_bytes += 1
                    return
                self._queue.append(_Entry(span, size))
                self._queue_bytes += size
                self._enqueued += 1
                self.stats.spans_queued += 1
                full = (
                    len(self._queue) >= self.max_export_batch_size
                    or self._queue_bytes >= self.max_export_batch_bytes
                )
            if full:
                self._wake.set()
        except Exception:
            logger.debug("somatrace: on_end failed", exc_info=True)

    # -- export thread ----------------------------------------------------------------

    def _run(self) -> None:
        reported_drops = 0
        while not self._stopped.is_set():
            if not self._closing.is_set():
                self._wake.wait(self.schedule_delay)
                self._wake.clear()
            wait = self._not_before - time.monotonic()
            if wait > 0:
                # A backoff. The start of shutdown interrupts it (to re-check), but nothing is
                # sent before the backend allows: the shutdown deadline counts what is left.
                (self._stopped if self._closing.is_set() else self._closing).wait(wait)
                continue
            drained = self._drain_once()
            reported_drops = self._report_drops(reported_drops)
            if self._closing.is_set() and drained:
                self._stopped.wait(0.01)

    def _take(self) -> list[_Entry]:
        with self._lock:
            taken: list[_Entry] = []
            size = 0
            while self._queue and len(taken) < self.max_export_batch_size:
                entry = self._queue[0]
                if taken and size + entry.size > self.max_export_batch_bytes:
                    break
                self._queue.popleft()
                self._queue_bytes -= entry.size
                size += entry.size
                taken.append(entry)
            self._inflight = len(taken)
            self._abandoned = False
            return taken

    def _drain_once(self) -> bool:
        """Export batches until the queue is empty or an export fails; True if it emptied."""
        while True:
            entries = self._take()
            if not entries:
                return True
            outcome = self._export(
                [entry.span for entry in entries], time.monotonic() + self.export_timeout
            )
            with self._lock:
                abandoned, self._inflight = self._abandoned, 0
            if not abandoned:
                self._settle(outcome)
            with self._progress:
                self._done += len(entries)
                self._progress.notify_all()
            if outcome.failed:
                self._back_off(outcome)
                return False
            self._backoff = 0.0

    def _export(self, spans: list[ReadableSpan], deadline: float) -> ExportOutcome:
        if self.enricher is not None:
            spans = [self.enricher.enrich(span) for span in spans]
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            export_batch = getattr(self.exporter, "export_batch", None)
            if export_batch is not None:
                outcome: ExportOutcome = export_batch(spans, deadline)
            else:
                result = self.exporter.export(spans)
                ok = result is SpanExportResult.SUCCESS
                outcome = ExportOutcome(
                    exported=len(spans) if ok else 0,
                    failed=0 if ok else len(spans),
                    attempts=1,
                    error="" if ok else "the exporter returned FAILURE",
                )
        except Exception as error:
            outcome = ExportOutcome(failed=len(spans), error=f"export raised {error!r}")
            self.stats.add(export_errors=1)
        finally:
            detach(token)
        if not self.batch:
            self._settle(outcome)
        return outcome

    def _settle(self, outcome: ExportOutcome) -> None:
        self.stats.add(
            spans_exported=outcome.exported,
            spans_export_failed=outcome.failed,
            spans_dropped_too_large=outcome.too_large,
            export_requests=outcome.attempts,
        )
        if outcome.failed:
            status = str(outcome.status) if outcome.status is not None else "no-answer"
            self.stats.count_in("export_failures_by_status", status, outcome.failed)
            self.logs.warn(
                "export-failed",
                "somatrace: %d span(s) not exported to the tracing backend (%s)",
                outcome.failed,
                outcome.error or status,
            )
        if outcome.too_large:
            self.logs.warn(
                "too-large",
                "somatrace: %d span(s) dropped: the backend answered 413 even for one span",
                outcome.too_large,
            )

    def _back_off(self, outcome: ExportOutcome) -> None:
        self._backoff = min(max(self._backoff * 2, FIRST_BACKOFF_S), MAX_BACKOFF_S)
        wait = max(self._backoff, outcome.retry_after or 0.0)
        self._not_before = time.monotonic() + wait
        self.stats.add(backoffs=1)

    def _report_drops(self, reported: int) -> int:
        snapshot = self.stats.snapshot()
        lost = (
            snapshot["spans_dropped_queue_full"]
            + snapshot["spans_dropped_queue_bytes"]
            + snapshot["spans_dropped_at_shutdown"]
        )
        if lost > reported and self.logs.warn(
            "dropped",
            "somatrace: %d span(s) dropped so far (queue full: %d, queue bytes: %d); "
            "the tracing backend is not keeping up or not reachable",
            lost,
            snapshot["spans_dropped_queue_full"],
            snapshot["spans_dropped_queue_bytes"],
        ):
            return lost
        return reported

    # -- flush and shutdown -----------------------------------------------------------

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Wait (at most ``timeout_millis``) until every span queued so far was handled."""
        if not self.batch or self._worker is None or self._shutdown:
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
                self._progress.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def shutdown(self, timeout_millis: int | None = None) -> None:
        """Export what is queued until the deadline, then count the rest as dropped.

        Returns within ``timeout_millis`` (default: the export timeout) plus ~0.2 s.
        """
        if self._shutdown:
            return
        timeout = (
            timeout_millis if timeout_millis is not None else self.shutdown_timeout_ms
        ) / 1000
        deadline = time.monotonic() + timeout
        if self.batch and self._worker is not None:
            self._closing.set()
            self._wake.set()
            with self._progress:
                while True:
                    with self._lock:
                        idle = not self._queue and not self._inflight
                    remaining = deadline - time.monotonic()
                    if idle or remaining <= 0:
                        break
                    self._progress.wait(min(remaining, 0.05))
        with self._lock:
            self._shutdown = True
            left = len(self._queue) + (0 if self._abandoned else self._inflight)
            self._abandoned = self._abandoned or bool(self._inflight)
            self._queue.clear()
            self._queue_bytes = 0
            self.stats.spans_dropped_at_shutdown += left
        self._stopped.set()
        self._abort_exporter()
        if left:
            logger.warning(
                "somatrace: %d span(s) not exported before the exit deadline (%.1f s)",
                left,
                timeout,
            )
        if self._worker is not None:
            self._worker.join(timeout=0.2)
        try:
            self.exporter.shutdown()
        except Exception:
            logger.debug("somatrace: exporter shutdown raised", exc_info=True)

    def _abort_exporter(self) -> None:
        abort = getattr(self.exporter, "abort", None)
        if abort is not None:
            try:
                abort()
            except Exception:
                logger.debug("somatrace: exporter abort raised", exc_info=True)

    def queue_length(self) -> int:
        return len(self._queue)

    def queue_bytes(self) -> int:
        return self._queue_bytes
