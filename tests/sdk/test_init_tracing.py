"""init_tracing end to end: a real service process with traceloop-sdk 0.62 and the real
OpenTelemetry SDK, exporting OTLP/HTTP to the real receiver on loopback (the ``langfuse``
contract profile: it refuses what Langfuse's ingestion refuses).

Each case is its own process, as in production: Traceloop and the global TracerProvider
can be initialised once per process.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from somatrace.checks.runtime.receiver import OTLPReceiver, iter_attribute_strings

from .conftest import free_closed_port, run_service

MARKER = "MARKER-5f1c"

# A small traced service: a workflow per tenant, two agents (asyncio tasks), each making
# two "LLM calls" in a thread pool. The prompt carries a marker and an e-mail address.
SERVICE = """
import sys, json, os, atexit

EGRESS = []

def audit(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        EGRESS.append(["connect", args[1][0], args[1][1]])
    elif event == "socket.getaddrinfo":
        EGRESS.append(["getaddrinfo", str(args[0]), args[1]])

sys.addaudithook(audit)
atexit.register(lambda: print("EGRESS " + json.dumps(EGRESS), flush=True))

import asyncio, time, warnings
from concurrent.futures import ThreadPoolExecutor
from somatrace.tracing import init_tracing
from somatrace import tags

handle = init_tracing("svc-under-test")
assert init_tracing("svc-under-test") is handle
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert init_tracing("another-name") is handle
assert any("already initialised" in str(w.message) for w in caught)
print("CONTENT_ENV " + os.environ["TRACELOOP_TRACE_CONTENT"], flush=True)
print("INIT_DONE_AT %%.3f" %% time.time(), flush=True)

from opentelemetry import trace
from traceloop.sdk.decorators import agent, task, workflow

tracer = trace.get_tracer("svc")
MARKER = "%(marker)s"

@task(name="llm_call")
def llm_call(prompt):
    attributes = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.operation.name": "chat"}
    with tracer.start_as_current_span("openai.chat", attributes=attributes) as span:
        span.set_attribute("gen_ai.usage.input_tokens", 1000)
        span.set_attribute("gen_ai.usage.output_tokens", 500)
    return "answer"

@agent(name="researcher")
async def researcher(topic):
    await asyncio.sleep(0)
    with ThreadPoolExecutor(2) as pool:
        prompts = [f"{MARKER} {topic} mail ann@example.org", f"{MARKER} {topic} again"]
        return list(pool.map(llm_call, prompts))

@workflow(name="report")
async def report():
    return await asyncio.gather(researcher("x"), researcher("y"))

async def run(tenant):
    async with tags.bind(tenant_id=tenant, workflow_name="report", agent_id="researcher"):
        await report()

async def main():
    await asyncio.gather(run("acme"), run("globex"))

started = time.monotonic()
asyncio.run(main())
print("WORK_SECONDS %%.3f" %% (time.monotonic() - started), flush=True)
handle.force_flush(5000)
print("STATS " + json.dumps(handle.stats()), flush=True)
"""

SPANS_PER_TENANT = 1 + 2 + 4 + 4  # workflow, agents, tasks, LLM spans


def service(env_marker: str = MARKER) -> str:
    return SERVICE % {"marker": env_marker}


def line_value(stdout: str, prefix: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(prefix + " "):
            return line[len(prefix) + 1 :]
    raise AssertionError(f"no {prefix} line in service output:\n{stdout}")


def test_default_settings_tag_every_span_price_llm_calls_and_capture_no_content(
    receiver: OTLPReceiver,
) -> None:
    result = run_service(
        service(),
        {
            # Configured only as docs/observability/.env.template says: host and key pair.
            **receiver.service_env(),
            # A hostile environment: none of this may take effect.
            "TRACELOOP_TRACE_CONTENT": "true",
            "TRACELOOP_BASE_URL": "https://api.traceloop.com",
            "TRACELOOP_API_KEY": "tl-not-a-real-key",
            "TRACELOOP_METRICS_ENABLED": "true",
            "TRACELOOP_LOGGING_ENABLED": "true",
        },
    )
    assert result.returncode == 0, result.stderr
    assert line_value(result.stdout, "CONTENT_ENV") == "false"
    spans = receiver.wait_for_spans(2 * SPANS_PER_TENANT, timeout=10)
    assert len(spans) == 2 * SPANS_PER_TENANT

    for span in spans:
        attributes = span["attributes"]
        tenant = attributes.get("langfuse.trace.metadata.tenant_id")
        assert tenant in ("acme", "globex"), span["name"]
        assert attributes["traceloop.association.properties.tenant_id"] == tenant
        assert attributes["langfuse.trace.metadata.workflow_name"] == "report"
        assert attributes["langfuse.trace.metadata.agent_id"] == "researcher"
        assert span["resource"]["service.name"] == "svc-under-test"
        for where, text in iter_attribute_strings(span):
            assert MARKER not in text, f"{span['name']} {where} leaks the prompt"
            assert "ann@example.org" not in text
    llm_spans = [span for span in spans if span["name"] == "openai.chat"]
    assert len(llm_spans) == 8
    for span in llm_spans:
        # gpt-4o-mini (genai-prices): 1000 * 0.15e-6 + 500 * 0.60e-6
        attributes = span["attributes"]
        assert attributes["somatrace.cost.total"] == "0.00045"
        assert json.loads(attributes["langfuse.observation.cost_details"], parse_float=Decimal) == {
            "input": Decimal("0.00015"),
            "input_cached_tokens": 0,
            "input_cache_creation": 0,
            "output": Decimal("0.0003"),
            "total": Decimal("0.00045"),
        }
        assert attributes["gen_ai.usage.cost"] == 0.00045
        assert attributes["langfuse.trace.tags"] == [
            f"tenant_id:{attributes['langfuse.trace.metadata.tenant_id']}",
            "workflow_name:report",
            "agent_id:researcher",
        ]
    by_id = {span["span_id"]: span for span in spans}
    for span in llm_spans:  # LLM spans ran in pool threads yet sit under their task span
        assert by_id[span["parent_span_id"]]["name"] == "llm_call.task"

    requests = receiver.requests()
    assert {(r["path"], r["status"]) for r in requests} == {("/api/public/otel/v1/traces", 200)}
    assert {r["principal"] for r in requests} == {receiver.credentials.public_key}
    assert {r["headers"]["x-langfuse-ingestion-version"] for r in requests} == {"4"}
    # the store keeps who authenticated, never the secret
    assert receiver.credentials.secret_key not in "\n".join(receiver.store.dump())
    egress = json.loads(line_value(result.stdout, "EGRESS"))
    hosts = {entry[1] for entry in egress}
    assert hosts == {"127.0.0.1"}, egress
    assert {entry[2] for entry in egress if entry[0] == "connect"} == {receiver.port}

    stats = json.loads(line_value(result.stdout, "STATS"))
    assert stats["pipeline"]["spans_exported"] == 2 * SPANS_PER_TENANT
    assert stats["pipeline"]["llm_spans_priced"] == 8
    assert stats["tags"]["spans_missing_required_tags"] == 0


def test_opted_in_tenant_gets_redacted_content_others_get_none(receiver: OTLPReceiver) -> None:
    result = run_service(
        service(),
        {
            **receiver.service_env(),
            "TRACE_CONTENT_TENANTS": "acme",
            "SOMATRACE_INSTRUMENTS": "openai",
        },
    )
    assert result.returncode == 0, result.stderr
    assert line_value(result.stdout, "CONTENT_ENV") == "false"  # per tenant, not process-wide
    spans = receiver.wait_for_spans(2 * SPANS_PER_TENANT, timeout=10)
    acme_inputs = []
    for span in spans:
        tenant = span["attributes"]["langfuse.trace.metadata.tenant_id"]
        texts = [text for _, text in iter_attribute_strings(span)]
        assert not any("ann@example.org" in text for text in texts)
        if tenant == "globex":
            assert not any(MARKER in text for text in texts), span["name"]
        elif span["name"] == "llm_call.task":
            acme_inputs.append(span["attributes"]["traceloop.entity.input"])
    assert len(acme_inputs) == 4
    assert all(MARKER in text for text in acme_inputs)
    assert sum("[REDACTED:email]" in text for text in acme_inputs) == 2
    stats = json.loads(line_value(result.stdout, "STATS"))
    assert stats["redactions"]["email"] >= 2


def test_service_is_unaffected_when_the_endpoint_is_down_slow_or_failing() -> None:
    budget_ms = 1000
    with OTLPReceiver(delay_seconds=5.0) as slow, OTLPReceiver(fail_status=500) as failing:
        endpoints = {
            "down": f"http://127.0.0.1:{free_closed_port()}",
            "slow": slow.url,
            "500": failing.url,
        }
        for label, endpoint in endpoints.items():
            result = run_service(
                service(),
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                    "OTEL_BSP_EXPORT_TIMEOUT": str(budget_ms),
                    "SOMATRACE_INSTRUMENTS": "openai",
                },
            )
            ended = time.time()
            assert result.returncode == 0, (label, result.stderr)
            assert "Traceback" not in result.stderr, (label, result.stderr)
            stats = json.loads(line_value(result.stdout, "STATS"))["pipeline"]
            assert stats["spans_exported"] == 0, label
            assert stats["spans_ended"] == 2 * SPANS_PER_TENANT, label
            assert float(line_value(result.stdout, "WORK_SECONDS")) < 5.0, label
            # work, then flush and exit, each bounded by 2 x the export timeout
            after_init = ended - float(line_value(result.stdout, "INIT_DONE_AT"))
            assert after_init < 4 * budget_ms / 1000 + 6.0, (label, after_init)
        # the slow receiver stores what it got after the client gave up; the failing one nothing
        assert failing.spans() == []
        assert failing.requests() and all(r["status"] == 500 for r in failing.requests())


def test_importing_somatrace_stays_light_and_disabled_tracing_installs_nothing() -> None:
    result = run_service(
        """
        import sys, os
        import somatrace, somatrace.settings
        heavy = sorted(m for m in sys.modules if m.startswith(("opentelemetry", "traceloop")))
        print("HEAVY " + ",".join(heavy))
        from somatrace.tracing import init_tracing
        handle = init_tracing("off-svc")
        print("ENABLED " + str(handle.enabled))
        print("CONTENT_ENV " + os.environ["TRACELOOP_TRACE_CONTENT"])
        print("TRACELOOP " + str(any(m.startswith("traceloop") for m in sys.modules)))
        """,
        {"SOMATRACE_TRACING_ENABLED": "false", "TRACELOOP_TRACE_CONTENT": "true"},
    )
    assert result.returncode == 0, result.stderr
    heavy_line = next(line for line in result.stdout.splitlines() if line.startswith("HEAVY"))
    assert heavy_line.strip() == "HEAVY", heavy_line
    assert line_value(result.stdout, "ENABLED") == "False"
    assert line_value(result.stdout, "CONTENT_ENV") == "false"
    assert line_value(result.stdout, "TRACELOOP") == "False"


def test_bad_settings_fail_at_start_up_with_a_clear_message() -> None:
    result = run_service(
        """
        from somatrace.tracing import init_tracing
        from somatrace.settings import ConfigError
        for options in ({"instruments": ["opnai"]}, {"sample_rate": 2}):
            try:
                init_tracing("svc", **options)
            except ConfigError as error:
                print("ERROR " + str(error))
        """,
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert result.returncode == 0, result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 2
    assert "unknown instrumentation(s) opnai" in errors[0] and "openai" in errors[0]
    assert "sample_rate=2.0 must be between 0 and 1" in errors[1]
