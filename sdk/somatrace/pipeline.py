"""The export pipeline, assembled: tags at span start (:mod:`somatrace.tags`), cost and content
policy before export (:mod:`somatrace.enrich`), a bounded queue and one export thread
(:mod:`somatrace.processor`), deadline-bounded OTLP/HTTP export (:mod:`somatrace.exporter`),
counters and rate-limited log lines (:mod:`somatrace.stats`). This module names them in one
place for code that builds a pipeline by hand (tests, benchmarks)."""

from __future__ import annotations

from somatrace.enrich import SpanEnricher
from somatrace.exporter import ExportOutcome, OTLPHttpExporter
from somatrace.processor import SomatraceSpanProcessor, estimate_bytes
from somatrace.stats import DROP_COUNTERS, LogLimiter, PipelineStats

__all__ = [
    "DROP_COUNTERS",
    "ExportOutcome",
    "LogLimiter",
    "OTLPHttpExporter",
    "PipelineStats",
    "SomatraceSpanProcessor",
    "SpanEnricher",
    "estimate_bytes",
]
