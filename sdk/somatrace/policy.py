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

# -- where our own deploy serves OTLP ---------------------------------------------------------
# Langfuse has no separate ingester: langfuse-web serves OTLP/HTTP at
# POST {host}/api/public/otel/v1/traces on port 3000 (langfuse/langfuse v4.16,
# web/src/pages/api/public/otel/v1/traces/index.ts). Our deploy installs the Helm release
# "langfuse" in the namespace "langfuse" (deploy/helm/langfuse/helmfile.yaml), so the chart's web
# Service is "langfuse-web" there. tests/sdk/test_endpoint_agreement.py proves that the SDK
# default, docs/observability/.env.template, deploy/k8s/otel-defaults.yaml and the Helm values
# agree.
LANGFUSE_NAMESPACE = "langfuse"
LANGFUSE_RELEASE = "langfuse"
LANGFUSE_WEB_SERVICE = f"{LANGFUSE_RELEASE}-web"
LANGFUSE_WEB_PORT = 3000
LANGFUSE_OTLP_PATH = "/api/public/otel"  # the OTLP base path; exporters append /v1/traces
OTLP_TRACES_PATH = "/v1/traces"
OTLP_METRICS_PATH = "/v1/metrics"
LANGFUSE_IN_CLUSTER_HOST = (
    f"http://{LANGFUSE_WEB_SERVICE}.{LANGFUSE_NAMESPACE}.svc.cluster.local:{LANGFUSE_WEB_PORT}"
)
# Where spans go when no endpoint is configured.
DEFAULT_ENDPOINT = LANGFUSE_IN_CLUSTER_HOST + LANGFUSE_OTLP_PATH

# -- Langfuse's OTLP contract (what the receiver's `langfuse` profile enforces) -------------------
# Langfuse gunzips a body whose Content-Encoding includes "gzip" and decodes nothing else
# (traces/index.ts:57-69): a deflate body fails to parse and is a 400.
COMPRESSION_VAR = "OTEL_EXPORTER_OTLP_COMPRESSION"
TRACES_COMPRESSION_VAR = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
COMPRESSIONS: tuple[str, ...] = ("none", "gzip")
DEFAULT_COMPRESSION = "none"
# Direct OTLP exporters send x-langfuse-ingestion-version; the server parses it like JS
# parseInt and answers 400 when it is not a number or above 4 (traces/index.ts:259-283).
INGESTION_VERSION_HEADER = "x-langfuse-ingestion-version"
INGESTION_VERSION_VAR = "SOMATRACE_LANGFUSE_INGESTION_VERSION"
MAX_INGESTION_VERSION = 4
DEFAULT_INGESTION_VERSION = "4"
# Langfuse's own SDK variables: the host and the key pair (Basic auth public:secret).
LANGFUSE_HOST_VAR = "LANGFUSE_HOST"
LANGFUSE_PUBLIC_KEY_VAR = "LANGFUSE_PUBLIC_KEY"
LANGFUSE_SECRET_KEY_VAR = "LANGFUSE_SECRET_KEY"

# -- cost -------------------------------------------------------------------------------------
# What a span gets when no price is known: leave the cost out (Langfuse then prices the span
# from its own model table), or send an explicit zero cost and flag the span unpriced.
UNPRICED_VAR = "SOMATRACE_UNPRICED"
UNPRICED_LEAVE_TO_LANGFUSE = "leave-to-langfuse"
UNPRICED_ZERO_WITH_FLAG = "zero-with-flag"
UNPRICED_MODES: tuple[str, ...] = (UNPRICED_LEAVE_TO_LANGFUSE, UNPRICED_ZERO_WITH_FLAG)
DEFAULT_UNPRICED = UNPRICED_ZERO_WITH_FLAG
# Langfuse labels every cost USD (its model prices carry no currency).
COST_CURRENCY = "USD"
