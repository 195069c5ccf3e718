"""The machine-readable smoke report (``report.json``): every figure, exact decimals as strings."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from somatrace.checks.smoke.analysis import LatencySummary
from somatrace.checks.smoke.runner import SmokeResult
from somatrace.checks.smoke.spans import COST_STATUS, attribute, duration_ms, span_cost
from somatrace.cost import decimal_text

SCHEMA = "somatrace.smoke.report/v1"


def money(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: decimal_text(amount) for currency, amount in sorted(amounts.items())}


def latency_dict(summary: LatencySummary) -> dict[str, Any]:
    return {
        "count": summary.count,
        "min_ms": str(summary.minimum),
        "mean_ms": str(summary.mean),
        **{f"p{p}_ms": str(value) for p, value in summary.percentiles.items()},
        "max_ms": str(summary.maximum),
    }


def to_document(result: SmokeResult) -> dict[str, Any]:
    reconciliation = result.reconciliation
    return {
        "schema": SCHEMA,
        "ok": result.ok,
        "run_id": result.run_id,
        "started_at": result.started_at.isoformat(),
        "options": {
            "scripts": [str(path) for path in result.options.scripts],
            "workflows": result.options.workflows,
            "tenants": result.options.tenants,
            "model": result.options.model,
            "max_tokens": result.options.max_tokens,
        },
        "llm": result.llm,
        "receiver": result.receiver,
        "timings_s": result.timings,
        "scripts": [
            {
                "script": run.script,
                "run_id": run.run_id,
                "exit_code": run.exit_code,
                "duration_s": round(run.duration_s, 3),
                "planned_workflows": run.planned_workflows,
                "calls": len(run.calls),
                "spans": len(run.spans),
            }
            for run in result.runs
        ],
        "failures": [
            {"check": f.check, "script": f.script, "call": f.call, "message": f.message}
            for f in result.all_failures
        ],
        "calls": [
            {
                "number": call.number,
                "script": call.script,
                "ok": call.ok,
                "tenant_id": call.record.tenant_id,
                "workflow_name": call.record.workflow_name,
                "agent_id": call.record.agent_id,
                "workflow_index": call.record.workflow_index,
                "response_id": call.record.response_id,
                "model": call.record.model,
                "input_tokens": call.record.input_tokens,
                "output_tokens": call.record.output_tokens,
                "span_id": call.span["span_id"] if call.span else None,
                "trace_id": call.span["trace_id"] if call.span else None,
                "cost_status": attribute(call.span, COST_STATUS) if call.span else None,
                "cost": _cost_text(call.span),
                "llm_latency_ms": str(duration_ms(call.span)) if call.span else None,
            }
            for call in result.calls
        ],
        "latency": {
            kind: {name: latency_dict(summary) for name, summary in groups.items()}
            for kind, groups in result.latencies.summaries().items()
        },
        "tenants": {
            name: {
                "workflows": len(totals.workflows),
                "calls": totals.calls,
                "input_tokens": totals.input_tokens,
                "output_tokens": totals.output_tokens,
                "cost": money(totals.cost),
                "unpriced_calls": totals.unpriced_calls,
                "unpriced_models": sorted(totals.unpriced_models),
                "cost_by_workflow": {
                    workflow: money(amounts)
                    for workflow, amounts in sorted(totals.by_workflow.items())
                },
                "expected_cost": money(totals.expected_cost),
            }
            for name, totals in result.tenants.items()
        },
        "reconciliation": {
            "ok": reconciliation.ok,
            "sum_over_spans": money(reconciliation.grand_total),
            "sum_of_tenant_totals": money(reconciliation.sum_of_tenants),
            "expected_from_api_usage": money(reconciliation.expected_total),
            "mismatches": reconciliation.mismatches,
        },
    }


def _cost_text(span: dict[str, Any] | None) -> str | None:
    if span is None:
        return None
    cost = span_cost(span)
    return decimal_text(cost) if cost is not None else None


def render(result: SmokeResult) -> str:
    return json.dumps(to_document(result), indent=2, ensure_ascii=False) + "\n"
