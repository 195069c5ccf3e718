"""The smoke run: receiver + LLM + traced service scripts, then the checks and the figures.

:func:`run_smoke` starts what is not given (an OTLP receiver on 127.0.0.1, the embedded
SmolLM2 llama.cpp server), runs each smoke script in a subprocess with the environment that
points it at both, waits for the spans, and returns a :class:`SmokeResult`. Everything it
started is stopped before it returns or raises, also on Ctrl-C and SIGTERM.

A problem that stops the run from proving anything (a port in use, an LLM server that does
not start or dies, an unreachable receiver, a bad option) raises :class:`SmokeSetupError`;
what the run proves wrong about the service is in ``SmokeResult.failures``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from somatrace.checks.smoke.analysis import (
    Latencies,
    Reconciliation,
    TenantTotals,
    latencies,
    tenant_totals,
)
from somatrace.checks.smoke.assertions import CallCheck, Failure, ScriptRun, check_run
from somatrace.checks.smoke.contract import (
    CALLS_VARIABLE,
    DEFAULT_MODEL,
    PLAN_VARIABLE,
    RUN_RESOURCE_ATTRIBUTE,
    PlannedWorkflow,
    SmokePlan,
    read_calls,
)
from somatrace.checks.smoke.processes import (
    ChildProcess,
    ProcessRegistry,
    blocked_interrupts,
    interrupts_as_keyboard_interrupt,
)
from somatrace.checks.smoke.spans import RESPONSE_ID, attribute, run_id_of
from somatrace.policy import LANGFUSE_OTLP_PATH

DEFAULT_SCRIPT = Path("scripts/observability/trace_smoke.py")
DEFAULT_MAX_TOKENS = 16
# The runner's own tracing and LLM settings must not leak into the service under test:
# what the service gets is what the run sets, plus --env.
STRIPPED_PREFIXES = ("OTEL_", "TRACELOOP_", "TRACE_CONTENT", "SOMATRACE_", "LANGFUSE_", "OPENAI_")
EXTERNAL_KEY_VARIABLE = "SOMATRACE_SMOKE_LLM_API_KEY"
WATCH_INTERVAL = 0.1


class SmokeSetupError(RuntimeError):
    """The run could not prove anything: the message says what to fix."""


@dataclass
class SmokeOptions:
    scripts: list[Path] = field(default_factory=lambda: [DEFAULT_SCRIPT])
    workflows: int = 1
    tenants: int = 1
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    llm_url: str | None = None
    llm_port: int | None = None
    llm_threads: int = 1
    llm_startup_timeout: float = 120.0
    receiver_url: str | None = None
    receiver_store: Path | None = None
    receiver_port: int = 0
    # langfuse: the receiver enforces Langfuse's ingestion contract and the script is configured
    # as docs/observability/.env.template says (LANGFUSE_HOST + key pair); otlp: lenient.
    receiver_profile: str = "langfuse"
    span_timeout: float = 10.0
    script_timeout: float = 900.0
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path = field(default_factory=Path.cwd)
    logs_dir: Path | None = None  # where script stdout/stderr logs are kept (else discarded)


@dataclass
class SmokeResult:
    run_id: str
    started_at: dt.datetime
    options: SmokeOptions
    llm: dict[str, Any]
    receiver: dict[str, Any]
    runs: list[ScriptRun]
    calls: list[CallCheck]
    failures: list[Failure]
    latencies: Latencies
    tenants: dict[str, TenantTotals]
    reconciliation: Reconciliation
    timings: dict[str, float]
    prices: Any  # PriceTable used to check costs

    @property
    def all_failures(self) -> list[Failure]:
        per_call = [failure for call in self.calls for failure in call.failures]
        reconciliation = [
            Failure("reconciliation", message, "(all scripts)")
            for message in self.reconciliation.mismatches
        ]
        return per_call + self.failures + reconciliation

    @property
    def ok(self) -> bool:
        return not self.all_failures


def tenant_names(count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"tenant-{number:0{width}d}" for number in range(1, count + 1)]


def build_plan(run_id: str, options: SmokeOptions, calls_file: Path) -> SmokePlan:
    """``--workflows`` workflows spread round-robin over ``--tenants`` tenants."""
    tenants = tenant_names(options.tenants)
    marker_id = run_id.replace("-", "")[-12:]
    workflows = tuple(
        PlannedWorkflow(index, tenant, f"SMOKE-MARKER-{marker_id}-{index:04d}")
        for index, tenant in ((i, tenants[i % len(tenants)]) for i in range(options.workflows))
    )
    return SmokePlan(
        run_id=run_id,
        model=options.model,
        max_tokens=options.max_tokens,
        workflows=workflows,
        calls_file=calls_file,
    )


def validate(options: SmokeOptions) -> list[Path]:
    """Check the options; returns the scripts as absolute paths."""
    if options.workflows < 1:
        raise SmokeSetupError(f"--workflows must be at least 1 (got {options.workflows})")
    if options.tenants < 1:
        raise SmokeSetupError(f"--tenants must be at least 1 (got {options.tenants})")
    if options.tenants > options.workflows:
        raise SmokeSetupError(
            f"--tenants {options.tenants} needs at least as many workflows "
            f"(--workflows {options.workflows}): every tenant gets at least one"
        )
    if options.max_tokens < 1:
        raise SmokeSetupError(f"--max-tokens must be at least 1 (got {options.max_tokens})")
    if options.receiver_url and options.receiver_store is None:
        raise SmokeSetupError(
            "--receiver-url needs --receiver-store: the SQLite file that receiver writes "
            "(python -m somatrace.checks.runtime.receiver --store FILE), so the run can read the "
            "spans it received"
        )
    if options.receiver_store is not None and not options.receiver_url:
        raise SmokeSetupError("--receiver-store is only used with --receiver-url")
    scripts = []
    for script in options.scripts:
        path = script if script.is_absolute() else options.cwd / script
        if not path.is_file():
            hint = ""
            if script == DEFAULT_SCRIPT:
                hint = " (the default; run from the repository root or pass --script PATH)"
            raise SmokeSetupError(f"smoke script {script} not found{hint}")
        scripts.append(path)
    return scripts


def script_environment(
    base: Mapping[str, str],
    *,
    receiver_env: Mapping[str, str],
    llm_base_url: str,
    llm_api_key: str,
    plan_file: Path,
    calls_file: Path,
    run_id: str,
    extra: Mapping[str, str],
) -> dict[str, str]:
    env = {key: value for key, value in base.items() if not key.startswith(STRIPPED_PREFIXES)}
    env.update(
        {
            **receiver_env,
            "OPENAI_BASE_URL": llm_base_url,
            "OPENAI_API_KEY": llm_api_key,
            PLAN_VARIABLE: str(plan_file),
            CALLS_VARIABLE: str(calls_file),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    ours = f"{RUN_RESOURCE_ATTRIBUTE}={run_id}"
    given = env.get("OTEL_RESOURCE_ATTRIBUTES", "").strip().strip(",")
    env["OTEL_RESOURCE_ATTRIBUTES"] = f"{given},{ours}" if given else ours
    return env


class _Receiver:
    """The receiver the run reads spans from: in-process, or another process's SQLite store."""

    def __init__(self, options: SmokeOptions, registry: ProcessRegistry) -> None:
        from somatrace.checks.runtime.receiver import Credentials, OTLPReceiver, TelemetryStore

        self.local = options.receiver_url is None
        self.profile = options.receiver_profile
        if options.receiver_url is None:
            try:
                receiver = OTLPReceiver(options.receiver_port, profile=options.receiver_profile)
            except OSError as error:
                raise SmokeSetupError(
                    f"cannot start the OTLP receiver on 127.0.0.1:{options.receiver_port}: "
                    f"{error.strerror or error}; choose another --receiver-port "
                    "(0 takes a free one)"
                ) from None
            receiver.start()
            registry.add("OTLP receiver", receiver)
            self.url = receiver.url
            self.store = receiver.store
            self.service_env = receiver.service_env()
        else:
            self.url = options.receiver_url.rstrip("/")
            # An external receiver started with its defaults (`python -m
            # somatrace.checks.runtime.receiver`): the langfuse profile and its test key pair.
            if self.profile == "langfuse":
                # LANGFUSE_HOST is the server's root: the spine appends the OTLP base path
                # itself (somatrace.settings), so a base URL given here loses that suffix.
                pair = Credentials()
                self.service_env = {
                    "LANGFUSE_HOST": self.url.removesuffix(LANGFUSE_OTLP_PATH),
                    "LANGFUSE_PUBLIC_KEY": pair.public_key,
                    "LANGFUSE_SECRET_KEY": pair.secret_key,
                }
            else:
                self.service_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url}
            _require_listening(self.url, "the OTLP receiver")
            assert options.receiver_store is not None
            if not options.receiver_store.is_file():
                raise SmokeSetupError(
                    f"--receiver-store {options.receiver_store} does not exist: start the "
                    "receiver with --store pointing at it"
                )
            self.store = TelemetryStore(options.receiver_store)
            registry.add("receiver store", _Closer(self.store))

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "local": self.local, "profile": self.profile}


class _Closer:
    def __init__(self, closable: Any) -> None:
        self.closable = closable

    def stop(self) -> None:
        self.closable.close()


def _require_listening(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmokeSetupError(f"{what} URL {url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=3):
            pass
    except OSError as error:
        raise SmokeSetupError(f"{what} at {url} does not accept connections: {error}") from None


class _LLM:
    """The LLM the scripts call: the embedded llama.cpp server, or ``--llm-url``."""

    def __init__(
        self, options: SmokeOptions, registry: ProcessRegistry, log: Callable[[str], None]
    ) -> None:
        from somatrace.checks.runtime.llm_server import (
            LLMServerError,
            LocalLLMServer,
            external_endpoint,
        )

        self.server: LocalLLMServer | None = None
        started = time.monotonic()
        try:
            if options.llm_url:
                key = os.environ.get(EXTERNAL_KEY_VARIABLE) or None
                self.endpoint = external_endpoint(options.llm_url, options.model, key)
            else:
                server = LocalLLMServer(
                    alias=options.model,
                    port=options.llm_port,
                    n_threads=options.llm_threads,
                    startup_timeout=options.llm_startup_timeout,
                )
                registry.add("local LLM server", server)
                log("starting the local LLM server (llama.cpp, SmolLM2-135M)...")
                server.start()
                self.server = server
                self.endpoint = server.endpoint
                self._warm_up()
        except LLMServerError as error:
            raise SmokeSetupError(str(error)) from None
        self.startup_s = time.monotonic() - started

    def _warm_up(self) -> None:
        """A few decoded tokens: llama.cpp's first decode takes seconds (measured 6-9 s on
        2 busy cores); paid here, it does not show up as the service's first-call latency."""
        body = {
            "model": self.endpoint.model,
            "messages": [{"role": "user", "content": "Warm up: say OK."}],
            "max_tokens": 2,
        }
        request = urllib.request.Request(
            f"{self.endpoint.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.endpoint.api_key}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                json.load(response)
        except (OSError, ValueError) as error:
            raise SmokeSetupError(
                f"{self.died() or 'the local LLM server failed its warm-up completion'}: {error}"
            ) from None

    def died(self) -> str | None:
        """Why the LLM is gone, or ``None`` while it is up."""
        if self.server is not None:
            if self.server.running:
                return None
            code = self.server.exit_code
            return (
                f"the local LLM server (pid {self.server.pid}) died during the run with exit "
                f"code {code}{_signal_hint(code)}; last lines of its output:\n"
                f"{self.server.output_tail()}"
            )
        from somatrace.checks.runtime.llm_server import list_models

        try:
            list_models(self.endpoint.base_url, self.endpoint.api_key, timeout=5)
        except (OSError, ValueError) as error:
            return (
                f"the LLM endpoint {self.endpoint.base_url} stopped answering during the run "
                f"({error})"
            )
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.endpoint.base_url,
            "model": self.endpoint.model,
            "local": self.endpoint.local,
            "startup_s": round(self.startup_s, 3),
        }


def _signal_hint(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    import signal

    try:
        return f" (killed by {signal.Signals(-code).name})"
    except ValueError:
        return ""


def _run_script(
    script: Path,
    plan: SmokePlan,
    env: dict[str, str],
    options: SmokeOptions,
    work: Path,
    registry: ProcessRegistry,
    llm: _LLM,
    log: Callable[[str], None],
    children: list[ChildProcess],
) -> tuple[ChildProcess, float]:
    stem = f"{script.stem}-{plan.run_id.rsplit('-', 1)[-1]}"
    child = ChildProcess(
        [sys.executable, str(script)],
        env=env,
        cwd=options.cwd,
        stdout_path=work / f"{stem}.stdout.log",
        stderr_path=work / f"{stem}.stderr.log",
    )
    registry.add(f"smoke script {script.name}", child)
    children.append(child)
    log(
        f"running {_display(script, options.cwd)} (pid {child.pid}): "
        f"{len(plan.workflows)} workflow(s), {options.tenants} tenant(s)"
    )
    started = time.monotonic()
    deadline = started + options.script_timeout
    local_server = llm.server is not None
    while child.poll() is None:
        if local_server and (reason := llm.died()):
            child.stop()
            raise SmokeSetupError(f"{reason}\nthe smoke script was stopped")
        if time.monotonic() > deadline:
            child.stop()
            raise SmokeSetupError(
                f"{_display(script, options.cwd)} did not finish within "
                f"--script-timeout {options.script_timeout:g} s; last lines of its stderr:\n"
                f"{child.stderr_tail()}"
            )
        time.sleep(WATCH_INTERVAL)
    elapsed = time.monotonic() - started
    if child.poll() != 0 and (reason := llm.died()):
        raise SmokeSetupError(
            f"{reason}\n{_display(script, options.cwd)} failed with exit code {child.poll()}; "
            f"last lines of its stderr:\n{child.stderr_tail()}"
        )
    return child, elapsed


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _spans_of(store: Any, run_id: str) -> tuple[list[dict[str, Any]], int]:
    spans = store.spans()
    mine = [span for span in spans if run_id_of(span) == run_id]
    foreign = sum(1 for span in spans if run_id_of(span) is None)
    return mine, foreign


def _wait_for_spans(
    store: Any, run_id: str, response_ids: set[str], timeout: float
) -> tuple[list[dict[str, Any]], int]:
    """This run's spans, once every reported call has its span (or the timeout passed).

    The script has exited by now, and an exporter's request completes before its process
    exits, so a run from which nothing at all arrived within a second will send nothing.
    """
    started = time.monotonic()
    while True:
        spans, foreign = _spans_of(store, run_id)
        arrived = {str(attribute(span, RESPONSE_ID)) for span in spans}
        waited = time.monotonic() - started
        if response_ids <= arrived or waited > timeout or (not spans and waited > 1.0):
            return spans, foreign
        time.sleep(0.1)


def run_smoke(options: SmokeOptions, log: Callable[[str], None] | None = None) -> SmokeResult:
    """Run the smoke trace (see the module docstring)."""
    say = log or (lambda message: None)
    scripts = validate(options)
    started_at = dt.datetime.now(dt.UTC)
    run_id = f"smoke-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}
    clock = time.monotonic()
    registry = ProcessRegistry()
    children: list[ChildProcess] = []
    work = Path(tempfile.mkdtemp(prefix="somatrace-smoke-"))
    # The handlers stay installed through the clean-up: a signal held back during it is
    # delivered afterwards as KeyboardInterrupt, never as SIGTERM's default (instant death).
    with interrupts_as_keyboard_interrupt():
        try:
            receiver = _Receiver(options, registry)
            say(f"OTLP receiver at {receiver.url}")
            llm = _LLM(options, registry, say)
            timings["llm_startup_s"] = llm.startup_s
            say(f"LLM at {llm.endpoint.base_url} (model {llm.endpoint.model}) ready")
            runs: list[ScriptRun] = []
            for number, script in enumerate(scripts, start=1):
                script_run_id = f"{run_id}-{number}"
                calls_file = work / f"calls-{number}.jsonl"
                plan_file = work / f"plan-{number}.json"
                plan = build_plan(script_run_id, options, calls_file)
                plan_file.write_text(plan.to_json(), encoding="utf-8")
                env = script_environment(
                    os.environ,
                    receiver_env=receiver.service_env,
                    llm_base_url=llm.endpoint.base_url,
                    llm_api_key=llm.endpoint.api_key,
                    plan_file=plan_file,
                    calls_file=calls_file,
                    run_id=script_run_id,
                    extra=options.extra_env,
                )
                child, elapsed = _run_script(
                    script, plan, env, options, work, registry, llm, say, children
                )
                problems: list[str] = []
                try:
                    calls = read_calls(calls_file)
                except ValueError as error:
                    calls, problems = [], [f"its call reports cannot be read: {error}"]
                spans, foreign = _wait_for_spans(
                    receiver.store,
                    script_run_id,
                    {record.response_id for record in calls},
                    options.span_timeout,
                )
                say(
                    f"{script.name}: exit code {child.poll()}, {len(calls)} LLM call(s), "
                    f"{len(spans)} span(s) received in {elapsed:.1f} s"
                )
                runs.append(
                    ScriptRun(
                        script=_display(script, options.cwd),
                        run_id=script_run_id,
                        planned_workflows=len(plan.workflows),
                        exit_code=child.poll(),
                        duration_s=elapsed,
                        calls=calls,
                        spans=spans,
                        stderr_tail=child.stderr_tail(),
                        foreign_spans=foreign,
                        problems=problems,
                    )
                )
                timings[f"script_{number}_s"] = elapsed
            return _assemble(run_id, started_at, options, llm, receiver, runs, timings, clock)
        finally:
            with blocked_interrupts():
                errors = registry.stop_all()
                if options.logs_dir is not None:
                    for child in children:
                        _keep_logs(child, options.logs_dir)
                shutil.rmtree(work, ignore_errors=True)
            for error in errors:
                say(f"warning: {error}")


def _keep_logs(child: ChildProcess, logs_dir: Path) -> None:
    logs_dir.mkdir(parents=True, exist_ok=True)
    for path in (child.stdout_path, child.stderr_path):
        if path.exists():
            shutil.copy(path, logs_dir / path.name)


def _assemble(
    run_id: str,
    started_at: dt.datetime,
    options: SmokeOptions,
    llm: _LLM,
    receiver: _Receiver,
    runs: Sequence[ScriptRun],
    timings: dict[str, float],
    clock: float,
) -> SmokeResult:
    from somatrace.cost import PriceError, PriceTable

    prices_file = options.extra_env.get("SOMATRACE_PRICES_FILE")
    try:
        prices = PriceTable.default(prices_file)
    except PriceError as error:
        raise SmokeSetupError(f"cannot load the prices the service uses: {error}") from None
    calls: list[CallCheck] = []
    failures: list[Failure] = []
    for run in runs:
        run_calls, run_failures = check_run(run, prices, first_number=len(calls) + 1)
        calls.extend(run_calls)
        failures.extend(run_failures)
    tenants, reconciliation = tenant_totals(runs, prices)
    timings["total_s"] = time.monotonic() - clock
    return SmokeResult(
        run_id=run_id,
        started_at=started_at,
        options=options,
        llm=llm.describe(),
        receiver=receiver.describe(),
        runs=list(runs),
        calls=calls,
        failures=failures,
        latencies=latencies(runs, calls),
        tenants=tenants,
        reconciliation=reconciliation,
        timings={key: round(value, 3) for key, value in timings.items()},
        prices=prices,
    )
