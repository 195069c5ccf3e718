"""The per-tenant daily cost digest in Markdown: the FinOps e-mail, ready to send.

It opens with a ``Subject:`` line, then one table of tenants (workflows, calls, tokens, exact
cost, unpriced calls) with a total row, one breakdown by workflow per tenant, the prices
used (with their sources) and the reconciliation statement.
"""

from __future__ import annotations

from decimal import Decimal

from somatrace.checks.smoke.runner import SmokeResult
from somatrace.cost import decimal_text


def _money(amounts: dict[str, Decimal]) -> str:
    if not amounts:
        return "0"
    return ", ".join(f"{decimal_text(v)} {c}" for c, v in sorted(amounts.items()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: SmokeResult) -> str:
    day = result.started_at.date().isoformat()
    reconciliation = result.reconciliation
    services = sorted({call.record.service for call in result.calls if call.record.service})
    total_workflows = sum(len(t.workflows) for t in result.tenants.values())
    lines = [
        f"Subject: LLM cost digest {day}: {_money(reconciliation.sum_of_tenants)} across "
        f"{len(result.tenants)} tenant(s)",
        "",
        f"# LLM cost digest, {day}",
        "",
        f"From somatrace smoke run `{result.run_id}`"
        + (f" of {', '.join(f'`{s}`' for s in services)}" if services else "")
        + f": {total_workflows} workflow(s), {len(result.calls)} LLM call(s).",
        "Amounts are exact decimals: each call's tokens times the price table, summed per "
        "tenant from the spans' `somatrace.cost.total`.",
        "",
        "| Tenant | Workflows | LLM calls | Input tokens | Output tokens | Cost | Unpriced calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    totals_row = [0, 0, 0, 0, 0]
    for name, totals in result.tenants.items():
        lines.append(
            f"| {_cell(name)} | {len(totals.workflows)} | {totals.calls} | "
            f"{totals.input_tokens} | {totals.output_tokens} | {_money(totals.cost)} | "
            f"{totals.unpriced_calls} |"
        )
        for index, value in enumerate(
            (
                len(totals.workflows),
                totals.calls,
                totals.input_tokens,
                totals.output_tokens,
                totals.unpriced_calls,
            )
        ):
            totals_row[index] += value
    lines.append(
        f"| **Total** | {totals_row[0]} | {totals_row[1]} | {totals_row[2]} | {totals_row[3]} | "
        f"**{_money(reconciliation.sum_of_tenants)}** | {totals_row[4]} |"
    )
    for name, totals in result.tenants.items():
        lines += ["", f"## {name}", "", "| Workflow | Cost |", "|---|---:|"]
        for workflow, amounts in sorted(totals.by_workflow.items()):
            lines.append(f"| {_cell(workflow)} | {_money(amounts)} |")
        if totals.unpriced_models:
            lines.append("")
            lines.append(
                f"{totals.unpriced_calls} call(s) to unpriced model(s) "
                f"{', '.join(f'`{m}`' for m in sorted(totals.unpriced_models))}: no cost recorded."
            )
    models = sorted({call.record.model for call in result.calls})
    lines += [
        "",
        "## Prices used",
        "",
        "| Model | Input per 1M tokens | Output per 1M tokens | Since | Source |",
        "|---|---:|---:|---|---|",
    ]
    for model in models:
        price = result.prices.lookup(model)
        if price is None:
            lines.append(f"| `{_cell(model)}` | unpriced | unpriced | | |")
        else:
            lines.append(
                f"| `{_cell(model)}` | {decimal_text(price.input)} {price.currency} | "
                f"{decimal_text(price.output)} {price.currency} | {price.effective_date} | "
                f"{_cell(price.source)} |"
            )
    lines.append("")
    if reconciliation.ok:
        lines.append(
            "Reconciliation: exact. The tenant totals sum to "
            f"{_money(reconciliation.sum_of_tenants)}, the sum over all LLM spans is "
            f"{_money(reconciliation.grand_total)}, and the LLM API's token usage at these "
            f"prices costs {_money(reconciliation.expected_total)}."
        )
    else:
        lines.append("Reconciliation: **MISMATCH**, do not send before it is explained:")
        lines += [f"- {message}" for message in reconciliation.mismatches]
    return "\n".join(lines) + "\n"
