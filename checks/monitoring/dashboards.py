"""The Grafana dashboards: Cost, Latency, Errors and RAG Quality, built from the metric names
of :mod:`somatrace.metric_names`.

JSON model: Grafana's dashboard kind (grafana/grafana ``kinds/dashboard/dashboard_kind.cue``
at 00139e84, ``spec``, ``#Panel``, ``#GridPos``, ``#DataSourceRef``, ``#VariableModel``),
panel plugin ids from ``public/app/plugins/panel/{timeseries,stat,table}/plugin.json``, the
Prometheus datasource id from ``public/app/plugins/datasource/prometheus/plugin.json`` and its
query fields (``expr``, ``instant``, ``range``) from its ``dataquery.cue`` lines 33-40.
``schemas/grafana-dashboard.schema.json`` is the JSON Schema derived from them that
``tests/monitoring`` validates every dashboard against.

Every query also names the labels each of its series must carry: the test runs every
expression on a real Prometheus that scraped a real smoke load and checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from somatrace import metric_names as m

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
_SEL = 'service=~"$service", tenant_id=~"$tenant_id"'  # the dashboards' filters
_RAG_SEL = 'service=~"$service"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str
    labels: tuple[str, ...] = ()  # labels every returned series must have
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    type: str  # timeseries | stat | table
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[tuple[str, str], ...] = field(default=())  # (name, metric for values)

    @property
    def file_name(self) -> str:
        return f"{self.uid}.json"


def _q(expr: str, legend: str, *labels: str, instant: bool = False) -> Query:
    return Query(expr, legend, labels, instant)


def _rate(metric: m.Metric | str, by: str, selector: str = _SEL) -> str:
    series = metric if isinstance(metric, str) else metric.series
    return f"sum by ({by}) (rate({series}{{{selector}}}[$__rate_interval]))"


_SERVICE_MODEL = ("{{service}} {{model}}", "service", "model")  # legend, labels
_ERRORS_ONLY = f'{_SEL}, status="{m.STATUS_ERROR}"'


def _cost_rate(by: str) -> str:
    # nano-units per second -> units per hour
    return f"{_rate(m.LLM_COST, by)} * 3600 / {m.NANO_UNITS_PER_UNIT:g}"


def _quantile(q: float) -> Query:
    expr = (
        f"histogram_quantile({q:g}, sum by (le, service, model) "
        f"(rate({m.LLM_DURATION.bucket}{{{_SEL}}}[$__rate_interval])))"
    )
    return _q(expr, f"p{round(q * 100)} {{{{service}}}} {{{{model}}}}", "service", "model")


COST = Dashboard(
    uid="somatrace-cost",
    title="somatrace / LLM cost",
    description="Cost of LLM calls per tenant, workflow and model, from the spine metrics "
    "(nano-unit counters; `somatrace digest` gives the exact daily totals).",
    variables=(("service", m.LLM_CALLS.series), ("tenant_id", m.LLM_CALLS.series)),
    panels=(
        Panel(
            "Cost in the time range",
            "stat",
            (
                _q(
                    f"sum by (currency) (increase({m.LLM_COST.series}{{{_SEL}}}[$__range])) "
                    f"/ {m.NANO_UNITS_PER_UNIT:g}",
                    "{{currency}}",
                    "currency",
                    instant=True,
                ),
            ),
            unit="currencyUSD",
            description="Prometheus extrapolates increase(): an estimate; the digest is exact.",
            width=6,
        ),
        Panel(
            "Cost per tenant in the time range",
            "table",
            (
                _q(
                    f"sum by (tenant_id, currency) (increase({m.LLM_COST.series}{{{_SEL}}}"
                    f"[$__range])) / {m.NANO_UNITS_PER_UNIT:g}",
                    "{{tenant_id}}",
                    "tenant_id",
                    "currency",
                    instant=True,
                ),
            ),
            unit="currencyUSD",
            width=18,
        ),
        Panel(
            "Cost rate per tenant (per hour)",
            "timeseries",
            (_q(_cost_rate("tenant_id"), "{{tenant_id}}", "tenant_id"),),
            unit="currencyUSD",
        ),
        Panel(
            "Cost rate per workflow (per hour)",
            "timeseries",
            (_q(_cost_rate("workflow_name"), "{{workflow_name}}", "workflow_name"),),
            unit="currencyUSD",
        ),
        Panel(
            "Cost rate per model (per hour)",
            "timeseries",
            (_q(_cost_rate("model"), "{{model}}", "model"),),
            unit="currencyUSD",
        ),
        Panel(
            "Tokens per second per tenant",
            "timeseries",
            (
                _q(
                    _rate(m.LLM_TOKENS, "tenant_id, token_type"),
                    "{{tenant_id}} {{token_type}}",
                    "tenant_id",
                    "token_type",
                ),
            ),
        ),
        Panel(
            "Unpriced LLM calls (no cost recorded)",
            "timeseries",
            (
                _q(
                    _rate(m.LLM_UNPRICED, "service, model"),
                    "{{service}} {{model}}",
                    "service",
                    "model",
                ),
            ),
            unit="reqps",
        ),
    ),
)

LATENCY = Dashboard(
    uid="somatrace-latency",
    title="somatrace / LLM latency",
    description="Latency percentiles of LLM calls per service and model, from the spine's "
    "duration histogram.",
    variables=(("service", m.LLM_CALLS.series), ("tenant_id", m.LLM_CALLS.series)),
    panels=(
        Panel("p50 per service and model", "timeseries", (_quantile(0.5),), unit="s", width=8),
        Panel("p95 per service and model", "timeseries", (_quantile(0.95),), unit="s", width=8),
        Panel("p99 per service and model", "timeseries", (_quantile(0.99),), unit="s", width=8),
        Panel(
            "LLM calls per second",
            "timeseries",
            (
                _q(
                    _rate(m.LLM_CALLS, "service, model"),
                    "{{service}} {{model}}",
                    "service",
                    "model",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Mean latency per workflow",
            "timeseries",
            (
                _q(
                    f"{_rate(m.LLM_DURATION.sum, 'workflow_name')}"
                    f" / {_rate(m.LLM_DURATION.count, 'workflow_name')}",
                    "{{workflow_name}}",
                    "workflow_name",
                ),
            ),
            unit="s",
        ),
    ),
)

ERRORS = Dashboard(
    uid="somatrace-errors",
    title="somatrace / errors and span losses",
    description="Failed LLM calls, spans the export pipeline lost, pipeline errors and spans "
    "without the required tags.",
    variables=(("service", m.LLM_CALLS.series), ("tenant_id", m.LLM_CALLS.series)),
    panels=(
        Panel(
            "LLM error ratio per service and model",
            "timeseries",
            (
                _q(
                    f"{_rate(m.LLM_CALLS, 'service, model', _ERRORS_ONLY)}"
                    f" / {_rate(m.LLM_CALLS, 'service, model')}",
                    "{{service}} {{model}}",
                    "service",
                    "model",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Failed LLM calls per tenant and workflow",
            "timeseries",
            (
                _q(
                    _rate(m.LLM_CALLS, "tenant_id, workflow_name", _ERRORS_ONLY),
                    "{{tenant_id}} {{workflow_name}}",
                    "tenant_id",
                    "workflow_name",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Spans dropped per second",
            "timeseries",
            (
                _q(
                    _rate(m.SPANS_DROPPED, "service, reason", _RAG_SEL),
                    "{{service}} {{reason}}",
                    "service",
                    "reason",
                ),
            ),
        ),
        Panel(
            "Export pipeline errors per second",
            "timeseries",
            (
                _q(
                    _rate(m.PIPELINE_ERROR_COUNT, "service, kind", _RAG_SEL),
                    "{{service}} {{kind}}",
                    "service",
                    "kind",
                ),
            ),
        ),
        Panel(
            "Spans without required tags per second",
            "timeseries",
            (
                _q(
                    _rate(m.SPANS_UNTAGGED, "service, missing", _RAG_SEL),
                    "{{service}} missing {{missing}}",
                    "service",
                    "missing",
                ),
            ),
        ),
        Panel(
            "Spans exported per second",
            "timeseries",
            (_q(_rate(m.SPANS_EXPORTED, "service", _RAG_SEL), "{{service}}", "service"),),
        ),
    ),
)

RAG_QUALITY = Dashboard(
    uid="somatrace-rag-quality",
    title="somatrace / RAG quality",
    description="The nightly RAGET evaluation: scores and their trend per service, the "
    "baseline, the last run and how long since the last passing one.",
    variables=(("service", m.RAGET_STATUS.series),),
    panels=(
        Panel(
            "Status (1 = passed)",
            "stat",
            (_q(f"{m.RAGET_STATUS.series}{{{_RAG_SEL}}}", "{{service}}", "service", instant=True),),
            width=6,
        ),
        Panel(
            "Latest run failed (1 = error)",
            "stat",
            (
                _q(
                    f"{m.RAGET_RUN_FAILED.series}{{{_RAG_SEL}}}",
                    "{{service}}",
                    "service",
                    instant=True,
                ),
            ),
            width=6,
        ),
        Panel(
            "Since the last run",
            "stat",
            (
                _q(
                    f"time() - {m.RAGET_LAST_RUN.series}{{{_RAG_SEL}}}",
                    "{{service}}",
                    "service",
                    instant=True,
                ),
            ),
            unit="s",
            width=6,
        ),
        Panel(
            "Since the last passing run (stale after 24 h)",
            "stat",
            (
                _q(
                    f"time() - {m.RAGET_LAST_SUCCESS.series}{{{_RAG_SEL}}}",
                    "{{service}}",
                    "service",
                    instant=True,
                ),
            ),
            unit="s",
            width=6,
        ),
        Panel(
            "Scores per service (trend)",
            "timeseries",
            (
                _q(
                    f'{m.RAGET_SCORE.series}{{{_RAG_SEL}, metric=~"correctness|answer_f1"}}',
                    "{{service}} {{metric}}",
                    "service",
                    "metric",
                ),
            ),
            unit="percentunit",
            width=24,
        ),
        Panel(
            "Drop below baseline (alert above 5 %)",
            "timeseries",
            (
                _q(
                    f"({m.RAGET_BASELINE.series}{{{_RAG_SEL}}} - {m.RAGET_SCORE.series}"
                    f"{{{_RAG_SEL}}}) / {m.RAGET_BASELINE.series}{{{_RAG_SEL}}}",
                    "{{service}} {{metric}}",
                    "service",
                    "metric",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Latest scores",
            "table",
            (
                _q(
                    f"{m.RAGET_SCORE.series}{{{_RAG_SEL}}}",
                    "{{service}} {{metric}}",
                    "service",
                    "metric",
                    instant=True,
                ),
            ),
            unit="percentunit",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (COST, LATENCY, ERRORS, RAG_QUALITY)


def _variables(dashboard: Dashboard) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = [
        {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "hide": 0,
        }
    ]
    for name, metric in dashboard.variables:
        query = f"label_values({metric}, {name})"
        variables.append(
            {
                "name": name,
                "label": name,
                "type": "query",
                "datasource": DATASOURCE,
                "query": {"query": query, "refId": f"{name}-values"},
                "definition": query,
                "refresh": 2,  # on time range change
                "multi": True,
                "includeAll": True,
                "allValue": ".*",
                "current": {"text": "All", "value": "$__all"},
                "hide": 0,
            }
        )
    return variables


def _panel(panel: Panel, number: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, query in enumerate(panel.queries):
        targets.append(
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
                "instant": query.instant,
                "range": not query.instant,
                "editorMode": "code",
            }
        )
    return {
        "id": number,
        "type": panel.type,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "transformations": [],
    }


def render(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model."""
    panels, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(panel, number, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["somatrace"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": _variables(dashboard)},
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def interpolate(expr: str, *, rate_interval: str, range_: str) -> str:
    """What Grafana sends for ``expr`` with every variable on "All" (``.*``)."""
    text = expr.replace("$__rate_interval", rate_interval).replace("$__range", range_)
    return re.sub(r"\$(service|tenant_id)\b", ".*", text)
