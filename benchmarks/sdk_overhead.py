"""Per-span overhead of the somatrace span pipeline against a bare OpenTelemetry SDK pipeline.

Both pipelines run in the same process, alternately, on the same workload: spans created
and ended inside a tag binding, every fourth one an LLM span with model and token counts.
Both export through a real OTLP encoder (``encode_spans(...).SerializeToString()``, what
the OTLP/HTTP exporter does before the network), so the comparison is CPU work, not I/O.

- bare:      TracerProvider + BatchSpanProcessor(encoder)
- somatrace: TracerProvider + SomatraceSpanProcessor(tags at start, bounded queue)
             -> EnrichingSpanExporter(cost + content policy) -> encoder

A third pipeline, ``bare+tags``, is the bare one with the service putting the very same tag
attributes on each span by hand: the information Langfuse needs has a cost of its own
(more attributes to record and encode), and this baseline separates it from the cost of
the somatrace machinery.

Reported per span, as CPU time (robust to other load on the machine): the service thread
(start + end, what a request pays) and the whole process including the export thread
(until the queue is flushed), in microseconds, with the ratios. Target: <= 1.3x.

Run: ``python benchmarks/sdk_overhead.py [--spans N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from somatrace import tags
from somatrace.content import ContentPolicy
from somatrace.cost import PriceTable
from somatrace.pipeline import (
    EnrichingSpanExporter,
    PipelineStats,
    SomatraceSpanProcessor,
    SpanEnricher,
)
from somatrace.tags import TagSpanProcessor

LLM_ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 1234,
    "gen_ai.usage.output_tokens": 321,
}
OTHER_ATTRIBUTES = {"http.request.method": "GET", "url.path": "/v1/search"}
RESOURCE = Resource.create({"service.name": "bench"})


class EncodingExporter(SpanExporter):
    """Encodes each batch to OTLP protobuf bytes, as the OTLP exporter does, then drops it."""

    def __init__(self) -> None:
        self.spans = 0
        self.bytes = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.bytes += len(encode_spans(spans).SerializeToString())
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def bare_pipeline(exporter: EncodingExporter) -> tuple[TracerProvider, Callable[[], None]]:
    processor = BatchSpanProcessor(exporter, max_queue_size=1_000_000, schedule_delay_millis=200)
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False
    )
    provider.add_span_processor(processor)
    return provider, lambda: processor.force_flush()


def somatrace_pipeline(exporter: EncodingExporter) -> tuple[TracerProvider, Callable[[], None]]:
    stats = PipelineStats()
    enricher = SpanEnricher(PriceTable.default(), ContentPolicy(), stats)
    processor = SomatraceSpanProcessor(
        EnrichingSpanExporter(exporter, enricher, stats),
        tagger=TagSpanProcessor(),
        stats=stats,
        max_queue_size=1_000_000,
        schedule_delay_ms=200,
        flush_timeout_ms=600_000,
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False
    )
    provider.add_span_processor(processor)
    return provider, lambda: processor.force_flush()


# What the tag processor stamps, precomputed: a service tagging its spans by hand.
HAND_TAGS = TagSpanProcessor()._attributes_for(
    {"tenant_id": "acme", "workflow_name": "bench", "agent_id": "runner"}
)[0]

Build = Callable[[EncodingExporter], tuple[TracerProvider, Callable[[], None]]]


def run_once(build: Build, spans: int, hand_tags: bool = False) -> tuple[float, float, int]:
    """Service-thread CPU seconds, process CPU seconds (incl. export thread), OTLP bytes."""
    exporter = EncodingExporter()
    provider, flush = build(exporter)
    tracer = provider.get_tracer("bench")
    llm = {**LLM_ATTRIBUTES, **HAND_TAGS} if hand_tags else LLM_ATTRIBUTES
    other = {**OTHER_ATTRIBUTES, **HAND_TAGS} if hand_tags else OTHER_ATTRIBUTES
    process_start = time.process_time()
    thread_start = time.thread_time()
    with tags.bind(tenant_id="acme", workflow_name="bench", agent_id="runner"):
        for index in range(spans):
            with tracer.start_as_current_span("op", attributes=llm if index % 4 == 0 else other):
                pass
    hot = time.thread_time() - thread_start
    flush()
    total = time.process_time() - process_start
    provider.shutdown()
    if exporter.spans != spans:
        raise RuntimeError(f"exported {exporter.spans} of {spans} spans")
    return hot, total, exporter.bytes


PIPELINES: dict[str, tuple[Build, bool]] = {
    "bare": (bare_pipeline, False),
    "bare+tags": (bare_pipeline, True),
    "somatrace": (somatrace_pipeline, False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    for build, hand_tags in PIPELINES.values():  # warm up imports and caches
        run_once(build, 2000, hand_tags)
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in PIPELINES}
    for _ in range(args.rounds):
        for name, (build, hand_tags) in PIPELINES.items():
            results[name].append(run_once(build, args.spans, hand_tags))

    def us(name: str, index: int) -> float:
        return statistics.median(r[index] for r in results[name]) / args.spans * 1e6

    print(
        f"spans per round: {args.spans}, rounds: {args.rounds} (median of CPU time), "
        f"python {sys.version.split()[0]}"
    )
    print(
        f"{'pipeline':<10} {'service thread us/span':>24} {'total us/span':>15} {'OTLP bytes':>12}"
    )
    for name in PIPELINES:
        print(f"{name:<10} {us(name, 0):>24.2f} {us(name, 1):>15.2f} {results[name][0][2]:>12}")
    for baseline in ("bare", "bare+tags"):
        print(
            f"somatrace / {baseline}: service thread {us('somatrace', 0) / us(baseline, 0):.2f}x, "
            f"total {us('somatrace', 1) / us(baseline, 1):.2f}x "
            f"(+{us('somatrace', 1) - us(baseline, 1):.2f} us/span; target <= 1.3x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
