"""Fixtures for the spine: a real OTLP/HTTP receiver on loopback (by default the ``langfuse``
contract profile) and real OTel pipelines wired like ``init_tracing`` wires them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from somatrace.checks.runtime.receiver import OTLPReceiver
from somatrace.content import ContentPolicy
from somatrace.cost import PriceTable
from somatrace.pipeline import OTLPHttpExporter, PipelineStats, SomatraceSpanProcessor, SpanEnricher
from somatrace.policy import DEFAULT_INGESTION_VERSION, DEFAULT_UNPRICED, INGESTION_VERSION_HEADER
from somatrace.redact import Redactor
from somatrace.tags import TagSpanProcessor

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as running:
        yield running


def free_closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Pipeline:
    """A real TracerProvider wired like init_tracing does, exporting OTLP to ``target``: a
    receiver (its traces URL and credentials) or a base URL (no credentials)."""

    def __init__(
        self,
        target: OTLPReceiver | str,
        *,
        headers: dict[str, str] | None = None,
        content: ContentPolicy | None = None,
        prices: PriceTable | None = None,
        unpriced: str = DEFAULT_UNPRICED,
        batch: bool = True,
        timeout_s: float = 2.0,
        compression: str = "none",
        max_queue_size: int = 2048,
        max_queue_bytes: int = 32 * 1024 * 1024,
        max_export_batch_size: int = 512,
        max_export_batch_bytes: int = 4 * 1024 * 1024,
        schedule_delay_ms: int = 50,
        log_interval_s: float = 60.0,
    ) -> None:
        if isinstance(target, OTLPReceiver):
            url, headers = target.traces_url, target.auth_headers()
        else:
            url, headers = f"{target}/v1/traces", dict(headers or {})
        headers[INGESTION_VERSION_HEADER] = DEFAULT_INGESTION_VERSION
        self.stats = PipelineStats()
        self.redactor = Redactor()
        self.exporter = OTLPHttpExporter(
            url, headers=headers, compression=compression, timeout_s=timeout_s
        )
        self.processor = SomatraceSpanProcessor(
            self.exporter,
            enricher=SpanEnricher(
                prices or PriceTable.default(),
                content or ContentPolicy(redactor=self.redactor),
                self.stats,
                unpriced=unpriced,
            ),
            tagger=TagSpanProcessor(),
            stats=self.stats,
            batch=batch,
            max_queue_size=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            max_export_batch_size=max_export_batch_size,
            max_export_batch_bytes=max_export_batch_bytes,
            schedule_delay_ms=schedule_delay_ms,
            export_timeout_ms=int(timeout_s * 1000),
            log_interval_s=log_interval_s,
        )
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": "pipeline-test"}), shutdown_on_exit=False
        )
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("somatrace.tests")

    def flush(self) -> bool:
        return self.processor.force_flush()

    def close(self) -> None:
        self.provider.shutdown()


@pytest.fixture
def pipeline_factory() -> Iterator[type[Pipeline]]:
    created: list[Pipeline] = []

    class Tracked(Pipeline):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            created.append(self)

    yield Tracked
    for pipeline in created:
        pipeline.close()


def run_service(
    script: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as a fresh Python process (one init_tracing per process)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "TRACELOOP_", "TRACE_CONTENT", "SOMATRACE_", "LANGFUSE_"))
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
