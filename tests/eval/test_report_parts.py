"""Pieces of the report path that need no LLM: the self-contained HTML, the agent adapter, the
Langfuse payloads (no Langfuse server exists on these machines: the upload itself is not run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.eval.offline import enforce_offline

enforce_offline()  # before Giskard is imported: no analytics, no hub, no price-map download

from giskard.rag import AgentAnswer  # noqa: E402

from somatrace.checks.eval import langfuse_upload  # noqa: E402
from somatrace.checks.eval.agent import adapt, load_agent, to_agent_answer  # noqa: E402
from somatrace.checks.eval.config import LangfuseConfig  # noqa: E402
from somatrace.checks.eval.html_report import (  # noqa: E402
    NETWORK_LOADERS,
    external_references,
    make_self_contained,
    write_report,
)
from somatrace.checks.lint.errors import UsageError  # noqa: E402

from .conftest import AGENTS  # noqa: E402

GISKARD_HEAD = """<!DOCTYPE html>
<style>body{}</style>
<script src="https://cdn.bokeh.org/bokeh/release/bokeh-3.3.4.min.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="https://cdn.bokeh.org/bokeh/release/bokeh-gl-3.3.4.min.js" integrity="sha384-y" crossorigin="anonymous"></script>
<div class="main"><div id="plot"></div><script>Bokeh.embed.embed_items([])</script></div>
"""


def test_report_is_self_contained_with_the_installed_bokehjs(tmp_path: Path) -> None:
    import bokeh

    assert external_references(GISKARD_HEAD) != []
    html = make_self_contained(GISKARD_HEAD)
    assert "cdn.bokeh.org" not in html and external_references(html) == []
    assert not any(url in html for url in NETWORK_LOADERS)
    assert f'version: "{bokeh.__version__}"' in html or bokeh.__version__ in html
    assert len(html) > 500_000  # BokehJS itself is inlined
    assert html.index("</style>") < html.index("<script type=") < html.index('<div class="main">')
    path = write_report(GISKARD_HEAD, "<section id='summary'>S</section>", tmp_path / "r.html")
    written = path.read_text(encoding="utf-8")
    assert written.index("<section id='summary'>") < written.index('<div class="main">')


def test_agent_answers_are_adapted() -> None:
    assert to_agent_answer("plain").message == "plain"
    answer = to_agent_answer({"message": "m", "documents": ["d1", 2]})
    assert answer == AgentAnswer(message="m", documents=["d1", "2"])
    with pytest.raises(UsageError, match="the agent returned int"):
        to_agent_answer(42)

    healthy = adapt(load_agent("nimbus_support:answer", [AGENTS]))
    reply = healthy("How much does the Plus plan cost per month?")
    assert "4 euros per month" in reply.message and reply.documents == [reply.message]
    conversational = healthy("Is it refunded?", history=[{"role": "user", "content": "annual"}])
    assert "refunded" in conversational.message
    degraded = adapt(load_agent("nimbus_support:degraded_answer", [AGENTS]))
    assert degraded("How much does the Plus plan cost?").message.startswith("Sorry")
    with pytest.raises(UsageError, match="cannot import the agent module"):
        load_agent("no_such_module:answer")
    with pytest.raises(UsageError, match="has no function 'absent'"):
        load_agent("nimbus_support:absent", [AGENTS])


def test_langfuse_payloads_and_skip_without_credentials() -> None:
    records = [
        {
            "id": "q1",
            "question": "How much is Plus?",
            "reference_answer": "4 euros per month",
            "reference_context": "Document 0: ...",
            "conversation_history": [],
            "metadata": {"question_type": "simple", "topic": "Billing", "seed_document_id": 0},
        }
    ]
    (item,) = langfuse_upload.dataset_items(records, "bot-abc")
    assert item["id"] == "q1" and item["expected_output"] == "4 euros per month"
    assert item["input"] == {"question": "How much is Plus?", "conversation_history": []}
    assert item["metadata"]["topic"] == "Billing"
    scores = langfuse_upload.score_records("bot", "run-1", "bot-abc", {"correctness": 1.0})
    assert scores == [
        {
            "name": "raget.correctness",
            "value": 1.0,
            "session_id": "raget/bot/run-1",
            "data_type": "NUMERIC",
            "metadata": {"service": "bot", "run_id": "run-1", "testset_id": "bot-abc"},
        }
    ]
    unset = LangfuseConfig(host_env="SOMATRACE_TEST_UNSET_HOST")
    outcome = langfuse_upload.upload(
        unset, service="bot", run_id="r", testset_id="t", testset_records=records, scores={}
    )
    assert outcome == "skipped: Langfuse credentials are not configured"
