"""Every metric somatrace exposes, named once: the SDK's spine metrics, the nightly RAG
evaluation's textfile, and what the alert rules, the dashboards and the cost digest query.

Standard library only (like :mod:`somatrace.policy`): the SDK, the eval job and the monitoring
generator (``somatrace.checks.monitoring``) all import it, and the lint tool's light install
can too.

A metric is declared with its OpenTelemetry instrument name and unit; its Prometheus name is
derived the way ``opentelemetry-exporter-prometheus`` derives it (``tests/monitoring`` checks
the derivation against the real exporter's output scraped by a real Prometheus):

- the name is sanitized: every run of characters outside ``[a-zA-Z0-9:]`` becomes ``_``
  (opentelemetry-python, ``exporter/opentelemetry-exporter-prometheus/src/opentelemetry/
  exporter/prometheus/_mapping.py`` lines 6 and 79-82);
- the unit is mapped (``_mapping.py`` lines 18-52 and 96-125): a UCUM annotation in braces such
  as ``{call}`` is dropped (line 12, line 105), ``s`` becomes ``seconds`` (line 23);
- prometheus_client appends the unit as a suffix unless the name already ends with it, and a
  counter's samples get ``_total`` (prometheus/client_python, ``prometheus_client/
  metrics_core.py`` lines 21-23, 118-119 and 143).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from somatrace.policy import REQUIRED_TAGS

Kind = Literal["counter", "histogram", "gauge"]

# -- label names ------------------------------------------------------------------------------
SERVICE = "service"  # the service.name of the process (the init_tracing app name)
TENANT_ID, WORKFLOW_NAME, AGENT_ID = REQUIRED_TAGS
MODEL = "model"  # gen_ai.response.model, else gen_ai.request.model
STATUS = "status"  # "ok" | "error": the LLM span's status
TOKEN_TYPE = "token_type"  # "input" | "output"
CURRENCY = "currency"  # the price table's currency (USD for every shipped price)
REASON = "reason"  # why spans were dropped
MISSING = "missing"  # the required tags a span lacked, comma-separated, sorted
KIND = "kind"  # which pipeline error
METRIC = "metric"  # a RAGET score name (correctness, answer_f1, component.GENERATOR, ...)

TAG_LABELS: tuple[str, ...] = (SERVICE, TENANT_ID, WORKFLOW_NAME, AGENT_ID, MODEL)

STATUS_OK, STATUS_ERROR = "ok", "error"
TOKEN_INPUT, TOKEN_OUTPUT = "input", "output"
# Reasons of spans_dropped; keys are the counters of ``handle.stats()["pipeline"]``.
DROP_REASONS: dict[str, str] = {
    "queue_full": "spans_dropped_queue_full",
    "shutdown": "spans_dropped_at_shutdown",
    "export_failed": "spans_export_failed",
}
PIPELINE_ERRORS: dict[str, str] = {"export": "export_errors", "enrichment": "enrichment_errors"}

# The cost counter counts whole nano-units of the currency (1e-9 USD): an integer, exact in a
# float64 up to 2**53 nano-units (about 9 million USD per series between process restarts).
NANO_UNITS_PER_UNIT = 1_000_000_000

_SANITIZE = re.compile(r"[^a-zA-Z0-9:]+")
_ANNOTATION = re.compile(r"{.*}")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "", "%": "percent"}


def _unit_suffix(unit: str) -> str:
    unit = _ANNOTATION.sub("", unit)
    if unit in _UNITS:
        return _UNITS[unit]
    return _SANITIZE.sub("_", unit).strip("_")


@dataclass(frozen=True)
class Metric:
    """One metric: its OpenTelemetry instrument and the Prometheus series it becomes."""

    otel_name: str
    kind: Kind
    unit: str
    description: str
    labels: tuple[str, ...]

    @property
    def name(self) -> str:
        """The Prometheus metric family name (a counter's samples add ``_total``)."""
        name = _SANITIZE.sub("_", self.otel_name)
        suffix = _unit_suffix(self.unit)
        if suffix and not name.endswith("_" + suffix):
            name += "_" + suffix
        return name

    @property
    def series(self) -> str:
        """The name of the samples PromQL selects (histograms: see ``bucket``/``sum``/``count``)."""
        return self.name + "_total" if self.kind == "counter" else self.name

    @property
    def bucket(self) -> str:
        return self.name + "_bucket"

    @property
    def count(self) -> str:
        return self.name + "_count"

    @property
    def sum(self) -> str:
        return self.name + "_sum"


_P = "somagent.observability"

# -- the spine (sdk/somatrace/metrics.py) ----------------------------------------------------
LLM_CALLS = Metric(
    f"{_P}.llm.calls",
    "counter",
    "{call}",
    "LLM calls (spans with a model or token usage), by tags, model and status.",
    (*TAG_LABELS, STATUS),
)
LLM_TOKENS = Metric(
    f"{_P}.llm.tokens",
    "counter",
    "{token}",
    "Tokens of LLM calls as the API reported them (input includes cache reads and writes).",
    (*TAG_LABELS, TOKEN_TYPE),
)
LLM_COST = Metric(
    f"{_P}.llm.cost.nano_units",
    "counter",
    "{nano_unit}",
    "Cost of priced LLM calls in whole nano-units of the currency (1e-9 USD), the exact "
    "Decimal span costs summed per series in the process; the sub-nano remainder is carried.",
    (*TAG_LABELS, CURRENCY),
)
LLM_UNPRICED = Metric(
    f"{_P}.llm.unpriced",
    "counter",
    "{call}",
    "LLM calls with token usage but no price for their model (no cost recorded).",
    TAG_LABELS,
)
LLM_DURATION = Metric(
    f"{_P}.llm.duration",
    "histogram",
    "s",
    "Duration of LLM call spans.",
    (*TAG_LABELS, STATUS),
)
SPANS = Metric(
    f"{_P}.spans",
    "counter",
    "{span}",
    "Spans that ended (sampled), by service.",
    (SERVICE,),
)
SPANS_UNTAGGED = Metric(
    f"{_P}.spans.untagged",
    "counter",
    "{span}",
    "Spans that ended without one or more required tags (tenant_id, workflow_name, agent_id).",
    (SERVICE, MISSING),
)
SPANS_DROPPED = Metric(
    f"{_P}.spans.dropped",
    "counter",
    "{span}",
    "Spans the export pipeline lost: queue full, still queued at shutdown, or export failed.",
    (SERVICE, REASON),
)
SPANS_EXPORTED = Metric(
    f"{_P}.spans.exported",
    "counter",
    "{span}",
    "Spans the backend accepted.",
    (SERVICE,),
)
PIPELINE_ERROR_COUNT = Metric(
    f"{_P}.pipeline.errors",
    "counter",
    "{error}",
    "Errors inside the export pipeline: failed export requests, spans it could not enrich.",
    (SERVICE, KIND),
)
SPINE_METRICS: tuple[Metric, ...] = (
    LLM_CALLS,
    LLM_TOKENS,
    LLM_COST,
    LLM_UNPRICED,
    LLM_DURATION,
    SPANS,
    SPANS_UNTAGGED,
    SPANS_DROPPED,
    SPANS_EXPORTED,
    PIPELINE_ERROR_COUNT,
)
# Latency buckets of LLM calls (seconds): LLM calls take from tens of ms to minutes.
LLM_DURATION_BUCKETS: tuple[float, ...] = (
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0,
)  # fmt: skip

# -- the nightly RAG evaluation's textfile (checks/eval/alerts.py) ---------------------------
RAGET_STATUS = Metric(
    f"{_P}.raget.status",
    "gauge",
    "",
    "1 if the latest RAGET evaluation of the service passed (no regression, no error), "
    "0 otherwise.",
    (SERVICE,),
)
RAGET_RUN_FAILED = Metric(
    f"{_P}.raget.run_failed",
    "gauge",
    "",
    "1 if the latest RAGET evaluation of the service failed with an error (no scores), else 0.",
    (SERVICE,),
)
RAGET_LAST_SUCCESS = Metric(
    f"{_P}.raget.last_success_timestamp",
    "gauge",
    "s",
    "Unix time of the latest passing RAGET evaluation (0: never passed).",
    (SERVICE,),
)
RAGET_LAST_RUN = Metric(
    f"{_P}.raget.last_run_timestamp",
    "gauge",
    "s",
    "Unix time of the latest RAGET evaluation, whatever its result.",
    (SERVICE,),
)
RAGET_RUN_STARTED = Metric(
    f"{_P}.raget.run_started_timestamp",
    "gauge",
    "s",
    "Unix time the evaluation of the service in progress started (only while it runs).",
    (SERVICE,),
)
RAGET_SCORE = Metric(
    f"{_P}.raget.score",
    "gauge",
    "",
    "Latest RAGET score per service and metric (0..1).",
    (SERVICE, METRIC),
)
RAGET_BASELINE = Metric(
    f"{_P}.raget.baseline_score",
    "gauge",
    "",
    "The baseline the latest run of each watched score was compared against (0..1).",
    (SERVICE, METRIC),
)
RAGET_METRICS: tuple[Metric, ...] = (
    RAGET_STATUS,
    RAGET_RUN_FAILED,
    RAGET_LAST_SUCCESS,
    RAGET_LAST_RUN,
    RAGET_RUN_STARTED,
    RAGET_SCORE,
    RAGET_BASELINE,
)
ALL_METRICS: tuple[Metric, ...] = SPINE_METRICS + RAGET_METRICS
