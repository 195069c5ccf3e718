"""Giskard's litellm client, bounded for small local models.

Giskard 2.19.2 calls ``complete()`` without ``max_tokens`` and asks for JSON only in some
places; a 135M model then rambles to the context limit or answers with prose where JSON is
parsed. This client (a) caps every completion at ``max_tokens``, (b) forces JSON output for
every call whose answer Giskard parses as JSON (question generators and the correctness judge),
with a JSON schema naming the keys Giskard reads, which llama.cpp's server enforces with a
grammar, and (c) fixes a seed so llama.cpp testsets are reproducible.

Passing ``max_tokens`` through ``set_llm_model(..., max_tokens=...)`` does not work: Giskard
passes its own ``max_tokens=None`` next to it and the call fails with a duplicate keyword.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from giskard.llm.client.base import ChatMessage
from giskard.llm.client.litellm import LiteLLMClient

from somatrace.checks.eval.config import LLMConfig
from somatrace.checks.runtime.llm_server import LLMEndpoint


def _object(*keys: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: {"type": "string"} for key in keys},
        "required": list(keys),
    }


# The keys each Giskard caller reads from the JSON it asks for (giskard/rag/**).
JSON_SCHEMAS: Mapping[str, dict[str, Any]] = {
    "SimpleQuestionsGenerator": _object("question", "answer"),
    "ComplexQuestionsGenerator": _object("question"),
    "DistractingQuestionsGenerator": _object("question"),
    "SituationalQuestionsGenerator": _object("question"),
    "ConversationalQuestionsGenerator": _object("introduction", "question"),
    "OutOfScopeGenerator": _object("fake_fact", "question"),
    "CorrectnessMetric": {
        "type": "object",
        "properties": {
            "correctness": {"type": "boolean"},
            "correctness_reason": {"type": "string"},
        },
        "required": ["correctness", "correctness_reason"],
    },
}
# Callers whose JSON has no fixed shape (a list of questions): JSON, but no schema.
JSON_WITHOUT_SCHEMA = frozenset({"DoubleQuestionsGenerator"})


class BoundedLiteLLMClient(LiteLLMClient):
    """A :class:`giskard.llm.client.litellm.LiteLLMClient` with a token cap, forced JSON and a
    seed; everything else (litellm routing, JSON repair, usage logging) is Giskard's own."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None,
        api_key: str | None,
        max_tokens: int,
        json_mode: bool = True,
        seed: int | None = None,
        timeout: float = 300.0,
    ) -> None:
        params: dict[str, Any] = {"timeout": timeout}
        if api_base:
            params["api_base"] = api_base
        if api_key:
            params["api_key"] = api_key
        super().__init__(model, disable_structured_output=False, completion_params=params)
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self.seed = seed
        self._caller: str | None = None

    def complete(
        self,
        messages: Sequence[ChatMessage],
        temperature: float = 1.0,
        max_tokens: int | None = None,
        caller_id: str | None = None,
        seed: int | None = None,
        format: str | None = None,
    ) -> ChatMessage:
        wants_json = caller_id in JSON_SCHEMAS or caller_id in JSON_WITHOUT_SCHEMA
        if self.json_mode and format is None and wants_json:
            format = "json_object"
        self._caller = caller_id if format in ("json", "json_object") else None
        try:
            return super().complete(
                messages,
                temperature=temperature,
                max_tokens=min(max_tokens or self.max_tokens, self.max_tokens),
                caller_id=caller_id,
                seed=self.seed if seed is None else seed,
                format=format if self.json_mode else None,
            )
        finally:
            self._caller = None

    def _build_supported_completion_params(self, **kwargs: Any) -> dict[str, Any]:
        params = super()._build_supported_completion_params(**kwargs)
        schema = JSON_SCHEMAS.get(self._caller or "")
        if schema is not None and params.get("response_format"):
            params["response_format"] = {"type": "json_object", "schema": schema}
        return {key: value for key, value in params.items() if value is not None}


def make_client(config: LLMConfig, endpoint: LLMEndpoint) -> BoundedLiteLLMClient:
    model = endpoint.litellm_model if endpoint.local else config.model
    return BoundedLiteLLMClient(
        model,
        api_base=endpoint.base_url or None,
        api_key=endpoint.api_key if endpoint.local else (config.api_key() or endpoint.api_key),
        max_tokens=config.max_tokens,
        json_mode=config.json_mode,
        seed=config.seed,
        timeout=config.timeout,
    )
