"""Synthetic load: 100 workflows over 5 tenants through the example service, then the figures:
latency percentiles and histogram, per-tenant tokens and cost, and the exact reconciliation
(rechecked here from the report's per-call figures and the price, with Decimal)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from tests.smoke.conftest import run_smoke

WORKFLOWS, TENANTS = 100, 5
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.02"), Decimal("0.04")  # smollm2, USD per 1M tokens


def test_100_workflows_over_5_tenants_reconcile_to_the_last_decimal(
    llm_url: str, tmp_path: Path
) -> None:
    done = run_smoke(
        "--workflows", str(WORKFLOWS), "--tenants", str(TENANTS),
        "--max-tokens", "3",  # keeps 100 calls to a minute or two on two busy cores
        "--llm-url", llm_url, "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    document = json.loads((tmp_path / "report.json").read_text())
    calls = document["calls"]
    assert len(calls) == WORKFLOWS and all(call["ok"] for call in calls)
    assert document["scripts"][0]["spans"] == 2 * WORKFLOWS  # workflow span + openai.chat

    # Round-robin: 20 workflows per tenant.
    tenants = document["tenants"]
    assert sorted(tenants) == [f"tenant-0{n}" for n in range(1, 6)]
    assert {name: t["workflows"] for name, t in tenants.items()} == dict.fromkeys(tenants, 20)

    # Recompute every figure from the per-call records: tokens from the LLM API, cost at the
    # published price, summed exactly, and compare with what the run reported.
    per_tenant_cost: dict[str, Decimal] = defaultdict(Decimal)
    per_tenant_tokens: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for call in calls:
        exact = (
            Decimal(call["input_tokens"]) * INPUT_PRICE
            + Decimal(call["output_tokens"]) * OUTPUT_PRICE
        ) / Decimal(1_000_000)
        assert Decimal(call["cost"]) == exact, call
        per_tenant_cost[call["tenant_id"]] += Decimal(call["cost"])
        per_tenant_tokens[call["tenant_id"]][0] += call["input_tokens"]
        per_tenant_tokens[call["tenant_id"]][1] += call["output_tokens"]
    for name, totals in tenants.items():
        assert Decimal(totals["cost"]["USD"]) == per_tenant_cost[name], name
        assert [totals["input_tokens"], totals["output_tokens"]] == per_tenant_tokens[name]
        assert Decimal(totals["expected_cost"]["USD"]) == per_tenant_cost[name]
    grand = sum(per_tenant_cost.values(), Decimal(0))
    reconciliation = document["reconciliation"]
    assert reconciliation["ok"] is True and reconciliation["mismatches"] == []
    for key in ("sum_over_spans", "sum_of_tenant_totals", "expected_from_api_usage"):
        assert Decimal(reconciliation[key]["USD"]) == grand, key

    # Latency: nearest-rank percentiles per workflow name and overall, ordered, observed values.
    latency = document["latency"]["workflow"]
    assert set(latency) == {"support-answer", "ticket-triage", "release-notes", "all"}
    assert latency["all"]["count"] == WORKFLOWS
    assert sum(v["count"] for k, v in latency.items() if k != "all") == WORKFLOWS
    for summary in latency.values():
        figures = [Decimal(summary[k]) for k in ("min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")]
        assert figures == sorted(figures) and figures[0] > 0
    observed = sorted(Decimal(call["llm_latency_ms"]) for call in calls)
    assert Decimal(document["latency"]["llm_call"]["all"]["p50_ms"]) == observed[49]
    assert Decimal(document["latency"]["llm_call"]["all"]["p95_ms"]) == observed[94]
    assert Decimal(document["latency"]["llm_call"]["all"]["p99_ms"]) == observed[98]

    # The terminal shows the table and a text histogram whose bars add up to the workflows.
    assert "Latency (ms, nearest-rank percentiles):" in done.stdout
    histogram = done.stdout.split("Workflow latency histogram (ms):\n", 1)[1].split("\n\n", 1)[0]
    assert sum(int(line.rsplit(" ", 1)[1]) for line in histogram.splitlines()) == WORKFLOWS
    assert "... and 100 more call(s), all ok" in done.stdout

    digest = (tmp_path / "cost-digest.md").read_text()
    total_in = sum(t[0] for t in per_tenant_tokens.values())
    total_out = sum(t[1] for t in per_tenant_tokens.values())
    assert (
        f"| **Total** | 100 | 100 | {total_in} | {total_out} | **{reconciliation['sum_of_tenant_totals']['USD']} USD** | 0 |"
        in digest
    )
    for name in tenants:
        assert f"\n## {name}\n" in digest
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert suites.get("tests") == str(WORKFLOWS + 3 + 1) and suites.get("failures") == "0"
    assert (tmp_path / "latency-histogram.png").read_bytes().startswith(b"\x89PNG")
