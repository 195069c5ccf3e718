"""Activities of the nightly RAG evaluation: list the services, evaluate one service.

``evaluate_rag_service`` runs ``somatrace eval run --service NAME --json`` in a subprocess and
heartbeats while it runs, so a hung evaluation is noticed within the heartbeat timeout and
retried; cancelling the activity kills the evaluation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from nightly_rag_eval_workflow import ServiceEvalOutcome, ServiceEvalRequest
from temporalio import activity
from temporalio.exceptions import ApplicationError

HEARTBEAT_EVERY = 15.0
OUTPUT_TAIL = 3000


@activity.defn(name="list_eval_services")
async def list_eval_services(config_path: str) -> list[str]:
    from somatrace.checks.eval.config import load_config
    from somatrace.checks.lint.errors import UsageError

    try:
        config = load_config(Path(config_path))
    except UsageError as exc:
        raise ApplicationError(str(exc), type="EvalConfigError", non_retryable=True) from exc
    return [service.name for service in config.services]


def last_json_object(output: str) -> dict[str, object]:
    """The JSON summary ``--json`` prints last (an agent may have printed before it)."""
    lines = output.splitlines(keepends=True)
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "{":
            try:
                return dict(json.loads("".join(lines[index:])))
            except json.JSONDecodeError:
                continue
    raise ApplicationError("somatrace eval printed no JSON summary", type="EvalRunError")


def eval_command(request: ServiceEvalRequest) -> list[str]:
    command = [*request.somatrace, "eval", "run", "--config", request.config_path]
    command += ["--service", request.service, "--json"]
    if request.llm_base_url:
        command += ["--llm-base-url", request.llm_base_url]
    return command


@activity.defn(name="evaluate_rag_service")
async def evaluate_rag_service(request: ServiceEvalRequest) -> ServiceEvalOutcome:
    command = eval_command(request)
    activity.logger.info("running %s", " ".join(command))
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    communicate = asyncio.ensure_future(process.communicate())
    try:
        while True:
            done, _ = await asyncio.wait({communicate}, timeout=HEARTBEAT_EVERY)
            if done:
                break
            activity.heartbeat(f"evaluating {request.service}")
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    stdout, stderr = communicate.result()
    code = process.returncode
    if code not in (0, 1):
        tail = stderr.decode(errors="replace")[-OUTPUT_TAIL:]
        raise ApplicationError(
            f"somatrace eval for {request.service} exited with {code}: {tail}",
            type="EvalRunError",
        )
    summary = last_json_object(stdout.decode(errors="replace"))
    service = next(s for s in summary["services"] if s["service"] == request.service)
    scores = service.get("scores") or {}
    return ServiceEvalOutcome(
        service=request.service,
        exit_code=code,
        status=service["status"],
        correctness=scores.get("correctness"),
        answer_f1=(scores.get("metrics") or {}).get("answer_f1"),
        regressions=[r["message"] for r in service["regressions"]],
        report=str(Path(service["report_dir"]) / "report.html") if service["report_dir"] else "",
    )
