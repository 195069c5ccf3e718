"""The terminal summary: verdict, failures, per-call checks, latency table and histogram,
per-tenant totals and the reconciliation."""

from __future__ import annotations

from decimal import Decimal

from somatrace.checks.smoke.analysis import LatencySummary
from somatrace.checks.smoke.assertions import CallCheck
from somatrace.checks.smoke.runner import SmokeResult
from somatrace.checks.smoke.spans import COST_CURRENCY, COST_STATUS, attribute, span_cost
from somatrace.cost import decimal_text

LIST_ALL_CALLS_UP_TO = 10
LIST_FAILURES_UP_TO = 40
HISTOGRAM_BINS = 10
BAR_WIDTH = 40


def _money(amounts: dict[str, Decimal]) -> str:
    if not amounts:
        return "0"
    return ", ".join(f"{decimal_text(v)} {c}" for c, v in sorted(amounts.items()))


def _ms(value: Decimal) -> str:
    return f"{value:.1f}"


def histogram_lines(values: list[Decimal], bins: int = HISTOGRAM_BINS) -> list[str]:
    """A text histogram of latencies (ms): equal-width bins, one bar per bin."""
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [f"  {_ms(low):>9} ms             | {'#' * BAR_WIDTH} {len(values)}"]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        index = min(int((value - low) / width), bins - 1)
        counts[index] += 1
    peak = max(counts)
    lines = []
    for index, count in enumerate(counts):
        start = low + width * index
        bar = "#" * max(1 if count else 0, round(BAR_WIDTH * count / peak))
        lines.append(f"  {_ms(start):>9} - {_ms(start + width):>9} ms | {bar} {count}")
    return lines


def _latency_row(kind: str, name: str, summary: LatencySummary) -> str:
    p = summary.percentiles
    return (
        f"  {kind:<9} {name:<22} {summary.count:>5} {_ms(p[50]):>9} {_ms(p[95]):>9} "
        f"{_ms(p[99]):>9} {_ms(summary.maximum):>9}"
    )


def render(result: SmokeResult) -> str:
    failures = result.all_failures
    spans = sum(len(run.spans) for run in result.runs)
    verdict = "PASSED" if not failures else f"FAILED ({len(failures)} problem(s))"
    lines = [
        f"somatrace smoke: {verdict}",
        f"  run {result.run_id}: {len(result.runs)} script(s), {len(result.calls)} LLM call(s), "
        f"{spans} span(s), {result.timings.get('total_s', 0):.1f} s",
        f"  LLM      {result.llm['base_url']} model {result.llm['model']} "
        + (
            f"(embedded llama.cpp, ready in {result.llm['startup_s']:.1f} s)"
            if result.llm["local"]
            else "(external)"
        ),
        f"  receiver {result.receiver['url']} "
        + ("(embedded)" if result.receiver["local"] else "(external)"),
    ]
    for run in result.runs:
        lines.append(
            f"  script   {run.script}: exit code {run.exit_code}, {len(run.calls)} call(s) "
            f"for {run.planned_workflows} planned workflow(s), {len(run.spans)} span(s), "
            f"{run.duration_s:.1f} s"
        )
    if failures:
        lines += ["", "Failures:"]
        for failure in failures[:LIST_FAILURES_UP_TO]:
            text = failure.message.replace("\n", "\n      ")
            lines.append(f"  [{failure.check}] {text}")
        if len(failures) > LIST_FAILURES_UP_TO:
            lines.append(
                f"  ... and {len(failures) - LIST_FAILURES_UP_TO} more (all in report.json "
                "and junit.xml with --report-dir)"
            )

    lines += ["", f"LLM calls ({len(result.calls)}):"]
    shown = (
        result.calls
        if len(result.calls) <= LIST_ALL_CALLS_UP_TO
        else [call for call in result.calls if not call.ok]
    )
    for call in shown:
        lines.append("  " + _call_line(call))
    hidden = len(result.calls) - len(shown)
    if hidden:
        lines.append(f"  ... and {hidden} more call(s), all ok")

    summaries = result.latencies.summaries()
    if summaries:
        lines += [
            "",
            "Latency (ms, nearest-rank percentiles):",
            f"  {'':<9} {'workflow':<22} {'n':>5} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}",
        ]
        for kind, groups in summaries.items():
            for name, summary in groups.items():
                lines.append(_latency_row(kind, name, summary))
        lines += ["", "Workflow latency histogram (ms):"]
        lines += histogram_lines(result.latencies.all_workflows())

    if result.tenants:
        lines += [
            "",
            "Per tenant:",
            f"  {'tenant':<16} {'workflows':>9} {'calls':>6} {'in tok':>8} {'out tok':>8}  cost",
        ]
        for name, totals in result.tenants.items():
            unpriced = f" (+{totals.unpriced_calls} unpriced)" if totals.unpriced_calls else ""
            lines.append(
                f"  {name:<16} {len(totals.workflows):>9} {totals.calls:>6} "
                f"{totals.input_tokens:>8} {totals.output_tokens:>8}  {_money(totals.cost)}"
                f"{unpriced}"
            )
    reconciliation = result.reconciliation
    if reconciliation.ok:
        lines += [
            "",
            "Cost reconciliation: exact. Sum over spans "
            f"{_money(reconciliation.grand_total)} == sum of tenant totals "
            f"{_money(reconciliation.sum_of_tenants)} == API usage x prices "
            f"{_money(reconciliation.expected_total)}",
        ]
    else:
        lines += ["", "Cost reconciliation: MISMATCH"]
        lines += [f"  {message}" for message in reconciliation.mismatches]
    return "\n".join(lines) + "\n"


def _call_line(call: CallCheck) -> str:
    status = "ok  " if call.ok else "FAIL"
    if call.span is None:
        return f"{status} {call.label}: no span"
    cost = span_cost(call.span)
    if attribute(call.span, COST_STATUS) == "unpriced":
        cost_text = "unpriced"
    elif cost is not None:
        cost_text = f"{decimal_text(cost)} {attribute(call.span, COST_CURRENCY)}"
    else:
        cost_text = "no cost"
    return (
        f"{status} {call.label}: {call.span['name']} {call.record.input_tokens} in / "
        f"{call.record.output_tokens} out tokens, {cost_text}"
    )
