"""Cost attribution: exact Decimal arithmetic over layered prices (your entries, the project's
self-hosted models, the genai-prices dataset), hand-computed cases, currencies, unpriced."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from somatrace import cost
from somatrace.cost import (
    ModelPrice,
    PriceError,
    PriceTable,
    Unpriced,
    Usage,
    cost_attributes,
    decimal_text,
    unpriced_attributes,
)

TABLE = PriceTable.default()
NOON = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("model", "usage", "expected", "source"),
    [
        # gpt-4o (genai-prices, openai): $2.50 in / $1.25 cached / $10.00 out per 1M
        ("gpt-4o", Usage(input=1234, output=567), "0.008755", "genai-prices"),
        ("gpt-4o-2024-08-06", Usage(input=1_000_000, output=1_000_000), "12.5", "genai-prices"),
        # 1500 of 2000 input tokens from the cache: 500*2.5e-6 + 1500*1.25e-6 + 100*1e-5
        ("gpt-4o", Usage(input=2000, output=100, cache_read=1500), "0.004125", "genai-prices"),
        ("gpt-4o-mini", Usage(input=1000, output=500), "0.00045", "genai-prices"),
        # the self-hosted model at the internal compute rate ($0.02 / $0.04): 100*2e-8 + 50*4e-8
        ("smollm2", Usage(input=100, output=50), "0.000004", "internal compute rate"),
        ("smollm2", Usage(input=0, output=0), "0", "internal compute rate"),
    ],
)
def test_hand_computed_costs_are_exact(
    model: str, usage: Usage, expected: str, source: str
) -> None:
    computed = TABLE.quote(model, usage, NOON)
    assert not isinstance(computed, Unpriced), computed
    assert computed.total == Decimal(expected)
    assert decimal_text(computed.total) == expected
    assert computed.currency == "USD"
    assert source in computed.source


def test_cache_writes_use_the_datasets_cache_write_price() -> None:
    usage = Usage(input=10_000, output=2000, cache_read=4000, cache_write=3000)
    price = TABLE.lookup("claude-sonnet-4-5-20250929", NOON.date())
    assert price is not None and price.cache_write is not None and price.cached_input is not None
    computed = TABLE.quote("claude-sonnet-4-5-20250929", usage, NOON, "anthropic")
    assert not isinstance(computed, Unpriced)
    million = Decimal(1_000_000)
    assert computed.input == 3000 * price.input / million
    assert computed.input_cache_read == 4000 * price.cached_input / million
    assert computed.input_cache_creation == 3000 * price.cache_write / million
    assert computed.output == 2000 * price.output / million
    assert computed.total == sum(
        (computed.input, computed.input_cache_read, computed.input_cache_creation, computed.output)
    )


def test_cost_details_json_is_exact_and_sums_to_total() -> None:
    computed = TABLE.quote("gpt-4o", Usage(input=2000, output=100, cache_read=1500), NOON)
    assert not isinstance(computed, Unpriced)
    details = json.loads(computed.details_json(), parse_float=Decimal)
    assert details == {
        "input": Decimal("0.00125"),
        "input_cached_tokens": Decimal("0.001875"),
        "input_cache_creation": 0,
        "output": Decimal("0.001"),
        "total": Decimal("0.004125"),
    }
    assert sum(v for k, v in details.items() if k != "total") == details["total"]
    attributes = cost_attributes(computed)
    assert attributes["somatrace.cost.total"] == "0.004125"
    assert attributes["gen_ai.usage.cost"] == pytest.approx(0.004125)
    assert attributes["somatrace.cost.status"] == "priced"


def test_many_calls_reconcile_to_the_cent_without_float_drift() -> None:
    one = TABLE.cost("gpt-4o-mini", 333, 77)
    assert one is not None and one.total == Decimal("0.00009615")  # 333*0.15e-6 + 77*0.6e-6
    total = sum((TABLE.cost("gpt-4o-mini", 333, 77).total for _ in range(10_000)), Decimal(0))  # type: ignore[union-attr]
    assert total == Decimal("0.9615")


@pytest.mark.parametrize("model", ["my-finetune-7b", "house-llm", "definitely-not-a-model"])
def test_unknown_models_have_no_price(model: str) -> None:
    assert TABLE.lookup(model) is None
    assert TABLE.quote(model, Usage(10, 10), NOON) == Unpriced("no-price", model)


def test_user_prices_win_over_the_dataset_and_dates_apply(tmp_path: Path) -> None:
    table = PriceTable.default()
    table.add(
        {
            "model": "gpt-4o-negotiated",
            "match_pattern": "(?i)^gpt-4o$",
            "input": "2",
            "output": "8",
            "currency": "usd",
            "effective_date": "2024-01-01",
        }
    )
    today = table.lookup("gpt-4o")
    assert today is not None and today.model == "gpt-4o-negotiated"
    assert table.cost("gpt-4o", 1_000_000, 1_000_000).total == Decimal("10")  # type: ignore[union-attr]
    # before the negotiated rate applied, the dataset's list price is used
    assert table.cost("gpt-4o", 1_000_000, 0, on=dt.date(2023, 6, 1)).total == Decimal("2.5")  # type: ignore[union-attr]
    yaml_file = tmp_path / "prices.yaml"
    yaml_file.write_text(
        "models:\n"
        "  - model: in-house-llm\n"
        "    match_pattern: '(?i)^in-house-llm(-v\\d+)?$'\n"
        "    input: '0.5'\n"
        "    output: '1.5'\n"
        "    currency: USD\n"
        "    effective_date: '2025-01-01'\n",
        encoding="utf-8",
    )
    extended = PriceTable.default(yaml_file)
    assert extended.cost("in-house-llm-v2", 2_000_000, 1_000_000).total == Decimal("2.5")  # type: ignore[union-attr]


def test_other_currencies_are_converted_by_a_dated_rate_or_refused() -> None:
    table = PriceTable.default()
    table.add(
        {
            "model": "eu-llm",
            "input": "1.00",
            "output": "3.00",
            "currency": "EUR",
            "effective_date": "2025-01-01",
        }
    )
    usage = Usage(input=1_000_000, output=1_000_000)
    refused = table.quote("eu-llm", usage, NOON)
    assert isinstance(refused, Unpriced) and refused.reason == "no-rate"
    table.add_rate(
        {"currency": "EUR", "usd_per_unit": "1.0836", "effective_date": "2026-11-01",
         "source": "ECB reference rate 2026-11-01"}
    )  # fmt: skip
    assert isinstance(
        table.quote("eu-llm", usage, dt.datetime(2026, 10, 1, tzinfo=dt.UTC)), Unpriced
    )
    converted = table.quote("eu-llm", usage, NOON)
    assert not isinstance(converted, Unpriced)
    assert converted.currency == "USD" and converted.total == Decimal("4.3344")  # 4 EUR x 1.0836
    assert converted.conversion is not None and converted.conversion.total == Decimal("4.00")
    attributes = cost_attributes(converted)
    assert attributes["somatrace.cost.original.currency"] == "EUR"
    assert attributes["somatrace.cost.original.rate_date"] == "2026-11-01"
    with pytest.raises(PriceError, match="source"):
        table.add_rate({"currency": "GBP", "usd_per_unit": "1.3", "effective_date": "2026-01-01"})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {
                "model": "x",
                "input": 0.1,
                "output": "1",
                "currency": "USD",
                "effective_date": "2025-01-01",
            },
            "float",
        ),
        (
            {
                "model": "x",
                "input": "-1",
                "output": "1",
                "currency": "USD",
                "effective_date": "2025-01-01",
            },
            "non-negative",
        ),
        ({"model": "x", "input": "1", "output": "1", "currency": "USD"}, "effective_date"),
        (
            {
                "model": "x",
                "match_pattern": "(",
                "input": "1",
                "output": "1",
                "currency": "USD",
                "effective_date": "2025-01-01",
            },
            "regex",
        ),
        (
            {
                "model": "x",
                "input": "1",
                "output": "1",
                "currency": "USD",
                "effective_date": "01/02/2025",
            },
            "YYYY-MM-DD",
        ),
    ],
)
def test_malformed_price_entries_are_rejected(entry: dict, message: str) -> None:
    with pytest.raises(PriceError, match=message):
        ModelPrice.from_mapping(entry)


def test_shipped_layer_holds_only_self_hosted_models_and_the_dataset_is_pinned() -> None:
    from importlib import metadata

    assert [entry.model for entry in TABLE.entries()] == ["smollm2"]
    price = TABLE.lookup("gpt-4o-mini")
    assert price is not None and price.source == f"genai-prices {metadata.version('genai-prices')}"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"genai-prices=={metadata.version("genai-prices")}"' in pyproject


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "leave-to-langfuse",
            {"somatrace.cost.status": "unpriced", "somatrace.cost.unpriced_reason": "no-price"},
        ),
        (
            "zero-with-flag",
            {
                "somatrace.cost.status": "unpriced",
                "somatrace.cost.unpriced_reason": "no-price",
                "langfuse.observation.cost_details": '{"total":0}',
                "gen_ai.usage.cost": 0.0,
                "somatrace.cost.total": "0",
            },
        ),
    ],
)
def test_unpriced_modes(mode: str, expected: dict) -> None:
    assert unpriced_attributes(Unpriced("no-price", "m"), mode) == expected


def test_module_level_api_uses_the_process_table() -> None:
    computed = cost.compute("gpt-4o", 1000, 1000)
    assert computed is not None and computed.total == Decimal("0.0125")
    assert cost.lookup("no-such-model") is None


def test_usage_from_span_attributes() -> None:
    usage = Usage.from_attributes(
        {
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "gen_ai.usage.cache_read.input_tokens": 100,
        }
    )
    assert usage == Usage(input=120, output=30, cache_read=100, cache_write=0)
    legacy = Usage.from_attributes(
        {"gen_ai.usage.prompt_tokens": 5, "gen_ai.usage.completion_tokens": 6}
    )
    assert legacy == Usage(input=5, output=6)
    assert Usage.from_attributes({"http.method": "GET"}) is None
