"""The digest as people read it: a subject line and a plain-text body."""

from __future__ import annotations

from somatrace.checks.digest.model import Digest, Money, money_text


def _money(money: Money) -> str:
    text = money_text(money)
    return ", ".join(f"{amount} {currency}" for currency, amount in text.items()) or "0"


def subject(digest: Digest) -> str:
    return (
        f"LLM cost digest {digest.day}: {_money(digest.total)} across "
        f"{len(digest.tenants)} tenant(s)"
    )


def text_body(digest: Digest) -> str:
    lines = [
        subject(digest),
        "",
        f"Window {digest.start:%Y-%m-%d %H:%M} to {digest.end:%Y-%m-%d %H:%M} UTC, "
        f"from {digest.source}. Amounts are exact decimals.",
        "",
        f"{'tenant':<24} {'calls':>7} {'input':>9} {'output':>9} {'unpriced':>8}  cost",
    ]
    for name in sorted(digest.tenants):
        t = digest.tenants[name]
        lines.append(
            f"{name:<24} {t.calls:>7} {t.input_tokens:>9} {t.output_tokens:>9} "
            f"{t.unpriced_calls:>8}  {_money(t.cost)}"
        )
    lines.append(f"{'total':<24} {'':>7} {'':>9} {'':>9} {'':>8}  {_money(digest.total)}")
    for name in sorted(digest.tenants):
        t = digest.tenants[name]
        lines += ["", f"{name} by workflow:"]
        lines += [f"  {wf}: {_money(m)}" for wf, m in sorted(t.by_workflow.items())]
        lines += [f"{name} by model:"]
        lines += [f"  {model}: {_money(m)}" for model, m in sorted(t.by_model.items())]
    lines += [f"note: {note}" for note in digest.notes]
    return "\n".join(lines) + "\n"
