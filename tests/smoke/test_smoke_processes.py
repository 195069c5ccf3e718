"""Start-up errors, port conflicts, a dying LLM server and Ctrl-C: clear messages, exit code 2
(or 130 when interrupted), and no process the run started survives it."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smoke.conftest import ProcessInfo, RunningSmoke, alive, descendants, run_smoke


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_receiver_port_in_use_is_a_clear_error(taken_port: int) -> None:
    done = run_smoke("--receiver-port", str(taken_port), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"somatrace: error: smoke: cannot start the OTLP receiver on 127.0.0.1:{taken_port}: "
        "Address already in use; choose another --receiver-port (0 takes a free one)"
    ) in done.stderr
    assert done.stdout == ""


def test_llm_port_in_use_is_a_clear_error(taken_port: int) -> None:
    done = run_smoke("--llm-port", str(taken_port), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr


def test_unreachable_llm_url_and_bad_options_are_clear_errors(taken_port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nobody listens once the socket is closed
    done = run_smoke("--llm-url", f"http://127.0.0.1:{closed}/v1", timeout=60)
    assert done.returncode == 2
    assert f"the LLM endpoint http://127.0.0.1:{closed}/v1 did not answer" in done.stderr

    done = run_smoke("--receiver-url", f"http://127.0.0.1:{taken_port}", timeout=60)
    assert done.returncode == 2 and "--receiver-url needs --receiver-store" in done.stderr
    done = run_smoke("--workflows", "3", "--tenants", "5", timeout=60)
    assert done.returncode == 2 and "--tenants 5 needs at least as many workflows" in done.stderr
    done = run_smoke("--script", "no/such/script.py", timeout=60)
    assert done.returncode == 2 and "smoke script no/such/script.py not found" in done.stderr


def _children(
    smoke: RunningSmoke,
    needed: tuple[str, ...] = ("somatrace.checks.runtime.llm_server", "trace_smoke.py"),
    timeout: float = 60,
) -> list[ProcessInfo]:
    """The runner's children once each of ``needed`` runs (by command line, after exec)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = descendants(smoke.process.pid)
        commands = " | ".join(p.cmdline for p in found)
        if all(text in commands for text in needed):
            return found
        time.sleep(0.05)
    raise AssertionError(f"children never showed up: {descendants(smoke.process.pid)}")


def test_a_dying_llm_server_stops_the_run_with_a_clear_error(
    running_smoke: type[RunningSmoke], tmp_path: Path
) -> None:
    smoke = running_smoke("--workflows", "30", "--max-tokens", "4", "--report-dir", str(tmp_path))
    smoke.wait_for_line("running scripts/observability/trace_smoke.py", timeout=180)
    children = _children(smoke)
    [server] = [p for p in children if "somatrace.checks.runtime.llm_server" in p.cmdline]
    os.kill(server.pid, signal.SIGKILL)
    code = smoke.wait(timeout=60)
    stderr = "".join(smoke.stderr)
    assert code == 2, stderr
    assert (
        f"somatrace: error: smoke: the local LLM server (pid {server.pid}) died during the run "
        "with exit code -9 (killed by SIGKILL); last lines of its output:"
    ) in stderr
    assert "the smoke script was stopped" in stderr
    assert [p for p in children if alive(p)] == []
    # The interrupted script's logs are kept for the CI artifact.
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        "trace_smoke-1.stderr.log",
        "trace_smoke-1.stdout.log",
    ]


def test_sigint_stops_every_process_the_run_started(running_smoke: type[RunningSmoke]) -> None:
    smoke = running_smoke("--workflows", "30", "--max-tokens", "4")
    smoke.wait_for_line("running scripts/observability/trace_smoke.py", timeout=180)
    children = _children(smoke)
    assert len(children) >= 2
    time.sleep(1.0)  # let the script get going (importing, calling the LLM)
    smoke.process.send_signal(signal.SIGINT)
    code = smoke.wait(timeout=60)
    assert code == 130, "".join(smoke.stderr)
    assert "somatrace: interrupted" in "".join(smoke.stderr)
    survivors = [p for p in children if alive(p)]
    assert survivors == [], survivors


def test_sigterm_is_handled_like_sigint(running_smoke: type[RunningSmoke], llm_url: str) -> None:
    """CI cancels with SIGTERM after SIGINT: the script the run started is stopped too."""
    smoke = running_smoke("--workflows", "30", "--max-tokens", "4", "--llm-url", llm_url)
    smoke.wait_for_line("running scripts/observability/trace_smoke.py", timeout=120)
    children = _children(smoke, needed=("trace_smoke.py",))
    smoke.process.send_signal(signal.SIGTERM)
    assert smoke.wait(timeout=60) == 130
    assert [p for p in children if alive(p)] == []


def test_an_llm_server_that_does_not_come_up_in_time_is_stopped(
    running_smoke: type[RunningSmoke],
) -> None:
    smoke = running_smoke("--llm-startup-timeout", "0.3")
    smoke.wait_for_line("starting the local LLM server", timeout=60)
    children = _children(smoke, needed=("somatrace.checks.runtime.llm_server",), timeout=30)
    code = smoke.wait(timeout=60)
    stderr = "".join(smoke.stderr)
    assert code == 2, stderr
    assert (
        "somatrace: error: smoke: the llama.cpp server did not answer http://127.0.0.1:" in stderr
    )
    assert "/v1/models within 0 s; last lines of its output:" in stderr
    assert [p for p in children if alive(p)] == []
