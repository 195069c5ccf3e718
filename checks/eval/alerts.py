"""Regression detection and the two ways it is announced: an Alertmanager-compatible webhook
POST and a Prometheus node-exporter textfile.

A watched score regresses when it drops below its baseline by more than the threshold: by
default relative to the baseline (0.05 = 5 % of the baseline value), or in absolute points
(``regression_mode = "absolute"``: 0.05 = 5 percentage points).
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from somatrace import metric_names as names
from somatrace.checks.eval.config import EvalConfig
from somatrace.checks.eval.history import STATUS_ERROR, STATUS_OK, History, RunRecord
from somatrace.checks.runtime.webhook import WebhookError as WebhookError  # raised here
from somatrace.checks.runtime.webhook import post_json

STATUS_METRIC = names.RAGET_STATUS.series
LAST_SUCCESS_METRIC = names.RAGET_LAST_SUCCESS.series
LAST_RUN_METRIC = names.RAGET_LAST_RUN.series
SCORE_METRIC = names.RAGET_SCORE.series
ALERT_NAME = "SomatraceRagetRegression"


@dataclass(frozen=True)
class Regression:
    service: str
    metric: str
    baseline: float
    current: float
    threshold: float
    mode: str

    @property
    def drop(self) -> float:
        return self.baseline - self.current

    @property
    def relative_drop(self) -> float:
        return self.drop / self.baseline if self.baseline else 0.0

    def describe(self) -> str:
        return (
            f"{self.service}: {self.metric} fell from {self.baseline:.3f} to {self.current:.3f} "
            f"({-self.relative_drop:+.1%} vs baseline; threshold {self.threshold:g} {self.mode})"
        )


def watched(metric: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(metric, pattern) for pattern in patterns)


def find_regressions(
    service: str,
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    threshold: float,
    mode: str = "relative",
    watch: Sequence[str] = ("*",),
) -> list[Regression]:
    """Watched metrics present in both runs whose drop exceeds ``threshold``."""
    found = []
    for metric in sorted(current):
        if metric not in baseline or not watched(metric, watch):
            continue
        before, now = float(baseline[metric]), float(current[metric])
        drop = before - now
        limit = threshold * before if mode == "relative" else threshold
        # A tiny epsilon keeps float noise (0.6666666 vs 0.6666667) from firing alerts.
        if drop > limit + 1e-9:
            found.append(Regression(service, metric, before, now, threshold, mode))
    return found


# -- Alertmanager ------------------------------------------------------------------------------
def alert_objects(
    regressions: Sequence[Regression], *, report_url: str = "", now: datetime | None = None
) -> list[dict[str, object]]:
    """One Alertmanager alert per regressed metric (labels identify it; annotations explain)."""
    starts_at = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    alerts = []
    for regression in regressions:
        alerts.append(
            {
                "status": "firing",
                "labels": {
                    "alertname": ALERT_NAME,
                    "service": regression.service,
                    "metric": regression.metric,
                    "severity": "warning",
                    "source": "somatrace-eval",
                },
                "annotations": {
                    "summary": f"RAG quality regression in {regression.service}",
                    "description": regression.describe(),
                    "baseline": f"{regression.baseline:.6f}",
                    "current": f"{regression.current:.6f}",
                },
                "startsAt": starts_at,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": report_url,
            }
        )
    return alerts


def webhook_payload(
    regressions: Sequence[Regression], *, fmt: str = "webhook", report_url: str = ""
) -> object:
    """``webhook``: the body Alertmanager itself sends to webhook receivers (version 4), so
    any receiver built for Alertmanager accepts it. ``alertmanager-api``: the list of alerts
    that Alertmanager's ``POST /api/v2/alerts`` takes, to raise the alert in Alertmanager."""
    alerts = alert_objects(regressions, report_url=report_url)
    if fmt == "alertmanager-api":
        return [{k: v for k, v in a.items() if k not in ("status", "endsAt")} for a in alerts]
    services = sorted({r.service for r in regressions})
    group_labels = {"alertname": ALERT_NAME}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{ALERT_NAME}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "somatrace-eval",
        "groupLabels": group_labels,
        "commonLabels": {
            **group_labels,
            "source": "somatrace-eval",
            **({"service": services[0]} if len(services) == 1 else {}),
        },
        "commonAnnotations": {},
        "externalURL": report_url,
        "alerts": alerts,
    }


def post_webhook(url: str, payload: object, *, timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON; returns the HTTP status, raises :class:`WebhookError`."""
    return post_json(url, payload, timeout=timeout, what="alert webhook")


# -- Prometheus textfile ----------------------------------------------------------------------
@dataclass(frozen=True)
class TextfileOptions:
    """How the baselines in the textfile are computed: the same settings as the regression
    check of the run (``[eval]`` ``baseline``, ``baseline_window``, ``watch``)."""

    baseline_mode: str = "previous"
    baseline_window: int = 7
    watch: Sequence[str] = ("*",)


def prometheus_textfile(
    history: History,
    services: Sequence[str],
    options: TextfileOptions | None = None,
    *,
    started: Mapping[str, datetime] | None = None,
) -> str:
    """Status, failure, last run, last success, latest scores and their baselines of every
    service, in the text format (metric names: :mod:`somatrace.metric_names`).

    ``status`` is 1 when the service's latest run passed (no regression, no error), else 0;
    ``run_failed`` is 1 when it ended in an error. ``last_success_timestamp_seconds`` is 0 for
    a service that never passed, so ``time() - ..._last_success_timestamp_seconds > 86400``
    fires for it as well (stale > 24 h). ``baseline_score`` is, per watched score of the latest
    run, the baseline that run was compared against: the alert rule compares the two.
    ``started`` (service -> start time) marks evaluations in progress
    (``run_started_timestamp_seconds``), so a night that runs long does not look stale.
    """
    options = options or TextfileOptions()
    latest = {s: (history.runs(s, limit=1) or [None])[0] for s in services}
    # Scores (and their baselines) of the latest run that has scores: a failed night keeps
    # showing the last known quality, and its regression alert is inhibited by the failure.
    scored = {s: _latest_scored(history, s) for s in services}
    out = _Exposition()
    out.family(names.RAGET_STATUS)
    for service, run in latest.items():
        if run is not None:
            out.sample(names.RAGET_STATUS, 1 if run.status == STATUS_OK else 0, service=service)
    out.family(names.RAGET_RUN_FAILED)
    for service, run in latest.items():
        if run is not None:
            failed = 1 if run.status == STATUS_ERROR else 0
            out.sample(names.RAGET_RUN_FAILED, failed, service=service)
    out.family(names.RAGET_LAST_SUCCESS)
    for service in services:
        success = history.last_success(service)
        out.timestamp(names.RAGET_LAST_SUCCESS, success, service=service)
    out.family(names.RAGET_LAST_RUN)
    for service, run in latest.items():
        if run is not None:
            out.timestamp(names.RAGET_LAST_RUN, run.finished_at, service=service)
    if started:
        out.family(names.RAGET_RUN_STARTED)
        for service, moment in sorted(started.items()):
            out.timestamp(names.RAGET_RUN_STARTED, moment, service=service)
    out.family(names.RAGET_SCORE)
    for service, run in scored.items():
        if run is not None:
            for metric, value in sorted(run.scores.items()):
                out.sample(names.RAGET_SCORE, value, service=service, metric=metric)
    out.family(names.RAGET_BASELINE)
    for service, run in scored.items():
        if run is None:
            continue
        baseline = history.baseline(
            service,
            run.testset_id,
            mode=options.baseline_mode,
            window=options.baseline_window,
            before=run.run_id,
        )
        for metric, value in sorted(baseline.items()):
            if metric in run.scores and watched(metric, options.watch):
                out.sample(names.RAGET_BASELINE, value, service=service, metric=metric)
    return out.text()


def _latest_scored(history: History, service: str) -> RunRecord | None:
    for run in history.runs(service):
        if run.status != STATUS_ERROR and run.scores:
            return run
    return None


class _Exposition:
    """Prometheus text format lines, with HELP and TYPE from the metric's declaration."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, family: names.Metric) -> None:
        self.lines += [f"# HELP {family.name} {family.description}", f"# TYPE {family.name} gauge"]

    def sample(self, family: names.Metric, value: float, /, **labels: str) -> None:
        self.lines.append(f"{family.series}{_labels(**labels)} {value:g}")

    def timestamp(self, family: names.Metric, moment: datetime | None, /, **labels: str) -> None:
        stamp = moment.timestamp() if moment else 0.0
        self.lines.append(f"{family.series}{_labels(**labels)} {stamp:.3f}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def write_metrics(
    config: EvalConfig, history: History, *, started: Mapping[str, datetime] | None = None
) -> None:
    """Rewrite the configured textfile for every configured or recorded service."""
    services = sorted({s.name for s in config.services} | set(history.services()))
    options = TextfileOptions(config.baseline, config.baseline_window, tuple(config.watch))
    text = prometheus_textfile(history, services, options, started=started)
    write_textfile(config.textfile, text)


def write_textfile(path: Path, text: str) -> None:
    """Atomic write (node-exporter must never read half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def regression_dicts(regressions: Sequence[Regression]) -> list[dict[str, object]]:
    return [
        {**asdict(r), "drop": r.drop, "relative_drop": r.relative_drop, "message": r.describe()}
        for r in regressions
    ]
