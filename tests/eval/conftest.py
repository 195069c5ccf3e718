"""Fixtures of the eval tests: the real embedded LLM server, a real webhook receiver, and a
workspace whose baseline evaluation has run once (shared, it is the expensive part)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from somatrace.checks.runtime.llm_server import LocalLLMServer
from tests.helpers import REPO

FIXTURES = REPO / "tests" / "fixtures" / "eval"
KB = FIXTURES / "kb"
AGENTS = FIXTURES / "agents"
SERVICE = "nimbus-support"
DESCRIPTION = "A customer support chatbot for Nimbus Notes, a note-taking app."
BIN = Path(sys.executable).parent
SOMATRACE = BIN / "somatrace"
# Evaluation-step timings of this session, printed at its end (see pytest_terminal_summary).
TIMINGS: dict[str, float] = {}


def write_config(
    root: Path,
    *,
    agent: str = "nimbus_support:answer",
    webhook_url: str = "",
    extra: str = "",
    num_questions: int = 3,
) -> Path:
    """A real eval config: the fixture knowledge base, the fixture agent, outputs under root."""
    text = f"""
[eval]
output_dir = "out"
regression_threshold = 0.05
{extra}

[eval.llm]
max_tokens = 200

[eval.alerts]
webhook_url = {json.dumps(webhook_url)}

[[eval.services]]
name = "{SERVICE}"
agent = "{agent}"
agent_path = [{json.dumps(str(AGENTS))}]
description = "{DESCRIPTION}"
knowledge_base = {json.dumps(str(KB))}
num_questions = {num_questions}
question_types = ["simple", "complex"]
"""
    path = root / "eval.toml"
    path.write_text(text, encoding="utf-8")
    return path


# Runs the somatrace CLI with an audit hook that logs every network destination the process
# resolves or connects to (sys.addaudithook sees socket.getaddrinfo and socket.connect).
EGRESS_AUDIT = """
import json, sys
log = open(sys.argv.pop(1), "w")
def audit(event, args):
    if event == "socket.getaddrinfo":
        log.write(json.dumps(["resolve", str(args[0])]) + "\\n"); log.flush()
    elif event == "socket.connect" and isinstance(args[1], tuple):
        log.write(json.dumps(["connect", str(args[1][0])]) + "\\n"); log.flush()
sys.addaudithook(audit)
from somatrace.checks.cli.main import entry
sys.argv[0] = "somatrace"
entry()
"""


def run_eval(
    config: Path,
    *args: str,
    llm_base_url: str | None = None,
    timeout: float = 1500,
    egress_log: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], float]:
    """``somatrace eval run --json`` as users run it; returns the process and its wall time.
    With ``egress_log``, every host the CLI process resolves or connects to is logged there."""
    cli = [sys.executable, "-c", EGRESS_AUDIT, str(egress_log)] if egress_log else [str(SOMATRACE)]
    command = [*cli, "eval", "run", "--config", str(config), "--json", *args]
    if llm_base_url:
        command += ["--llm-base-url", llm_base_url]
    started = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=config.parent, check=False
    )
    return result, time.perf_counter() - started


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout.strip(), f"no JSON summary; stderr:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LocalLLMServer]:
    """One llama.cpp server (SmolLM2) for the whole session, stopped at the end."""
    started = time.perf_counter()
    with LocalLLMServer() as server:
        TIMINGS["llm server start-up"] = time.perf_counter() - started
        yield server


@dataclass
class Workspace:
    root: Path
    config: Path
    baseline: dict[str, Any]
    baseline_exit_code: int
    server: LocalLLMServer
    egress_log: Path

    @property
    def out(self) -> Path:
        return self.root / "out"


@pytest.fixture(scope="session")
def evaluated_workspace(
    tmp_path_factory: pytest.TempPathFactory, llm_server: LocalLLMServer
) -> Workspace:
    """A workspace after its first nightly run with the healthy agent (testset generated)."""
    root = tmp_path_factory.mktemp("eval-workspace")
    config = write_config(root)
    egress_log = root / "egress.jsonl"
    result, seconds = run_eval(config, llm_base_url=llm_server.base_url, egress_log=egress_log)
    TIMINGS["run 1: generate testset + evaluate (CLI wall time)"] = seconds
    summary = summary_of(result)
    for name, value in summary["services"][0]["timings_seconds"].items():
        TIMINGS[f"run 1: {name}"] = value
    return Workspace(root, config, summary, result.returncode, llm_server, egress_log)


@dataclass
class Received:
    path: str
    headers: Mapping[str, str]
    body: Any


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 that stores every JSON POST it gets."""
    store: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            store.append(Received(self.path, dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield WebhookReceiver(f"http://{host}:{port}/api/v2/alerts", store)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("somatrace eval: evaluation step timings (s)")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:8.1f}  {name}")
