"""The nightly RAG evaluation as a Temporal workflow, scheduled at 02:00 UTC.

One workflow run evaluates every service of the eval config, one activity per service (so a
failing service is retried alone, with its own timeout), sequentially (they share the CPU and
the embedded LLM). Each activity runs ``somatrace eval run --service NAME``: the evaluation
keeps its own process, virtualenv and LLM server; the workflow only orchestrates.

Scheduling: a Temporal *Schedule* with the cron expression ``0 2 * * *`` in UTC
(:func:`schedule_for`): unlike a legacy ``cron_schedule`` workflow it can be triggered now,
paused, backfilled and listed. ``cron_start_options`` gives the legacy form for clusters that
prefer it.

Retries: an activity whose ``somatrace eval`` exits 2 (LLM endpoint down, broken agent) is
retried up to 3 times with backoff; exit 1 (a regression) is a result, not a failure, and is
never retried: the alert has gone out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

TASK_QUEUE = "somatrace-nightly-eval"
WORKFLOW_ID = "somatrace-nightly-rag-eval"
SCHEDULE_ID = "somatrace-nightly-rag-eval"
CRON = "0 2 * * *"
TIME_ZONE = "UTC"


def activity_retry(initial_seconds: float = 30.0, attempts: int = 3) -> RetryPolicy:
    """Backoff 30 s, 60 s...; a broken config is never retried."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=10),
        maximum_attempts=attempts,
        non_retryable_error_types=["EvalConfigError"],
    )


LIST_TIMEOUT = timedelta(minutes=2)
SERVICE_TIMEOUT = timedelta(hours=2)
HEARTBEAT_TIMEOUT = timedelta(minutes=5)


@dataclass
class NightlyEvalInput:
    config_path: str
    services: list[str] = field(default_factory=list)  # empty: every service of the config
    somatrace: list[str] = field(default_factory=lambda: ["somatrace"])  # command to run
    llm_base_url: str = ""  # empty: the config's endpoint or the embedded LLM
    service_timeout_seconds: int = int(SERVICE_TIMEOUT.total_seconds())
    retry_initial_seconds: float = 30.0
    max_attempts: int = 3


@dataclass
class ServiceEvalRequest:
    config_path: str
    service: str
    somatrace: list[str]
    llm_base_url: str = ""


@dataclass
class ServiceEvalOutcome:
    service: str
    exit_code: int
    status: str  # ok | regression
    correctness: float | None = None
    answer_f1: float | None = None
    regressions: list[str] = field(default_factory=list)
    report: str = ""


@dataclass
class NightlyEvalResult:
    outcomes: list[ServiceEvalOutcome]

    @property
    def regressed(self) -> list[str]:
        return [o.service for o in self.outcomes if o.status != "ok"]


@workflow.defn(name="NightlyRagEval")
class NightlyRagEvalWorkflow:
    @workflow.run
    async def run(self, request: NightlyEvalInput) -> NightlyEvalResult:
        retry = activity_retry(request.retry_initial_seconds, request.max_attempts)
        services = request.services or await workflow.execute_activity(
            "list_eval_services",
            request.config_path,
            result_type=list[str],
            start_to_close_timeout=LIST_TIMEOUT,
            retry_policy=retry,
        )
        outcomes = []
        for service in services:
            outcome = await workflow.execute_activity(
                "evaluate_rag_service",
                ServiceEvalRequest(
                    request.config_path, service, request.somatrace, request.llm_base_url
                ),
                result_type=ServiceEvalOutcome,
                start_to_close_timeout=timedelta(seconds=request.service_timeout_seconds),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=retry,
            )
            workflow.logger.info("%s: %s", service, outcome.status)
            outcomes.append(outcome)
        return NightlyEvalResult(outcomes)
