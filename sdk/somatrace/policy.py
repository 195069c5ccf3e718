"""The tracing policy's facts, written once: the SDK enforces them at run time and the gate
(``somatrace.checks``), deploy validation and the smoke trace prove them statically.

Standard library only and no behaviour: a service importing the SDK and the lint tool's light
base install both read this module. A fact that two parts of somatrace must agree on lives here
and is imported everywhere else (``tests/test_policy_facts.py`` keeps the copies out).
"""

from __future__ import annotations

# -- tags -------------------------------------------------------------------------------------
# Every span carries these (as Traceloop association properties, Langfuse trace metadata and
# `key:value` trace tags); the gate's `required-tags` default.
REQUIRED_TAGS: tuple[str, ...] = ("tenant_id", "workflow_name", "agent_id")

# -- the helpers services call ----------------------------------------------------------------
INIT_TRACING = "somatrace.tracing.init_tracing"
TAGS_BIND = "somatrace.tags.bind"
SPAN_TAGS = "somatrace.tags.span_tags"

# -- content capture --------------------------------------------------------------------------
# somatrace's own process-wide switch (read by `somatrace.settings`).
TRACE_CONTENT_VAR = "TRACE_CONTENT"
# What the instrumentations read. traceloop-sdk 0.62 reads TRACELOOP_TRACE_CONTENT and treats a
# missing variable as "true" (traceloop/sdk/__init__.py, `is_content_tracing_enabled`), so the
# SDK always sets both to an explicit value before `Traceloop.init`.
INSTRUMENTATION_CONTENT_VARS: tuple[str, ...] = (
    "TRACELOOP_TRACE_CONTENT",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
)
# Every variable that, set truthy, switches prompt/completion capture on (ST201/ST202).
CONTENT_SWITCHES: tuple[str, ...] = (TRACE_CONTENT_VAR, *INSTRUMENTATION_CONTENT_VARS)

# -- booleans as environment variables spell them ---------------------------------------------
TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
FALSE_VALUES = frozenset({"0", "false", "no", "off", ""})

# -- sampling ---------------------------------------------------------------------------------
SAMPLER_VAR = "OTEL_TRACES_SAMPLER"
SAMPLER_ARG_VAR = "OTEL_TRACES_SAMPLER_ARG"
# The spine's sampler when OTEL_TRACES_SAMPLER is unset: OTEL_TRACES_SAMPLER_ARG alone lowers it.
DEFAULT_SAMPLER = "parentbased_traceidratio"
RATIO_SAMPLERS = frozenset({"traceidratio", "parentbased_traceidratio"})
OFF_SAMPLERS = frozenset({"always_off", "parentbased_always_off"})
SAMPLING_RATE_VARS: tuple[str, ...] = ("LANGFUSE_SAMPLING_RATE", "LANGFUSE_SAMPLE_RATE")

# -- export -----------------------------------------------------------------------------------
ENDPOINT_VARS: tuple[str, ...] = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
HEADER_VARS: tuple[str, ...] = (
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "TRACELOOP_HEADERS",
)
# Where spans go when no endpoint is configured.
DEFAULT_ENDPOINT = "http://langfuse-ingester.observability:4318"
