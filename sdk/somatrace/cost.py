"""Exact LLM cost attribution: a price table shipped as data, computed with ``Decimal``.

Prices are per 1,000,000 tokens, with a currency and the date from which they apply.
Models are matched like Langfuse model definitions: each entry has a ``match_pattern``
regular expression tested (``re.fullmatch``) against the model name the span reports
(``gen_ai.response.model``, else ``gen_ai.request.model``).

Which entry wins when several match: entries you add (``SOMATRACE_PRICES_FILE``,
``init_tracing(prices_file=...)`` or :meth:`PriceTable.add`) before the shipped ones,
the last added first; among entries of the same origin the most recent
``effective_date`` that is not in the future.

Token accounting follows OpenLLMetry 0.62: ``gen_ai.usage.input_tokens`` *includes*
cache reads (``gen_ai.usage.cache_read.input_tokens``) and cache writes
(``gen_ai.usage.cache_creation.input_tokens``) for both OpenAI and Anthropic, so

    cost = (input - cache_read - cache_write) * input_price
         + cache_read * cached_input_price  (input price when the model has none)
         + cache_write * cache_write_price  (input price when the model has none)
         + output * output_price,  all divided by 1,000,000.

A model without a price gets no cost: it is reported as unpriced, never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

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
RESPONSE_MODEL = "gen_ai.response.model"
REQUEST_MODEL = "gen_ai.request.model"

COST_ATTRIBUTE = "gen_ai.usage.cost"
COST_DETAILS_ATTRIBUTE = "langfuse.observation.cost_details"
COST_TOTAL_ATTRIBUTE = "somatrace.cost.total"
COST_CURRENCY_ATTRIBUTE = "somatrace.cost.currency"
COST_MODEL_ATTRIBUTE = "somatrace.cost.price_model"
COST_STATUS_ATTRIBUTE = "somatrace.cost.status"


class PriceError(ValueError):
    """A price entry is malformed; the message names the entry and the field."""


def _decimal(entry: str, name: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise PriceError(f"{entry}: {name} must be a string or integer, not a float ({value!r})")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PriceError(f"{entry}: {name}={value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise PriceError(f"{entry}: {name}={value!r} must be a non-negative number")
    return number


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model (pattern) per 1,000,000 tokens."""

    model: str
    match_pattern: str
    input: Decimal
    output: Decimal
    currency: str
    effective_date: dt.date
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    source: str = ""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_regex", re.compile(self.match_pattern))
        except re.error as error:
            raise PriceError(f"{self.model}: match_pattern is not a valid regex: {error}") from None

    def matches(self, model_name: str) -> bool:
        return self._regex.fullmatch(model_name) is not None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ModelPrice:
        model = str(data.get("model") or data.get("match_pattern") or "?")
        for required in ("input", "output", "currency", "effective_date"):
            if required not in data:
                raise PriceError(f"price entry {model!r} lacks {required!r}")
        pattern = data.get("match_pattern") or f"(?i)^{re.escape(model)}$"
        try:
            effective = dt.date.fromisoformat(str(data["effective_date"]))
        except ValueError:
            raise PriceError(
                f"{model}: effective_date={data['effective_date']!r} is not YYYY-MM-DD"
            ) from None
        optional = {
            name: _decimal(model, name, data[name])
            for name in ("cached_input", "cache_write")
            if data.get(name) is not None
        }
        return cls(
            model=model,
            match_pattern=str(pattern),
            input=_decimal(model, "input", data["input"]),
            output=_decimal(model, "output", data["output"]),
            currency=str(data["currency"]).upper(),
            effective_date=effective,
            source=str(data.get("source", "")),
            **optional,
        )


@dataclass(frozen=True)
class Usage:
    """Token counts of one LLM call (``input`` includes cache reads and writes)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

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
class Cost:
    """The exact cost of one call, split the way Langfuse's ``cost_details`` expects."""

    model: str
    price: ModelPrice
    input: Decimal
    input_cache_read: Decimal
    input_cache_creation: Decimal
    output: Decimal

    @property
    def total(self) -> Decimal:
        return self.input + self.input_cache_read + self.input_cache_creation + self.output

    @property
    def currency(self) -> str:
        return self.price.currency

    def details(self) -> dict[str, Decimal]:
        details = {"input": self.input, "output": self.output}
        if self.input_cache_read:
            details["input_cache_read"] = self.input_cache_read
        if self.input_cache_creation:
            details["input_cache_creation"] = self.input_cache_creation
        details["total"] = self.total
        return details

    def details_json(self) -> str:
        """``cost_details`` as JSON whose numbers are the exact decimals (no float rounding)."""
        return (
            "{"
            + ",".join(f'"{key}":{decimal_text(value)}' for key, value in self.details().items())
            + "}"
        )


def decimal_text(value: Decimal) -> str:
    """A plain (non-exponent) decimal string with no trailing zeros: ``0.0025``, ``12``."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


class PriceTable:
    """Model prices: the shipped table plus whatever you add. Thread-safe."""

    def __init__(
        self, shipped: Iterable[ModelPrice] = (), added: Iterable[ModelPrice] = ()
    ) -> None:
        self._shipped = list(shipped)
        self._added = list(added)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, dt.date], ModelPrice | None] = {}

    @classmethod
    def default(cls, extra_file: str | Path | None = None) -> PriceTable:
        """The shipped prices, plus those in ``extra_file`` (JSON or YAML) if given."""
        table = cls(load_price_entries(shipped_prices_text(), "shipped prices.json"))
        if extra_file:
            table.add_file(extra_file)
        return table

    def add(self, price: ModelPrice | Mapping[str, Any]) -> ModelPrice:
        """Add (or override) a price; it takes precedence over every shipped entry."""
        entry = price if isinstance(price, ModelPrice) else ModelPrice.from_mapping(price)
        with self._lock:
            self._added.insert(0, entry)
            self._cache.clear()
        return entry

    def add_file(self, path: str | Path) -> list[ModelPrice]:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise PriceError(f"cannot read the price file {file}: {error}") from None
        entries = load_price_entries(text, str(file))
        for entry in entries:
            self.add(entry)
        return entries

    def entries(self) -> list[ModelPrice]:
        with self._lock:
            return [*self._added, *self._shipped]

    def lookup(self, model_name: str, on: dt.date | None = None) -> ModelPrice | None:
        """The price that applies to ``model_name`` on date ``on`` (default: today)."""
        day = on or _today()
        key = (model_name, day)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            added, shipped = list(self._added), list(self._shipped)
        found: ModelPrice | None = None
        for group in (added, shipped):
            candidates = [p for p in group if p.effective_date <= day and p.matches(model_name)]
            if candidates:
                # `max` keeps the first of equal dates: the most recently added entry.
                found = max(candidates, key=lambda p: p.effective_date)
                break
        with self._lock:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = found
        return found

    def cost(
        self,
        model_name: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        on: dt.date | None = None,
    ) -> Cost | None:
        """The exact cost of one call, or ``None`` when the model has no price."""
        price = self.lookup(model_name, on)
        if price is None:
            return None
        return compute_cost(
            price,
            Usage(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens),
            model_name,
        )


def compute_cost(price: ModelPrice, usage: Usage, model_name: str | None = None) -> Cost:
    cached = usage.cache_read + usage.cache_write
    # If an instrumentation reports input without the cached part, do not go negative.
    uncached = usage.input - cached if usage.input >= cached else usage.input
    cache_read_price = price.cached_input if price.cached_input is not None else price.input
    cache_write_price = price.cache_write if price.cache_write is not None else price.input
    return Cost(
        model=model_name or price.model,
        price=price,
        input=Decimal(uncached) * price.input / PER_TOKENS,
        input_cache_read=Decimal(usage.cache_read) * cache_read_price / PER_TOKENS,
        input_cache_creation=Decimal(usage.cache_write) * cache_write_price / PER_TOKENS,
        output=Decimal(usage.output) * price.output / PER_TOKENS,
    )


_TODAY: tuple[float, dt.date] = (0.0, dt.date.min)


def _today() -> dt.date:
    """Today's date, recomputed at most once a minute (lookups happen for every LLM span)."""
    global _TODAY
    import time

    now = time.monotonic()
    if now - _TODAY[0] > 60:
        _TODAY = (now, dt.date.today())
    return _TODAY[1]


def shipped_prices_text() -> str:
    return resources.files("somatrace").joinpath("data/prices.json").read_text(encoding="utf-8")


def load_price_entries(text: str, origin: str) -> list[ModelPrice]:
    """Parse a price document: ``{"models": [...]}`` or a bare list, in JSON or YAML."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PriceError(f"{origin} is neither JSON nor YAML: {error}") from None
    models = document.get("models") if isinstance(document, Mapping) else document
    if not isinstance(models, list):
        raise PriceError(f"{origin} must hold a list of price entries under 'models'")
    entries = []
    for position, item in enumerate(models, start=1):
        if not isinstance(item, Mapping):
            raise PriceError(f"{origin}: entry {position} is not a mapping")
        entries.append(ModelPrice.from_mapping(item))
    return entries


def model_of(attributes: Mapping[str, Any]) -> str | None:
    model = attributes.get(RESPONSE_MODEL) or attributes.get(REQUEST_MODEL)
    return str(model) if model else None


_DEFAULT_TABLE: PriceTable | None = None
_DEFAULT_LOCK = threading.Lock()


def default_table() -> PriceTable:
    """The process-wide table ``init_tracing`` uses (shipped prices + SOMATRACE_PRICES_FILE)."""
    global _DEFAULT_TABLE
    with _DEFAULT_LOCK:
        if _DEFAULT_TABLE is None:
            import os

            _DEFAULT_TABLE = PriceTable.default(os.environ.get("SOMATRACE_PRICES_FILE") or None)
        return _DEFAULT_TABLE


def set_default_table(table: PriceTable) -> None:
    global _DEFAULT_TABLE
    with _DEFAULT_LOCK:
        _DEFAULT_TABLE = table


def lookup(model_name: str, on: dt.date | None = None) -> ModelPrice | None:
    """The price of ``model_name`` in the process-wide table."""
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
    """Add a price to the process-wide table (wins over the shipped entries)."""
    return default_table().add(price)


def cost_attributes(cost: Cost) -> dict[str, Any]:
    """The span attributes that carry a computed cost."""
    return {
        COST_ATTRIBUTE: float(cost.total),
        COST_TOTAL_ATTRIBUTE: decimal_text(cost.total),
        COST_CURRENCY_ATTRIBUTE: cost.currency,
        COST_MODEL_ATTRIBUTE: cost.price.model,
        COST_DETAILS_ATTRIBUTE: cost.details_json(),
        COST_STATUS_ATTRIBUTE: "priced",
    }
