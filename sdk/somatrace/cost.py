"""Exact LLM cost attribution: the public API and the span attributes that carry a cost.

Prices come in layers (:mod:`somatrace.prices`): your entries, the project's self-hosted
models, then the maintained ``genai-prices`` dataset; the arithmetic is exact ``Decimal``
(:mod:`somatrace.costing`). On each LLM span the spine writes (read by Langfuse in this order,
``OtelIngestionProcessor.ts:3011-3033``):

- ``langfuse.observation.cost_details``: JSON ``{"input", "input_cached_tokens",
  "input_cache_creation", "output", "total"}`` (exact decimals as JSON numbers);
- ``gen_ai.usage.cost``: the total as a float (what Langfuse servers before v3.141.0 read);
- ``somatrace.cost.total``: the exact decimal string (sum these to reconcile), with
  ``somatrace.cost.currency`` (always USD), ``.price_model``, ``.source``, ``.status``.

A model without a price is ``somatrace.cost.status = "unpriced"``; what else it carries
depends on ``SOMATRACE_UNPRICED`` (see :func:`unpriced_attributes`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Mapping
from typing import Any

from somatrace.costing import Cost, Usage, decimal_text
from somatrace.policy import UNPRICED_ZERO_WITH_FLAG
from somatrace.prices import CurrencyRate, ModelPrice, PriceError, PriceTable, Unpriced

__all__ = [
    "Cost",
    "CurrencyRate",
    "ModelPrice",
    "PriceError",
    "PriceTable",
    "Unpriced",
    "Usage",
    "compute",
    "cost_attributes",
    "decimal_text",
    "lookup",
    "register_price",
    "unpriced_attributes",
]

RESPONSE_MODEL = "gen_ai.response.model"
REQUEST_MODEL = "gen_ai.request.model"
PROVIDER_ATTRIBUTES = ("gen_ai.provider.name", "gen_ai.system")

COST_ATTRIBUTE = "gen_ai.usage.cost"
COST_DETAILS_ATTRIBUTE = "langfuse.observation.cost_details"
COST_TOTAL_ATTRIBUTE = "somatrace.cost.total"
COST_CURRENCY_ATTRIBUTE = "somatrace.cost.currency"
COST_MODEL_ATTRIBUTE = "somatrace.cost.price_model"
COST_SOURCE_ATTRIBUTE = "somatrace.cost.source"
COST_STATUS_ATTRIBUTE = "somatrace.cost.status"
COST_UNPRICED_REASON_ATTRIBUTE = "somatrace.cost.unpriced_reason"
COST_ORIGINAL_PREFIX = "somatrace.cost.original."


def model_of(attributes: Mapping[str, Any]) -> str | None:
    model = attributes.get(RESPONSE_MODEL) or attributes.get(REQUEST_MODEL)
    return str(model) if model else None


def provider_of(attributes: Mapping[str, Any]) -> str | None:
    for name in PROVIDER_ATTRIBUTES:
        if attributes.get(name):
            return str(attributes[name]).lower()
    return None


def cost_attributes(cost: Cost) -> dict[str, Any]:
    """The span attributes that carry a computed cost."""
    attributes: dict[str, Any] = {
        COST_DETAILS_ATTRIBUTE: cost.details_json(),
        COST_ATTRIBUTE: float(cost.total),
        COST_TOTAL_ATTRIBUTE: decimal_text(cost.total),
        COST_CURRENCY_ATTRIBUTE: cost.currency,
        COST_MODEL_ATTRIBUTE: cost.price_model,
        COST_SOURCE_ATTRIBUTE: cost.source,
        COST_STATUS_ATTRIBUTE: "priced",
    }
    if cost.conversion is not None:
        original = cost.conversion
        attributes.update(
            {
                COST_ORIGINAL_PREFIX + "currency": original.currency,
                COST_ORIGINAL_PREFIX + "total": decimal_text(original.total),
                COST_ORIGINAL_PREFIX + "usd_per_unit": decimal_text(original.rate),
                COST_ORIGINAL_PREFIX + "rate_date": original.rate_date.isoformat(),
                COST_ORIGINAL_PREFIX + "rate_source": original.rate_source,
            }
        )
    return attributes


def unpriced_attributes(unpriced: Unpriced, mode: str) -> dict[str, Any]:
    """``leave-to-langfuse``: only the flag (Langfuse then prices the span from its own model
    table, a second price source); ``zero-with-flag``: an explicit zero cost, so Langfuse's
    inference is replaced (a provided cost wins, IngestionService/index.ts:1630-1656) and every
    cost on the dashboard comes from the spine. Servers before v3.141.0 ignore a 0 cost."""
    attributes: dict[str, Any] = {
        COST_STATUS_ATTRIBUTE: "unpriced",
        COST_UNPRICED_REASON_ATTRIBUTE: unpriced.reason,
    }
    if mode == UNPRICED_ZERO_WITH_FLAG:
        attributes[COST_DETAILS_ATTRIBUTE] = '{"total":0}'
        attributes[COST_ATTRIBUTE] = 0.0
        attributes[COST_TOTAL_ATTRIBUTE] = "0"
    return attributes


_DEFAULT_TABLE: PriceTable | None = None
_DEFAULT_LOCK = threading.Lock()


def default_table() -> PriceTable:
    """The process-wide table ``init_tracing`` uses (layers + SOMATRACE_PRICES_FILE)."""
    global _DEFAULT_TABLE
    with _DEFAULT_LOCK:
        if _DEFAULT_TABLE is None:
            _DEFAULT_TABLE = PriceTable.default(os.environ.get("SOMATRACE_PRICES_FILE") or None)
        return _DEFAULT_TABLE


def set_default_table(table: PriceTable) -> None:
    global _DEFAULT_TABLE
    with _DEFAULT_LOCK:
        _DEFAULT_TABLE = table


def lookup(model_name: str, on: dt.date | None = None) -> ModelPrice | None:
    """The per-million prices of ``model_name`` in the process-wide table."""
    return default_table().lookup(model_name, on)


def compute(
    model_name: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    on: dt.date | None = None,
) -> Cost | None:
    """The exact cost of one call with the process-wide table, ``None`` if unpriced."""
    return default_table().cost(
        model_name,
        input_tokens,
        output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        on=on,
    )


def register_price(price: ModelPrice | Mapping[str, Any]) -> ModelPrice:
    """Add a price to the process-wide table (wins over every other layer)."""
    return default_table().add(price)
