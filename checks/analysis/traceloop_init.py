"""``Traceloop.init(...)`` against ``init_tracing(...)``: which arguments map onto the helper.

A fact about two signatures (traceloop-sdk 0.62 ``Traceloop.init`` in
traceloop/sdk/__init__.py, and ``somatrace.tracing.init_tracing``), shared by ST102 (whose
message says why a call has no fix) and its fixer (which rewrites the calls that map).

| ``Traceloop.init``      | ``init_tracing``                  |
|-------------------------|-----------------------------------|
| ``app_name``            | ``app_name`` (positional when it comes first) |
| ``api_endpoint``        | ``endpoint``                      |
| ``headers``             | ``headers``                       |
| ``disable_batch``       | ``disable_batch``                 |
| ``resource_attributes`` | ``resource_attributes``           |
| ``enabled``             | ``enabled``                       |
| ``telemetry_enabled``   | dropped (the helper never sends Traceloop telemetry) |
| ``traceloop_sync_enabled`` | dropped - **unsafe** (prompt sync from the Traceloop cloud stops) |

Anything else - a custom ``exporter``, ``processor``, ``propagator``, ``sampler``, metrics or
logging exporter, ``api_key``, instrument lists, ``*args``/``**kwargs`` - has no equivalent.
"""

from __future__ import annotations

from collections.abc import Sequence

TRACELOOP_INIT = frozenset(
    {"traceloop.sdk.Traceloop.init", "traceloop.sdk.tracing.tracing.Traceloop.init"}
)
# Traceloop.init's parameters in positional order (traceloop-sdk 0.62).
POSITIONAL = (
    "app_name",
    "api_endpoint",
    "api_key",
    "enabled",
    "headers",
    "disable_batch",
    "telemetry_enabled",
    "exporter",
    "metrics_exporter",
    "metrics_headers",
    "logging_exporter",
    "logging_headers",
    "processor",
    "propagator",
    "sampler",
    "traceloop_sync_enabled",
    "should_enrich_metrics",
    "resource_attributes",
    "instruments",
    "block_instruments",
    "image_uploader",
    "span_postprocess_callback",
)
RENAMED = {
    "api_endpoint": "endpoint",
    "headers": "headers",
    "disable_batch": "disable_batch",
    "resource_attributes": "resource_attributes",
    "enabled": "enabled",
}
DROPPED_SAFE = frozenset({"telemetry_enabled"})
DROPPED_UNSAFE = frozenset({"traceloop_sync_enabled"})
CUSTOM_PIPELINE = frozenset(
    {
        "exporter",
        "processor",
        "propagator",
        "sampler",
        "metrics_exporter",
        "logging_exporter",
        "span_postprocess_callback",
        "image_uploader",
    }
)


def argument_names(positional: int, keywords: Sequence[str], star: str | None) -> list[str] | str:
    """The parameter each argument of a call binds, or why they cannot be told."""
    if star:
        return f"the call passes `{star}` arguments, which cannot be mapped"
    if positional > len(POSITIONAL):
        return "the call passes more positional arguments than Traceloop.init takes"
    return [*POSITIONAL[:positional], *keywords]


def unfixable_reason(names: list[str] | str) -> str | None:
    """Why a call binding ``names`` cannot become ``init_tracing(...)``, or ``None``."""
    if isinstance(names, str):
        return names
    for name in names:
        if name in CUSTOM_PIPELINE:
            return (
                f"a custom `{name}` has no init_tracing equivalent (the helper builds the "
                "export pipeline that enforces the policy); move it into the helper's config "
                "or drop it by hand"
            )
        if name == "api_key":
            return (
                "`api_key` has no init_tracing equivalent; put the OTLP credentials into "
                "OTEL_EXPORTER_OTLP_HEADERS"
            )
        if name in ("instruments", "block_instruments"):
            return f"`{name}` has no init_tracing equivalent (the helper instruments every library)"
        if name not in RENAMED and name not in DROPPED_SAFE | DROPPED_UNSAFE and name != "app_name":
            return f"`{name}` has no init_tracing equivalent"
    return None
