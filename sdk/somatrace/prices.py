"""Where prices come from, in layers (the first that knows the model wins):

1. entries you add: ``SOMATRACE_PRICES_FILE`` / ``init_tracing(prices_file=...)`` /
   :meth:`PriceTable.add` (negotiated rates, in-house models), the last added first;
2. the project's own table shipped with somatrace (``somatrace/data/prices.json``): the
   self-hosted models only, at internal compute rates;
3. the maintained dataset ``genai-prices`` (pinned in the ``sdk`` extra): vendor list prices
   in ``Decimal`` USD per million tokens, with cache prices, dated price changes and tiers.

Entries of layers 1-2 are matched like Langfuse model definitions: a ``match_pattern`` regular
expression tested with ``re.fullmatch`` against the model name the span reports; among entries
of one layer the most recent ``effective_date`` on or before the call's date wins. A price in
another currency than USD is converted by the latest ``currency_rates`` entry of that currency
effective on the call's date (rates are USD per unit, dated, with a source); without one the
call is unpriced, never shown as USD silently (Langfuse labels every cost USD).
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

from somatrace.costing import Conversion, Cost, Usage, token_parts
from somatrace.policy import COST_CURRENCY


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


def _date(entry: str, value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PriceError(f"{entry}: effective_date={value!r} is not YYYY-MM-DD") from None


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
        optional = {
            name: _decimal(model, name, data[name])
            for name in ("cached_input", "cache_write")
            if data.get(name) is not None
        }
        return cls(
            model=model,
            match_pattern=str(data.get("match_pattern") or f"(?i)^{re.escape(model)}$"),
            input=_decimal(model, "input", data["input"]),
            output=_decimal(model, "output", data["output"]),
            currency=str(data["currency"]).upper(),
            effective_date=_date(model, data["effective_date"]),
            source=str(data.get("source", "")),
            **optional,
        )


@dataclass(frozen=True)
class CurrencyRate:
    """``rate`` USD for one unit of ``currency``, from ``effective_date`` on."""

    currency: str
    rate: Decimal
    effective_date: dt.date
    source: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CurrencyRate:
        currency = str(data.get("currency") or "?").upper()
        name = f"currency rate {currency}"
        for required in ("currency", "usd_per_unit", "effective_date", "source"):
            if not data.get(required):
                raise PriceError(f"{name} lacks {required!r} (a rate needs its date and source)")
        rate = _decimal(name, "usd_per_unit", data["usd_per_unit"])
        if rate == 0:
            raise PriceError(f"{name}: usd_per_unit must be positive")
        return cls(currency, rate, _date(name, data["effective_date"]), str(data["source"]))


@dataclass(frozen=True)
class Unpriced:
    """Why a call has no price: ``no-price`` (no entry knows the model) or ``no-rate``."""

    reason: str
    detail: str = ""


def load_price_document(text: str, origin: str) -> tuple[list[ModelPrice], list[CurrencyRate]]:
    """Parse ``{"models": [...], "currency_rates": [...]}`` (or a bare list), JSON or YAML."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PriceError(f"{origin} is neither JSON nor YAML: {error}") from None
    models = document.get("models") if isinstance(document, Mapping) else document
    rates = document.get("currency_rates", []) if isinstance(document, Mapping) else []
    if not isinstance(models, list) or not isinstance(rates, list):
        raise PriceError(f"{origin} must hold a list of price entries under 'models'")
    entries = []
    for position, item in enumerate(models, start=1):
        if not isinstance(item, Mapping):
            raise PriceError(f"{origin}: entry {position} is not a mapping")
        entries.append(ModelPrice.from_mapping(item))
    return entries, [CurrencyRate.from_mapping(item) for item in rates]


def shipped_prices_text() -> str:
    return resources.files("somatrace").joinpath("data/prices.json").read_text(encoding="utf-8")


class PriceTable:
    """Model prices in layers (see the module docstring). Thread-safe."""

    def __init__(
        self,
        shipped: Iterable[ModelPrice] = (),
        added: Iterable[ModelPrice] = (),
        rates: Iterable[CurrencyRate] = (),
        dataset: Any = None,
    ) -> None:
        self._shipped = list(shipped)
        self._added = list(added)
        self._rates = list(rates)
        self.dataset = dataset  # a somatrace.genai_prices_source.DatasetPrices, or None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, dt.date], ModelPrice | None] = {}

    @classmethod
    def default(cls, extra_file: str | Path | None = None, *, dataset: bool = True) -> PriceTable:
        """The shipped table and the genai-prices dataset, plus ``extra_file`` if given."""
        from somatrace.genai_prices_source import DatasetPrices

        shipped, rates = load_price_document(shipped_prices_text(), "shipped prices.json")
        table = cls(shipped, rates=rates, dataset=DatasetPrices() if dataset else None)
        if extra_file:
            table.add_file(extra_file)
        return table

    # -- building ---------------------------------------------------------------------------

    def add(self, price: ModelPrice | Mapping[str, Any]) -> ModelPrice:
        """Add (or override) a price; it takes precedence over every shipped entry."""
        entry = price if isinstance(price, ModelPrice) else ModelPrice.from_mapping(price)
        with self._lock:
            self._added.insert(0, entry)
            self._cache.clear()
        return entry

    def add_rate(self, rate: CurrencyRate | Mapping[str, Any]) -> CurrencyRate:
        entry = rate if isinstance(rate, CurrencyRate) else CurrencyRate.from_mapping(rate)
        with self._lock:
            self._rates.append(entry)
        return entry

    def add_file(self, path: str | Path) -> list[ModelPrice]:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise PriceError(f"cannot read the price file {file}: {error}") from None
        entries, rates = load_price_document(text, str(file))
        for rate in rates:
            self.add_rate(rate)
        for entry in entries:
            self.add(entry)
        return entries

    def entries(self) -> list[ModelPrice]:
        """The project's entries (added, then shipped); the dataset is not listed."""
        with self._lock:
            return [*self._added, *self._shipped]

    # -- looking up -----------------------------------------------------------------------

    def own_entry(self, model_name: str, on: dt.date | None = None) -> ModelPrice | None:
        day = on or dt.date.today()
        key = (model_name, day)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            groups = (list(self._added), list(self._shipped))
        found: ModelPrice | None = None
        for group in groups:
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

    def lookup(
        self, model_name: str, on: dt.date | None = None, provider: str | None = None
    ) -> ModelPrice | None:
        """The per-million prices that apply to ``model_name`` on ``on`` (default today):
        a project entry, else the dataset's standard (base-tier) prices."""
        own = self.own_entry(model_name, on)
        if own is not None or self.dataset is None:
            return own
        return self.dataset.lookup(model_name, on, provider)

    def rate(self, currency: str, on: dt.date) -> CurrencyRate | None:
        with self._lock:
            candidates = [
                r for r in self._rates if r.currency == currency and r.effective_date <= on
            ]
        return max(candidates, key=lambda r: r.effective_date) if candidates else None

    def quote(
        self,
        model_name: str,
        usage: Usage,
        when: dt.datetime | None = None,
        provider: str | None = None,
    ) -> Cost | Unpriced:
        """The exact USD cost of one call made at ``when`` (default now), or why there is none."""
        when = when or dt.datetime.now(dt.UTC)
        own = self.own_entry(model_name, when.date())
        if own is not None:
            return self._own_cost(own, model_name, usage, when.date())
        if self.dataset is not None:
            found = self.dataset.cost(model_name, usage, when, provider)
            if found is not None:
                return found
        return Unpriced("no-price", model_name)

    def _own_cost(
        self, entry: ModelPrice, model_name: str, usage: Usage, day: dt.date
    ) -> Cost | Unpriced:
        parts = token_parts(entry, usage)
        conversion = None
        if entry.currency != COST_CURRENCY:
            rate = self.rate(entry.currency, day)
            if rate is None:
                return Unpriced(
                    "no-rate", f"{entry.model} is priced in {entry.currency} with no dated rate"
                )
            conversion = Conversion(entry.currency, sum(parts, Decimal(0)), rate.rate,
                                    rate.effective_date, rate.source)  # fmt: skip
            parts = tuple(part * rate.rate for part in parts)  # type: ignore[assignment]
        return Cost(
            model=model_name,
            price_model=entry.model,
            source=entry.source,
            input=parts[0],
            input_cache_read=parts[1],
            input_cache_creation=parts[2],
            output=parts[3],
            conversion=conversion,
        )

    def cost(
        self,
        model_name: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        on: dt.date | None = None,
        provider: str | None = None,
    ) -> Cost | None:
        """The exact cost of one call, or ``None`` when the model has no price."""
        when = dt.datetime.combine(on, dt.time(12), dt.UTC) if on is not None else None
        found = self.quote(
            model_name,
            Usage(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens),
            when,
            provider,
        )
        return found if isinstance(found, Cost) else None
