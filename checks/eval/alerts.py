"""Regression detection and the two ways it is announced: an Alertmanager-compatible webhook
POST and a Prometheus node-exporter textfile.

A watched score regresses when it drops below its baseline by more than the threshold: by
default relative to the baseline (0.05 = 5 % of the baseline value), or in absolute points
(``regression_mode = "absolute"``: 0.05 = 5 percentage points).
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from somatrace.checks.eval.history import STATUS_OK, History

STATUS_METRIC = "somagent_observability_raget_status"
LAST_SUCCESS_METRIC = "somagent_observability_raget_last_success_timestamp_seconds"
LAST_RUN_METRIC = "somagent_observability_raget_last_run_timestamp_seconds"
SCORE_METRIC = "somagent_observability_raget_score"
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


class WebhookError(RuntimeError):
    pass


def post_webhook(url: str, payload: object, *, timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON; returns the HTTP status, raises :class:`WebhookError`."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"alert webhook {url} answered HTTP {exc.code}") from exc
    except OSError as exc:
        raise WebhookError(f"alert webhook {url} unreachable: {exc}") from exc


# -- Prometheus textfile ----------------------------------------------------------------------
def prometheus_textfile(history: History, services: Sequence[str]) -> str:
    """Status, last run, last success and latest scores of every service, in the text format.

    ``status`` is 1 when the service's latest run passed (no regression, no error), else 0.
    ``last_success_timestamp_seconds`` is 0 for a service that never passed, so an alert rule
    ``time() - ..._last_success_timestamp_seconds > 86400`` fires for it as well (stale > 24 h).
    """
    lines = [
        f"# HELP {STATUS_METRIC} 1 if the latest RAGET evaluation of the service passed "
        "(no regression, no error), 0 otherwise.",
        f"# TYPE {STATUS_METRIC} gauge",
    ]
    latest = {s: (history.runs(s, limit=1) or [None])[0] for s in services}
    for service, run in latest.items():
        if run is not None:
            value = 1 if run.status == STATUS_OK else 0
            lines.append(f"{STATUS_METRIC}{_labels(service=service)} {value}")
    lines += [
        f"# HELP {LAST_SUCCESS_METRIC} Unix time of the latest passing RAGET evaluation "
        "(0: never passed).",
        f"# TYPE {LAST_SUCCESS_METRIC} gauge",
    ]
    for service in services:
        success = history.last_success(service)
        stamp = success.timestamp() if success else 0.0
        lines.append(f"{LAST_SUCCESS_METRIC}{_labels(service=service)} {stamp:.3f}")
    lines += [
        f"# HELP {LAST_RUN_METRIC} Unix time of the latest RAGET evaluation, whatever its result.",
        f"# TYPE {LAST_RUN_METRIC} gauge",
    ]
    for service, run in latest.items():
        if run is not None:
            stamp = run.finished_at.timestamp()
            lines.append(f"{LAST_RUN_METRIC}{_labels(service=service)} {stamp:.3f}")
    lines += [
        f"# HELP {SCORE_METRIC} Latest RAGET score per service and metric (0..1).",
        f"# TYPE {SCORE_METRIC} gauge",
    ]
    for service, run in latest.items():
        if run is not None:
            for metric, value in sorted(run.scores.items()):
                lines.append(f"{SCORE_METRIC}{_labels(service=service, metric=metric)} {value:g}")
    return "\n".join(lines) + "\n"


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
