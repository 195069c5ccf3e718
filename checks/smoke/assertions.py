"""What a smoke run proves about each LLM call's span, with messages that name what is wrong.

Per call the script reported (see :mod:`somatrace.checks.smoke.contract`):

- a span exists: an LLM span whose ``gen_ai.response.id`` is the call's response id;
- it carries every required tag (``tenant_id``, ``workflow_name``, ``agent_id``), both as
  ``traceloop.association.properties.<tag>`` (OpenLLMetry) and ``langfuse.trace.metadata.<tag>``
  (what Langfuse segments on), with the values the script bound;
- the model (``gen_ai.request.model``, ``gen_ai.response.model``) and the tokens
  (``gen_ai.usage.input_tokens``/``output_tokens``) equal to what the LLM API returned;
- a cost: ``somatrace.cost.status = "priced"`` with ``somatrace.cost.total`` (exact) equal to
  the price table's cost of the API's usage and ``gen_ai.usage.cost``, or an explicit
  ``"unpriced"`` for a model the price table does not know;
- ``service.name`` on its resource.

Per script run, over every span it exported: no content attribute or event, no prompt marker
and no completion text anywhere (name, attributes, resource, events, links, status).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from somatrace.checks.runtime.receiver import SpanDict
from somatrace.checks.smoke.contract import CallRecord
from somatrace.checks.smoke.spans import (
    ASSOCIATION_PREFIX,
    COST_CURRENCY,
    COST_FLOAT,
    COST_STATUS,
    INPUT_TOKENS,
    METADATA_PREFIX,
    OUTPUT_TOKENS,
    REQUEST_MODEL,
    RESPONSE_ID,
    RESPONSE_MODEL,
    SERVICE_NAME,
    attribute,
    describe,
    is_llm_span,
    span_cost,
    strings_in,
)
from somatrace.content import is_content_event, is_content_key
from somatrace.cost import PriceTable
from somatrace.settings import REQUIRED_TAGS

MIN_COMPLETION_CHARS = 12  # shorter completions ("OK", "Yes.") could match innocent text


@dataclass(frozen=True)
class Failure:
    """One thing a smoke run found wrong; ``check`` groups them (tags, cost, content...)."""

    check: str
    message: str
    script: str
    call: int | None = None


@dataclass
class CallCheck:
    """One LLM call, its span (if found) and what is wrong with it."""

    number: int
    script: str
    record: CallRecord
    span: SpanDict | None
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def label(self) -> str:
        r = self.record
        return f"call #{self.number} ({r.tenant_id} / {r.workflow_name} / {r.agent_id})"


@dataclass
class ScriptRun:
    """One smoke script run: what it was asked, what it did, what it exported."""

    script: str
    run_id: str
    planned_workflows: int
    exit_code: int | None
    duration_s: float
    calls: list[CallRecord]
    spans: list[SpanDict]
    stderr_tail: str = ""
    foreign_spans: int = 0  # spans in the receiver without this run's resource attribute
    problems: list[str] = field(default_factory=list)  # e.g. an unreadable calls file


def check_call(
    number: int,
    run: ScriptRun,
    record: CallRecord,
    llm_spans: Sequence[SpanDict],
    prices: PriceTable,
) -> CallCheck:
    matching = [s for s in llm_spans if attribute(s, RESPONSE_ID) == record.response_id]
    result = CallCheck(number, run.script, record, matching[0] if matching else None)

    def fail(check: str, message: str) -> None:
        result.failures.append(Failure(check, f"{result.label}: {message}", run.script, number))

    if not matching:
        fail("span", _missing_span_message(run, record, llm_spans))
        return result
    if len(matching) > 1:
        fail(
            "span",
            f"{len(matching)} LLM spans carry gen_ai.response.id={record.response_id} "
            "(the call is instrumented more than once)",
        )
    span = matching[0]
    where = describe(span)
    for message in _tag_problems(span, record):
        fail("tags", f"{where} {message}")
    for message in _model_and_token_problems(span, record):
        fail("tokens" if "tokens" in message else "model", f"{where} {message}")
    for message in _cost_problems(span, record, prices):
        fail("cost", f"{where} {message}")
    for message in _service_problems(span, record):
        fail("service", f"{where} {message}")
    return result


def _missing_span_message(run: ScriptRun, record: CallRecord, llm_spans: Sequence[SpanDict]) -> str:
    base = f"no LLM span with gen_ai.response.id={record.response_id}"
    if not run.spans:
        hint = (
            "the script exported no spans at all: init_tracing() was not called at start-up, "
            "or tracing is disabled or exports to another endpoint"
        )
        if run.foreign_spans:
            hint += (
                f" ({run.foreign_spans} span(s) without the somatrace.smoke.run resource "
                "attribute reached the receiver: does the service override "
                "OTEL_RESOURCE_ATTRIBUTES or use its own TracerProvider?)"
            )
        return f"{base}: {hint}"
    if not llm_spans:
        names = sorted({str(s.get("name")) for s in run.spans})
        return (
            f"{base}: the script exported {len(run.spans)} span(s) ({', '.join(names[:8])}) but "
            "no LLM span: the OpenAI instrumentation is not active (instruments option?)"
        )
    ids = ", ".join(sorted(str(attribute(s, RESPONSE_ID)) for s in llm_spans)[:5])
    return f"{base} among the {len(llm_spans)} LLM span(s) received (response ids: {ids})"


def _tag_problems(span: SpanDict, record: CallRecord) -> list[str]:
    expected = {
        "tenant_id": record.tenant_id,
        "workflow_name": record.workflow_name,
        "agent_id": record.agent_id,
    }
    problems = []
    for tag in REQUIRED_TAGS:
        association_key, metadata_key = ASSOCIATION_PREFIX + tag, METADATA_PREFIX + tag
        association, metadata = attribute(span, association_key), attribute(span, metadata_key)
        if association is None and metadata is None:
            problems.append(
                f"lacks tag {tag} (neither {association_key} nor {metadata_key} is set)"
            )
            continue
        for key, value in ((association_key, association), (metadata_key, metadata)):
            if value is None:
                problems.append(f"lacks {key} (tag {tag} is only half set)")
            elif tag in expected and str(value) != expected[tag]:
                problems.append(
                    f"has {key}={value!r} but the call was made with {tag}={expected[tag]!r}"
                )
    return problems


def _model_and_token_problems(span: SpanDict, record: CallRecord) -> list[str]:
    problems = []
    for key in (REQUEST_MODEL, RESPONSE_MODEL):
        if not attribute(span, key):
            problems.append(f"lacks the model attribute {key}")
    response_model = attribute(span, RESPONSE_MODEL)
    if response_model and record.model and str(response_model) != record.model:
        problems.append(
            f"has {RESPONSE_MODEL}={response_model!r} but the API answered model {record.model!r}"
        )
    expected_tokens = ((INPUT_TOKENS, record.input_tokens), (OUTPUT_TOKENS, record.output_tokens))
    for key, expected in expected_tokens:
        value = attribute(span, key)
        if value is None:
            problems.append(f"lacks the tokens attribute {key}")
        elif int(value) != expected:
            problems.append(f"has {key}={value} tokens but the API reported {expected} tokens")
    return problems


def expected_cost(record: CallRecord, model: str, prices: PriceTable) -> Decimal | None:
    """The price table's exact cost of the usage the LLM API reported, ``None`` if unpriced."""
    cost = prices.cost(model, record.input_tokens, record.output_tokens)
    return None if cost is None else cost.total


def _cost_problems(span: SpanDict, record: CallRecord, prices: PriceTable) -> list[str]:
    status = attribute(span, COST_STATUS)
    model = str(attribute(span, RESPONSE_MODEL) or attribute(span, REQUEST_MODEL) or record.model)
    if status is None:
        return [
            "has no cost: neither somatrace.cost.total / gen_ai.usage.cost nor "
            "somatrace.cost.status=unpriced is set (is the span exported through init_tracing's "
            "pipeline?)"
        ]
    expected = expected_cost(record, model, prices)
    if status == "unpriced":
        if expected is not None:
            return [
                f"is marked unpriced but the price table has a price for model {model!r} "
                f"(expected cost {expected})"
            ]
        return []
    if status != "priced":
        return [f"has somatrace.cost.status={status!r} (expected 'priced' or 'unpriced')"]
    problems = []
    exact = span_cost(span)
    if exact is None:
        problems.append("is priced but lacks a decimal somatrace.cost.total")
    if attribute(span, COST_FLOAT) is None:
        problems.append(f"is priced but lacks {COST_FLOAT} (what Langfuse reads)")
    if not attribute(span, COST_CURRENCY):
        problems.append(f"is priced but lacks {COST_CURRENCY}")
    if expected is None:
        problems.append(f"is priced but the price table has no price for model {model!r}")
    elif exact is not None and exact != expected:
        problems.append(
            f"has somatrace.cost.total={exact} but {record.input_tokens} input and "
            f"{record.output_tokens} output tokens of {model!r} cost exactly {expected}"
        )
    return problems


def _service_problems(span: SpanDict, record: CallRecord) -> list[str]:
    name = span.get("resource", {}).get(SERVICE_NAME)
    if not name:
        return [f"lacks the resource attribute {SERVICE_NAME}"]
    if str(name).startswith("unknown_service"):
        return [f"has {SERVICE_NAME}={name!r}: the service name was never set"]
    if record.service and str(name) != record.service:
        return [f"has {SERVICE_NAME}={name!r} but the service reported {record.service!r}"]
    return []


def content_failures(run: ScriptRun) -> list[Failure]:
    """Prompt or completion content anywhere in any span the script exported."""
    needles: list[tuple[str, str]] = []
    for record in run.calls:
        needles.append((f"the prompt marker {record.marker}", record.marker))
        text = record.completion.strip()
        if len(text) >= MIN_COMPLETION_CHARS:
            needles.append((f"the completion of {record.response_id}", text))
            escaped = json.dumps(text)[1:-1]  # as it appears inside a JSON-encoded attribute
            if escaped != text:
                needles.append((f"the completion of {record.response_id}", escaped))
    failures: list[Failure] = []
    for span in run.spans:
        found: list[str] = []
        for key in span.get("attributes", {}):
            if is_content_key(key):
                found.append(f"content attribute {key}")
        for event in span.get("events", []):
            if is_content_event(str(event.get("name", ""))):
                found.append(f"content event {event.get('name')}")
        for where, text in strings_in(span):
            for label, needle in needles:
                if needle in text:
                    found.append(f"{label} in {where}")
        if found:
            unique = list(dict.fromkeys(found))
            failures.append(
                Failure(
                    "content",
                    f"{describe(span)} carries prompt/completion content: "
                    + "; ".join(unique[:6])
                    + (f" (and {len(unique) - 6} more)" if len(unique) > 6 else ""),
                    run.script,
                )
            )
    return failures


def script_failures(run: ScriptRun) -> list[Failure]:
    """Problems of the script run itself: crashed, reported nothing, ran too few workflows."""
    failures = [Failure("script", f"{run.script}: {text}", run.script) for text in run.problems]
    if run.exit_code != 0:
        failures.append(
            Failure(
                "script",
                f"{run.script} exited with code {run.exit_code}; last lines of its stderr:\n"
                f"{run.stderr_tail}",
                run.script,
            )
        )
    if not run.calls:
        failures.append(
            Failure(
                "script",
                f"{run.script} reported no LLM calls: a smoke script must report each call with "
                "SmokePlan.record_call (somatrace.checks.smoke.contract)",
                run.script,
            )
        )
    done = {record.workflow_index for record in run.calls}
    if run.calls and len(done) < run.planned_workflows:
        failures.append(
            Failure(
                "script",
                f"{run.script} ran {len(done)} of the {run.planned_workflows} planned workflows",
                run.script,
            )
        )
    return failures


def check_run(
    run: ScriptRun, prices: PriceTable, first_number: int = 1
) -> tuple[list[CallCheck], list[Failure]]:
    """Every check of one script run: per-call results and the run-level failures."""
    llm_spans = [span for span in run.spans if is_llm_span(span)]
    calls = [
        check_call(first_number + offset, run, record, llm_spans, prices)
        for offset, record in enumerate(run.calls)
    ]
    failures = script_failures(run) + content_failures(run)
    known = {record.response_id for record in run.calls}
    for span in llm_spans:
        response_id = attribute(span, RESPONSE_ID)
        if response_id not in known:
            failures.append(
                Failure(
                    "span",
                    f"{describe(span)} (gen_ai.response.id={response_id}) matches no call the "
                    "script reported",
                    run.script,
                )
            )
    return calls, failures
