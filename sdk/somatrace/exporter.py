"""OTLP/HTTP protobuf export of one batch, bounded by a deadline, with Langfuse's contract:
gzip or nothing, ``x-langfuse-ingestion-version``, Basic auth from the settings.

Per batch: transient answers (429, 502, 503, 504, a refused or broken connection, a timeout)
are retried with exponential backoff, or after ``Retry-After`` when the server sends one, as
long as the retry fits before the deadline; the caller learns how long the server asked it to
wait (``retry_after``) so that it does not send the next batch earlier. A 413 splits the batch
in halves (a single span that is still too large is dropped and counted); any other answer
fails the batch at once. Nothing raises: the outcome says what happened.
"""

from __future__ import annotations

import gzip
import math
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from somatrace.http_client import DeadlineExceeded, DeadlineHTTPClient, Response

# The statuses the OTLP/HTTP spec calls retryable ("Retryable Response Codes"); Langfuse's
# rate limiter answers 429 with Retry-After in seconds (RateLimitService.ts:228).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
TOO_LARGE = 413
FIRST_BACKOFF_S = 0.5
USER_AGENT = "somatrace-otlp-exporter"


@dataclass
class ExportOutcome:
    """What became of one batch."""

    exported: int = 0
    failed: int = 0
    too_large: int = 0
    attempts: int = 0
    status: int | None = None  # the last HTTP status (None: no answer)
    error: str = ""
    retry_after: float | None = None  # seconds the server asked us to wait before sending more
    transient: bool = False  # the failure may go away by itself (backoff and try later)

    def merge(self, other: ExportOutcome) -> None:
        self.exported += other.exported
        self.failed += other.failed
        self.too_large += other.too_large
        self.attempts += other.attempts
        self.status = other.status if other.status is not None else self.status
        self.error = other.error or self.error
        if other.retry_after is not None:
            self.retry_after = max(self.retry_after or 0.0, other.retry_after)
        self.transient = self.transient or other.transient


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        return max(when.timestamp() - time.time(), 0.0)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


class OTLPHttpExporter(SpanExporter):
    """Encodes spans as OTLP protobuf and POSTs them; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        compression: str = "none",
        timeout_s: float = 5.0,
        ca_file: str | None = None,
        client_certificate_file: str | None = None,
        client_key_file: str | None = None,
    ) -> None:
        if compression not in ("none", "gzip"):
            raise ValueError(f"compression {compression!r}: use none or gzip")
        self.url = url
        self.timeout_s = timeout_s
        self.compression = compression
        self._headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": USER_AGENT,
            **dict(headers or {}),
        }
        if compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._client = DeadlineHTTPClient(
            url,
            ca_file=ca_file,
            client_certificate_file=client_certificate_file,
            client_key_file=client_key_file,
        )
        self._aborted = threading.Event()

    def __repr__(self) -> str:  # no headers: they hold credentials
        return f"OTLPHttpExporter(url={self.url!r}, compression={self.compression!r})"

    # -- the SpanExporter interface (for use outside the somatrace processor) -----------------

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        outcome = self.export_batch(spans, time.monotonic() + self.timeout_s)
        return SpanExportResult.SUCCESS if not outcome.failed else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.abort()
        self._client.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def abort(self) -> None:
        """Break an export in progress and refuse later ones (at the shutdown deadline)."""
        self._aborted.set()
        self._client.abort()

    # -- one batch ----------------------------------------------------------------------------

    def export_batch(self, spans: Sequence[ReadableSpan], deadline: float) -> ExportOutcome:
        """Send ``spans`` before ``deadline`` (``time.monotonic()``); never raises."""
        if not spans:
            return ExportOutcome()
        try:
            payload = encode_spans(spans).SerializeToString()
        except Exception as error:  # a span the encoder cannot take
            return ExportOutcome(failed=len(spans), error=f"encoding failed: {error!r}")
        if self.compression == "gzip":
            payload = gzip.compress(payload, compresslevel=6)
        outcome = self._send(payload, len(spans), deadline)
        if outcome.status == TOO_LARGE and len(spans) > 1:
            half = len(spans) // 2
            split = ExportOutcome(attempts=outcome.attempts)
            split.merge(self.export_batch(spans[:half], deadline))
            split.merge(self.export_batch(spans[half:], deadline))
            return split
        if outcome.status == TOO_LARGE:
            outcome.failed, outcome.too_large = 0, len(spans)
        return outcome

    def _send(self, payload: bytes, count: int, deadline: float) -> ExportOutcome:
        outcome = ExportOutcome()
        backoff = FIRST_BACKOFF_S
        while True:
            outcome.attempts += 1
            response: Response | None = None
            try:
                response = self._client.post(payload, self._headers, deadline)
            except DeadlineExceeded:
                return _failed(outcome, count, None, "timed out", transient=True)
            except (OSError, ValueError) as error:
                outcome.error, outcome.status = f"{type(error).__name__}: {error}", None
            if response is not None:
                if 200 <= response.status < 300:
                    outcome.exported, outcome.status = count, response.status
                    return outcome
                outcome.status = response.status
                outcome.error = f"HTTP {response.status}: {_snippet(response.body)}"
                if response.status not in RETRYABLE_STATUSES:
                    return _failed(outcome, count, response.status, outcome.error)
                asked = retry_after_seconds(response.header("retry-after"))
                if asked is not None:
                    outcome.retry_after = asked
                wait = asked if asked is not None else backoff
            else:
                wait = backoff
            wait *= random.uniform(1.0, 1.2) if outcome.retry_after is None else 1.0
            if time.monotonic() + wait >= deadline or self._aborted.wait(wait):
                return _failed(outcome, count, outcome.status, outcome.error, transient=True)
            backoff *= 2


def _failed(
    outcome: ExportOutcome, count: int, status: int | None, error: str, transient: bool = False
) -> ExportOutcome:
    outcome.failed, outcome.status, outcome.error = count, status, error
    outcome.transient = transient or status in RETRYABLE_STATUSES
    return outcome


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return text or "(no body)"
