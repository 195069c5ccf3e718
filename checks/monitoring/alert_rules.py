"""The alert rules: RAG quality (the nightly evaluation's textfile) and the spine (the SDK's
metrics). Written once here; rendered as a Prometheus rules file and as a ``PrometheusRule``.

Rule file format: prometheus/prometheus v2.42.0 (what Debian ships),
``docs/configuration/recording_rules.md`` lines 63-83 (``groups:`` of ``<rule_group>`` with
``name``, ``interval``, ``rules``) and ``docs/configuration/alerting_rules.md`` lines 25-41
(``alert``, ``expr``, ``for``, ``labels``, ``annotations`` holding e.g. runbook links). The
``PrometheusRule`` resource (``monitoring.coreos.com/v1``) has the same groups under ``spec``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from somatrace import metric_names as m

# The design's threshold: a watched score more than 5 % below its baseline (relative), the
# default ``regression_threshold`` of ``somatrace eval`` (tests/monitoring checks they agree).
REGRESSION_THRESHOLD = 0.05
STALE_AFTER_SECONDS = 86_400
# An evaluation still running this long after it started is not "in progress" but dead.
RUN_IN_PROGRESS_LIMIT_SECONDS = 3 * 3600
RUNBOOK_BASE = "https://github.com/somatrace/somatrace/blob/main/docs/runbooks/"
COMPONENT_RAGET, COMPONENT_SPINE = "raget", "spine"


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str
    severity: str
    component: str
    summary: str
    description: str
    runbook: str  # file name under docs/runbooks/

    @property
    def runbook_url(self) -> str:
        return RUNBOOK_BASE + self.runbook

    def to_dict(self, for_override: str | None = None) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": for_override if for_override is not None else self.for_,
            "labels": {"severity": self.severity, "component": self.component},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook_url,
            },
        }


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...]
    interval: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, for_override: str | None = None) -> dict[str, Any]:
        group: dict[str, Any] = {"name": self.name}
        if self.interval:
            group["interval"] = self.interval
        group["rules"] = [rule.to_dict(for_override) for rule in self.rules]
        return group


RAGET_SCORE_REGRESSION = AlertRule(
    alert="RagetScoreRegression",
    expr=(
        f"(\n  {m.RAGET_BASELINE.series}\n  - {m.RAGET_SCORE.series}\n)\n"
        f"/ {m.RAGET_BASELINE.series}\n> {REGRESSION_THRESHOLD:g}"
    ),
    # The textfile changes once a night: 5 minutes only rides out a scrape hiccup.
    for_="5m",
    severity="warning",
    component=COMPONENT_RAGET,
    summary="RAG score {{ $labels.metric }} of {{ $labels.service }} dropped "
    "{{ $value | humanizePercentage }} below its baseline",
    description="The nightly RAGET evaluation of {{ $labels.service }} scored "
    "{{ $labels.metric }} more than 5 % below the baseline it was compared against "
    "(previous run or rolling mean, same testset).",
    runbook="raget_score_regression.md",
)
RAGET_RUN_FAILED = AlertRule(
    alert="RagetRunFailed",
    expr=f"{m.RAGET_RUN_FAILED.series} == 1",
    for_="5m",
    severity="warning",
    component=COMPONENT_RAGET,
    summary="The nightly RAG evaluation of {{ $labels.service }} failed",
    description="The latest RAGET evaluation of {{ $labels.service }} ended in an error and "
    "produced no scores (exit code 2). Its score alerts are inhibited until it runs again.",
    runbook="raget_run_failed.md",
)
RAGET_STALE = AlertRule(
    alert="RagetStale",
    expr=(
        f"time() - {m.RAGET_LAST_SUCCESS.series} > {STALE_AFTER_SECONDS}\n"
        f"unless on (service)\n"
        f"(time() - {m.RAGET_RUN_STARTED.series} < {RUN_IN_PROGRESS_LIMIT_SECONDS})"
    ),
    # The expression is already a duration (24 h without a passing run) of a timestamp that
    # does not flap; an evaluation in progress (started < 3 h ago) holds it back, so a night
    # that runs longer than the last does not page. A `for` would only delay it past 24 h.
    for_="0m",
    severity="critical",
    component=COMPONENT_RAGET,
    summary="No passing RAG evaluation of {{ $labels.service }} for more than 24 h",
    description="The last passing RAGET evaluation of {{ $labels.service }} finished "
    "{{ $value | humanizeDuration }} ago (0 = never passed) and none is running: the nightly "
    "job is not running, failing, or regressing every night.",
    runbook="raget_stale.md",
)
SPANS_DROPPED = AlertRule(
    alert="SomatraceSpansDropped",
    expr=f"sum by (service, reason) (increase({m.SPANS_DROPPED.series}[10m])) > 0",
    for_="5m",
    severity="critical",
    component=COMPONENT_SPINE,
    summary="{{ $labels.service }} is losing spans ({{ $labels.reason }})",
    description="{{ $value | humanize }} span(s) of {{ $labels.service }} were dropped in the "
    "last 10 minutes ({{ $labels.reason }}): traces and their costs are missing in Langfuse.",
    runbook="somatrace_spans_dropped.md",
)
UNPRICED_CALLS = AlertRule(
    alert="SomatraceUnpricedLLMCalls",
    expr=f"sum by (service, model) (increase({m.LLM_UNPRICED.series}[30m])) > 0",
    for_="5m",
    severity="warning",
    component=COMPONENT_SPINE,
    summary="{{ $labels.service }} calls the unpriced model {{ $labels.model }}",
    description="{{ $value | humanize }} LLM call(s) of {{ $labels.service }} to "
    "{{ $labels.model }} in the last 30 minutes had no price: their cost is missing from "
    "every tenant's total.",
    runbook="somatrace_unpriced_llm_calls.md",
)
UNTAGGED_SPANS = AlertRule(
    alert="SomatraceUntaggedSpans",
    expr=f"sum by (service, missing) (increase({m.SPANS_UNTAGGED.series}[30m])) > 0",
    for_="5m",
    severity="warning",
    component=COMPONENT_SPINE,
    summary="{{ $labels.service }} ends spans without {{ $labels.missing }}",
    description="{{ $value | humanize }} span(s) of {{ $labels.service }} in the last 30 "
    "minutes lacked the required tag(s) {{ $labels.missing }}: their cost cannot be "
    "attributed to a tenant, workflow or agent.",
    runbook="somatrace_untagged_spans.md",
)

GROUPS: tuple[RuleGroup, ...] = (
    RuleGroup("somatrace-raget", (RAGET_SCORE_REGRESSION, RAGET_RUN_FAILED, RAGET_STALE)),
    RuleGroup("somatrace-spine", (SPANS_DROPPED, UNPRICED_CALLS, UNTAGGED_SPANS)),
)
ALL_RULES: tuple[AlertRule, ...] = tuple(rule for group in GROUPS for rule in group.rules)


def rules_document(for_override: str | None = None) -> dict[str, Any]:
    """The Prometheus rules file. ``for_override`` replaces every ``for`` (the end-to-end test
    uses the shipped rules with short ``for`` durations; ``promtool test rules`` proves the
    shipped ones)."""
    return {"groups": [group.to_dict(for_override) for group in GROUPS]}


def prometheus_rule_manifest(namespace: str = "monitoring") -> dict[str, Any]:
    """The same groups as a prometheus-operator ``PrometheusRule``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "somatrace",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "somatrace", "release": "kube-prometheus-stack"},
        },
        "spec": rules_document(),
    }
