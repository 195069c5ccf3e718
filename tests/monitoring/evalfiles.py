"""The nightly evaluation's history and textfile, written through the real code: runs are
recorded the way ``evaluate_service`` records them, the textfile by ``somatrace eval metrics``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from somatrace.checks.eval import alerts
from somatrace.checks.eval.config import load_config
from somatrace.checks.eval.history import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_REGRESSION,
    History,
    RunRecord,
)
from tests.helpers import REPO

KB = REPO / "tests" / "fixtures" / "eval" / "kb"
AGENTS = REPO / "tests" / "fixtures" / "eval" / "agents"
NOW = datetime.now(UTC)
GOOD = {"correctness": 0.8, "answer_f1": 0.4, "component.GENERATOR": 0.8}
REGRESSED = {"correctness": 0.8, "answer_f1": 0.3, "component.GENERATOR": 0.8}


def write_config(root: Path, textfile: Path) -> Path:
    services = "".join(
        f"""
[[eval.services]]
name = "{name}"
agent = "nimbus_support:answer"
agent_path = [{json.dumps(str(AGENTS))}]
description = "Support bot"
knowledge_base = {json.dumps(str(KB))}
"""
        for name in ("support-bot", "billing-bot")
    )
    path = root / "eval.toml"
    path.write_text(
        f"""[eval]
output_dir = "out"
regression_threshold = 0.05

[eval.alerts]
textfile = {json.dumps(str(textfile))}
{services}""",
        encoding="utf-8",
    )
    return path


def night(
    history: History,
    config_path: Path,
    service: str,
    hours_ago: float,
    scores: dict[str, float] | None,
) -> str:
    """One nightly run recorded the way ``evaluate_service`` records it: the regression check
    against the history's baseline decides the status; ``None`` scores is a failed night."""
    config = load_config(config_path)
    finished = NOW - timedelta(hours=hours_ago)
    run_id = f"{finished:%Y%m%dT%H%M%S}-{service}"
    if scores is None:
        status, found = STATUS_ERROR, []
    else:
        baseline = history.baseline(service, "ts-1", mode=config.baseline)
        found = alerts.find_regressions(
            service, scores, baseline, threshold=config.regression_threshold, watch=config.watch
        )
        status = STATUS_REGRESSION if found else STATUS_OK
    history.append(
        RunRecord(
            run_id=run_id, service=service, testset_id="ts-1",
            started_at=finished - timedelta(minutes=5), finished_at=finished, status=status,
            num_questions=3 if scores else 0, scores=scores or {},
            message="; ".join(r.describe() for r in found),
        )
    )  # fmt: skip
    return status


def eval_metrics(config: Path) -> None:
    """``somatrace eval metrics``: the real command rewrites the textfile from the history."""
    done = subprocess.run(
        [sys.executable, "-m", "somatrace.checks.cli.main", "eval", "metrics", "--config", str(config)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
