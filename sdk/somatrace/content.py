"""Which span attributes and events carry prompt/completion content, and what to do with them.

Policy, applied to every span just before export:

- content kept on all spans (``TRACE_CONTENT=true``) or on spans of an opted-in tenant
  (``TRACE_CONTENT_TENANTS``, matched on the span's ``tenant_id`` tag): content values
  are redacted (:mod:`somatrace.redact`) and kept;
- every other span: content attributes and content events are removed, whatever put
  them there (an instrumentation that ignores Traceloop's switch, a hand-set attribute).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from somatrace.redact import Redactor

TENANT_ATTRIBUTE = "traceloop.association.properties.tenant_id"
TENANT_METADATA_ATTRIBUTE = "langfuse.trace.metadata.tenant_id"

# Langfuse builds an observation's input/output from these attributes and copies *every other*
# attribute into metadata.attributes as a string (langfuse/langfuse v4.16,
# packages/shared/src/server/otel/OtelIngestionProcessor.ts:1656-1724, "potentialInputOutputKeys",
# and 2090-2095 for tool_arguments/tool_response): with content off, all of them go.
LANGFUSE_CONTENT_KEYS = frozenset(
    {
        "langfuse.trace.input",
        "langfuse.trace.output",
        "langfuse.observation.input",
        "langfuse.observation.output",
        "ai.prompt.messages",
        "ai.prompt",
        "ai.toolCall.args",
        "ai.response.text",
        "ai.result.text",
        "ai.toolCall.result",
        "ai.response.object",
        "ai.result.object",
        "ai.response.toolCalls",
        "ai.result.toolCalls",
        "gcp.vertex.agent.llm_request",
        "gcp.vertex.agent.llm_response",
        "gcp.vertex.agent.tool_call_args",
        "gcp.vertex.agent.tool_response",
        "prompt",
        "all_messages_events",
        "events",
        "lk.input_text",
        "lk.user_transcript",
        "lk.chat_ctx",
        "lk.user_input",
        "lk.function_tool.output",
        "lk.response.text",
        "mlflow.spanInputs",
        "mlflow.spanOutputs",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "input.value",
        "output.value",
        "final_result",
        "pydantic_ai.all_messages",
        "gen_ai.system_instructions",
        "input",
        "output",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "genkit:input",
        "genkit:output",
        "flue.turn.input",
        "flue.turn.output",
        "flue.tool.arguments",
        "flue.tool.result",
        "flue.task.prompt",
        "flue.task.result",
        "flue.operation.result",
        "flue.workflow.payload",
        "flue.workflow.result",
        "tool_arguments",
        "tool_response",
    }
)
# OtelIngestionProcessor.ts:1733-1745 (the metadata blob prefixes there are not content).
LANGFUSE_CONTENT_PREFIXES = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "llm.input_messages",
    "llm.output_messages",
)
# traceloop-sdk 0.62 (opentelemetry/semconv_ai/__init__.py): prompt templates and their
# variables (132-133), tool/function definitions (170), request headers (llm.headers, may
# carry credentials), task input/output (321-322), vector-store query texts; and the OTel GenAI
# semantic conventions' tool definitions.
TRACELOOP_CONTENT_KEYS = frozenset(
    {
        "traceloop.prompt.template",
        "traceloop.prompt.template_variables",
        "gen_ai.task.input",
        "gen_ai.task.output",
        "gen_ai.tool.definitions",
        "llm.headers",
        "db.marqo.search.query",
        "db.chroma.query.where_document",
        "db.chroma.get.where_document",
        "db.chroma.delete.where_document",
    }
)
TRACELOOP_CONTENT_PREFIXES = (
    "traceloop.prompt.template_variables.",
    "llm.request.functions.",
    "gen_ai.tool.definitions.",
)
# OpenInference (Arize-ai/openinference, openinference/semconv/trace/__init__.py): input/output
# values (19-26), messages (54-58), prompts and choices (86-92), prompt templates (98-102), tool
# definitions and calls (220-238), retrieval and reranker documents (243, 468-476), embedded
# texts (32, 495), function calls (45).
OPENINFERENCE_CONTENT_KEYS = frozenset(
    {
        "llm.prompts",
        "llm.choices",
        "llm.prompt_template.template",
        "llm.prompt_template.variables",
        "llm.function_call",
        "llm.tools",
        "tool.parameters",
        "reranker.query",
    }
)
OPENINFERENCE_CONTENT_PREFIXES = (
    "llm.prompts.",
    "llm.choices.",
    "llm.completions",
    "llm.tools.",
    "retrieval.documents",
    "reranker.input_documents",
    "reranker.output_documents",
    "embedding.embeddings",
)
CONTENT_KEYS = LANGFUSE_CONTENT_KEYS | TRACELOOP_CONTENT_KEYS | OPENINFERENCE_CONTENT_KEYS
CONTENT_PREFIXES = (
    LANGFUSE_CONTENT_PREFIXES + TRACELOOP_CONTENT_PREFIXES + OPENINFERENCE_CONTENT_PREFIXES
)
# Span events that carry content: the GenAI message events Langfuse reads
# (OtelIngestionProcessor.ts:1866-1870, 1889-1898, 1945-1953), traceloop's completion chunks
# (semconv_ai/__init__.py:76, 183) and vector-store results (336-341).
CONTENT_EVENT_PREFIXES = (
    "gen_ai.content.",
    "gen_ai.user.message",
    "gen_ai.system.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.client.inference.operation.details",
    "llm.content.completion.chunk",
    "db.query.result",
    "db.search.result",
)


_KEY_MEMO: dict[str, bool] = {}


def is_content_key(key: str) -> bool:
    known = _KEY_MEMO.get(key)
    if known is None:
        known = key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)
        if len(_KEY_MEMO) < 10_000:  # attribute keys repeat; keep the memo bounded anyway
            _KEY_MEMO[key] = known
    return known


def is_content_event(name: str) -> bool:
    return name.startswith(CONTENT_EVENT_PREFIXES)


@dataclass
class ContentDecision:
    """The attributes to export and whether any event must go (or be redacted)."""

    attributes: dict[str, Any] | None  # None: unchanged
    strip_events: bool
    redact_events: bool


class ContentPolicy:
    """Decides, per span, whether content stays (redacted) or goes."""

    def __init__(
        self,
        all_tenants: bool = False,
        tenants: frozenset[str] = frozenset(),
        redactor: Redactor | None = None,
    ) -> None:
        self.all_tenants = all_tenants
        self.tenants = tenants
        self.redactor = redactor or Redactor()

    def keeps_content(self, attributes: Mapping[str, Any]) -> bool:
        if self.all_tenants:
            return True
        tenant = attributes.get(TENANT_ATTRIBUTE, attributes.get(TENANT_METADATA_ATTRIBUTE))
        return tenant is not None and str(tenant) in self.tenants

    def redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            if value[:1] in ("[", "{"):
                return redact_json_text(self, value)
            return self.redactor.redact(value)
        if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
            return [self.redact_value(item) for item in value]
        return value

    def apply(self, attributes: Mapping[str, Any], event_names: Sequence[str]) -> ContentDecision:
        content_keys = [key for key in attributes if is_content_key(key)]
        has_content_events = bool(event_names) and any(is_content_event(n) for n in event_names)
        if not content_keys and not has_content_events:
            return ContentDecision(None, False, False)
        if self.keeps_content(attributes):
            updated = dict(attributes)
            for key in content_keys:
                updated[key] = self.redact_value(attributes[key])
            return ContentDecision(updated, False, has_content_events)
        kept = {key: value for key, value in attributes.items() if not is_content_key(key)}
        return ContentDecision(kept, has_content_events, False)

    def describe(self) -> dict[str, Any]:
        return {"all_tenants": self.all_tenants, "tenants": sorted(self.tenants)}


def redact_json_text(policy: ContentPolicy, text: str) -> str:
    """Redact a JSON document's string values (keeps it valid JSON); plain text otherwise."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return policy.redactor.redact(text)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return policy.redactor.redact(node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        return node

    return json.dumps(walk(document), ensure_ascii=False)
