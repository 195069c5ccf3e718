"""The nightly evaluation end to end, with the real SmolLM2 server, Giskard RAGET, the packaged
MiniLM embeddings and a real webhook receiver: a healthy night, then a degraded one."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from somatrace.checks.eval.alerts import ALERT_NAME, LAST_SUCCESS_METRIC, STATUS_METRIC
from somatrace.checks.eval.html_report import NETWORK_LOADERS, external_references

from .conftest import (
    SERVICE,
    SOMATRACE,
    TIMINGS,
    WebhookReceiver,
    Workspace,
    run_eval,
    summary_of,
    write_config,
)

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prometheus_samples(path: Path) -> dict[str, float]:
    samples = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_first_night_generates_a_testset_and_writes_every_artifact(
    evaluated_workspace: Workspace,
) -> None:
    ws = evaluated_workspace
    assert ws.baseline_exit_code == 0, ws.baseline
    service = ws.baseline["services"][0]
    assert service["status"] == "ok" and not service["reused_testset"]
    scores = service["scores"]
    assert 1 <= scores["num_questions"] <= 3
    assert 0.0 <= scores["correctness"] <= 1.0
    assert set(scores["by_question_type"]) <= {"simple", "complex"}
    assert {"GENERATOR", "RETRIEVER", "KNOWLEDGE_BASE"} <= set(scores["by_component"])
    assert scores["by_topic"], "per-topic scores"
    # The healthy agent answers with the retrieved passage: it shares words with the references.
    assert scores["metrics"]["answer_f1"] > 0

    run_dir = Path(service["report_dir"])
    saved = json.loads((run_dir / "scores.json").read_text("utf-8"))
    assert saved["scores"] == scores and saved["run_id"] == service["run_id"]
    assert (
        json.loads((ws.out / SERVICE / "latest.json").read_text("utf-8"))["run_id"]
        == (service["run_id"])
    )

    html = (run_dir / "report.html").read_text("utf-8")
    assert "RAG Evaluation Toolkit" in html  # Giskard's report
    assert "somatrace nightly RAG evaluation" in html  # our summary on top
    assert "data:image/png;base64," in html  # the trend plot, embedded
    assert "Bokeh.embed" in html or "Bokeh" in html
    assert "cdn.bokeh.org" not in html
    assert external_references(html) == []
    assert not any(url in html for url in NETWORK_LOADERS)
    assert not (run_dir / "giskard" / "report.html").exists()  # the CDN-linked copy is dropped
    assert (run_dir / "trend.png").read_bytes().startswith(PNG_MAGIC)

    testset_dir = ws.out / "testsets" / SERVICE / service["testset_id"]
    questions = (testset_dir / "testset.jsonl").read_text("utf-8").splitlines()
    assert len(questions) == scores["num_questions"]
    assert all(json.loads(q)["question"] for q in questions)

    with sqlite3.connect(ws.out / "history.sqlite") as db:
        rows = db.execute("SELECT run_id, status FROM runs WHERE service = ?", (SERVICE,))
        assert (service["run_id"], "ok") in rows.fetchall()

    samples = prometheus_samples(ws.out / "somatrace_raget.prom")
    assert samples[f'{STATUS_METRIC}{{service="{SERVICE}"}}'] == 1
    assert samples[f'{LAST_SUCCESS_METRIC}{{service="{SERVICE}"}}'] > 1.7e9


def test_the_evaluation_talks_to_loopback_only(evaluated_workspace: Workspace) -> None:
    # Zero egress: everything the CLI process resolved or connected to during the whole first
    # night (Giskard, litellm, sentence-transformers, the LLM server) was on this machine.
    events = [json.loads(line) for line in lines_of(evaluated_workspace.egress_log)]
    assert ["connect", "127.0.0.1"] in events  # the audit saw the LLM calls
    hosts = {host for _, host in events}
    assert hosts <= {"127.0.0.1", "localhost", "::1"}, hosts


def test_degraded_agent_triggers_the_regression_alert(
    evaluated_workspace: Workspace, webhook_receiver: WebhookReceiver
) -> None:
    ws = evaluated_workspace
    first = ws.baseline["services"][0]
    prom = ws.out / "somatrace_raget.prom"
    last_success_before = prometheus_samples(prom)[f'{LAST_SUCCESS_METRIC}{{service="{SERVICE}"}}']
    config = write_config(
        ws.root, agent="nimbus_support:degraded_answer", webhook_url=webhook_receiver.url
    )

    result, seconds = run_eval(config, llm_base_url=ws.server.base_url)
    TIMINGS["run 2: reuse testset + evaluate degraded agent (CLI wall time)"] = seconds
    summary = summary_of(result)
    for name, value in summary["services"][0]["timings_seconds"].items():
        TIMINGS[f"run 2: {name}"] = value

    assert result.returncode == 1, result.stderr[-3000:]
    service = summary["services"][0]
    assert service["status"] == "regression"
    assert service["reused_testset"] and service["testset_id"] == first["testset_id"]
    regressed = {r["metric"]: r for r in service["regressions"]}
    assert "answer_f1" in regressed
    assert regressed["answer_f1"]["current"] < regressed["answer_f1"]["baseline"]
    assert service["baseline"]["answer_f1"] == pytest.approx(
        first["scores"]["metrics"]["answer_f1"]
    )

    # The webhook was received, in Alertmanager's webhook format, one alert per regressed metric.
    assert len(webhook_receiver.received) == 1
    delivery = webhook_receiver.received[0]
    assert delivery.headers["Content-Type"] == "application/json"
    body = delivery.body
    assert body["version"] == "4" and body["status"] == "firing"
    alerts = body["alerts"]
    assert {a["labels"]["metric"] for a in alerts} == set(regressed)
    assert all(a["labels"]["alertname"] == ALERT_NAME for a in alerts)
    assert all(a["labels"]["service"] == SERVICE for a in alerts)
    assert all(re.match(r"\d{4}-\d\d-\d\dT", a["startsAt"]) for a in alerts)

    # The metric file says the service is failing, and still knows when it last passed.
    samples = prometheus_samples(prom)
    assert samples[f'{STATUS_METRIC}{{service="{SERVICE}"}}'] == 0
    assert samples[f'{LAST_SUCCESS_METRIC}{{service="{SERVICE}"}}'] == last_success_before

    html = (Path(service["report_dir"]) / "report.html").read_text("utf-8")
    assert "Regression:" in html and 'class="regressed"' in html

    history = subprocess.run(
        [str(SOMATRACE), "eval", "history", "--config", str(config), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    runs = json.loads(history.stdout)
    assert [r["status"] for r in runs[:2]] == ["regression", "ok"]
    assert runs[0]["scores"]["answer_f1"] < runs[1]["scores"]["answer_f1"]


def test_unknown_service_is_a_usage_error(evaluated_workspace: Workspace) -> None:
    result, _ = run_eval(evaluated_workspace.config, "--service", "nope", timeout=120)
    assert result.returncode == 2
    assert "no service named 'nope'" in result.stderr


def test_broken_agent_is_an_error_recorded_in_history_and_metrics(
    evaluated_workspace: Workspace, tmp_path: Path
) -> None:
    # Its own night on the saved testset; the agent's module cannot be imported.
    config = write_config(tmp_path, agent="nimbus_support_gone:answer")
    shutil.copytree(evaluated_workspace.out / "testsets", tmp_path / "out" / "testsets")
    result, seconds = run_eval(config, llm_base_url=evaluated_workspace.server.base_url)
    TIMINGS["broken agent run (CLI wall time)"] = seconds
    assert result.returncode == 2
    service = summary_of(result)["services"][0]
    assert service["status"] == "error"
    assert "cannot import the agent module 'nimbus_support_gone'" in service["message"]
    with sqlite3.connect(tmp_path / "out" / "history.sqlite") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("error",)]
    samples = prometheus_samples(tmp_path / "out" / "somatrace_raget.prom")
    assert samples[f'{STATUS_METRIC}{{service="{SERVICE}"}}'] == 0
    assert samples[f'{LAST_SUCCESS_METRIC}{{service="{SERVICE}"}}'] == 0  # never passed here
