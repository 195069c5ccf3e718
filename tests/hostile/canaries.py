"""A real repository with five ordinary services beside one hostile file, and the real CLI run
over it as a subprocess, measured (exit code, output, wall-clock time, the run's peak RSS).

Every test in this package asks the same questions of a run: did it exit as its findings say,
without a traceback; was every canary still checked (each one's known finding present, the
compliant one clean); did it stay within its time and memory bounds; and was the hostile file
reported ST900 with its reason. Fixtures are imported explicitly (no conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO, git, init_repo, write_pyproject

PEAK_RSS = REPO / "scripts" / "peak_rss.py"

# Five small FastAPI/uvicorn entrypoints: one compliant, four with one known finding each.
CANARIES: dict[str, str] = {
    "services/alpha/app/main.py": (
        "from fastapi import FastAPI\n"
        "from somatrace.tracing import init_tracing\n\n"
        'init_tracing("alpha")\n'
        "app = FastAPI()\n\n\n"
        '@app.get("/health")\n'
        "def health() -> dict[str, str]:\n"
        '    return {"status": "ok"}\n'
    ),
    "services/beta/app/main.py": (
        "import uvicorn\nfrom fastapi import FastAPI\n\n"
        "app = FastAPI()\n\n"
        'if __name__ == "__main__":\n'
        '    uvicorn.run(app, host="0.0.0.0", port=8000)\n'
    ),
    "services/gamma/app/main.py": (
        "from fastapi import FastAPI\n"
        "from somatrace.tracing import init_tracing\n"
        "from traceloop.sdk import Traceloop\n\n"
        'init_tracing("gamma")\n'
        'Traceloop.init(app_name="gamma")\n'
        "app = FastAPI()\n"
    ),
    "services/delta/app/main.py": (
        "from fastapi import FastAPI\n"
        "from somatrace.tracing import init_tracing\n"
        "from langfuse import Langfuse\n\n"
        'init_tracing("delta")\n'
        'client = Langfuse(public_key="pk-lf-1234", secret_key="sk-lf-5678")\n'
        "app = FastAPI()\n"
    ),
    "services/epsilon/app/main.py": (
        "import os\n\n"
        "from fastapi import FastAPI\n"
        "from somatrace.tracing import init_tracing\n\n"
        'os.environ["TRACELOOP_TRACE_CONTENT"] = "true"\n'
        'init_tracing("epsilon")\n'
        "app = FastAPI()\n"
    ),
}
# The finding each canary must still produce beside a hostile file (None: must stay clean).
EXPECTED: dict[str, str | None] = {
    "services/alpha/app/main.py": None,
    "services/beta/app/main.py": "ST101",
    "services/gamma/app/main.py": "ST102",
    "services/delta/app/main.py": "ST401",
    "services/epsilon/app/main.py": "ST201",
}


@dataclass(frozen=True)
class Run:
    """One real run of the CLI: what it said and what it cost."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float  # the largest resident set of the CLI or any worker it ran

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def lines_for(self, relpath: str) -> list[str]:
        """The text report's lines about one file (``path:line:col: CODE message``)."""
        return [line for line in self.stdout.splitlines() if line.startswith(relpath + ":")]


def make_repo(root: Path, hostile: Mapping[str, bytes | str], commit: bool = True) -> Path:
    """A git repository at ``root``: a pyproject, the five canaries, and the hostile files."""
    root.mkdir(parents=True, exist_ok=True)
    write_pyproject(root, {})
    for relpath, text in CANARIES.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    write_hostile(root, hostile)
    init_repo(root)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "canaries and the hostile file")
    return root


def write_hostile(root: Path, hostile: Mapping[str, bytes | str]) -> None:
    for relpath, content in hostile.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        target.write_bytes(data)


@pytest.fixture
def canary_repo(tmp_path: Path) -> Path:
    """An empty repository of canaries; a test adds its hostile file with ``write_hostile``."""
    return make_repo(tmp_path / "repo", {})


def run_cli(
    root: Path,
    *args: str,
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> Run:
    """The real ``somatrace`` CLI in a subprocess, timed, its peak RSS read from ``wait4``
    (the child's own and that of every worker it waited for) by ``scripts/peak_rss.py``,
    which forks it from a small process: forked from pytest it would report pytest's size."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        usage_file = Path(scratch) / "usage.json"
        started = time.perf_counter()
        process = subprocess.Popen(
            [*_measured(usage_file), sys.executable, "-m", "somatrace.checks.cli.main", *args],
            cwd=root,
            stdout=out,
            stderr=err,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # the launcher and the CLI: killed together on timeout
        )
        killer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            if stdin is not None:
                assert process.stdin is not None
                process.stdin.write(stdin)
                process.stdin.close()
            process.wait()
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        peak_kb = json.loads(usage_file.read_text())["peak_rss_kb"] if usage_file.exists() else 0
        out.seek(0)
        err.seek(0)
        return Run(
            code=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            seconds=seconds,
            peak_rss_mb=peak_kb / 1024,  # Linux: kilobytes
        )


def _measured(usage_file: Path) -> list[str]:
    return [sys.executable, str(PEAK_RSS), str(usage_file), "--"]


def check(root: Path, *extra: str, **kwargs: object) -> Run:
    return run_cli(root, "check", "--no-cache", *extra, **kwargs)  # type: ignore[arg-type]


def assert_canaries_checked(run: Run, prefix: str = "") -> None:
    """Every canary's known finding is in the text report; the compliant one has none."""
    for relpath, code in EXPECTED.items():
        lines = run.lines_for(prefix + relpath)
        if code is None:
            assert lines == [], f"{relpath} should be clean:\n{run.output}"
        else:
            assert any(f" {code} " in line for line in lines), (
                f"{relpath} should have {code}:\n{run.output}"
            )


def assert_sound(run: Run, *, seconds: float, rss_mb: float, code: int = 1) -> None:
    """The run ended as its findings say, with no traceback, within its bounds."""
    assert "Traceback" not in run.output, run.output
    assert run.code == code, f"exit {run.code}:\n{run.output}"
    assert run.seconds < seconds, f"took {run.seconds:.1f} s (bound {seconds} s)"
    assert run.peak_rss_mb < rss_mb, f"peak RSS {run.peak_rss_mb:.0f} MB (bound {rss_mb} MB)"


def assert_st900(run: Run, relpath: str, reason: str) -> None:
    """The hostile file is reported exactly once, as ST900, with ``reason`` in the message."""
    lines = run.lines_for(relpath)
    assert len(lines) == 1, f"{relpath}: expected one ST900 finding:\n{run.output}"
    assert " ST900 " in lines[0] and reason in lines[0], lines[0]
