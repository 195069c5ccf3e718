"""The spine metrics without an LLM: the exact cost counter, the settings, and a real service
process whose ``init_tracing`` serves ``/metrics`` and pushes OTLP metrics to the real
receiver, with the counter agreeing with the exported span's Decimal cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from somatrace import metric_names as names
from somatrace.checks.runtime.llm_server import free_port
from somatrace.checks.runtime.receiver import OTLPReceiver
from somatrace.metrics import ExactCostCounter, MetricsSettings
from somatrace.settings import ConfigError


def counter_values(reader: InMemoryMetricReader) -> dict[tuple[tuple[str, str], ...], int]:
    data = reader.get_metrics_data()
    values = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    values[tuple(sorted(point.attributes.items()))] = point.value
    return values


def test_sub_nano_costs_are_carried_until_they_make_a_whole_unit() -> None:
    reader = InMemoryMetricReader()
    counter = MeterProvider(metric_readers=[reader]).get_meter("t").create_counter("c")
    exact = ExactCostCounter(lambda amount, labels: counter.add(amount, labels))
    a, b = {"tenant_id": "a"}, {"tenant_id": "b"}
    third = Decimal("0.0000000004")  # 0.4 nano-units
    assert [exact.add(third, a) for _ in range(3)] == [0, 0, 1]  # 0.4, 0.8, 1.2 -> 1
    assert exact.add(Decimal("0.000012345"), b) == 12_345
    assert exact.add(Decimal("0.0000000008"), a) == 1  # 2.0 nano-units in all
    values = counter_values(reader)
    assert values[(("tenant_id", "a"),)] == 2 and values[(("tenant_id", "b"),)] == 12_345
    totals = exact.totals()
    assert totals[(("tenant_id", "a"),)] == Decimal("0.0000000020")
    assert exact.remainders()[(("tenant_id", "a"),)] == 0
    exact.add(third, a)
    assert exact.remainders()[(("tenant_id", "a"),)] == third
    with pytest.raises(ValueError):
        exact.add(Decimal("-1"), a)


def test_settings_come_from_the_environment_and_bad_values_fail_at_start_up() -> None:
    assert not MetricsSettings.from_environment({}).enabled
    settings = MetricsSettings.from_environment(
        {"SOMATRACE_METRICS_PORT": "9464", "SOMATRACE_METRICS_FINAL_SCRAPE_TIMEOUT": "2.5"}
    )
    assert settings.enabled and settings.port == 9464 and settings.host == "0.0.0.0"
    assert settings.final_scrape_timeout_s == 2.5
    otlp = MetricsSettings.from_environment({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://x"})
    assert otlp.enabled and otlp.port is None
    for bad in ({"SOMATRACE_METRICS_PORT": "http"}, {"SOMATRACE_METRICS_PORT": "70000"}):
        with pytest.raises(ConfigError, match="SOMATRACE_METRICS_PORT"):
            MetricsSettings.from_environment(bad)


SERVICE = """
import json, sys, urllib.request
from opentelemetry import trace
from somatrace.tags import bind
from somatrace.tracing import init_tracing
from somatrace import metrics

handle = init_tracing("metrics-demo", instruments=["openai"])
tracer = trace.get_tracer("demo")
llm = {"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
       "gen_ai.usage.input_tokens": 1234, "gen_ai.usage.output_tokens": 567}
with bind(tenant_id="acme", workflow_name="invoice-qa", agent_id="planner"):
    for _ in range(3):
        with tracer.start_as_current_span("openai.chat", attributes=llm):
            pass
    with tracer.start_as_current_span("openai.chat", attributes={**llm, "gen_ai.request.model": "mystery-9", "gen_ai.response.model": "mystery-9"}):
        pass
with tracer.start_as_current_span("untagged.step"):
    pass
handle.force_flush(10_000)
print(json.dumps({"url": metrics.installed().url,
                  "text": urllib.request.urlopen(metrics.installed().url).read().decode()}))
"""


def test_a_service_serves_prometheus_metrics_and_pushes_otlp_metrics(tmp_path: Path) -> None:
    port = free_port()
    # Spans go to Langfuse (its profile: host and key pair); metrics to an OTLP collector
    # (Langfuse ingests no metrics), here the lenient OTLP profile.
    with (
        OTLPReceiver(store=tmp_path / "telemetry.db") as receiver,
        OTLPReceiver(store=tmp_path / "metrics.db", profile="otlp") as collector,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SOMATRACE_"))}
        env.update(
            **receiver.service_env(),  # the Langfuse host and key pair
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"{collector.url}/v1/metrics",
            SOMATRACE_METRICS_PORT=str(port),
            SOMATRACE_METRICS_HOST="127.0.0.1",
        )
        done = subprocess.run(
            [sys.executable, "-c", SERVICE], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        served = json.loads(done.stdout.strip().splitlines()[-1])
        assert served["url"] == f"http://127.0.0.1:{port}/metrics"
        text = served["text"]
        spans = receiver.wait_for_spans(5)
        pushed = collector.metrics()

    # The exposition: names as metric_names derives them, labels as declared.
    labels = 'agent_id="planner",currency="USD",model="gpt-4o-2024-08-06",service="metrics-demo",tenant_id="acme",workflow_name="invoice-qa"'
    cost_line = f"{names.LLM_COST.series}{{{labels}}} "
    (line,) = [ln for ln in text.splitlines() if ln.startswith(cost_line)]
    nanos = int(float(line.rsplit(" ", 1)[1]))
    # gpt-4o: 2.50 / 10.00 USD per 1M tokens -> 0.008755 USD per call, 3 calls
    assert nanos == 3 * 8_755_000
    exported = [
        Decimal(s["attributes"]["somatrace.cost.total"])
        for s in spans
        if s["attributes"].get("somatrace.cost.status") == "priced"
    ]
    assert Decimal(nanos) / Decimal(names.NANO_UNITS_PER_UNIT) == sum(exported, Decimal(0))
    assert (
        f'{names.LLM_UNPRICED.series}{{agent_id="planner",model="mystery-9",service="metrics-demo",tenant_id="acme",workflow_name="invoice-qa"}} 1.0'
        in text
    )
    assert (
        f'{names.SPANS_UNTAGGED.series}{{missing="agent_id,tenant_id,workflow_name",service="metrics-demo"}} 1.0'
        in text
    )
    assert (
        f'{names.LLM_TOKENS.series}{{agent_id="planner",model="gpt-4o-2024-08-06",service="metrics-demo",tenant_id="acme",token_type="input",workflow_name="invoice-qa"}} 3702.0'
        in text
    )
    assert f'{names.SPANS_DROPPED.series}{{reason="queue_full",service="metrics-demo"}} 0.0' in text
    assert f"{names.LLM_DURATION.bucket}{{" in text and 'le="0.025"' in text
    for metric in names.SPINE_METRICS:
        assert f"# TYPE {metric.name if metric.kind != 'counter' else metric.series} " in text, (
            metric
        )

    # OTLP: the same instruments reached the receiver's /v1/metrics at shutdown.
    pushed_names = json.dumps(pushed)
    for metric in (names.LLM_CALLS, names.LLM_COST, names.LLM_DURATION, names.SPANS_DROPPED):
        assert metric.otel_name in pushed_names, metric.otel_name
