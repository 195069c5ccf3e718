"""Latency percentiles, per-tenant token and cost totals, and their exact reconciliation.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value
at rank ceil(p/100 * n), so every figure reported is a latency that was observed.

Reconciliation (all in ``Decimal``, compared with ``==``; nothing is rounded):

1. per call: the span's ``somatrace.cost.total`` equals the price table's cost of the tokens
   the LLM API reported to the script;
2. per tenant and currency: the tenant's total (the sum over the LLM spans tagged with that
   tenant, as the digest shows it) equals the sum of the expected per-call costs of the calls
   the script made for that tenant, and the tenant's token totals equal the API's;
3. overall: the sum of the per-tenant totals equals the sum over every LLM span's cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from somatrace.checks.smoke.assertions import CallCheck, ScriptRun, expected_cost
from somatrace.checks.smoke.spans import (
    COST_CURRENCY,
    COST_STATUS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    attribute,
    duration_ms,
    is_llm_span,
    roots_by_trace,
    span_cost,
    tag,
)
from somatrace.cost import PriceTable
from somatrace.policy import COST_CURRENCY as USD

PERCENTILES = (50, 95, 99)
UNTAGGED = "(no tenant_id)"
# Sums of many exact costs need more digits than the default context's 28.
PRECISION = 80


def nearest_rank(values: Sequence[Decimal], percentile: float) -> Decimal:
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    count: int
    minimum: Decimal
    maximum: Decimal
    mean: Decimal
    percentiles: dict[int, Decimal]

    @classmethod
    def of(cls, values: Sequence[Decimal]) -> LatencySummary:
        with localcontext(prec=PRECISION):
            mean = sum(values, Decimal(0)) / len(values)
        return cls(
            count=len(values),
            minimum=min(values),
            maximum=max(values),
            mean=mean.quantize(Decimal("0.001")),
            percentiles={p: nearest_rank(values, p) for p in PERCENTILES},
        )


@dataclass
class Latencies:
    """Milliseconds per workflow run (its root span) and per LLM call (its span)."""

    workflow_ms: dict[str, list[Decimal]] = field(default_factory=dict)
    llm_ms: dict[str, list[Decimal]] = field(default_factory=dict)

    def all_workflows(self) -> list[Decimal]:
        return [value for values in self.workflow_ms.values() for value in values]

    def all_llm(self) -> list[Decimal]:
        return [value for values in self.llm_ms.values() for value in values]

    def summaries(self) -> dict[str, dict[str, LatencySummary]]:
        """``{"workflow": {name: summary, "all": summary}, "llm_call": {...}}``."""
        result: dict[str, dict[str, LatencySummary]] = {}
        for kind, groups, everything in (
            ("workflow", self.workflow_ms, self.all_workflows()),
            ("llm_call", self.llm_ms, self.all_llm()),
        ):
            if not everything:
                continue
            result[kind] = {name: LatencySummary.of(v) for name, v in sorted(groups.items())}
            result[kind]["all"] = LatencySummary.of(everything)
        return result


def latencies(runs: Iterable[ScriptRun], calls: Iterable[CallCheck]) -> Latencies:
    """Latency of each call whose span arrived, grouped by workflow name."""
    roots: dict[str, dict] = {}
    for run in runs:
        roots.update(roots_by_trace(run.spans))
    result = Latencies()
    seen_traces: set[str] = set()
    for call in calls:
        if call.span is None:
            continue
        name = call.record.workflow_name
        result.llm_ms.setdefault(name, []).append(duration_ms(call.span))
        trace_id = call.span["trace_id"]
        if trace_id in seen_traces:
            continue  # a workflow with several LLM calls is one workflow run
        seen_traces.add(trace_id)
        root = roots.get(trace_id, call.span)
        result.workflow_ms.setdefault(name, []).append(duration_ms(root))
    return result


@dataclass
class TenantTotals:
    """What one tenant used: counted from its spans, and expected from the API's usage."""

    tenant: str
    workflows: set[tuple[str, int]] = field(default_factory=set)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency -> total from spans
    unpriced_calls: int = 0
    unpriced_models: set[str] = field(default_factory=set)
    by_workflow: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    expected_input_tokens: int = 0
    expected_output_tokens: int = 0
    expected_cost: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Reconciliation:
    ok: bool
    grand_total: dict[str, Decimal]  # sum over every LLM span
    sum_of_tenants: dict[str, Decimal]
    expected_total: dict[str, Decimal]  # sum of the expected per-call costs
    mismatches: list[str]


def tenant_totals(
    runs: Sequence[ScriptRun], prices: PriceTable
) -> tuple[dict[str, TenantTotals], Reconciliation]:
    """Per-tenant totals from the spans, and their reconciliation (see the module docstring)."""
    tenants: dict[str, TenantTotals] = {}
    grand: dict[str, Decimal] = {}
    expected_total: dict[str, Decimal] = {}
    mismatches: list[str] = []

    def totals(name: str) -> TenantTotals:
        return tenants.setdefault(name, TenantTotals(name))

    with localcontext(prec=PRECISION):
        for run in runs:
            by_response = {r.response_id: r for r in run.calls}
            for span in (s for s in run.spans if is_llm_span(s)):
                tenant = tag(span, "tenant_id") or UNTAGGED
                entry = totals(tenant)
                record = by_response.get(str(attribute(span, "gen_ai.response.id")))
                if record is not None:
                    entry.workflows.add((run.run_id, record.workflow_index))
                entry.calls += 1
                entry.input_tokens += int(attribute(span, INPUT_TOKENS) or 0)
                entry.output_tokens += int(attribute(span, OUTPUT_TOKENS) or 0)
                cost = span_cost(span)
                workflow = tag(span, "workflow_name") or "(no workflow_name)"
                if attribute(span, COST_STATUS) == "priced" and cost is not None:
                    currency = str(attribute(span, COST_CURRENCY) or "?")
                    entry.cost[currency] = entry.cost.get(currency, Decimal(0)) + cost
                    per_workflow = entry.by_workflow.setdefault(workflow, {})
                    per_workflow[currency] = per_workflow.get(currency, Decimal(0)) + cost
                else:
                    entry.unpriced_calls += 1
                    entry.unpriced_models.add(
                        str(attribute(span, RESPONSE_MODEL) or attribute(span, REQUEST_MODEL))
                    )
            for record in run.calls:
                entry = totals(record.tenant_id)
                entry.expected_input_tokens += record.input_tokens
                entry.expected_output_tokens += record.output_tokens
                cost = expected_cost(record, record.model, prices)
                if cost is not None:
                    currency = USD  # the spine converts every price to USD
                    entry.expected_cost[currency] = (
                        entry.expected_cost.get(currency, Decimal(0)) + cost
                    )
                    expected_total[currency] = expected_total.get(currency, Decimal(0)) + cost

        # The grand total on its own pass over the spans, independent of the grouping.
        for run in runs:
            for span in run.spans:
                cost = span_cost(span) if is_llm_span(span) else None
                if cost is not None and attribute(span, COST_STATUS) == "priced":
                    currency = str(attribute(span, COST_CURRENCY) or "?")
                    grand[currency] = grand.get(currency, Decimal(0)) + cost
        sum_of_tenants: dict[str, Decimal] = {}
        for entry in tenants.values():
            for currency, amount in entry.cost.items():
                sum_of_tenants[currency] = sum_of_tenants.get(currency, Decimal(0)) + amount
            if entry.cost != entry.expected_cost:
                mismatches.append(
                    f"tenant {entry.tenant}: spans total {_money(entry.cost)} but the API's usage "
                    f"costs exactly {_money(entry.expected_cost)}"
                )
            if (entry.input_tokens, entry.output_tokens) != (
                entry.expected_input_tokens,
                entry.expected_output_tokens,
            ):
                mismatches.append(
                    f"tenant {entry.tenant}: spans count {entry.input_tokens} input / "
                    f"{entry.output_tokens} output tokens but the API reported "
                    f"{entry.expected_input_tokens} / {entry.expected_output_tokens}"
                )
        if sum_of_tenants != grand:
            mismatches.append(
                f"the per-tenant totals sum to {_money(sum_of_tenants)} but the spans sum to "
                f"{_money(grand)}"
            )
    reconciliation = Reconciliation(
        ok=not mismatches,
        grand_total=grand,
        sum_of_tenants=sum_of_tenants,
        expected_total=expected_total,
        mismatches=mismatches,
    )
    return dict(sorted(tenants.items())), reconciliation


def _money(amounts: dict[str, Decimal]) -> str:
    if not amounts:
        return "0"
    return ", ".join(f"{amount} {currency}" for currency, amount in sorted(amounts.items()))
