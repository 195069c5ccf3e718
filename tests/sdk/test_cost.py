"""Cost attribution: hand-computed cases, exact with Decimal, Langfuse-style regex matching."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from somatrace import cost
from somatrace.cost import ModelPrice, PriceError, PriceTable, Usage, compute_cost, decimal_text

TABLE = PriceTable.default()


@pytest.mark.parametrize(
    ("model", "usage", "expected"),
    [
        # gpt-4o: $2.50 in / $10.00 out per 1M: 1234*2.5e-6 + 567*10e-6 = 0.003085 + 0.00567
        ("gpt-4o", Usage(input=1234, output=567), "0.008755"),
        # a million tokens each way is exactly 2.50 + 10.00
        ("gpt-4o-2024-08-06", Usage(input=1_000_000, output=1_000_000), "12.5"),
        # 1500 of 2000 input tokens from the cache at $1.25: 500*2.5e-6 + 1500*1.25e-6 + 100*1e-5
        ("openai/gpt-4o", Usage(input=2000, output=100, cache_read=1500), "0.004125"),
        # Anthropic with cache reads ($0.30) and writes ($3.75); input includes both:
        # 3000*3e-6 + 4000*0.3e-6 + 3000*3.75e-6 + 2000*15e-6 = 0.009+0.0012+0.01125+0.03
        (
            "claude-sonnet-4-5-20250929",
            Usage(input=10_000, output=2000, cache_read=4000, cache_write=3000),
            "0.05145",
        ),
        # the local model at the internal compute rate ($0.02 / $0.04): 100*2e-8 + 50*4e-8
        ("smollm2", Usage(input=100, output=50), "0.000004"),
        ("gpt-4o-mini", Usage(input=0, output=0), "0"),
    ],
)
def test_hand_computed_costs_are_exact(model: str, usage: Usage, expected: str) -> None:
    price = TABLE.lookup(model)
    assert price is not None
    computed = compute_cost(price, usage, model)
    assert computed.total == Decimal(expected)
    assert decimal_text(computed.total) == expected
    assert computed.currency == "USD"


def test_cost_details_json_is_exact_and_sums_to_total() -> None:
    computed = TABLE.cost(
        "claude-sonnet-4-5", 10_000, 2000, cache_read_tokens=4000, cache_write_tokens=3000
    )
    assert computed is not None
    details = json.loads(computed.details_json(), parse_float=Decimal)
    assert details == {
        "input": Decimal("0.009"),
        "input_cache_read": Decimal("0.0012"),
        "input_cache_creation": Decimal("0.01125"),
        "output": Decimal("0.03"),
        "total": Decimal("0.05145"),
    }
    assert sum(v for k, v in details.items() if k != "total") == details["total"]


def test_many_calls_reconcile_to_the_cent_without_float_drift() -> None:
    one = TABLE.cost("gpt-4o-mini", 333, 77)
    assert one is not None
    assert one.total == Decimal("0.00009615")  # 333*0.15e-6 + 77*0.6e-6
    total = sum((TABLE.cost("gpt-4o-mini", 333, 77).total for _ in range(10_000)), Decimal(0))  # type: ignore[union-attr]
    assert total == Decimal("0.9615")
    assert total.quantize(Decimal("0.01")) == Decimal("0.96")


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gpt-4o", "gpt-4o"),
        ("GPT-4O", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("anthropic/claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("smollm2", "smollm2"),
        ("smollm2-135m-instruct", "smollm2"),
    ],
)
def test_regex_matching_like_langfuse(model: str, entry: str) -> None:
    price = TABLE.lookup(model)
    assert price is not None and price.model == entry


@pytest.mark.parametrize("model", ["gpt-4", "gpt-4o-mini-tts", "gpt-41", "my-finetune", "claude-2"])
def test_unknown_models_have_no_price(model: str) -> None:
    assert TABLE.lookup(model) is None
    assert TABLE.cost(model, 10, 10) is None


def test_user_prices_win_and_effective_dates_apply(tmp_path: Path) -> None:
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
    table.add(
        {
            "model": "gpt-4o-2099",
            "match_pattern": "(?i)^gpt-4o$",
            "input": "1",
            "output": "1",
            "currency": "EUR",
            "effective_date": "2099-01-01",
        }
    )
    today = table.lookup("gpt-4o")
    assert today is not None and today.model == "gpt-4o-negotiated" and today.currency == "USD"
    future = table.lookup("gpt-4o", on=dt.date(2099, 6, 1))
    assert future is not None and future.currency == "EUR"
    assert table.lookup("gpt-4o", on=dt.date(2023, 1, 1)) is None  # nothing effective yet
    # shipped entries are untouched for other models
    assert table.lookup("gpt-4o-mini").model == "gpt-4o-mini"  # type: ignore[union-attr]

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


def test_shipped_table_has_currency_dates_and_the_local_model() -> None:
    entries = TABLE.entries()
    assert len(entries) >= 25
    assert all(e.currency == "USD" and e.effective_date <= dt.date.today() for e in entries)
    assert {"smollm2", "gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-3-5-haiku"} <= {
        e.model for e in entries
    }


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
