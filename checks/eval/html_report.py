"""A self-contained HTML report: Giskard's RAGET report with BokehJS inlined, plus our summary
(scores, regressions, trend plot as an embedded PNG).

Giskard's template loads BokehJS 3.3.4 from a CDN: offline the charts stay blank, and opening
the report would reach the internet. We drop those tags and inline the BokehJS of the
installed ``bokeh`` (the version that produced the plots' JSON), so the file works anywhere
with zero egress.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CDN_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://cdn\.bokeh\.org/[^\"']*[\"'][^>]*>\s*</script>\s*", re.I
)
EXTERNAL_REFERENCE = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
MAIN_DIV = '<div class="main">'
# BokehJS carries loaders for optional features (LaTeX via MathJax, Tabler icons, Google Maps)
# that fetch from the internet when a plot uses them. Giskard's plots use none; the inlined
# copy gets a no-op data URL instead, so no code path of the report can reach the network.
NETWORK_LOADERS = (
    "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js",
    "https://cdn.jsdelivr.net/npm/@tabler/icons-webfont@latest",
    "https://maps.googleapis.com/maps/api/js",
)
NO_OP_URL = "data:,"


def inline_bokeh_js() -> str:
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=["bokeh", "bokeh-gl"])
    scripts = []
    for js in resources.js_raw:
        for url in NETWORK_LOADERS:
            js = js.replace(url, NO_OP_URL)
        scripts.append(f'<script type="text/javascript">\n{js}\n</script>')
    return "\n".join(scripts)


def make_self_contained(report_html: str) -> str:
    """Replace the CDN script tags by the inlined BokehJS (once)."""
    stripped, count = CDN_SCRIPT.subn("", report_html)
    if count == 0 and "Bokeh" not in report_html:
        return report_html  # no bokeh in this report
    scripts = inline_bokeh_js()
    marker = "</style>"
    if marker in stripped:
        index = stripped.index(marker) + len(marker)
        return f"{stripped[:index]}\n{scripts}\n{stripped[index:]}"
    return f"{scripts}\n{stripped}"


def external_references(document: str) -> list[str]:
    """``src``/``href`` attributes that point off the file (should be none)."""
    return [m.group(0) for m in EXTERNAL_REFERENCE.finditer(document)]


def summary_section(
    *,
    service: str,
    run_id: str,
    testset_id: str,
    reused_testset: bool,
    scores: Mapping[str, Any],
    regressions: Sequence[Mapping[str, Any]],
    baseline: Mapping[str, float],
    trend_png: Path | None,
) -> str:
    esc = html.escape
    rows = []
    flat: dict[str, float] = {"correctness": scores["correctness"], **scores["metrics"]}
    flat.update({f"question type: {k}": v for k, v in scores["by_question_type"].items()})
    flat.update({f"component: {k}": v for k, v in scores["by_component"].items()})
    flat.update({f"topic: {k}": v for k, v in scores["by_topic"].items()})
    baseline_keys = {
        "correctness": "correctness",
        **{m: m for m in scores["metrics"]},
        **{f"question type: {k}": f"question_type.{k}" for k in scores["by_question_type"]},
        **{f"component: {k}": f"component.{k}" for k in scores["by_component"]},
        **{f"topic: {k}": f"topic.{k}" for k in scores["by_topic"]},
    }
    regressed = {r["metric"] for r in regressions}
    for label, value in flat.items():
        key = baseline_keys[label]
        before = baseline.get(key)
        mark = ' class="regressed"' if key in regressed else ""
        before_cell = f"{before:.3f}" if before is not None else "&mdash;"
        rows.append(
            f"<tr{mark}><td>{esc(label)}</td><td>{value:.3f}</td><td>{before_cell}</td></tr>"
        )
    alerts = "".join(f"<li>{esc(str(r['message']))}</li>" for r in regressions)
    trend = ""
    if trend_png is not None and trend_png.is_file():
        encoded = base64.b64encode(trend_png.read_bytes()).decode()
        trend = (
            f'<h3>Trend</h3><img alt="score trend of {esc(service)}" '
            f'src="data:image/png;base64,{encoded}" style="max-width:100%">'
        )
    state = (
        f'<p class="alert">Regression: {len(regressions)} watched score(s) dropped</p>'
        f"<ul>{alerts}</ul>"
        if regressions
        else '<p class="ok">No regression against the baseline.</p>'
    )
    testset_note = "reused from an earlier night" if reused_testset else "generated in this run"
    return f"""
<section id="somatrace-summary" style="font-family:sans-serif;background:#14191b;color:#eee;
  padding:1em 1.5em;margin-bottom:1em;border:1px solid #555;border-radius:4px">
<style>
#somatrace-summary h2, #somatrace-summary h3 {{color:#eee;background:none;padding:0;
  margin:0.6em 0 0.4em 0;font-weight:bold}}
#somatrace-summary h2 {{font-size:1.3em}} #somatrace-summary h3 {{font-size:1.1em}}
#somatrace-summary table {{border-collapse:collapse}}
#somatrace-summary td, #somatrace-summary th {{border:1px solid #555;padding:2px 10px}}
#somatrace-summary tr.regressed td {{color:#ff7b72;font-weight:bold}}
#somatrace-summary .alert {{color:#ff7b72;font-weight:bold}}
#somatrace-summary .ok {{color:#7ee787}}
</style>
<h2>somatrace nightly RAG evaluation: {esc(service)}</h2>
<p>Run <code>{esc(run_id)}</code> on testset <code>{esc(testset_id)}</code>
({testset_note}), {scores["num_questions"]} questions.</p>
{state}
<table><tr><th>score</th><th>this run</th><th>baseline</th></tr>
{"".join(rows)}
</table>
{trend}
</section>
"""


def write_report(report_html: str, summary: str, path: Path) -> Path:
    document = make_self_contained(report_html)
    if MAIN_DIV in document:
        document = document.replace(MAIN_DIV, summary + MAIN_DIV, 1)
    else:
        document = summary + document
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
