"""The eval config and the knowledge-base loader, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.eval.config import DEFAULT_QUESTION_TYPES, load_config
from somatrace.checks.eval.knowledge import fingerprint, load_chunks, split_paragraphs
from somatrace.checks.lint.errors import ConfigError

from .conftest import KB, SERVICE, write_config


def test_fixture_config_loads_with_resolved_paths(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, webhook_url="http://127.0.0.1:9/hook"))
    assert config.output_dir == (tmp_path / "out").resolve()
    assert config.history == config.output_dir / "history.sqlite"
    assert config.textfile == config.output_dir / "somatrace_raget.prom"
    assert config.regression_threshold == 0.05 and config.baseline == "previous"
    assert config.llm.local and config.llm.max_tokens == 200
    assert config.alerts.webhook_url == "http://127.0.0.1:9/hook"
    service = config.service(SERVICE)
    assert service.knowledge_base == KB and service.question_types == ("simple", "complex")
    with pytest.raises(ConfigError, match="no service named 'other'"):
        config.service("other")


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.somatrace.eval]\nbaseline = "rolling"\nbaseline_window = 3\n'
        '[[tool.somatrace.eval.services]]\nname = "bot"\nagent = "bot.rag:answer"\n'
        'knowledge_base = "kb"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "pyproject.toml")
    assert config.baseline == "rolling" and config.baseline_window == 3
    assert config.services[0].question_types == DEFAULT_QUESTION_TYPES
    assert config.services[0].knowledge_base == (tmp_path / "kb").resolve()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("[eval]\n", "at least one"),
        ('[[eval.services]]\nname = "x"\nknowledge_base = "kb"\n', r"agent: is required"),
        (
            '[[eval.services]]\nname = "x"\nagent = "not a ref"\nknowledge_base = "kb"\n',
            "must look like 'package.module:function'",
        ),
        (
            '[[eval.services]]\nname = "x"\nagent = "m:f"\nknowledge_base = "kb"\n'
            'question_types = ["simple", "trick"]\n',
            r"unknown \['trick'\]",
        ),
        (
            '[[eval.services]]\nname = "x"\nagent = "m:f"\nknowledge_base = "kb"\n'
            "num_questions = true\n",
            "expected int, got a boolean",
        ),
        (
            '[eval]\nregression_threshold = 1.5\n[[eval.services]]\nname = "x"\nagent = "m:f"\n'
            'knowledge_base = "kb"\n',
            r"regression_threshold must be in \[0, 1\)",
        ),
        (
            '[eval]\nbaseline = "median"\n[[eval.services]]\nname = "x"\nagent = "m:f"\n'
            'knowledge_base = "kb"\n',
            "'median' is not one of",
        ),
        (
            '[[eval.services]]\nname = "x"\nagent = "m:f"\nknowledge_base = "kb"\n'
            '[[eval.services]]\nname = "x"\nagent = "m:g"\nknowledge_base = "kb"\n',
            r"duplicate service names \['x'\]",
        ),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, snippet: str, message: str) -> None:
    path = tmp_path / "eval.toml"
    path.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as failure:
        load_config(path)
    assert str(path) in str(failure.value)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[eval\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_markdown_is_chunked_by_heading_with_its_path() -> None:
    chunks = load_chunks(KB)
    assert {c.source for c in chunks} == {"billing.md", "security.md", "sync.md"}
    refunds = next(c for c in chunks if c.heading == "Billing > Refunds")
    assert refunds.text.startswith("Annual subscriptions can be refunded in full within 14 days")
    assert refunds.content.startswith("Billing > Refunds\n\n")
    assert len(chunks) == 9


def test_fenced_code_and_text_files(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text(
        "# Guide\n\nIntro.\n\n```sh\n# not a heading\necho hi\n```\n\n## Next\n\nMore.\n",
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("# plain text, no headings\n\nSecond paragraph.\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.md").write_text("# Hidden\n\nnot loaded\n")
    chunks = load_chunks(tmp_path)
    headings = [(c.source, c.heading) for c in chunks]
    assert headings == [("guide.md", "Guide"), ("guide.md", "Guide > Next"), ("notes.txt", "")]
    assert "# not a heading" in chunks[0].text
    assert chunks[2].text.startswith("# plain text")


def test_long_sections_are_split_at_paragraphs_then_sentences() -> None:
    body = "\n\n".join(["Alpha beta gamma. " * 10, "Delta epsilon. " * 5, "x" * 250])
    pieces = split_paragraphs(body, max_chars=120)
    assert all(len(p) <= 120 for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == body.replace(" ", "").replace(
        "\n", ""
    )


def test_fingerprint_follows_content_and_chunking(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nOne.\n", encoding="utf-8")
    first = fingerprint(tmp_path, 1000)
    assert fingerprint(tmp_path, 1000) == first
    assert fingerprint(tmp_path, 500) != first
    (tmp_path / "a.md").write_text("# A\n\nTwo.\n", encoding="utf-8")
    assert fingerprint(tmp_path, 1000) != first


def test_empty_or_missing_knowledge_base(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="knowledge base folder not found"):
        load_chunks(tmp_path / "absent")
    with pytest.raises(ConfigError, match=r"no \.md/\.markdown/\.txt/\.rst files"):
        load_chunks(tmp_path)
    (tmp_path / "empty.md").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="only empty files"):
        load_chunks(tmp_path)


def test_llm_routing_embedded_endpoint_or_provider(tmp_path: Path) -> None:
    def llm(table: str) -> object:
        path = write_config(tmp_path, extra="")
        path.write_text(path.read_text("utf-8").replace("[eval.llm]\n", f"[eval.llm]\n{table}\n"))
        return load_config(path).llm

    assert llm("").local  # the default: embedded SmolLM2
    assert not llm('base_url = "http://127.0.0.1:8080/v1"').local
    hosted = llm('model = "openai/gpt-4o-mini"\napi_key_env = "SOMATRACE_TEST_KEY"')
    assert not hosted.local and hosted.base_url == ""
    assert hosted.api_key() is None
