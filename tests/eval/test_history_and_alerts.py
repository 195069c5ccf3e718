"""History store, regression detection, the webhook (to a real HTTP server) and the
Prometheus textfile, on a real SQLite file."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from somatrace.checks.eval import alerts
from somatrace.checks.eval.history import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_REGRESSION,
    History,
    RunRecord,
)
from somatrace.checks.eval.overlap import AnswerOverlapMetric, token_f1
from somatrace.checks.runtime.llm_server import free_port

from .conftest import WebhookReceiver

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def record(n: int, scores: dict[str, float], status: str = STATUS_OK, **kw: str) -> RunRecord:
    return RunRecord(
        run_id=f"run-{n}-{kw.get('service', 'bot')}",
        service=kw.get("service", "bot"),
        testset_id=kw.get("testset_id", "bot-aaa"),
        started_at=T0 + timedelta(days=n),
        finished_at=T0 + timedelta(days=n, minutes=3),
        status=status,
        num_questions=3,
        scores=scores,
    )


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "state" / "history.sqlite")


def test_runs_are_stored_and_read_back_newest_first(history: History) -> None:
    history.append(record(1, {"correctness": 0.8, "answer_f1": 0.4}))
    history.append(record(2, {"correctness": 0.6}, STATUS_REGRESSION))
    runs = history.runs("bot")
    assert [r.run_id for r in runs] == ["run-2-bot", "run-1-bot"]
    assert runs[1].scores == {"correctness": 0.8, "answer_f1": 0.4}
    assert runs[0].finished_at == T0 + timedelta(days=2, minutes=3)
    assert history.trend("bot", "correctness") == [
        (T0 + timedelta(days=1, minutes=3), 0.8),
        (T0 + timedelta(days=2, minutes=3), 0.6),
    ]
    assert history.last_success("bot") == T0 + timedelta(days=1, minutes=3)
    assert History(history.path).services() == ["bot"]  # persisted on disk


def test_baseline_previous_rolling_and_per_testset(history: History) -> None:
    for n, value in enumerate([0.9, 0.6, 0.3], start=1):
        history.append(record(n, {"correctness": value}))
    history.append(record(4, {}, STATUS_ERROR))  # a failed night has no scores: ignored
    history.append(record(5, {"correctness": 0.1}, testset_id="bot-new"))
    assert history.baseline("bot", "bot-aaa") == {"correctness": 0.3}
    rolling = history.baseline("bot", "bot-aaa", mode="rolling", window=3)
    assert rolling["correctness"] == pytest.approx(0.6)
    assert history.baseline("bot", "bot-new") == {"correctness": 0.1}
    assert history.baseline("bot", "bot-unseen") == {}


def test_regressions_relative_absolute_and_watched() -> None:
    baseline = {"correctness": 0.80, "answer_f1": 0.40, "topic.Billing": 1.0}
    current = {"correctness": 0.77, "answer_f1": 0.30, "topic.Billing": 0.0}
    found = alerts.find_regressions(
        "bot", current, baseline, threshold=0.05, watch=("correctness", "answer_f1")
    )
    # correctness fell 3.75 % (under 5 %); answer_f1 fell 25 %; topics are not watched.
    assert [r.metric for r in found] == ["answer_f1"]
    assert found[0].relative_drop == pytest.approx(0.25)
    assert "answer_f1 fell from 0.400 to 0.300" in found[0].describe()

    absolute = alerts.find_regressions(
        "bot", current, baseline, threshold=0.02, mode="absolute", watch=("*",)
    )
    assert {r.metric for r in absolute} == {"correctness", "answer_f1", "topic.Billing"}
    # Improvements, new metrics and equal values never alert.
    assert alerts.find_regressions("bot", {"x": 0.9, "y": 0.5}, {"x": 0.5}, threshold=0.0) == []
    assert alerts.find_regressions("bot", {"x": 2 / 3}, {"x": 0.6666666667}, threshold=0.0) == []


def test_webhook_is_posted_to_a_real_receiver(webhook_receiver: WebhookReceiver) -> None:
    regression = alerts.Regression("bot", "answer_f1", 0.4, 0.1, 0.05, "relative")
    payload = alerts.webhook_payload([regression], report_url="file:///tmp/report.html")
    assert alerts.post_webhook(webhook_receiver.url, payload) == 200
    (delivery,) = webhook_receiver.received
    assert delivery.path == "/api/v2/alerts"
    assert delivery.body["commonLabels"]["service"] == "bot"
    (alert,) = delivery.body["alerts"]
    assert alert["labels"]["alertname"] == alerts.ALERT_NAME
    assert alert["annotations"]["current"] == "0.100000"
    assert alert["generatorURL"] == "file:///tmp/report.html"

    api = alerts.webhook_payload([regression], fmt="alertmanager-api")
    assert alerts.post_webhook(webhook_receiver.url, api) == 200
    assert isinstance(webhook_receiver.received[1].body, list)
    assert set(webhook_receiver.received[1].body[0]) == {
        "labels", "annotations", "startsAt", "generatorURL",
    }  # fmt: skip


def test_webhook_to_a_closed_port_raises() -> None:
    port = free_port()
    with pytest.raises(alerts.WebhookError, match="unreachable"):
        alerts.post_webhook(f"http://127.0.0.1:{port}/hook", [], timeout=5)


def test_prometheus_textfile_status_and_last_success(history: History, tmp_path: Path) -> None:
    history.append(record(1, {"correctness": 0.8}, service="bot"))
    history.append(record(2, {"correctness": 0.5}, STATUS_REGRESSION, service="bot"))
    history.append(record(1, {}, STATUS_ERROR, service="never-ok"))
    text = alerts.prometheus_textfile(history, ["bot", "never-ok", "not-run-yet"])
    path = tmp_path / "metrics" / "raget.prom"
    alerts.write_textfile(path, text)
    written = path.read_text(encoding="utf-8")
    assert written == text and oct(path.stat().st_mode)[-3:] == "644"
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind

    def sample(name: str, labels: str) -> float:
        match = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", written, re.M)
        assert match, f"{name}{{{labels}}} missing"
        return float(match.group(1))

    assert sample(alerts.STATUS_METRIC, 'service="bot"') == 0
    assert sample(alerts.STATUS_METRIC, 'service="never-ok"') == 0
    success = (T0 + timedelta(days=1, minutes=3)).timestamp()
    assert sample(alerts.LAST_SUCCESS_METRIC, 'service="bot"') == pytest.approx(success)
    assert sample(alerts.LAST_SUCCESS_METRIC, 'service="never-ok"') == 0
    assert sample(alerts.SCORE_METRIC, 'service="bot",metric="correctness"') == 0.5
    assert f"# TYPE {alerts.STATUS_METRIC} gauge" in written
    assert 'service="not-run-yet"' not in written.split(alerts.LAST_SUCCESS_METRIC)[0]


def test_token_f1() -> None:
    # 3 shared content words (within, 14, days) of 4 answered and 6 expected ("are": stop word)
    f1 = token_f1("Refunds within 14 days.", "Annual plans are refunded within 14 days")
    assert f1 == pytest.approx(2 * (3 / 4) * (3 / 6) / (3 / 4 + 3 / 6))
    assert token_f1("The", "a") == 1.0  # nothing but stop words on both sides
    assert token_f1("", "Nimbus Notes") == 0.0
    assert token_f1("Sorry, I could not find anything.", "Plus costs 4 euros") == 0.0
    metric = AnswerOverlapMetric()
    assert metric({"reference_answer": "Nimbus Notes"}, "nimbus notes") == {"answer_f1": 1.0}
