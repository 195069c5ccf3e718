"""The smoke-trace example service: what ``somatrace smoke`` runs by default.

A small LLM service written the way every service in the fleet should be: it calls
``init_tracing`` once at start-up, binds the required tags (``tenant_id``,
``workflow_name``, ``agent_id``) around each unit of work, and calls an OpenAI-compatible
chat API with the ``openai`` client. Nothing else: OpenLLMetry makes the LLM span, the
spine adds the tags, the cost and the content policy.

Run by ``somatrace smoke``, it follows the runner's plan (which workflows, for which tenant;
see ``somatrace.checks.smoke.contract``), plants the plan's unique marker in every prompt
(the runner then proves no span carries it) and reports each call. Run by hand::

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=x \\
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python scripts/observability/trace_smoke.py
"""

from __future__ import annotations

import time

from openai import OpenAI
from opentelemetry import trace

from somatrace.checks.smoke.contract import PlannedWorkflow, SmokePlan
from somatrace.tags import bind, span_tags
from somatrace.tracing import init_tracing

SERVICE = "smoke-example"

# workflow name -> (agent, the question it asks the model)
WORKFLOWS: dict[str, tuple[str, str]] = {
    "support-answer": ("answerer", "How do I change the e-mail address on my account?"),
    "ticket-triage": ("triager", "Is 'the invoice total is wrong' a billing or a tech issue?"),
    "release-notes": ("writer", "Summarise in one line: faster search, fewer timeouts."),
}


def run_workflow(client: OpenAI, plan: SmokePlan, item: PlannedWorkflow) -> None:
    workflow_name = list(WORKFLOWS)[item.index % len(WORKFLOWS)]
    agent_id, question = WORKFLOWS[workflow_name]
    tracer = trace.get_tracer(SERVICE)
    with (
        bind(tenant_id=item.tenant_id, workflow_name=workflow_name, agent_id=agent_id),
        tracer.start_as_current_span(f"{workflow_name}.workflow", attributes={**span_tags()}),
    ):
        started = time.perf_counter()
        response = client.chat.completions.create(
            model=plan.model,
            messages=[
                {"role": "system", "content": "You are a concise support assistant."},
                {"role": "user", "content": f"[ref {item.marker}] {question}"},
            ],
            max_tokens=plan.max_tokens,
            temperature=0,
        )
        plan.record_call(
            item,
            response,
            workflow_name=workflow_name,
            agent_id=agent_id,
            latency_s=time.perf_counter() - started,
            service=SERVICE,
        )


def main() -> None:
    # Only the OpenAI instrumentation: this service talks to nothing else, and importing
    # every bundled instrumentation costs seconds of start-up.
    handle = init_tracing(SERVICE, instruments=["openai"])
    plan = SmokePlan.from_environment()
    client = OpenAI()
    for item in plan.workflows:
        run_workflow(client, plan, item)
    handle.force_flush(10_000)


if __name__ == "__main__":
    main()
