"""The pipeline's counters (``handle.stats()["pipeline"]``) and its rate-limited log lines."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("somatrace")

# Spans lost, by reason; each lost span is counted exactly once under one of these.
DROP_COUNTERS = (
    "spans_dropped_queue_full",  # the queue held max_queue_size spans
    "spans_dropped_queue_bytes",  # the queue held max_queue_bytes
    "spans_dropped_too_large",  # a 413 for a batch of one
    "spans_export_failed",  # the backend refused or never answered, retries included
    "spans_dropped_at_shutdown",  # queued, or in flight, when the exit deadline passed
)


@dataclass
class PipelineStats:
    """Counters of what happened to spans after they ended. Thread-safe via ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    spans_ended: int = 0
    spans_queued: int = 0
    spans_dropped_queue_full: int = 0
    spans_dropped_queue_bytes: int = 0
    spans_dropped_too_large: int = 0
    spans_dropped_at_shutdown: int = 0
    spans_exported: int = 0
    spans_export_failed: int = 0
    export_requests: int = 0
    export_errors: int = 0
    export_failures_by_status: dict[str, int] = field(default_factory=dict)
    backoffs: int = 0
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

    def count_in(self, mapping: str, key: str, delta: int = 1) -> None:
        with self.lock:
            counts: dict[str, int] = getattr(self, mapping)
            counts[key] = counts.get(key, 0) + delta

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            values = {
                name: (dict(value) if isinstance(value, dict) else value)
                for name, value in vars(self).items()
                if name != "lock"
            }
        values["spans_dropped"] = sum(values[name] for name in DROP_COUNTERS)
        return values

    @property
    def spans_dropped(self) -> int:
        with self.lock:
            return sum(getattr(self, name) for name in DROP_COUNTERS)


class LogLimiter:
    """At most one log line per ``interval_s`` per kind of trouble; the rest are counted and
    summarised in the next line, so a dead backend cannot flood the service's logs."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless ``kind`` was logged within the interval."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval_s:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return False
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += " (%d more like this in the last %.0f s)"
            args = (*args, suppressed, self.interval_s)
        logger.warning(message, *args)
        return True
