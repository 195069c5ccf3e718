"""The textfile a real ``somatrace eval run`` wrote (the session's workspace: the healthy night,
and the degraded night when test_eval_end_to_end ran before) scraped through node-exporter by a
real Prometheus evaluating the shipped alert rules: ``RagetScoreRegression`` fires for exactly
the metrics the evaluation itself found regressed, and the RAG dashboard's series exist."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import yaml

from somatrace import metric_names as names
from somatrace.checks.monitoring import alert_rules
from tests.monitoring import servers

from .conftest import SERVICE, TIMINGS, Workspace

pytestmark = [pytest.mark.slow, servers.needs_binaries]


def test_the_shipped_rules_agree_with_the_evaluation_on_a_real_textfile(
    evaluated_workspace: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("eval-prometheus")
    textfile_dir = work / "textfile"
    textfile_dir.mkdir()
    shutil.copy(evaluated_workspace.out / "somatrace_raget.prom", textfile_dir)
    latest = json.loads((evaluated_workspace.out / SERVICE / "latest.json").read_text("utf-8"))
    regressed = {r["metric"] for r in latest["regressions"]}  # the eval's own verdict
    rules = work / "rules.yaml"
    rules.write_text(yaml.safe_dump(alert_rules.rules_document(for_override="1s")))
    started = time.monotonic()
    with (
        servers.node_exporter(textfile_dir, work) as node,
        servers.prometheus(
            {"node": [node.url.removeprefix("http://")]}, work, rule_files=[rules]
        ) as prom,
    ):
        servers.wait_for(
            lambda: servers.query(prom, names.RAGET_STATUS.series), 30, "the first scrape"
        )

        def alerting() -> set[str]:
            rows = servers.query(prom, 'ALERTS{alertname="RagetScoreRegression"}')
            return {row["metric"]["metric"] for row in rows if row["metric"]["service"] == SERVICE}

        if regressed:
            servers.wait_for(lambda: alerting() == regressed, 20, f"alerts for {regressed}")
        else:
            time.sleep(4)  # a few rule evaluations
        assert alerting() == regressed, latest["regressions"]
        status = servers.query(prom, f'{names.RAGET_STATUS.series}{{service="{SERVICE}"}}')
        assert status[0]["value"][1] == ("0" if regressed else "1")
        scores = servers.query(prom, names.RAGET_SCORE.series)
        assert {r["metric"]["metric"] for r in scores} >= {"correctness", "answer_f1"}
    TIMINGS["real textfile -> Prometheus rules agree with the evaluation"] = (
        time.monotonic() - started
    )
