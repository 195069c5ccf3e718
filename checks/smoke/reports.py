"""Write every smoke report into a directory: JSON, JUnit XML, cost digest, histogram, text."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.smoke import report_digest, report_json, report_junit, report_text
from somatrace.checks.smoke.report_plot import write_histogram
from somatrace.checks.smoke.runner import SmokeResult

REPORT_FILES = {
    "json": "report.json",
    "junit": "junit.xml",
    "digest": "cost-digest.md",
    "histogram": "latency-histogram.png",
    "text": "summary.txt",
}


def write_reports(result: SmokeResult, directory: Path) -> dict[str, Path]:
    """Write the reports; returns what was written, by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for kind, render in (
        ("json", report_json.render),
        ("junit", report_junit.render),
        ("digest", report_digest.render),
        ("text", report_text.render),
    ):
        path = directory / REPORT_FILES[kind]
        path.write_text(render(result), encoding="utf-8")
        written[kind] = path
    png = directory / REPORT_FILES["histogram"]
    title = f"somatrace smoke {result.run_id}: {len(result.latencies.all_workflows())} workflows"
    if write_histogram(result.latencies, png, title):
        written["histogram"] = png
    return written
