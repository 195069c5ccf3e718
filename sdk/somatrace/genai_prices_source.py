"""Vendor prices from ``genai-prices`` (PyPI, pinned in the ``sdk`` extra): a maintained,
``Decimal``-based dataset in USD per million tokens with cache prices, dated price changes
(``ConditionalPrice``) and tiers (``TieredPrices``), bundled in the wheel.

Only the bundled snapshot is used: the package's ``UpdatePrices`` (which downloads a newer
snapshot over HTTP) is never started, so pricing makes no network call.

The package is imported when the table is built (in ``init_tracing``, on the caller's thread),
and its snapshot is read on first use. Importing it later, on a background thread, races with
the application: ``genai_prices/__init__.py`` imports ``update_prices``, which imports
``httpx2``, and openai 2.x probes ``sys.modules.get("httpx2")`` on every request
(``openai/_httpx2.py: _loaded_httpx2``) and then reads ``httpx2.Timeout`` - from a module another
thread is still importing: ``AttributeError: partially initialized module 'httpx2'``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal
from importlib import metadata
from typing import Any

from somatrace.costing import Cost, Usage

PER_MILLION = 1_000_000


def _base(price: Any) -> Decimal | None:
    """A price value or, for tiered prices, its base (below the first tier)."""
    if price is None:
        return None
    return price if isinstance(price, Decimal) else Decimal(price.base)


class DatasetPrices:
    """Finds a model in the genai-prices snapshot and prices a call with it."""

    def __init__(self) -> None:
        import genai_prices  # noqa: F401  (here, not on the export thread: see the module doc)

        self._lock = threading.Lock()
        self._misses: set[tuple[str, str | None]] = set()
        self._version: str | None = None

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = metadata.version("genai-prices")
        return self._version

    def _find(self, model_name: str, provider: str | None) -> tuple[Any, Any] | None:
        key = (model_name.lower(), provider)
        with self._lock:
            if key in self._misses:
                return None
        from genai_prices import data_snapshot

        snapshot = data_snapshot.get_snapshot()
        for provider_id in (provider, None) if provider else (None,):
            try:
                return snapshot.find_provider_model(model_name, None, provider_id, None)
            except LookupError:
                continue
        with self._lock:
            if len(self._misses) > 4096:
                self._misses.clear()
            self._misses.add(key)
        return None

    def lookup(self, model_name: str, on: dt.date | None, provider: str | None) -> Any:
        from somatrace.prices import ModelPrice

        found = self._find(model_name, provider)
        if found is None:
            return None
        vendor, model = found
        day = on or dt.date.today()
        prices = model.get_prices(dt.datetime.combine(day, dt.time(12), dt.UTC))
        if prices.input_mtok is None or prices.output_mtok is None:
            return None
        return ModelPrice(
            model=f"{vendor.id}/{model.id}",
            match_pattern=re.escape(model_name),
            input=_base(prices.input_mtok),  # type: ignore[arg-type]
            output=_base(prices.output_mtok),  # type: ignore[arg-type]
            currency="USD",
            effective_date=day,
            cached_input=_base(prices.cache_read_mtok),
            cache_write=_base(prices.cache_write_mtok),
            source=f"genai-prices {self.version}",
        )

    def cost(
        self, model_name: str, usage: Usage, when: dt.datetime, provider: str | None
    ) -> Cost | None:
        found = self._find(model_name, provider)
        if found is None:
            return None
        vendor, model = found
        from genai_prices import Usage as DatasetUsage
        from genai_prices.types import calc_unit_price

        calculation = model.calc_price(
            DatasetUsage(
                input_tokens=usage.input,
                output_tokens=usage.output,
                cache_read_tokens=usage.cache_read,
                cache_write_tokens=usage.cache_write,
            ),
            vendor,
            genai_request_timestamp=when,
        )
        prices = calculation.model_price
        total_input = usage.input

        def part(price: Any, count: int) -> Decimal:
            return Decimal(calc_unit_price(price, count, total_input, PER_MILLION))

        read_price = prices.cache_read_mtok or prices.input_mtok
        write_price = prices.cache_write_mtok or prices.input_mtok
        parts = [
            part(prices.input_mtok, usage.uncached_input),
            part(read_price, usage.cache_read),
            part(write_price, usage.cache_write),
            part(prices.output_mtok, usage.output),
        ]
        other = Decimal(calculation.total_price) - sum(parts, Decimal(0))
        if other < 0:  # the dataset decomposed differently: keep its directions, exactly
            parts = [Decimal(calculation.input_price), Decimal(0), Decimal(0),
                     Decimal(calculation.output_price)]  # fmt: skip
            other = Decimal(calculation.total_price) - sum(parts, Decimal(0))
        return Cost(
            model=model_name,
            price_model=f"{vendor.id}/{model.id}",
            source=f"genai-prices {self.version}",
            input=parts[0],
            input_cache_read=parts[1],
            input_cache_creation=parts[2],
            output=parts[3],
            other=other,
        )
