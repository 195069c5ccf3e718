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

CONTENT_KEYS = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "traceloop.prompt.template",
        "llm.prompts",
        "llm.completions",
        "input.value",
        "output.value",
    }
)
CONTENT_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "gen_ai.input.messages.",
    "gen_ai.output.messages.",
    "llm.prompts.",
    "llm.completions.",
    "traceloop.prompt.template_variables.",
)
CONTENT_EVENT_PREFIXES = (
    "gen_ai.content.",
    "gen_ai.user.message",
    "gen_ai.system.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.client.inference.operation.details",
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
