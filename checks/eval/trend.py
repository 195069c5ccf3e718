"""The trend plot: a service's scores over its past runs, as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from somatrace.checks.eval.history import History

TREND_METRICS = ("correctness", "answer_f1")


def plot_trend(
    history: History, service: str, path: Path, metrics: Sequence[str] = TREND_METRICS
) -> Path:
    """Write ``path`` (PNG): one line per metric (plus every ``component.*``), one point per run."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    runs = history.runs(service)
    names = list(metrics) + sorted(
        {m for r in runs for m in r.scores if m.startswith("component.")} - set(metrics)
    )
    figure, axis = plt.subplots(figsize=(8, 3.6), dpi=100)
    try:
        for name in names:
            points = history.trend(service, name)
            if not points:
                continue
            times, values = zip(*points, strict=True)
            style = "-o" if name in metrics else "--."
            axis.plot(times, values, style, label=name, linewidth=1.6 if name in metrics else 1)
        for run in runs:
            if run.status != "ok":
                axis.axvline(run.finished_at, color="#d62728", alpha=0.25, linewidth=6)
        axis.set_ylim(-0.05, 1.05)
        axis.set_ylabel("score")
        axis.set_title(f"RAGET scores of {service} ({len(runs)} runs; red: regression/error)")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="lower left", fontsize=7, ncol=3)
        figure.autofmt_xdate()
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
