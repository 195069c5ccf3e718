"""The digest from exported spans: the SQLite store of somatrace's OTLP receiver
(``python -m somatrace.checks.runtime.receiver --store FILE``). Exact: each LLM span's
``somatrace.cost.total`` is a decimal string, summed as ``Decimal``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from somatrace import metric_names as names
from somatrace.checks.digest.model import Digest
from somatrace.cost import (
    COST_CURRENCY_ATTRIBUTE,
    COST_STATUS_ATTRIBUTE,
    COST_TOTAL_ATTRIBUTE,
    Usage,
    model_of,
)
from somatrace.tags import ASSOCIATION_PREFIX


def digest_from_spans(store_path: Path, start: dt.datetime, end: dt.datetime) -> Digest:
    from somatrace.checks.runtime.receiver import TelemetryStore

    store = TelemetryStore(store_path)
    try:
        spans = store.spans()
    finally:
        store.close()
    digest = Digest(start, end, "spans")
    low, high = _nanos(start), _nanos(end)
    for span in spans:
        ended = int(span.get("end_time_unix_nano") or 0)
        if low <= ended < high:
            add_span(digest, span.get("attributes") or {})
    return digest


def add_span(digest: Digest, attributes: dict[str, Any]) -> None:
    model = model_of(attributes)
    usage = Usage.from_attributes(attributes)
    if model is None and usage is None:
        return

    def tag(name: str) -> str:
        value = attributes.get(ASSOCIATION_PREFIX + name)
        return "" if value is None else str(value)

    tenant = digest.tenant(tag(names.TENANT_ID))
    tenant.calls += 1
    if usage is None:
        return
    tenant.input_tokens += usage.input
    tenant.output_tokens += usage.output
    if attributes.get(COST_STATUS_ATTRIBUTE) != "priced":
        tenant.unpriced_calls += 1
        return
    try:
        amount = Decimal(str(attributes[COST_TOTAL_ATTRIBUTE]))
    except (KeyError, InvalidOperation):
        tenant.unpriced_calls += 1
        return
    currency = str(attributes.get(COST_CURRENCY_ATTRIBUTE) or "USD")
    tenant.add_cost(tag(names.WORKFLOW_NAME), model or "", currency, amount)


def _nanos(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000
