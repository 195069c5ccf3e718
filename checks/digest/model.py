"""The digest's figures: exact ``Decimal`` amounts per currency, summed per tenant, with
breakdowns by workflow and model."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from somatrace.cost import decimal_text

UNTAGGED = "(untagged)"  # spans without the tag: their cost is shown, not dropped
TEMPLATE = "observability-cost-digest"

Money = dict[str, Decimal]  # currency -> amount


def _add(money: Money, currency: str, amount: Decimal) -> None:
    money[currency] = money.get(currency, Decimal(0)) + amount


def money_text(money: Money) -> dict[str, str]:
    return {currency: decimal_text(amount) for currency, amount in sorted(money.items())}


@dataclass
class TenantCost:
    tenant_id: str
    cost: Money = field(default_factory=dict)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    unpriced_calls: int = 0
    by_workflow: dict[str, Money] = field(default_factory=lambda: defaultdict(dict))
    by_model: dict[str, Money] = field(default_factory=lambda: defaultdict(dict))

    def add_cost(self, workflow: str, model: str, currency: str, amount: Decimal) -> None:
        _add(self.cost, currency, amount)
        _add(self.by_workflow[workflow or UNTAGGED], currency, amount)
        _add(self.by_model[model or "(unknown)"], currency, amount)

    def to_dict(self) -> dict[str, object]:
        return {
            "tenant_id": self.tenant_id,
            "cost": money_text(self.cost),
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "unpriced_calls": self.unpriced_calls,
            "by_workflow": {k: money_text(v) for k, v in sorted(self.by_workflow.items())},
            "by_model": {k: money_text(v) for k, v in sorted(self.by_model.items())},
        }


@dataclass
class Digest:
    start: dt.datetime
    end: dt.datetime
    source: str  # "prometheus" | "spans"
    tenants: dict[str, TenantCost] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def day(self) -> str:
        return self.start.date().isoformat()

    def tenant(self, tenant_id: str) -> TenantCost:
        name = tenant_id or UNTAGGED
        if name not in self.tenants:
            self.tenants[name] = TenantCost(name)
        return self.tenants[name]

    @property
    def total(self) -> Money:
        total: Money = {}
        for tenant in self.tenants.values():
            for currency, amount in tenant.cost.items():
                _add(total, currency, amount)
        return total

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.day,
            "window": {"start": _iso(self.start), "end": _iso(self.end)},
            "source": self.source,
            "total": money_text(self.total),
            "calls": sum(t.calls for t in self.tenants.values()),
            "tenants": [self.tenants[name].to_dict() for name in sorted(self.tenants)],
            "notes": list(self.notes),
        }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)
