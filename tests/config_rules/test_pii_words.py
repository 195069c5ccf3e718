"""ST203's key classifier: whole words, describing words, standard attributes, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.lint.config import Config
from somatrace.checks.lint.engine import make_context
from somatrace.rules.pii_span_attribute import (
    DEFAULT_PII_WORDS,
    PiiSpanAttribute,
    configured_phrases,
    personal_data_phrase,
    words,
)

PHRASES = tuple(sorted({tuple(words(p)) for p in DEFAULT_PII_WORDS}, key=lambda p: (-len(p), p)))


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        ("user.email", "email"),
        ("userEmail", "email"),
        ("customer.e-mail", "e mail"),
        ("customerPhoneNumber", "phone number"),
        ("billing.address", "address"),
        ("user.ssn", "ssn"),
        ("payment.credit_card", "credit card"),
        ("auth.password", "password"),
        ("oauth.access_token", "token"),
        ("llm.apiKey", "api key"),
        ("x-api-key", "api key"),
        ("OPENAI_APIKEY", "apikey"),
        ("langfuse.secret", "secret"),
        ("langfuse.secret_key", "secret"),
        ("gen_ai.prompt", "prompt"),
        ("gen_ai.prompt.0.content", "content"),
        ("gen_ai.input.messages", "messages"),
        ("gen_ai.completion", "completion"),
        ("http.request.header.authorization", "authorization"),
        ("LLM_PROMPTS", "prompts"),
    ],
)
def test_personal_or_secret_keys(key: str, phrase: str) -> None:
    assert personal_data_phrase(key, PHRASES) == phrase


@pytest.mark.parametrize(
    "key",
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.total_tokens",
        "gen_ai.request.max_tokens",
        "LLM_USAGE_PROMPT_TOKENS",
        "tokenizer",
        "tokens",
        "server.address",
        "client.address",
        "network.peer.address",
        "exception.message",
        "messaging.message.id",
        "messaging.message.body.size",
        "gen_ai.prompt.length",
        "prompt_template",
        "TRACELOOP_PROMPT_KEY",
        "TRACELOOP_PROMPT_MANAGED",
        "message.count",
        "num_messages",
        "has_email",
        "email_hash",
        "password_length",
        "auth.token_type",
        "page_token",
        "secret_name",
        "http.response.content_length",
        "content_type",
        "tenant_id",
        "workflow_name",
        "user.id",
    ],
)
def test_keys_that_describe_data_or_are_standard(key: str) -> None:
    assert personal_data_phrase(key, PHRASES) is None


def test_configured_words_replace_the_defaults(tmp_path: Path) -> None:
    config = Config(root=tmp_path, values={"pii-words": ["loyalty number", "iban"]})
    ctx = make_context(tmp_path / "x.py", "x.py", config)
    phrases = configured_phrases(ctx)
    assert phrases == (("loyalty", "number"), ("iban",))
    assert personal_data_phrase("customer.loyaltyNumber", phrases) == "loyalty number"
    assert personal_data_phrase("user.email", phrases) is None
    default_ctx = make_context(tmp_path / "x.py", "x.py", Config(root=tmp_path))
    assert configured_phrases(default_ctx) == PHRASES


def _spellings(key: str) -> list[str]:
    """A key as code writes it: as is, upper case, kebab case, camel case."""
    parts = words(key)
    camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return [key, key.upper(), "-".join(parts), camel]


@pytest.mark.parametrize("phrase", DEFAULT_PII_WORDS)
def test_the_screen_passes_every_key_the_rule_reports(tmp_path: Path, phrase: str) -> None:
    # The screen asks for every word of some phrase in the file: a key that names the phrase,
    # however it is spelt, makes the file pass.
    ctx = make_context(tmp_path / "x.py", "x.py", Config(root=tmp_path))
    for key in _spellings("user." + phrase.replace(" ", "_")):
        assert personal_data_phrase(key, PHRASES) is not None, key
        source = f"def tag(span):\n    span.set_attribute({key!r}, 1)\n".encode()
        assert PiiSpanAttribute.applies_to(source, ctx), key


def test_one_word_of_a_phrase_is_not_enough(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "x.py", "x.py", Config(root=tmp_path))
    # "e" (of "e mail"), "of" and "date" (of "date of birth"), "api" and "key" alone.
    for key in ("event.type", "size_of", "update.date", "api.version", "key.id"):
        source = f"def tag(span):\n    span.set_attribute({key!r}, 1)\n".encode()
        assert personal_data_phrase(key, PHRASES) is None, key
        assert not PiiSpanAttribute.applies_to(source, ctx), key
    both = b"def tag(span):\n    span.set_attribute('user.api_key', 1)\n"
    assert PiiSpanAttribute.applies_to(both, ctx)
