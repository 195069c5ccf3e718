"""Token usage and the exact cost of one call: the arithmetic, in ``Decimal``.

Token accounting follows OpenLLMetry 0.62: ``gen_ai.usage.input_tokens`` *includes* cache
reads (``gen_ai.usage.cache_read.input_tokens``) and cache writes
(``gen_ai.usage.cache_creation.input_tokens``) for OpenAI and Anthropic alike, as genai-prices'
``input_tokens`` does (genai_prices/decompose.py: cache tokens are leaves of input), so

    cost = (input - cache_read - cache_write) * input_price
         + cache_read * cache_read_price  (input price when the model has none)
         + cache_write * cache_write_price  (input price when the model has none)
         + output * output_price,  all divided by 1,000,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from somatrace.policy import COST_CURRENCY

PER_TOKENS = Decimal(1_000_000)
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
LEGACY_INPUT_TOKENS = "gen_ai.usage.prompt_tokens"
LEGACY_OUTPUT_TOKENS = "gen_ai.usage.completion_tokens"
CACHE_READ_TOKENS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE_TOKENS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
# The keys of Langfuse's own usage details for the same token kinds
# (OtelIngestionProcessor.ts:2974-2998), so cost and usage line up in its UI.
DETAIL_INPUT = "input"
DETAIL_CACHE_READ = "input_cached_tokens"
DETAIL_CACHE_WRITE = "input_cache_creation"
DETAIL_OUTPUT = "output"
DETAIL_OTHER = "other"
DETAIL_TOTAL = "total"


@dataclass(frozen=True)
class Usage:
    """Token counts of one LLM call (``input`` includes cache reads and writes)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def uncached_input(self) -> int:
        cached = self.cache_read + self.cache_write
        # If an instrumentation reports input without the cached part, do not go negative.
        return self.input - cached if self.input >= cached else self.input

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> Usage | None:
        """Read the usage from span attributes, or ``None`` when the span has none."""
        input_tokens = attributes.get(INPUT_TOKENS, attributes.get(LEGACY_INPUT_TOKENS))
        output_tokens = attributes.get(OUTPUT_TOKENS, attributes.get(LEGACY_OUTPUT_TOKENS))
        if input_tokens is None and output_tokens is None:
            return None

        def count(*names: str) -> int:
            for name in names:
                value = attributes.get(name)
                if value is not None:
                    return max(int(value), 0)
            return 0

        return cls(
            input=count(INPUT_TOKENS, LEGACY_INPUT_TOKENS),
            output=count(OUTPUT_TOKENS, LEGACY_OUTPUT_TOKENS),
            cache_read=count(*CACHE_READ_TOKENS),
            cache_write=count(*CACHE_WRITE_TOKENS),
        )


@dataclass(frozen=True)
class Conversion:
    """A price quoted in another currency, converted to USD by a dated rate."""

    currency: str
    total: Decimal  # in ``currency``
    rate: Decimal  # USD per unit of ``currency``
    rate_date: dt.date
    rate_source: str = ""


@dataclass(frozen=True)
class Cost:
    """The exact cost of one call in USD, split the way Langfuse's ``cost_details`` is."""

    model: str  # the model name the span reported
    price_model: str  # the price entry that matched
    source: str  # where that price comes from
    input: Decimal
    input_cache_read: Decimal
    input_cache_creation: Decimal
    output: Decimal
    other: Decimal = Decimal(0)  # dataset units beyond these (requests, audio...)
    conversion: Conversion | None = None
    currency: str = COST_CURRENCY

    @property
    def total(self) -> Decimal:
        return (
            self.input
            + self.input_cache_read
            + self.input_cache_creation
            + self.output
            + self.other
        )

    def details(self) -> dict[str, Decimal]:
        details = {
            DETAIL_INPUT: self.input,
            DETAIL_CACHE_READ: self.input_cache_read,
            DETAIL_CACHE_WRITE: self.input_cache_creation,
            DETAIL_OUTPUT: self.output,
        }
        if self.other:
            details[DETAIL_OTHER] = self.other
        details[DETAIL_TOTAL] = self.total
        return details

    def details_json(self) -> str:
        """``cost_details`` as JSON whose numbers are the exact decimals (no float rounding).

        Langfuse keeps only numbers >= 0 from it (packages/shared/src/server/ingestion/
        types.ts:71-83), so the values are JSON numbers, never strings.
        """
        return (
            "{"
            + ",".join(f'"{key}":{decimal_text(value)}' for key, value in self.details().items())
            + "}"
        )


def decimal_text(value: Decimal) -> str:
    """A plain (non-exponent) decimal string with no trailing zeros: ``0.0025``, ``12``."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


class PerMillionPrices(Protocol):
    """Prices per 1,000,000 tokens."""

    @property
    def input(self) -> Decimal: ...
    @property
    def output(self) -> Decimal: ...
    @property
    def cached_input(self) -> Decimal | None: ...
    @property
    def cache_write(self) -> Decimal | None: ...


def token_parts(
    prices: PerMillionPrices, usage: Usage
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(uncached input, cache read, cache write, output) costs, exact."""
    cache_read_price = prices.cached_input if prices.cached_input is not None else prices.input
    cache_write_price = prices.cache_write if prices.cache_write is not None else prices.input
    return (
        Decimal(usage.uncached_input) * prices.input / PER_TOKENS,
        Decimal(usage.cache_read) * cache_read_price / PER_TOKENS,
        Decimal(usage.cache_write) * cache_write_price / PER_TOKENS,
        Decimal(usage.output) * prices.output / PER_TOKENS,
    )
