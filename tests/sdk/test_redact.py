"""Redaction: finds what it should, leaves ordinary text alone, and is configurable."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from somatrace.redact import Redactor, iban_valid, luhn_valid

CORPUS = Path(__file__).parent / "data" / "ordinary_text.txt"


@pytest.mark.parametrize(
    ("text", "rule", "secret"),
    [
        (
            "write to jane.doe+tag@mail.example.co.uk today",
            "email",
            "jane.doe+tag@mail.example.co.uk",
        ),
        ("card 4111 1111 1111 1111 exp 12/27", "card_number", "4111 1111 1111 1111"),
        ("card 5555-5555-5555-4444", "card_number", "5555-5555-5555-4444"),
        ("amex 378282246310005 ok", "card_number", "378282246310005"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
        ("iban GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"),
        ("my SSN is 123-45-6789", "us_ssn", "123-45-6789"),
        ("NI number AB 12 34 56 C on file", "uk_nino", "AB 12 34 56 C"),
        ("call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
        ("call (415) 555-2671 now", "phone", "(415) 555-2671"),
        ("call 415-555-2671 now", "phone", "415-555-2671"),
        (
            "key sk-proj-abcdefghijklmnopqrstuvwx123 here",
            "api_key",
            "sk-proj-abcdefghijklmnopqrstuvwx123",
        ),
        (
            "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv here",
            "api_key",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv",
        ),
        ("aws AKIAIOSFODNN7EXAMPLE key", "api_key", "AKIAIOSFODNN7EXAMPLE"),
        (
            "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 tok",
            "api_key",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "langfuse sk-lf-1234abcd-5678-90ef-abcd-1234567890ab",
            "api_key",
            "sk-lf-1234abcd-5678-90ef-abcd-1234567890ab",
        ),
        ("Authorization: Bearer abc.DEF-123_xyz~", "bearer_token", "abc.DEF-123_xyz~"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        ('config {"api_key": "q8w7e6r5t4y3"}', "secret_assignment", "q8w7e6r5t4y3"),
        ("password=hunter2hunter2", "secret_assignment", "hunter2hunter2"),
    ],
)
def test_each_kind_is_found_and_replaced(text: str, rule: str, secret: str) -> None:
    redactor = Redactor()
    redacted = redactor.redact(text)
    assert secret not in redacted
    assert f"[REDACTED:{rule}]" in redacted
    assert redactor.counts()[rule] >= 1


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",
        "IBAN DE89 3704 0044 0532 0130 01 fails mod-97",
        "SSN-like 000-12-3456 and 666-12-3456 are never issued",
        "date 2024-10-15 and time 14:30:00",
        "version 10.0.0.1 and 3.11.4",
    ],
)
def test_checksum_and_shape_guards_keep_look_alikes(text: str) -> None:
    assert Redactor().redact(text) == text


def test_no_false_positives_on_the_ordinary_text_corpus() -> None:
    """Measured: 50 lines of ordinary business/technical text with dates, amounts, ids,
    versions, IPs, ISBNs, hashes, coordinates: zero findings."""
    redactor = Redactor()
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 50
    findings = {line: redactor.findings(line) for line in lines if redactor.findings(line)}
    assert findings == {}
    assert [redactor.redact(line) for line in lines] == lines


def test_measured_false_positive_rate_of_long_digit_runs() -> None:
    """Random 16-digit order numbers pass Luhn one time in ten: that many are redacted
    as card numbers. This is the documented price of catching real card numbers."""
    rng = random.Random(20241126)
    numbers = [str(rng.randrange(10**15, 10**16)) for _ in range(2000)]
    redactor = Redactor()
    redacted = sum(1 for n in numbers if redactor.redact(f"order {n}") != f"order {n}")
    assert redacted == sum(1 for n in numbers if luhn_valid(n))
    assert 0.07 < redacted / len(numbers) < 0.13


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert not luhn_valid("0000000000000000")  # all-same digits are not card numbers
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


def test_json_content_stays_valid_json_after_redaction() -> None:
    from somatrace.content import ContentPolicy

    policy = ContentPolicy(all_tenants=True)
    messages = json.dumps(
        [{"role": "user", "content": "mail bob@example.com, card 4111111111111111"}]
    )
    redacted = policy.redact_value(messages)
    document = json.loads(redacted)
    assert document == [
        {"role": "user", "content": "mail [REDACTED:email], card [REDACTED:card_number]"}
    ]


def test_rules_can_be_disabled_and_extended(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns.yaml"
    patterns.write_text("employee_id: 'EMP-\\d{6}'\n", encoding="utf-8")
    redactor = Redactor.from_config(patterns, disable=["phone"])
    text = "EMP-123456 called +44 20 7946 0958"
    assert redactor.redact(text) == "[REDACTED:employee_id] called +44 20 7946 0958"
    with pytest.raises(ValueError, match="unknown rule"):
        Redactor.from_config(disable=["no_such_rule"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"broken": "("}), encoding="utf-8")
    with pytest.raises(ValueError, match="invalid regex"):
        Redactor.from_config(bad)
