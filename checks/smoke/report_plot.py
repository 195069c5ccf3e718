"""The latency histogram as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.smoke.analysis import Latencies, nearest_rank

# Greys and a dark red: the workflow series take matplotlib's default colour cycle.
PERCENTILE_STYLES = {50: ("black", "--"), 95: ("dimgray", "-."), 99: ("darkred", ":")}


def write_histogram(latencies: Latencies, path: Path, title: str) -> bool:
    """Plot workflow latencies (one series per workflow name) with p50/p95/p99 lines.

    Returns False (and writes nothing) when there is no latency to plot.
    """
    values = latencies.all_workflows()
    if not values:
        return False
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.8), dpi=100)
    try:
        groups = sorted(latencies.workflow_ms.items())
        series = {name: [float(value) for value in group] for name, group in groups}
        bins = min(30, max(5, len(values) // 3))
        axes.hist(
            list(series.values()),
            bins=bins,
            stacked=True,
            label=[f"{name} (n={len(vs)})" for name, vs in series.items()],
        )
        for percentile, (colour, style) in PERCENTILE_STYLES.items():
            value = float(nearest_rank(values, percentile))
            axes.axvline(
                value, color=colour, linestyle=style, label=f"p{percentile} = {value:.0f} ms"
            )
        axes.set_xlabel("workflow latency (ms, root span duration)")
        axes.set_ylabel("workflows")
        axes.set_title(title)
        axes.legend(fontsize="small")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return True
