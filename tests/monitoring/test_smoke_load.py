"""A real smoke load (``somatrace smoke``: 100 workflows over 5 tenants through the example
service, llama.cpp serving SmolLM2, the real OTLP receiver) plus a misbehaving service, both
exposing the spine metrics, scraped every second by a real Prometheus, beside the nightly
evaluation's textfile through node-exporter. Then:

- the cost counters reconcile exactly with the Decimal costs of the spans;
- every PromQL expression of every dashboard returns series with the labels it promises;
- ``somatrace digest`` from Prometheus and from the spans gives the same per-tenant totals as
  the sum of the span costs, to the last decimal digit, and is delivered to a real HTTP
  receiver and a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from somatrace import metric_names as names
from somatrace.checks.monitoring import dashboards
from somatrace.checks.runtime.llm_server import LocalLLMServer, free_port
from somatrace.checks.runtime.receiver import OTLPReceiver, SpanDict
from tests.helpers import REPO

from . import servers
from .conftest import TIMINGS
from .evalfiles import GOOD, REGRESSED, eval_metrics, night, write_config

pytestmark = [pytest.mark.slow, servers.needs_binaries]
WORKFLOWS, TENANTS = 100, 5
FAULTY = REPO / "tests" / "fixtures" / "monitoring" / "faulty_service.py"
UNPRICED_MODEL = "unpriced-smollm2"
CLI = [sys.executable, "-m", "somatrace.checks.cli.main"]


@dataclass
class Load:
    prom: servers.Process
    start: float
    end: float
    spans: list[SpanDict]
    store: Path
    report: dict[str, Any]
    work: Path


def _service_env(extra: dict[str, str]) -> dict[str, str]:
    prefixes = ("OTEL_", "TRACELOOP_", "SOMATRACE_", "OPENAI_", "LANGFUSE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def _metrics_env(port: int) -> dict[str, str]:
    return {
        "SOMATRACE_METRICS_PORT": str(port),
        "SOMATRACE_METRICS_HOST": "127.0.0.1",
        # the process waits for Prometheus's last scrape of its final values before exiting
        "SOMATRACE_METRICS_FINAL_SCRAPE_TIMEOUT": "20",
    }


@pytest.fixture(scope="module")
def load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Load]:
    work = tmp_path_factory.mktemp("monitoring-load")
    textfile_dir = work / "textfile"
    textfile_dir.mkdir()
    config = write_config(work, textfile_dir / "somatrace_raget.prom")
    from somatrace.checks.eval.history import History

    history = History(work / "out" / "history.sqlite")
    night(history, config, "support-bot", 30, GOOD)
    night(history, config, "support-bot", 6, REGRESSED)
    night(history, config, "billing-bot", 6, GOOD)
    eval_metrics(config)
    smoke_port, faulty_port = free_port(), free_port()
    clock = time.monotonic()
    with (
        LocalLLMServer() as llm,
        LocalLLMServer(alias=UNPRICED_MODEL) as unpriced_llm,
        OTLPReceiver(store=work / "spans.db") as receiver,
        servers.node_exporter(textfile_dir, work) as node,
        servers.prometheus(
            {
                "smoke": [f"127.0.0.1:{smoke_port}"],
                "faulty": [f"127.0.0.1:{faulty_port}"],
                "node": [node.url.removeprefix("http://")],
            },
            work,
        ) as prom,
    ):
        TIMINGS["load: LLM servers, receiver, Prometheus, node-exporter up"] = (
            time.monotonic() - clock
        )
        start = time.time()
        faulty = subprocess.run(
            [sys.executable, str(FAULTY)],
            env=_service_env(
                {
                    **receiver.service_env(),  # the Langfuse host and key pair
                    "OPENAI_BASE_URL": unpriced_llm.base_url,
                    "OPENAI_API_KEY": "sk-local",
                    "FAULTY_UNPRICED_MODEL": UNPRICED_MODEL,
                    # Prometheus scrapes every second: rounds 1.5 s apart give rate() samples
                    "FAULTY_PAUSE_S": "1.5",
                    "FAULTY_CLOSED_URL": f"http://127.0.0.1:{free_port()}/v1",
                    **_metrics_env(faulty_port),
                }
            ),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert faulty.returncode == 0, faulty.stderr[-3000:]
        TIMINGS["load: faulty service (unpriced, failing, untagged)"] = time.time() - start
        smoke_started = time.time()
        report_dir = work / "report"
        smoke = subprocess.run(
            [
                *CLI, "smoke", "--workflows", str(WORKFLOWS), "--tenants", str(TENANTS),
                "--max-tokens", "1", "--llm-url", llm.base_url,
                "--receiver-url", receiver.url, "--receiver-store", str(work / "spans.db"),
                "--report-dir", str(report_dir),
                *(f"--env={k}={v}" for k, v in _metrics_env(smoke_port).items()),
            ],
            cwd=REPO, env=_service_env({}), capture_output=True, text=True, timeout=900,
            check=False,
        )  # fmt: skip
        assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
        TIMINGS["load: somatrace smoke, 100 workflows / 5 tenants"] = time.time() - smoke_started
        end = time.time()
        report = json.loads((report_dir / "report.json").read_text())
        yield Load(prom, start - 5, end + 2, receiver.spans(), work / "spans.db", report, work)


def _llm_spans(load: Load) -> list[SpanDict]:
    return [s for s in load.spans if "gen_ai.request.model" in s.get("attributes", {})]


def _last(load: Load, selector: str) -> list[dict[str, Any]]:
    """Each series' last value during the load (the services have exited since)."""
    window = int(load.end - load.start) + 5
    return servers.query(load.prom, f"last_over_time({selector}[{window}s])", at=load.end)


def test_metric_names_and_labels_are_what_metric_names_declares(load: Load) -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for row in _last(load, '{job=~"smoke|faulty"}'):
        found[row["metric"]["__name__"]] |= set(row["metric"]) - {"__name__", "job", "instance"}
    for metric in names.SPINE_METRICS:
        histogram = (metric.bucket, metric.sum, metric.count)
        for name in histogram if metric.kind == "histogram" else (metric.series,):
            assert name in found, f"{name} was not scraped (exposed: {sorted(found)})"
            extra = {"le"} if name == metric.bucket else set()
            assert found[name] == set(metric.labels) | extra, name


def test_cost_counters_reconcile_exactly_with_the_span_costs(load: Load) -> None:
    spans = [s for s in _llm_spans(load) if s["resource"].get("service.name") == "smoke-example"]
    assert len(spans) == WORKFLOWS
    exact: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for span in spans:
        a = span["attributes"]
        key = tuple(
            a[f"traceloop.association.properties.{t}"]
            for t in ("tenant_id", "workflow_name", "agent_id")
        )
        exact[(*key, a["gen_ai.response.model"])] += Decimal(a["somatrace.cost.total"])
    counted: dict[tuple[str, ...], Decimal] = {}
    for row in _last(load, f'{names.LLM_COST.series}{{job="smoke"}}'):
        m = row["metric"]
        key = (m["tenant_id"], m["workflow_name"], m["agent_id"], m["model"])
        counted[key] = Decimal(int(Decimal(row["value"][1]))) / Decimal(names.NANO_UNITS_PER_UNIT)
    assert counted == exact  # per series, to the last digit
    calls = _last(load, f'{names.LLM_CALLS.series}{{job="smoke"}}')
    assert sum(int(row["value"][1]) for row in calls) == WORKFLOWS
    grand = sum(exact.values(), Decimal(0))
    assert grand == Decimal(load.report["reconciliation"]["sum_over_spans"]["USD"])


def test_the_faulty_service_shows_errors_unpriced_calls_and_untagged_spans(load: Load) -> None:
    def value(selector: str) -> float:
        return sum(float(row["value"][1]) for row in _last(load, selector))

    assert value(f'{names.LLM_CALLS.series}{{job="faulty",status="error"}}') == 3
    assert value(f'{names.LLM_UNPRICED.series}{{job="faulty",model="{UNPRICED_MODEL}"}}') == 3
    assert value(f'{names.SPANS_UNTAGGED.series}{{job="faulty"}}') >= 3


def _check_series(where: str, query: dashboards.Query, result: list[dict[str, Any]]) -> None:
    assert result, f"{where}: no series for {query.expr}"
    for series in result:
        labels = series["metric"]
        missing = [label for label in query.labels if not labels.get(label)]
        assert not missing, f"{where}: series {labels} lacks {missing}"
        assert set(labels) - {"__name__"} >= set(query.labels)


@pytest.mark.parametrize("dashboard", dashboards.DASHBOARDS, ids=lambda d: d.uid)
def test_every_dashboard_query_returns_series_with_the_expected_labels(
    load: Load, dashboard: dashboards.Dashboard
) -> None:
    range_ = f"{int(load.end - load.start) + 1}s"
    for panel in dashboard.panels:
        for query in panel.queries:
            expr = dashboards.interpolate(query.expr, rate_interval="15s", range_=range_)
            where = f"{dashboard.uid} / {panel.title}"
            if query.instant:
                result = servers.query(load.prom, expr, at=load.end)
            else:
                result = servers.query_range(load.prom, expr, load.start, load.end, 5)
            _check_series(where, query, result)


def _span_costs_per_tenant(load: Load) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for span in _llm_spans(load):
        a = span["attributes"]
        if a.get("somatrace.cost.status") == "priced":
            totals[a["traceloop.association.properties.tenant_id"]] += Decimal(
                a["somatrace.cost.total"]
            )
    return dict(totals)


def _digest(load: Load, *source: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    window = (
        "--start", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(load.start - 60)),
        "--end", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(load.end + 60)),
    )  # fmt: skip
    done = subprocess.run(
        [*CLI, "digest", *source, *window, "--json", *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout[: done.stdout.rindex("}") + 1])


def test_digest_totals_equal_the_span_costs_to_the_last_digit(load: Load) -> None:
    expected = _span_costs_per_tenant(load)
    assert len([t for t in expected if t.startswith("tenant-0")]) == TENANTS
    from_spans = _digest(load, "--spans-db", str(load.store))
    from_prometheus = _digest(load, "--prometheus-url", load.prom.url)
    for document in (from_spans, from_prometheus):
        assert document["template"] == "observability-cost-digest"
        tenants = {t["tenant_id"]: t for t in document["data"]["tenants"]}
        costs = {name: Decimal(t["cost"].get("USD", "0")) for name, t in tenants.items()}
        assert {k: v for k, v in costs.items() if v} == expected, document["data"]["source"]
        assert Decimal(document["data"]["total"]["USD"]) == sum(expected.values(), Decimal(0))
        assert tenants["tenant-faulty"]["unpriced_calls"] == 3
        assert sum(t["calls"] for t in tenants.values()) == WORKFLOWS + 6
    # Both sources agree on everything but where they came from.
    strip = lambda d: {k: v for k, v in d["data"].items() if k != "source"}  # noqa: E731
    assert strip(from_spans) == strip(from_prometheus)


def test_digest_is_delivered_by_webhook_and_smtp(load: Load) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[Message] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with servers.notification_service() as notify:
            document = _digest(
                load, "--spans-db", str(load.store),
                extra=(
                    "--webhook-url", f"{notify.url}/v1/notifications",
                    "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                    "--mail-to", "finops@example.com", "--mail-from", "somatrace@example.com",
                ),
            )  # fmt: skip
            (delivery,) = notify.received
    finally:
        smtp.stop()
    assert delivery.path == "/v1/notifications"
    assert delivery.body == document
    assert delivery.body["recipients"] == ["finops@example.com"]
    (message,) = inbox.messages
    assert message["To"] == "finops@example.com"
    assert message["Subject"] == document["subject"]
    assert message["X-Somatrace-Template"] == "observability-cost-digest"
    parts = {part.get_content_type(): part for part in message.walk()}
    attached = json.loads(parts["application/json"].get_payload(decode=True))
    assert attached == document
    body = parts["text/plain"].get_payload(decode=True).decode()
    for tenant in document["data"]["tenants"]:
        assert tenant["tenant_id"] in body
    assert f"{document['data']['total']['USD']} USD" in body
