"""``init_tracing``: the one call every service makes at start-up.

It turns on OpenLLMetry (traceloop-sdk 0.62) with a pipeline that exports OTLP/HTTP to
the configured endpoint only, with content capture off unless policy allows it, the
required tags on every span, the cost of every LLM call, and bounded, non-throwing export.
See ``docs/observability/sdk.md``.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from somatrace.policy import INSTRUMENTATION_CONTENT_VARS
from somatrace.settings import ConfigError, TracingSettings, load_settings

logger = logging.getLogger("somatrace")

# Variables Traceloop reads that could send data to Traceloop's cloud or another host;
# they are hidden from Traceloop.init (and restored afterwards).
_TRACELOOP_ROUTING_VARIABLES = (
    "TRACELOOP_BASE_URL",
    "TRACELOOP_API_KEY",
    "TRACELOOP_HEADERS",
    "TRACELOOP_METRICS_ENDPOINT",
    "TRACELOOP_METRICS_HEADERS",
    "TRACELOOP_LOGGING_ENDPOINT",
    "TRACELOOP_LOGGING_HEADERS",
)
# Libraries that Traceloop's instrumentors import and that reach the internet on import
# unless told not to (litellm fetches its model cost map from raw.githubusercontent.com).
_NO_EGRESS_VARIABLES = {"LITELLM_LOCAL_MODEL_COST_MAP": "true"}

_LOCK = threading.Lock()
_HANDLE: TracingHandle | None = None


@dataclass(repr=False)
class TracingHandle:
    """What ``init_tracing`` set up; returned by every call in the process."""

    app_name: str
    settings: TracingSettings
    enabled: bool
    processor: Any = None  # SomatraceSpanProcessor
    prices: Any = None  # PriceTable
    redactor: Any = None  # Redactor

    def __repr__(self) -> str:  # the settings' repr masks credentials
        return (
            f"TracingHandle(app_name={self.app_name!r}, enabled={self.enabled!r}, "
            f"settings={self.settings!r})"
        )

    def stats(self) -> dict[str, Any]:
        """Counters: spans exported/dropped/failed, priced/unpriced, content, tags."""
        from somatrace import tags

        pipeline = self.processor.stats.snapshot() if self.processor is not None else {}
        return {
            "app_name": self.app_name,
            "enabled": self.enabled,
            "pipeline": pipeline,
            "tags": tags.stats(),
            "redactions": self.redactor.counts() if self.redactor is not None else {},
        }

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Export what is queued; returns False if the timeout passed first. Never raises."""
        if self.processor is None:
            return True
        try:
            return bool(self.processor.force_flush(timeout_millis))
        except Exception:
            return False

    def shutdown(self, timeout_millis: int | None = None) -> None:
        """Export what is queued until the deadline (default: the export timeout), count
        the rest as dropped. Never raises; returns within the deadline plus ~0.2 s."""
        if self.processor is not None:
            with contextlib.suppress(Exception):
                self.processor.shutdown(timeout_millis)


def init_tracing(app_name: str, **options: Any) -> TracingHandle:
    """Turn on tracing for this process (idempotent).

    ``app_name`` becomes ``service.name``. Options override the environment (see
    ``docs/observability/.env.template``): ``endpoint``, ``headers``, ``trace_content``,
    ``content_tenants``, ``sample_rate``, ``disable_batch``, ``export_timeout_ms``,
    ``max_queue_size``, ``max_export_batch_size``, ``schedule_delay_ms``, ``required_tags``,
    ``prices_file``, ``redact_patterns_file``, ``redact_disable``, ``resource_attributes``,
    ``enabled``.

    A second call with the same name returns the first handle; with another name it
    warns and keeps the first. A bad setting raises ``ConfigError`` (a ``ValueError``)
    here, at start-up; nothing raises later, when spans are exported.
    """
    global _HANDLE
    with _LOCK:
        if _HANDLE is not None:
            if app_name != _HANDLE.app_name:
                warnings.warn(
                    f"init_tracing({app_name!r}) ignored: tracing is already initialised "
                    f"for {_HANDLE.app_name!r} in this process",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return _HANDLE
        settings = load_settings(app_name, **options)
        _HANDLE = _start(settings)
        # -- spine metrics hook (somatrace.metrics) ---------------------------------------
        # Only when SOMATRACE_METRICS_PORT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set;
        # otherwise nothing is imported. A bad value raises ConfigError here, at start-up.
        if _HANDLE.enabled:
            from somatrace.metrics import install_from_environment

            install_from_environment(_HANDLE)
        # -- end of the spine metrics hook ------------------------------------------------
        return _HANDLE


def current() -> TracingHandle | None:
    """The handle of this process's ``init_tracing``, if it ran."""
    return _HANDLE


def stats() -> dict[str, Any]:
    """Counters of the pipeline (empty pipeline section before ``init_tracing``)."""
    if _HANDLE is None:
        from somatrace import tags

        return {"app_name": None, "enabled": False, "pipeline": {}, "tags": tags.stats()}
    return _HANDLE.stats()


def _set_content_environment(settings: TracingSettings) -> None:
    """Traceloop decides capture from TRACELOOP_TRACE_CONTENT (default "true"!).

    Process-wide capture is on only with TRACE_CONTENT=true. Per-tenant opt-in keeps it
    off process-wide and lets Traceloop's content allow-list turn it on for spans whose
    tenant_id tag is an opted-in tenant.
    """
    value = "true" if settings.trace_content else "false"
    for variable in INSTRUMENTATION_CONTENT_VARS:
        previous = os.environ.get(variable)
        if previous is not None and previous.strip().lower() != value:
            logger.warning(
                "somatrace: %s=%s overridden to %s by the content policy", variable, previous, value
            )
        os.environ[variable] = value


@contextlib.contextmanager
def _traceloop_environment() -> Iterator[None]:
    saved = {
        name: os.environ.pop(name) for name in _TRACELOOP_ROUTING_VARIABLES if name in os.environ
    }
    if saved:
        logger.warning(
            "somatrace: ignoring %s (tracing goes only to the configured OTLP endpoint)",
            ", ".join(sorted(saved)),
        )
    for name, value in _NO_EGRESS_VARIABLES.items():
        if os.environ.get(name, "").strip().lower() != value:
            if name in os.environ:
                logger.warning("somatrace: %s overridden to %s (no egress)", name, value)
            os.environ[name] = value  # kept: the library may read it again later
    forced = {
        "TRACELOOP_TRACING_ENABLED": "true",
        "TRACELOOP_METRICS_ENABLED": "false",
        "TRACELOOP_LOGGING_ENABLED": "false",
    }
    previous = {name: os.environ.get(name) for name in forced}
    os.environ.update(forced)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ.update(saved)


def _start(settings: TracingSettings) -> TracingHandle:
    if not settings.enabled:
        logger.info("somatrace: tracing disabled (SOMATRACE_TRACING_ENABLED=false)")
        _set_content_environment(settings)
        return TracingHandle(settings.app_name, settings, enabled=False)

    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from somatrace.content import ContentPolicy
    from somatrace.cost import PriceTable, set_default_table
    from somatrace.enrich import SpanEnricher
    from somatrace.exporter import OTLPHttpExporter
    from somatrace.processor import SomatraceSpanProcessor
    from somatrace.redact import Redactor
    from somatrace.stats import PipelineStats
    from somatrace.tags import TagSpanProcessor

    instruments = _instruments(settings.instruments)  # raises ConfigError on a typo
    blocked = _instruments(settings.block_instruments) or set()
    _set_content_environment(settings)
    prices = PriceTable.default(settings.prices_file)
    set_default_table(prices)
    redactor = Redactor.from_config(settings.redact_patterns_file, settings.redact_disable)
    stats = PipelineStats()
    enricher = SpanEnricher(
        prices,
        ContentPolicy(settings.trace_content, settings.content_tenants, redactor),
        stats,
        unpriced=settings.unpriced,
    )
    exporter = OTLPHttpExporter(
        settings.traces_endpoint,
        headers=settings.headers,
        compression=settings.compression,
        timeout_s=settings.export_timeout_ms / 1000,
        ca_file=settings.certificate_file,
        client_certificate_file=settings.client_certificate_file,
        client_key_file=settings.client_key_file,
    )
    processor = SomatraceSpanProcessor(
        exporter,
        enricher=enricher,
        # Traceloop's own on_start stamps traceloop.association.properties.* of its dict.
        tagger=TagSpanProcessor(settings.required_tags, stamp_association_properties=False),
        stats=stats,
        batch=not settings.disable_batch,
        max_queue_size=settings.max_queue_size,
        max_queue_bytes=settings.max_queue_bytes,
        max_export_batch_size=settings.max_export_batch_size,
        max_export_batch_bytes=settings.max_export_batch_bytes,
        schedule_delay_ms=settings.schedule_delay_ms,
        export_timeout_ms=settings.export_timeout_ms,
    )
    handle = TracingHandle(
        settings.app_name,
        settings,
        enabled=True,
        processor=processor,
        prices=prices,
        redactor=redactor,
    )
    try:
        _init_traceloop(
            settings,
            processor,
            ParentBased(TraceIdRatioBased(settings.sample_rate)),
            instruments,
            blocked,
        )
    except Exception:
        logger.exception("somatrace: Traceloop.init failed; LLM calls will not be traced")
        handle.enabled = False
    _install_exit_handler(handle)
    return handle


def _install_exit_handler(handle: TracingHandle) -> None:
    """One exit handler, bounded by the export timeout.

    Traceloop registers its own (tracing/tracing.py:182: ``exit_handler`` -> ``force_flush``
    with the default timeout) and the SDK's TracerProvider another (``shutdown_on_exit``):
    each used to wait up to 2 x the export timeout, so a short job with a dead backend exited
    15-20 s after its last span. Traceloop's is removed; ours runs first (atexit is LIFO) and
    shuts the processor down within the export timeout, which makes the provider's a no-op.
    """
    with contextlib.suppress(Exception):
        from traceloop.sdk.tracing.tracing import TracerWrapper

        wrapper = getattr(TracerWrapper, "instance", None)
        if wrapper is not None:
            atexit.unregister(wrapper.exit_handler)
    atexit.register(handle.shutdown)


def _instruments(names: tuple[str, ...] | None) -> set[Any] | None:
    """Traceloop ``Instruments`` from names like ``openai``; unknown names are an error."""
    if names is None:
        return None
    from traceloop.sdk.instruments import Instruments

    known = {member.value: member for member in Instruments}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown instrumentation(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return {known[name] for name in names}


def _init_traceloop(
    settings: TracingSettings,
    processor: Any,
    sampler: Any,
    instruments: set[Any] | None,
    blocked: set[Any],
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from traceloop.sdk import Traceloop
    from traceloop.sdk.tracing.content_allow_list import ContentAllowList

    from somatrace.local_images import LocalImageUploader

    if not settings.trace_content and settings.content_tenants:
        ContentAllowList().load(
            {
                "associationPropertyAllowList": [
                    {"tenant_id": t} for t in sorted(settings.content_tenants)
                ]
            }
        )
    existing = trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        logger.warning(
            "somatrace: a TracerProvider was already installed; adding the somatrace pipeline "
            "to it (its sampler and resource stay as they were)"
        )
    printed = io.StringIO()
    with _traceloop_environment(), contextlib.redirect_stdout(printed):
        # The one sanctioned direct call: this *is* the helper ST102 points services to.
        Traceloop.init(  # noqa: ST102
            app_name=settings.app_name,
            api_endpoint=settings.endpoint,
            headers=dict(settings.headers),
            disable_batch=settings.disable_batch,
            telemetry_enabled=False,
            processor=processor,
            sampler=sampler,
            resource_attributes={
                **settings.resource_attributes,
                "somatrace.sdk": "somatrace",
            },
            should_enrich_metrics=False,  # would make extra calls to the LLM vendor's API
            traceloop_sync_enabled=False,
            image_uploader=LocalImageUploader(),
            instruments=instruments,
            block_instruments=blocked,
        )
    for line in printed.getvalue().splitlines():
        text = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if text:
            logger.debug("traceloop: %s", text)
