"""Tags, cost and content through a real OTel pipeline to the real receiver (in-process)."""

from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from somatrace import tags
from somatrace.checks.runtime.receiver import OTLPReceiver
from somatrace.content import ContentPolicy

from .conftest import Pipeline

REQUIRED = ("tenant_id", "workflow_name", "agent_id")


def assert_tagged(span: dict, tenant: str, workflow: str, agent: str) -> None:
    attributes = span["attributes"]
    for key, value in (("tenant_id", tenant), ("workflow_name", workflow), ("agent_id", agent)):
        assert attributes[f"traceloop.association.properties.{key}"] == value, span["name"]
        assert attributes[f"langfuse.trace.metadata.{key}"] == value, span["name"]
    assert attributes["langfuse.trace.tags"] == [
        f"tenant_id:{tenant}",
        f"workflow_name:{workflow}",
        f"agent_id:{agent}",
    ]
    assert "somatrace.tags.missing" not in attributes


def test_nested_workflow_across_threads_and_tasks_is_tagged_everywhere(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver)
    tracer = pipeline.tracer

    def retrieve(doc: int) -> None:
        with tracer.start_as_current_span(f"retrieve-{doc}"):
            pass

    async def agent_step(agent: str) -> None:
        with tags.bind(agent_id=agent), tracer.start_as_current_span(f"agent-{agent}"):
            await asyncio.sleep(0.01)
            with tracer.start_as_current_span(f"tool-{agent}"):
                await asyncio.sleep(0)

    async def workflow() -> None:
        with tracer.start_as_current_span("workflow"):
            with ThreadPoolExecutor(3) as pool:
                # Plain threads do not inherit context; init_tracing instruments threading,
                # here the context is carried explicitly as a service without it would.
                futures = [
                    pool.submit(contextvars.copy_context().run, retrieve, doc) for doc in range(3)
                ]
                for future in futures:
                    future.result()
            await asyncio.gather(agent_step("planner"), agent_step("writer"))

    with tags.bind(tenant_id="acme", workflow_name="report", agent_id="orchestrator"):
        asyncio.run(workflow())
    assert pipeline.flush()
    spans = {span["name"]: span for span in receiver.wait_for_spans(8, timeout=10)}
    assert len(spans) == 8
    assert_tagged(spans["workflow"], "acme", "report", "orchestrator")
    for doc in range(3):
        assert_tagged(spans[f"retrieve-{doc}"], "acme", "report", "orchestrator")
    for agent in ("planner", "writer"):
        assert_tagged(spans[f"agent-{agent}"], "acme", "report", agent)
        assert_tagged(spans[f"tool-{agent}"], "acme", "report", agent)


def test_concurrent_tasks_with_different_tenants_do_not_leak(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver)

    async def serve(tenant: str) -> None:
        async with tags.bind(tenant_id=tenant, workflow_name="chat", agent_id="bot"):
            for turn in range(3):
                with pipeline.tracer.start_as_current_span(f"{tenant}-{turn}"):
                    await asyncio.sleep(0.001)

    async def main() -> None:
        await asyncio.gather(*(serve(f"t{n}") for n in range(5)))

    asyncio.run(main())
    pipeline.flush()
    for span in receiver.wait_for_spans(15, timeout=10):
        tenant = span["name"].split("-")[0]
        assert span["attributes"]["langfuse.trace.metadata.tenant_id"] == tenant


def test_bind_as_decorator_sync_and_async_and_span_tags() -> None:
    @tags.bind(tenant_id="acme", workflow_name="w", agent_id="a")
    def sync_handler() -> dict[str, str]:
        return tags.span_tags()

    @tags.bind(tenant_id="globex", workflow_name="w2", agent_id="b")
    async def async_handler() -> dict[str, str]:
        await asyncio.sleep(0)
        return tags.span_tags()

    assert sync_handler() == {"tenant_id": "acme", "workflow_name": "w", "agent_id": "a"}
    assert asyncio.run(async_handler()) == {
        "tenant_id": "globex",
        "workflow_name": "w2",
        "agent_id": "b",
    }
    assert tags.span_tags() == {}
    with tags.bind(tenant_id="acme", workflow_name="w", agent_id="a", user_id=42) as bound:
        assert bound["user_id"] == "42"
        with tags.bind(agent_id="inner", user_id=None):
            assert tags.span_tags() == {
                "tenant_id": "acme",
                "workflow_name": "w",
                "agent_id": "inner",
            }
        assert tags.span_tags()["agent_id"] == "a"
    assert tags.span_tags() == {}
    with pytest.raises(ValueError, match="identifier"):
        tags.bind(**{"not a name": "x"})


def test_traceloop_association_properties_are_the_same_tags() -> None:
    from traceloop.sdk import Traceloop

    with tags.bind(tenant_id="acme"):
        ctx = contextvars.copy_context()

        def inside() -> dict[str, str]:
            Traceloop.set_association_properties(
                {"tenant_id": "acme", "workflow_name": "wf", "agent_id": "ag"}
            )
            return tags.span_tags()

        assert ctx.run(inside) == {"tenant_id": "acme", "workflow_name": "wf", "agent_id": "ag"}


def test_set_association_properties_inside_bind_keeps_the_bound_tags(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    """traceloop-sdk 0.62 replaces the whole dict (tracing.py:247-248); the bound tags survive."""
    from traceloop.sdk import Traceloop

    pipeline = pipeline_factory(receiver)
    with tags.bind(tenant_id="acme", workflow_name="report", agent_id="planner"):

        def inside() -> dict[str, str]:
            Traceloop.set_association_properties({"chat_id": "c-42", "agent_id": "writer"})
            with pipeline.tracer.start_as_current_span("after-replace"):
                pass
            return tags.span_tags()

        seen = contextvars.copy_context().run(inside)
    assert seen == {
        "tenant_id": "acme",
        "workflow_name": "report",
        "agent_id": "writer",  # the inner, explicit call wins per key
        "chat_id": "c-42",
    }
    pipeline.flush()
    (span,) = receiver.wait_for_spans(1)
    assert_tagged(span, "acme", "report", "writer")
    assert span["attributes"]["traceloop.association.properties.chat_id"] == "c-42"


def test_tags_and_content_come_from_the_current_context_like_traceloop(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    """A span started with an explicit ``context=`` (another tenant's) gets the tags of the
    code that starts it, as Traceloop stamps association properties from the current context
    (tracing.py:189-200, 389-391): tags and the content decision agree."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    policy = ContentPolicy(tenants=frozenset({"acme"}))
    pipeline = pipeline_factory(receiver, content=policy)
    with (
        tags.bind(tenant_id="acme", workflow_name="w", agent_id="a"),
        pipeline.tracer.start_as_current_span("acme-parent") as parent,
    ):
        acme_context = trace.set_span_in_context(parent, otel_context.get_current())
    with (
        tags.bind(tenant_id="globex", workflow_name="w", agent_id="a"),
        pipeline.tracer.start_as_current_span(
            "explicit-context", context=acme_context, attributes=CONTENT
        ),
    ):
        pass
    pipeline.flush()
    spans = {span["name"]: span for span in receiver.wait_for_spans(2)}
    child = spans["explicit-context"]
    assert child["parent_span_id"] == spans["acme-parent"]["span_id"]
    assert_tagged(child, "globex", "w", "a")
    assert not any(key in child["attributes"] for key in CONTENT)  # globex: content stripped


def test_missing_required_tags_are_counted_and_marked(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver)
    tags.reset_stats()
    with pipeline.tracer.start_as_current_span("untagged"):
        pass
    with tags.bind(tenant_id="acme"), pipeline.tracer.start_as_current_span("partly"):
        pass
    with (
        tags.bind(tenant_id="acme", workflow_name="w", agent_id="a"),
        pipeline.tracer.start_as_current_span("complete"),
    ):
        pass
    pipeline.flush()
    spans = {span["name"]: span for span in receiver.wait_for_spans(3)}
    assert spans["untagged"]["attributes"]["somatrace.tags.missing"] == list(REQUIRED)
    assert spans["partly"]["attributes"]["somatrace.tags.missing"] == ["workflow_name", "agent_id"]
    assert "somatrace.tags.missing" not in spans["complete"]["attributes"]
    assert tags.stats() == {
        "spans_seen": 3,
        "spans_missing_required_tags": 2,
        "missing_by_tag": {"tenant_id": 1, "workflow_name": 2, "agent_id": 2},
    }


def llm_span(pipeline: Pipeline, name: str, model: str, attributes: dict) -> None:
    with pipeline.tracer.start_as_current_span(
        name,
        attributes={"gen_ai.request.model": model, "gen_ai.operation.name": "chat", **attributes},
    ):
        pass


def test_cost_is_attached_before_export_and_unpriced_is_explicit(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver)
    with tags.bind(tenant_id="acme", workflow_name="w", agent_id="a"):
        llm_span(
            pipeline,
            "openai.chat",
            "gpt-4o",
            {
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 2000,
                "gen_ai.usage.output_tokens": 100,
                "gen_ai.usage.cache_read.input_tokens": 1500,
            },
        )
        llm_span(
            pipeline,
            "local.chat",
            "smollm2",
            {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 50},
        )
        llm_span(
            pipeline,
            "mystery.chat",
            "my-finetune-7b",
            {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 10},
        )
        with pipeline.tracer.start_as_current_span("http.get"):
            pass
    pipeline.flush()
    spans = {span["name"]: span["attributes"] for span in receiver.wait_for_spans(4)}
    openai = spans["openai.chat"]
    assert openai["somatrace.cost.total"] == "0.004125"
    assert openai["gen_ai.usage.cost"] == pytest.approx(0.004125)
    assert openai["somatrace.cost.currency"] == "USD"
    assert openai["somatrace.cost.status"] == "priced"
    details = json.loads(openai["langfuse.observation.cost_details"], parse_float=Decimal)
    assert details == {
        "input": Decimal("0.00125"),
        "input_cached_tokens": Decimal("0.001875"),
        "input_cache_creation": 0,
        "output": Decimal("0.001"),
        "total": Decimal("0.004125"),
    }
    assert spans["local.chat"]["somatrace.cost.total"] == "0.000004"
    # default SOMATRACE_UNPRICED=zero-with-flag: an explicit zero replaces Langfuse's inference
    assert spans["mystery.chat"]["somatrace.cost.status"] == "unpriced"
    assert spans["mystery.chat"]["langfuse.observation.cost_details"] == '{"total":0}'
    assert spans["mystery.chat"]["gen_ai.usage.cost"] == 0.0
    assert not any(key.startswith("somatrace.cost") for key in spans["http.get"])
    snapshot = pipeline.stats.snapshot()
    assert snapshot["llm_spans_priced"] == 2
    assert snapshot["llm_spans_unpriced"] == 1
    assert snapshot["unpriced_models"] == {"my-finetune-7b": 1}
    assert snapshot["spans_exported"] == 4


CONTENT = {
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "content": "MARKER-7731 mail me: ann@example.org"}]
    ),
    "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": "MARKER-7731 ok"}]),
    "gen_ai.prompt.0.content": "MARKER-7731 call +44 20 7946 0958",
    "traceloop.entity.input": '{"args": ["MARKER-7731"]}',
}


def test_content_is_stripped_for_other_tenants_and_redacted_for_opted_in(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    policy = ContentPolicy(tenants=frozenset({"acme"}))
    pipeline = pipeline_factory(receiver, content=policy)
    for tenant in ("acme", "globex"):
        with (
            tags.bind(tenant_id=tenant, workflow_name="w", agent_id="a"),
            pipeline.tracer.start_as_current_span(f"{tenant}.chat", attributes=CONTENT) as span,
        ):
            span.add_event(
                "gen_ai.content.prompt", {"gen_ai.prompt": "MARKER-7731 ann@example.org"}
            )
            span.add_event("retry", {"attempt": 1})
    with pipeline.tracer.start_as_current_span("untagged.chat", attributes=CONTENT):
        pass
    pipeline.flush()
    spans = {span["name"]: span for span in receiver.wait_for_spans(3)}

    acme = spans["acme.chat"]
    messages = json.loads(acme["attributes"]["gen_ai.input.messages"])
    assert messages[0]["content"] == "MARKER-7731 mail me: [REDACTED:email]"
    assert acme["attributes"]["gen_ai.prompt.0.content"] == "MARKER-7731 call [REDACTED:phone]"
    assert [e["name"] for e in acme["events"]] == ["gen_ai.content.prompt", "retry"]
    assert acme["events"][0]["attributes"]["gen_ai.prompt"] == "MARKER-7731 [REDACTED:email]"
    assert "ann@example.org" not in json.dumps(acme)

    for name in ("globex.chat", "untagged.chat"):
        text = json.dumps(spans[name])
        assert "MARKER-7731" not in text, name
        assert not any(key in spans[name]["attributes"] for key in CONTENT)
    assert [e["name"] for e in spans["globex.chat"]["events"]] == ["retry"]
    snapshot = pipeline.stats.snapshot()
    assert snapshot["spans_content_redacted"] == 1
    assert snapshot["spans_content_stripped"] == 2


def test_default_policy_strips_content_everywhere(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver)
    with (
        tags.bind(tenant_id="acme", workflow_name="w", agent_id="a"),
        pipeline.tracer.start_as_current_span("chat", attributes=CONTENT),
    ):
        pass
    pipeline.flush()
    (span,) = receiver.wait_for_spans(1)
    assert "MARKER-7731" not in json.dumps(span)


def test_trace_content_true_keeps_redacted_content_on_every_span(
    receiver: OTLPReceiver, pipeline_factory: type[Pipeline]
) -> None:
    pipeline = pipeline_factory(receiver, content=ContentPolicy(all_tenants=True))
    with pipeline.tracer.start_as_current_span("chat", attributes=CONTENT):
        pass
    pipeline.flush()
    (span,) = receiver.wait_for_spans(1)
    assert span["attributes"]["traceloop.entity.input"] == '{"args": ["MARKER-7731"]}'
    assert "[REDACTED:email]" in span["attributes"]["gen_ai.input.messages"]
    assert "ann@example.org" not in json.dumps(span)


def test_export_thread_is_restarted_in_a_forked_worker(receiver: OTLPReceiver) -> None:
    """A pre-fork server (gunicorn --preload) builds the pipeline, then forks workers."""
    from .conftest import run_service

    result = run_service(
        f"""
        import os, sys
        sys.path.insert(0, "tests/sdk")
        from conftest import Pipeline
        pipeline = Pipeline("{receiver.url}", headers={receiver.auth_headers()!r})
        with pipeline.tracer.start_as_current_span("in-parent"):
            pass
        pid = os.fork()
        if pid == 0:
            with pipeline.tracer.start_as_current_span("in-child"):
                pass
            ok = pipeline.flush()
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        pipeline.flush()
        print("CHILD_EXIT", os.waitstatus_to_exitcode(status))
        """,
        {},
    )
    assert result.returncode == 0, result.stderr
    assert "CHILD_EXIT 0" in result.stdout
    names = {span["name"] for span in receiver.wait_for_spans(2, timeout=10)}
    assert names == {"in-parent", "in-child"}
