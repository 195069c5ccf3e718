"""Spine metrics: LLM calls, tokens, exact cost, errors, latency and span losses, by tenant,
workflow, agent, model and service, through the OpenTelemetry metrics SDK.

Off unless configured. ``init_tracing`` calls :func:`install_from_environment`, which does
nothing (and imports nothing) unless one of these is set:

- ``SOMATRACE_METRICS_PORT``: serve ``/metrics`` for Prometheus to scrape, with
  ``opentelemetry-exporter-prometheus`` (``SOMATRACE_METRICS_HOST``, default ``0.0.0.0``;
  port ``0`` takes a free one);
- ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``: push OTLP/HTTP metrics there every
  ``OTEL_METRIC_EXPORT_INTERVAL`` ms (headers from ``OTEL_EXPORTER_OTLP_METRICS_HEADERS``).

:class:`MetricsSpanProcessor` queues every span as it ends and records it on a background
thread (and at every scrape). Metric names live in :mod:`somatrace.metric_names`.

**Exact cost.** Prometheus stores float64 and a float sum of Decimal costs drifts. The cost is a
counter of whole *nano-units* of the currency (1e-9 USD), an integer: :class:`ExactCostCounter`
keeps, per label set, the exact ``Decimal`` sum of the span costs and adds to the counter the
whole nano-units that sum has gained, so the counter always equals
``floor(exact sum * 1e9)`` for its series and the sub-nano remainder (< 1e-9 per series) stays
in the process until further costs complete a unit. Integers are exact in float64 up to 2**53
(9e15 nano-units, about 9 million USD per series between restarts). Every cost of a price that
is a multiple of 0.001 per million tokens (every shipped price) is a whole number of
nano-units, so then the counter is exact, with no remainder at all.

The cost is the span's ``somatrace.cost.total`` when the span already carries it; otherwise it
is computed here with :mod:`somatrace.cost` from the same attributes and the same price table
the export pipeline uses, which writes ``somatrace.cost.total`` on the exported copy of the span
(see ``somatrace.pipeline``): the same function on the same inputs, so the same ``Decimal``.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from somatrace import metric_names as names
from somatrace.cost import (
    COST_CURRENCY_ATTRIBUTE,
    COST_STATUS_ATTRIBUTE,
    COST_TOTAL_ATTRIBUTE,
    Cost,
    PriceTable,
    Usage,
    default_table,
    model_of,
    provider_of,
)
from somatrace.settings import ConfigError
from somatrace.tags import ASSOCIATION_PREFIX, MISSING_ATTRIBUTE

logger = logging.getLogger("somatrace")

PORT_VAR = "SOMATRACE_METRICS_PORT"
HOST_VAR = "SOMATRACE_METRICS_HOST"
FINAL_SCRAPE_VAR = "SOMATRACE_METRICS_FINAL_SCRAPE_TIMEOUT"
OTLP_ENDPOINT_VAR = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
EXPORT_INTERVAL_VAR = "OTEL_METRIC_EXPORT_INTERVAL"
DEFAULT_HOST = "0.0.0.0"
DEFAULT_EXPORT_INTERVAL_MS = 60_000
_NANO = Decimal(names.NANO_UNITS_PER_UNIT)


@dataclass(frozen=True)
class MetricsSettings:
    port: int | None = None
    host: str = DEFAULT_HOST
    otlp_endpoint: str | None = None
    export_interval_ms: int = DEFAULT_EXPORT_INTERVAL_MS
    # A short-lived process (a batch job, the smoke script) waits at exit, at most this long,
    # until Prometheus has scraped its final values. 0: exit at once.
    final_scrape_timeout_s: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.port is not None or bool(self.otlp_endpoint)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> MetricsSettings:
        env = os.environ if environ is None else environ
        port_text = env.get(PORT_VAR, "").strip()
        port = None
        if port_text:
            port = _number(PORT_VAR, port_text, int)
            if not 0 <= port <= 65535:
                raise ConfigError(f"{PORT_VAR}={port_text!r} is not a TCP port (0-65535)")
        interval = env.get(EXPORT_INTERVAL_VAR, "").strip()
        final = env.get(FINAL_SCRAPE_VAR, "").strip()
        settings = cls(
            port=port,
            host=env.get(HOST_VAR, "").strip() or DEFAULT_HOST,
            otlp_endpoint=env.get(OTLP_ENDPOINT_VAR, "").strip() or None,
            export_interval_ms=(
                _number(EXPORT_INTERVAL_VAR, interval, int)
                if interval
                else DEFAULT_EXPORT_INTERVAL_MS
            ),
            final_scrape_timeout_s=_number(FINAL_SCRAPE_VAR, final, float) if final else 0.0,
        )
        if settings.export_interval_ms <= 0 or settings.final_scrape_timeout_s < 0:
            raise ConfigError(f"{EXPORT_INTERVAL_VAR} must be > 0 and {FINAL_SCRAPE_VAR} >= 0")
        return settings


def _number(name: str, text: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None


class ExactCostCounter:
    """Exact ``Decimal`` amounts per label set, added to an integer counter of nano-units."""

    def __init__(self, add: Callable[[int, dict[str, str]], None]) -> None:
        self._add = add
        self._lock = threading.Lock()
        self._totals: dict[tuple[tuple[str, str], ...], Decimal] = {}
        self._emitted: dict[tuple[tuple[str, str], ...], int] = {}

    def add(self, amount: Decimal, labels: Mapping[str, str]) -> int:
        """Record ``amount``; returns the nano-units added to the counter now."""
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"a cost must be a finite non-negative decimal, not {amount}")
        key = tuple(sorted(labels.items()))
        with self._lock:
            total = self._totals.get(key, Decimal(0)) + amount
            whole = int((total * _NANO).to_integral_value(rounding=ROUND_FLOOR))
            delta = whole - self._emitted.get(key, 0)
            self._totals[key] = total
            self._emitted[key] = whole
            if delta:
                self._add(delta, dict(key))
        return delta

    def totals(self) -> dict[tuple[tuple[str, str], ...], Decimal]:
        """The exact sum per label set (sorted label pairs)."""
        with self._lock:
            return dict(self._totals)

    def remainders(self) -> dict[tuple[tuple[str, str], ...], Decimal]:
        """What each series holds back: the exact sum minus the counted nano-units (< 1e-9)."""
        with self._lock:
            return {k: v - Decimal(self._emitted[k]) / _NANO for k, v in self._totals.items()}


@dataclass
class SpineInstruments:
    """The OpenTelemetry instruments, one per metric of :mod:`somatrace.metric_names`."""

    calls: Any
    tokens: Any
    cost: ExactCostCounter
    unpriced: Any
    duration: Any
    spans: Any
    untagged: Any


class MetricsSpanProcessor(SpanProcessor):
    """A span processor that turns each ended span into metric updates. Never raises.

    ``on_end`` only queues the span (the OpenTelemetry metrics SDK costs tens of microseconds
    per measurement, too much for the service's thread); a background thread records the
    queue every ``interval`` seconds, and every collection (a scrape, the OTLP export,
    shutdown) drains it first, so what is exposed is never behind. At most ``max_queue``
    spans wait; beyond that spans are not counted (``dropped``)."""

    def __init__(
        self,
        instruments: SpineInstruments,
        prices: PriceTable | None = None,
        *,
        max_queue: int = 8192,
        interval: float = 1.0,
    ) -> None:
        self.instruments = instruments
        self.prices = prices
        self.errors = 0
        self.dropped = 0
        self.max_queue = max_queue
        self.interval = interval
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._drain_lock = threading.Lock()
        self._start_worker()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._start_worker)

    def _start_worker(self) -> None:
        self._queue = collections.deque()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="somatrace-metrics", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.drain()

    def on_end(self, span: ReadableSpan) -> None:
        if len(self._queue) >= self.max_queue:
            self.dropped += 1
            return
        self._queue.append(span)  # deque.append is atomic: no lock in the service's thread

    def drain(self) -> None:
        """Record every queued span now."""
        with self._drain_lock:
            while True:
                try:
                    span = self._queue.popleft()
                except IndexError:
                    return
                try:
                    self._record(span)
                except Exception:
                    self.errors += 1
                    logger.debug("somatrace: metrics could not read span", exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self.drain()
        return True

    def shutdown(self) -> None:
        self._stop.set()
        self.drain()

    def _record(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        resource = getattr(span.resource, "attributes", None) or {}
        service = str(resource.get("service.name", ""))
        ins = self.instruments
        ins.spans.add(1, {names.SERVICE: service})
        missing = attributes.get(MISSING_ATTRIBUTE)
        if missing:
            label = ",".join(sorted(str(tag) for tag in missing))
            ins.untagged.add(1, {names.SERVICE: service, names.MISSING: label})
        model = model_of(attributes)
        usage = Usage.from_attributes(attributes)
        if model is None and usage is None:
            return  # not an LLM call
        labels = {names.SERVICE: service, names.MODEL: model or ""}
        for tag in (names.TENANT_ID, names.WORKFLOW_NAME, names.AGENT_ID):
            value = attributes.get(ASSOCIATION_PREFIX + tag)
            labels[tag] = "" if value is None else str(value)
        status = names.STATUS_ERROR if _failed(span) else names.STATUS_OK
        ins.calls.add(1, {**labels, names.STATUS: status})
        if span.end_time is not None and span.start_time is not None:
            seconds = max(span.end_time - span.start_time, 0) / 1e9
            ins.duration.record(seconds, {**labels, names.STATUS: status})
        if usage is None:
            return
        ins.tokens.add(usage.input, {**labels, names.TOKEN_TYPE: names.TOKEN_INPUT})
        ins.tokens.add(usage.output, {**labels, names.TOKEN_TYPE: names.TOKEN_OUTPUT})
        cost = self._cost(attributes, model, usage)
        if cost is None:
            ins.unpriced.add(1, labels)
        else:
            amount, currency = cost
            ins.cost.add(amount, {**labels, names.CURRENCY: currency})

    def _cost(
        self, attributes: Mapping[str, Any], model: str | None, usage: Usage
    ) -> tuple[Decimal, str] | None:
        status = attributes.get(COST_STATUS_ATTRIBUTE)
        if status == "unpriced":
            return None
        if status == "priced" and COST_TOTAL_ATTRIBUTE in attributes:
            try:
                amount = Decimal(str(attributes[COST_TOTAL_ATTRIBUTE]))
            except InvalidOperation:
                return None
            return amount, str(attributes.get(COST_CURRENCY_ATTRIBUTE) or "USD")
        table = self.prices if self.prices is not None else default_table()
        if not model:
            return None
        # The same quote the export pipeline writes onto the span (somatrace.prices).
        found = table.quote(model, usage, None, provider_of(attributes))
        if not isinstance(found, Cost):
            return None
        return found.total, found.currency


def _failed(span: ReadableSpan) -> bool:
    status = getattr(span, "status", None)
    return status is not None and status.status_code is StatusCode.ERROR


class _ScrapeWatch:
    """A prometheus_client collector that yields nothing: registered before the exporter's
    collector, it drains the span queue at the start of every scrape and counts scrapes."""

    def __init__(self) -> None:
        self.count = 0
        self.before_scrape: Callable[[], None] = lambda: None
        self._changed = threading.Condition()

    def collect(self) -> Iterable[Any]:
        self.before_scrape()
        with self._changed:
            self.count += 1
            self._changed.notify_all()
        return iter(())

    def wait_for(self, target: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.count < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


@dataclass
class SpineMetrics:
    """What :func:`install` set up; :meth:`close` runs at exit."""

    settings: MetricsSettings
    provider: Any
    processor: MetricsSpanProcessor
    instruments: SpineInstruments
    server: Any = None
    address: tuple[str, int] | None = None
    scrapes: _ScrapeWatch | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def url(self) -> str | None:
        if self.address is None:
            return None
        host, port = self.address
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/metrics"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.processor.drain()
        timeout = self.settings.final_scrape_timeout_s
        if self.scrapes is not None and timeout > 0:
            # The first scrape after this point serves the final values; it has been answered
            # once the next one starts (Prometheus never overlaps scrapes of one target).
            if not self.scrapes.wait_for(self.scrapes.count + 2, timeout):
                logger.warning("somatrace: no final metrics scrape within %.1f s", timeout)
        self.processor.shutdown()
        try:
            self.provider.shutdown()
        except Exception:
            logger.debug("somatrace: meter provider shutdown raised", exc_info=True)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


_LOCK = threading.Lock()
_INSTALLED: SpineMetrics | None = None


def installed() -> SpineMetrics | None:
    return _INSTALLED


def install_from_environment(handle: Any) -> SpineMetrics | None:
    """Install the spine metrics for ``handle`` (a ``TracingHandle``) if the environment asks
    for them. A bad value raises ``ConfigError`` (start-up); a port in use is logged."""
    settings = MetricsSettings.from_environment()
    if not settings.enabled:
        return None
    try:
        return install(handle, settings)
    except OSError as error:
        logger.error("somatrace: metrics not served on port %s: %s", settings.port, error)
        return None


def install(handle: Any, settings: MetricsSettings) -> SpineMetrics:
    """Start the meter provider and its readers, add the span processor to the tracer provider
    ``init_tracing`` installed, observe the pipeline's counters. Once per process."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED is not None:
            return _INSTALLED
        from opentelemetry import trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource

        readers: list[Any] = []
        server = address = scrapes = None
        if settings.port is not None:
            server, address, scrapes, reader = _prometheus_reader(settings)
            readers.append(reader)
        if settings.otlp_endpoint:
            readers.append(_otlp_reader(settings))
        provider = MeterProvider(
            metric_readers=readers,
            resource=Resource.create({"service.name": handle.app_name}),
            views=[
                View(
                    instrument_name=names.LLM_DURATION.otel_name,
                    aggregation=ExplicitBucketHistogramAggregation(names.LLM_DURATION_BUCKETS),
                )
            ],
            shutdown_on_exit=False,  # SpineMetrics.close does it, after the final scrape
        )
        meter = provider.get_meter("somatrace")
        instruments = _instruments(meter)
        _observe_pipeline(meter, handle)
        processor = MetricsSpanProcessor(instruments, getattr(handle, "prices", None))
        if scrapes is not None:
            scrapes.before_scrape = processor.drain
        tracer_provider = trace.get_tracer_provider()
        if hasattr(tracer_provider, "add_span_processor"):
            tracer_provider.add_span_processor(processor)
        else:
            logger.warning("somatrace: no SDK TracerProvider; LLM metrics stay empty")
        _INSTALLED = SpineMetrics(
            settings, provider, processor, instruments, server, address, scrapes
        )
        atexit.register(_INSTALLED.close)
        if address is not None:
            logger.info("somatrace: metrics at %s", _INSTALLED.url)
        return _INSTALLED


def _instruments(meter: Any) -> SpineInstruments:
    def counter(metric: names.Metric) -> Any:
        return meter.create_counter(metric.otel_name, metric.unit, metric.description)

    cost = counter(names.LLM_COST)
    duration = names.LLM_DURATION
    return SpineInstruments(
        calls=counter(names.LLM_CALLS),
        tokens=counter(names.LLM_TOKENS),
        cost=ExactCostCounter(lambda amount, labels: cost.add(amount, labels)),
        unpriced=counter(names.LLM_UNPRICED),
        duration=meter.create_histogram(duration.otel_name, duration.unit, duration.description),
        spans=counter(names.SPANS),
        untagged=counter(names.SPANS_UNTAGGED),
    )


def _observe_pipeline(meter: Any, handle: Any) -> None:
    """Counters the export pipeline keeps (``handle.stats()``), read at each collection."""
    from opentelemetry.metrics import Observation

    service = {names.SERVICE: handle.app_name}

    def pipeline() -> Mapping[str, Any]:
        try:
            return handle.stats().get("pipeline") or {}
        except Exception:
            return {}

    def observe(metric: names.Metric, label: str | None, keys: Mapping[str, str]) -> None:
        def callback(options: Any) -> Iterable[Any]:
            stats = pipeline()
            for value, key in keys.items():
                labels = {**service, label: value} if label else service
                yield Observation(int(stats.get(key, 0)), labels)

        meter.create_observable_counter(
            metric.otel_name, [callback], metric.unit, metric.description
        )

    observe(names.SPANS_DROPPED, names.REASON, names.DROP_REASONS)
    observe(names.SPANS_EXPORTED, None, {"": "spans_exported"})
    observe(names.PIPELINE_ERROR_COUNT, names.KIND, names.PIPELINE_ERRORS)


def _prometheus_reader(settings: MetricsSettings) -> tuple[Any, tuple[str, int], Any, Any]:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    scrapes = _ScrapeWatch()
    registry.register(scrapes)  # type: ignore[arg-type]  # first: collectors run in order
    # scope labels (otel_scope_name, ...) would only repeat "somatrace" on every series.
    reader = PrometheusMetricReader(scope_info_enabled=False, registry=registry)
    assert settings.port is not None
    server, _thread = start_http_server(settings.port, addr=settings.host, registry=registry)
    host, port = server.server_address[:2]
    return server, (str(host), int(port)), scrapes, reader


def _otlp_reader(settings: MetricsSettings) -> Any:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    assert settings.otlp_endpoint is not None
    return PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=settings.otlp_endpoint),
        export_interval_millis=settings.export_interval_ms,
    )
