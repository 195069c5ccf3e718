"""A real LLM call: the OpenAI client, instrumented by OpenLLMetry through init_tracing,
talking to llama.cpp serving SmolLM2 (alias ``smollm2``), traced to the real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from somatrace.checks.runtime.llm_server import LocalLLMServer
from somatrace.checks.runtime.receiver import OTLPReceiver, iter_attribute_strings
from somatrace.content import is_content_event, is_content_key

from .conftest import run_service

MARKER = "MARKER-991"

SERVICE = """
import json
import openai
from somatrace import tags
from somatrace.tracing import init_tracing

handle = init_tracing("llm-svc")
client = openai.OpenAI(base_url=%(base_url)r, api_key=%(api_key)r)
for tenant in ("acme", "globex"):
    with tags.bind(tenant_id=tenant, workflow_name="qa", agent_id="answerer"):
        reply = client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": "%(marker)s my mail is bob@example.com. Hi!"}],
            max_tokens=8,
            temperature=0,
        )
        print("USAGE", tenant, reply.usage.prompt_tokens, reply.usage.completion_tokens)
handle.force_flush(10000)
print("STATS " + json.dumps(handle.stats()))
"""


@pytest.fixture(scope="module")
def llm() -> Iterator[LocalLLMServer]:
    with LocalLLMServer() as server:
        yield server


@pytest.mark.slow
def test_openai_call_to_llama_cpp_is_tagged_priced_and_content_safe(
    llm: LocalLLMServer, receiver: OTLPReceiver
) -> None:
    script = SERVICE % {"base_url": llm.base_url, "api_key": llm.api_key, "marker": MARKER}
    result = run_service(
        script,
        {
            **receiver.service_env(),  # host and key pair, as .env.template says
            "SOMATRACE_INSTRUMENTS": "openai",
            "TRACE_CONTENT_TENANTS": "acme",
        },
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    usage = {
        parts[1]: (int(parts[2]), int(parts[3]))
        for parts in (line.split() for line in result.stdout.splitlines())
        if parts and parts[0] == "USAGE"
    }
    spans = {
        span["attributes"]["langfuse.trace.metadata.tenant_id"]: span
        for span in receiver.wait_for_spans(2, timeout=20)
    }
    assert set(spans) == {"acme", "globex"}
    for tenant, span in spans.items():
        attributes = span["attributes"]
        assert span["name"] == "openai.chat"
        assert span["resource"]["service.name"] == "llm-svc"
        assert attributes["gen_ai.request.model"] == "smollm2"
        assert attributes["langfuse.trace.metadata.workflow_name"] == "qa"
        assert attributes["langfuse.trace.metadata.agent_id"] == "answerer"
        prompt_tokens, completion_tokens = usage[tenant]
        assert attributes["gen_ai.usage.input_tokens"] == prompt_tokens
        assert attributes["gen_ai.usage.output_tokens"] == completion_tokens
        # smollm2 internal rate: 0.02 USD / 1M input tokens, 0.04 USD / 1M output tokens
        expected = (
            Decimal(prompt_tokens) * Decimal("0.02") + Decimal(completion_tokens) * Decimal("0.04")
        ) / Decimal(1_000_000)
        assert Decimal(attributes["somatrace.cost.total"]) == expected
        assert attributes["somatrace.cost.currency"] == "USD"
        details = json.loads(attributes["langfuse.observation.cost_details"], parse_float=Decimal)
        assert details["total"] == expected and attributes["gen_ai.usage.cost"] == float(expected)
        assert attributes["langfuse.trace.tags"] == [
            f"tenant_id:{tenant}",
            "workflow_name:qa",
            "agent_id:answerer",
        ]
        assert attributes["traceloop.association.properties.tenant_id"] == tenant
        texts = [text for _, text in iter_attribute_strings(span)]
        assert not any("bob@example.com" in text for text in texts)

    acme_prompt = json.loads(spans["acme"]["attributes"]["gen_ai.input.messages"])
    assert f"{MARKER} my mail is [REDACTED:email]. Hi!" in json.dumps(acme_prompt)
    assert "gen_ai.output.messages" in spans["acme"]["attributes"]
    globex_texts = [text for _, text in iter_attribute_strings(spans["globex"])]
    assert not any(MARKER in text for text in globex_texts)
    assert "gen_ai.input.messages" not in spans["globex"]["attributes"]
    # content off for globex: no attribute or event of Langfuse's (or traceloop's) content list
    assert not [key for key in spans["globex"]["attributes"] if is_content_key(key)]
    assert not [e for e in spans["globex"]["events"] if is_content_event(e["name"])]
    assert {r["status"] for r in receiver.requests()} == {200}
    stats = json.loads(
        next(line for line in result.stdout.splitlines() if line.startswith("STATS "))[6:]
    )
    assert stats["pipeline"]["llm_spans_priced"] == 2
    assert stats["redactions"]["email"] >= 1
