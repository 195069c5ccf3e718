"""The contract between ``somatrace smoke`` and a smoke script (the traced service it runs).

Pure standard library on purpose: smoke scripts import it, and it must not change what the
service imports or initialises.

The runner hands each script run a *plan* (``SOMATRACE_SMOKE_PLAN``, a JSON file): which
workflows to run, for which tenant, with which model and ``max_tokens``, and a unique marker
per workflow that the script plants in its prompt. The script reports every LLM call it made
to a JSON-lines file (``SOMATRACE_SMOKE_CALLS``) with :meth:`SmokePlan.record_call`; the
runner matches each call to its span by the response id and checks the span.

The script also gets ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (read by ``openai.OpenAI()``)
and ``OTEL_EXPORTER_OTLP_ENDPOINT`` (read by ``init_tracing``). Run by hand, without the
runner, :meth:`SmokePlan.from_environment` gives a one-workflow plan that records nothing.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PLAN_VARIABLE = "SOMATRACE_SMOKE_PLAN"
CALLS_VARIABLE = "SOMATRACE_SMOKE_CALLS"
RUN_RESOURCE_ATTRIBUTE = "somatrace.smoke.run"
PLAN_SCHEMA = "somatrace.smoke.plan/v1"
DEFAULT_MODEL = "smollm2"
DEFAULT_MAX_TOKENS = 16


@dataclass(frozen=True)
class PlannedWorkflow:
    """One workflow the script must run: its number, its tenant and its prompt marker."""

    index: int
    tenant_id: str
    marker: str


@dataclass(frozen=True)
class CallRecord:
    """One LLM call as the script saw it (what the API returned, and the tags it bound)."""

    workflow_index: int
    tenant_id: str
    workflow_name: str
    agent_id: str
    marker: str
    response_id: str
    model: str
    input_tokens: int
    output_tokens: int
    completion: str
    latency_s: float
    service: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CallRecord:
        return cls(
            workflow_index=int(data["workflow_index"]),
            tenant_id=str(data["tenant_id"]),
            workflow_name=str(data["workflow_name"]),
            agent_id=str(data["agent_id"]),
            marker=str(data["marker"]),
            response_id=str(data["response_id"]),
            model=str(data["model"]),
            input_tokens=int(data["input_tokens"]),
            output_tokens=int(data["output_tokens"]),
            completion=str(data.get("completion", "")),
            latency_s=float(data.get("latency_s", 0.0)),
            service=str(data.get("service", "")),
        )


@dataclass
class SmokePlan:
    """What one script run must do; read it with :meth:`from_environment`."""

    run_id: str
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    workflows: tuple[PlannedWorkflow, ...] = ()
    calls_file: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- the runner's side ---------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {
                "schema": PLAN_SCHEMA,
                "run_id": self.run_id,
                "model": self.model,
                "max_tokens": self.max_tokens,
                "workflows": [asdict(workflow) for workflow in self.workflows],
            },
            indent=1,
        )

    # -- the script's side ---------------------------------------------------------------
    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SmokePlan:
        """The plan the runner wrote, or a one-workflow plan for a run by hand."""
        env = os.environ if environ is None else environ
        calls = env.get(CALLS_VARIABLE) or None
        plan_file = env.get(PLAN_VARIABLE)
        if not plan_file:
            return cls(
                run_id="manual",
                model=env.get("SOMATRACE_SMOKE_MODEL", DEFAULT_MODEL),
                workflows=(PlannedWorkflow(0, "manual-tenant", "SMOKE-MARKER-manual-0000"),),
                calls_file=Path(calls) if calls else None,
            )
        document = json.loads(Path(plan_file).read_text(encoding="utf-8"))
        if document.get("schema") != PLAN_SCHEMA:
            raise ValueError(f"{plan_file} is not a {PLAN_SCHEMA} document")
        return cls(
            run_id=str(document["run_id"]),
            model=str(document["model"]),
            max_tokens=int(document["max_tokens"]),
            workflows=tuple(
                PlannedWorkflow(int(w["index"]), str(w["tenant_id"]), str(w["marker"]))
                for w in document["workflows"]
            ),
            calls_file=Path(calls) if calls else None,
        )

    def record_call(
        self,
        workflow: PlannedWorkflow,
        response: Any,
        *,
        workflow_name: str,
        agent_id: str,
        latency_s: float,
        service: str = "",
    ) -> CallRecord:
        """Report one chat completion (an ``openai`` response object) to the runner."""
        usage = getattr(response, "usage", None)
        choices = getattr(response, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        record = CallRecord(
            workflow_index=workflow.index,
            tenant_id=workflow.tenant_id,
            workflow_name=workflow_name,
            agent_id=agent_id,
            marker=workflow.marker,
            response_id=str(getattr(response, "id", "") or ""),
            model=str(getattr(response, "model", "") or ""),
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            completion=str(getattr(message, "content", "") or ""),
            latency_s=latency_s,
            service=service,
        )
        if self.calls_file is not None:
            line = json.dumps(asdict(record), ensure_ascii=False)
            with self._lock, self.calls_file.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return record


def read_calls(path: Path) -> list[CallRecord]:
    """The calls a script reported (an absent file: none)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(CallRecord.from_mapping(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a call record: {error}") from None
    return records
