"""Fixtures for the smoke-trace tests: a real llama.cpp server (SmolLM2) shared by the runs
that pass ``--llm-url``, and the real ``somatrace smoke`` command line in subprocesses.

Runs that test the embedded server's own start, stop and death start their own.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from somatrace.checks.runtime.llm_server import LocalLLMServer
from tests.helpers import REPO

FIXTURES = REPO / "tests" / "fixtures" / "smoke"
SMOKE = [sys.executable, "-m", "somatrace.checks.cli.main", "smoke"]


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """A running SmolLM2 server (alias smollm2) for the runs that use ``--llm-url``."""
    with LocalLLMServer() as server:
        yield server.base_url


def smoke_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOMATRACE_SMOKE_LLM_API_KEY", None)
    return env


def run_smoke(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``somatrace smoke ARGS`` from the repository root, as CI runs it."""
    return subprocess.run(
        [*SMOKE, *args],
        cwd=REPO,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    start_time: int  # clock ticks since boot: with the pid, identifies one process
    cmdline: str


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time) of a process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> list[ProcessInfo]:
    """Every living descendant of ``root`` (children, grandchildren...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None:
            children.setdefault(info[0], []).append(int(entry.name))
    found: list[ProcessInfo] = []
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        info = _stat(pid)
        if info is None:
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmdline = ""
        found.append(ProcessInfo(pid, info[2], cmdline))
        pending.extend(children.get(pid, []))
    return found


def alive(process: ProcessInfo) -> bool:
    """Still running: the same process (pid and start time) exists and is not a zombie."""
    info = _stat(process.pid)
    return info is not None and info[2] == process.start_time and info[1] != "Z"


class RunningSmoke:
    """``somatrace smoke`` in the background; its stderr lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*SMOKE, *args],
            cwd=REPO,
            env=smoke_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout = ""
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()

    def wait_for_line(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self.lines.empty()):
                raise AssertionError(
                    f"no stderr line with {text!r} within {timeout:g} s; stderr so far:\n"
                    + "".join(self.stderr)
                )
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if text in line:
                return line

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def running_smoke() -> Iterator[type[RunningSmoke]]:
    started: list[RunningSmoke] = []

    class Tracked(RunningSmoke):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for smoke in started:  # a failed test must not leave a runner (or its children) behind
        leftovers = descendants(smoke.process.pid)
        smoke.kill()
        for process in leftovers:
            if alive(process):
                os.kill(process.pid, 9)
