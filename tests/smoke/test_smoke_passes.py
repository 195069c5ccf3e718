"""``somatrace smoke`` on this repository's example service, end to end with everything real:
the embedded llama.cpp server (SmolLM2), the embedded OTLP receiver, the example script in a
subprocess with init_tracing. Then every report it writes."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

from tests.smoke.conftest import run_smoke

# The bound for one smoke run once llama-cpp-python is built (pip's wheel cache).
SMOKE_BOUND_SECONDS = 60


def test_the_example_service_passes_with_the_embedded_llm(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    started = time.monotonic()
    done = run_smoke("--report-dir", str(reports))
    wall = time.monotonic() - started
    print(f"\nsomatrace smoke (embedded LLM, example service): {wall:.1f} s wall")
    assert done.returncode == 0, done.stdout + done.stderr
    assert wall < SMOKE_BOUND_SECONDS, f"took {wall:.1f} s"
    assert done.stdout.startswith("somatrace smoke: PASSED")
    assert "(embedded llama.cpp" in done.stdout and "(embedded)" in done.stdout
    assert "Cost reconciliation: exact." in done.stdout

    document = json.loads((reports / "report.json").read_text())
    assert document["ok"] is True and document["failures"] == []
    assert document["llm"]["local"] is True and document["llm"]["model"] == "smollm2"
    [call] = document["calls"]
    assert call["ok"] and call["cost_status"] == "priced"
    assert call["tenant_id"] == "tenant-01" and call["workflow_name"] == "support-answer"
    assert call["response_id"].startswith("chatcmpl-")
    assert call["input_tokens"] > 0 and call["output_tokens"] > 0
    # smollm2's internal compute rate: 0.02 / 0.04 USD per million input / output tokens.
    expected = (
        Decimal(call["input_tokens"]) * Decimal("0.02")
        + Decimal(call["output_tokens"]) * Decimal("0.04")
    ) / Decimal(1_000_000)
    assert Decimal(call["cost"]) == expected
    assert document["tenants"]["tenant-01"]["cost"] == {"USD": call["cost"]}
    assert document["reconciliation"]["ok"] is True
    assert set(document["latency"]) == {"workflow", "llm_call"}
    assert document["latency"]["workflow"]["all"]["count"] == 1

    suites = ET.parse(reports / "junit.xml").getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests", "0")) == 5
    names = [case.get("name") for case in suites.iter("testcase")]
    assert any(name.startswith("call #1 tenant-01/support-answer/answerer") for name in names)

    digest = (reports / "cost-digest.md").read_text()
    assert digest.startswith("Subject: LLM cost digest ")
    assert (
        f"| tenant-01 | 1 | 1 | {call['input_tokens']} | {call['output_tokens']} | {call['cost']} USD | 0 |"
        in digest
    )
    assert "Reconciliation: exact." in digest

    png = (reports / "latency-histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    assert (reports / "summary.txt").read_text() == done.stdout
    logs = sorted(p.name for p in (reports / "logs").iterdir())
    assert logs == ["trace_smoke-1.stderr.log", "trace_smoke-1.stdout.log"]
