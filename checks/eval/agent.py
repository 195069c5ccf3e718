"""Load a RAG service's agent entry point (``package.module:function``) and adapt its answers.

The function is called with the question (and ``history=[{"role", "content"}...]`` when it
takes a ``history`` parameter, for conversational questions). It may return a string, a
``giskard.rag.AgentAnswer``, a mapping with ``message`` (and optionally ``documents``: the
retrieved passages), or any object with a ``message`` attribute.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from giskard.rag import AgentAnswer

from somatrace.checks.lint.errors import UsageError

AgentFunction = Callable[..., Any]


def load_agent(reference: str, search_path: Sequence[Path] = ()) -> AgentFunction:
    module_name, _, function_name = reference.partition(":")
    for folder in reversed(search_path):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import the agent module {module_name!r}: {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise UsageError(f"{reference}: {module_name} has no function {function_name!r}")
    return function


def to_agent_answer(result: Any) -> AgentAnswer:
    if isinstance(result, AgentAnswer):
        return result
    if isinstance(result, str):
        return AgentAnswer(message=result)
    if isinstance(result, Mapping) and "message" in result:
        documents = result.get("documents")
        return AgentAnswer(message=str(result["message"]), documents=_documents(documents))
    message = getattr(result, "message", None)
    if isinstance(message, str):
        return AgentAnswer(
            message=message, documents=_documents(getattr(result, "documents", None))
        )
    raise UsageError(
        f"the agent returned {type(result).__name__}; return a string, a mapping with "
        "'message', or giskard.rag.AgentAnswer"
    )


def _documents(documents: Any) -> list[str] | None:
    if documents is None:
        return None
    return [str(d) for d in documents]


def adapt(function: AgentFunction) -> Callable[..., AgentAnswer]:
    """A Giskard ``answer_fn``: takes ``history`` (Giskard passes it by that name)."""
    try:
        takes_history = "history" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        takes_history = False

    def answer_fn(question: str, history: list[dict[str, str]] | None = None) -> AgentAnswer:
        if takes_history:
            return to_agent_answer(function(question, history=list(history or [])))
        return to_agent_answer(function(question))

    return answer_fn
