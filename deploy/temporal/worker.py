"""Worker and schedule management for the nightly RAG evaluation.

    python deploy/temporal/worker.py worker   --address temporal:7233
    python deploy/temporal/worker.py schedule --address temporal:7233 --config eval.toml
    python deploy/temporal/worker.py trigger  --address temporal:7233      # one run now, and wait
    python deploy/temporal/worker.py start-cron --config ...               # legacy cron workflow

Run the worker where ``somatrace[eval]`` is installed (the activity runs ``somatrace eval``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from activities import evaluate_rag_service, list_eval_services
from nightly_rag_eval_workflow import (
    CRON,
    SCHEDULE_ID,
    TASK_QUEUE,
    TIME_ZONE,
    WORKFLOW_ID,
    NightlyEvalInput,
    NightlyEvalResult,
    NightlyRagEvalWorkflow,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.worker import Worker

RUN_TIMEOUT = timedelta(hours=8)


def make_worker(client: Client, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[NightlyRagEvalWorkflow],
        activities=[list_eval_services, evaluate_rag_service],  # async: no executor needed
        max_concurrent_activities=1,  # evaluations share the CPU and the LLM
    )


def schedule_for(request: NightlyEvalInput, task_queue: str = TASK_QUEUE) -> Schedule:
    """``0 2 * * *`` UTC; a night still running when the next starts makes the next one skip."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            NightlyRagEvalWorkflow.run,
            request,
            id=WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=RUN_TIMEOUT,
        ),
        spec=ScheduleSpec(cron_expressions=[CRON], time_zone_name=TIME_ZONE),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)
        ),
        state=ScheduleState(note="somatrace nightly RAG evaluation (Giskard RAGET)"),
    )


async def ensure_schedule(
    client: Client,
    request: NightlyEvalInput,
    *,
    schedule_id: str = SCHEDULE_ID,
    task_queue: str = TASK_QUEUE,
) -> str:
    """Create the schedule, or update it in place if it exists (idempotent)."""
    schedule = schedule_for(request, task_queue)
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        return "updated"


async def trigger_and_wait(
    client: Client, *, schedule_id: str = SCHEDULE_ID, timeout: float = 3600.0
) -> NightlyEvalResult:
    """Start one run of the schedule now and wait for its result."""
    handle = client.get_schedule_handle(schedule_id)
    before = {a.action.workflow_id + a.action.first_execution_run_id
              for a in (await handle.describe()).info.recent_actions
              if hasattr(a.action, "workflow_id")}  # fmt: skip
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        description = await handle.describe()
        started = [
            a.action for a in description.info.recent_actions
            if hasattr(a.action, "workflow_id")
            and a.action.workflow_id + a.action.first_execution_run_id not in before
        ]  # fmt: skip
        if started:
            run = started[-1]
            workflow = client.get_workflow_handle(
                run.workflow_id, run_id=run.first_execution_run_id, result_type=NightlyEvalResult
            )
            remaining = max(1.0, deadline - loop.time())
            return await asyncio.wait_for(workflow.result(), timeout=remaining)
        if loop.time() > deadline:
            raise TimeoutError(f"schedule {schedule_id} started no workflow in {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def start_cron_workflow(
    client: Client, request: NightlyEvalInput, task_queue: str = TASK_QUEUE
) -> str:
    """The legacy form: a workflow with ``cron_schedule``; its first run waits for 02:00 UTC."""
    handle = await client.start_workflow(
        NightlyRagEvalWorkflow.run,
        request,
        id=f"{WORKFLOW_ID}-cron",
        task_queue=task_queue,
        cron_schedule=CRON,
    )
    return handle.id


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["worker", "schedule", "trigger", "start-cron"])
    parser.add_argument("--address", default="127.0.0.1:7233")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--schedule-id", default=SCHEDULE_ID)
    parser.add_argument("--config", default="/etc/somatrace/eval.toml")
    parser.add_argument("--somatrace", default="somatrace", help="command that runs somatrace")
    parser.add_argument("--llm-base-url", default="")
    return parser


async def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    client = await Client.connect(args.address, namespace=args.namespace)
    request = NightlyEvalInput(
        config_path=args.config, somatrace=args.somatrace.split(), llm_base_url=args.llm_base_url
    )
    if args.command == "worker":
        await make_worker(client, args.task_queue).run()
    elif args.command == "schedule":
        done = await ensure_schedule(
            client, request, schedule_id=args.schedule_id, task_queue=args.task_queue
        )
        print(f"schedule {args.schedule_id} {done}: {CRON} {TIME_ZONE}")
    elif args.command == "trigger":
        result = await trigger_and_wait(client, schedule_id=args.schedule_id)
        for outcome in result.outcomes:
            print(f"{outcome.service}: {outcome.status} correctness={outcome.correctness}")
        return 1 if result.regressed else 0
    else:
        print(f"started {await start_cron_workflow(client, request, args.task_queue)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
