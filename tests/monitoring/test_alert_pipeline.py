"""End to end: the nightly evaluation's history -> ``somatrace eval metrics`` (the textfile the
eval job writes) -> node-exporter's textfile collector -> a real Prometheus evaluating the
shipped rules every second -> a real Alertmanager with the shipped routing -> a real HTTP
server standing in for the notification service. Then a recovered night resolves the alerts.

Two services: ``support-bot`` regressed last night (answer_f1 25 % below its baseline) and its
last passing run is 26 h old (stale, critical: the paging route); ``billing-bot`` regressed,
then its next night failed: ``RagetRunFailed`` fires and inhibits its regression alert.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from somatrace.checks.eval.history import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_REGRESSION,
    History,
)
from somatrace.checks.monitoring import alert_rules, alertmanager

from . import servers
from .conftest import TIMINGS
from .evalfiles import GOOD, REGRESSED, eval_metrics, night, write_config

pytestmark = [pytest.mark.slow, servers.needs_binaries]
FAST = alertmanager.Timing("1s", "1s", "1h", "1h", "1h")


def key(alert: dict[str, Any]) -> tuple[str, str]:
    return alert["labels"]["alertname"], alert["labels"].get("service", "")


def test_regression_reaches_the_notification_service_and_recovery_resolves_it(
    tmp_path: Path,
) -> None:
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    config = write_config(tmp_path, textfile_dir / "somatrace_raget.prom")
    history = History(tmp_path / "out" / "history.sqlite")
    assert night(history, config, "support-bot", 26, GOOD) == STATUS_OK
    assert night(history, config, "support-bot", 2, REGRESSED) == STATUS_REGRESSION
    assert night(history, config, "billing-bot", 50, GOOD) == STATUS_OK
    assert night(history, config, "billing-bot", 26, REGRESSED) == STATUS_REGRESSION
    assert night(history, config, "billing-bot", 2, None) == STATUS_ERROR
    eval_metrics(config)
    text = (textfile_dir / "somatrace_raget.prom").read_text()
    assert (
        'somagent_observability_raget_baseline_score{service="support-bot",metric="answer_f1"} 0.4'
        in text
    )
    assert 'somagent_observability_raget_run_failed{service="billing-bot"} 1' in text

    rules = tmp_path / "rules.yaml"
    # The shipped rules with every `for` shortened to 2 s (promtool tests the real durations).
    rules.write_text(yaml.safe_dump(alert_rules.rules_document(for_override="2s")))
    started = time.monotonic()
    with (
        servers.notification_service() as notify,
        servers.alertmanager(alertmanager.config(notify.url + "/v1/alertmanager", FAST), tmp_path) as am,
        servers.node_exporter(textfile_dir, tmp_path) as node,
        servers.prometheus(
            {"node": [node.url.removeprefix("http://")]}, tmp_path,
            rule_files=[rules], alertmanager_url=am.url,
        ) as prom,
    ):  # fmt: skip
        TIMINGS["alert e2e: Prometheus, Alertmanager, node-exporter up"] = (
            time.monotonic() - started
        )
        context = lambda: f"received: {notify.received}\n{prom.log_tail()}\n{am.log_tail()}"  # noqa: E731
        expected = {
            ("RagetScoreRegression", "support-bot"),
            ("RagetStale", "support-bot"),
            ("RagetRunFailed", "billing-bot"),
        }
        firing = servers.wait_for(
            lambda: expected <= {key(a) for a in notify.alerts("firing")} and notify.alerts("firing"),
            60, "the three alerts at the notification service", context=context,
        )  # fmt: skip
        TIMINGS["alert e2e: processes started -> the 3 firing alerts received"] = (
            time.monotonic() - started
        )
        by_key = {key(a): a for a in firing}
        regression = by_key["RagetScoreRegression", "support-bot"]
        assert regression["labels"] | {"instance": "", "job": ""} == {
            "alertname": "RagetScoreRegression", "service": "support-bot", "metric": "answer_f1",
            "severity": "warning", "component": "raget", "instance": "", "job": "",
        }  # fmt: skip
        assert regression["annotations"]["summary"] == (
            "RAG score answer_f1 of support-bot dropped 25% below its baseline"
        )
        assert regression["annotations"]["runbook_url"].endswith("raget_score_regression.md")
        paths = {key(a): d.path for d in notify.received for a in d.body.get("alerts", [])}
        assert paths["RagetScoreRegression", "support-bot"] == "/v1/alertmanager"
        assert paths["RagetStale", "support-bot"] == "/v1/alertmanager/page"  # critical
        assert paths["RagetRunFailed", "billing-bot"] == "/v1/alertmanager"
        # billing-bot's regression is active in Prometheus but inhibited in Alertmanager.
        active = servers.query(prom, 'ALERTS{alertstate="firing"}')
        assert {(a["metric"]["alertname"], a["metric"]["service"]) for a in active} >= expected | {
            ("RagetScoreRegression", "billing-bot")
        }
        time.sleep(3)  # a few more group_interval flushes
        assert ("RagetScoreRegression", "billing-bot") not in {key(a) for a in notify.alerts()}

        # The next night support-bot passes again: both of its alerts resolve.
        assert night(history, config, "support-bot", 0.01, {**GOOD, "answer_f1": 0.41}) == STATUS_OK
        recovered = time.monotonic()
        eval_metrics(config)
        resolved = servers.wait_for(
            lambda: {("RagetScoreRegression", "support-bot"), ("RagetStale", "support-bot")}
            <= {key(a) for a in notify.alerts("resolved")},
            60, "the resolved notifications", context=context,
        )  # fmt: skip
        assert resolved
        TIMINGS["alert e2e: recovered run written -> resolved received"] = (
            time.monotonic() - recovered
        )
        still = {
            (a["metric"]["alertname"], a["metric"]["service"])
            for a in servers.query(prom, 'ALERTS{alertstate="firing"}')
        }
        assert ("RagetRunFailed", "billing-bot") in still
        assert not {k for k in still if k[1] == "support-bot"}
    TIMINGS["alert e2e: whole test"] = time.monotonic() - started
