"""``somatrace fix`` and ``somatrace check --fix/--diff`` through the real command line."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixers.support import make_project
from tests.helpers import REPO, run_cli

FILES = {
    "services/chat/app/main.py": """
        import os

        from fastapi import FastAPI

        os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
        app = FastAPI()
        """,
    "services/billing/app/boot.py": """
        from traceloop.sdk import Traceloop

        client = Traceloop.init(app_name="billing")
        """,
}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".somatrace_cache" not in p.parts
    }


def test_diff_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    make_project(tmp_path, FILES)
    before = tree_bytes(tmp_path)
    proc = run_cli("fix", "--diff", "--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert tree_bytes(tmp_path) == before
    assert "--- a/services/chat/app/main.py" in proc.stdout
    assert "+++ b/services/chat/app/main.py" in proc.stdout
    assert '-os.environ["TRACELOOP_TRACE_CONTENT"] = "true"' in proc.stdout
    assert '+os.environ["TRACELOOP_TRACE_CONTENT"] = "false"' in proc.stdout
    assert '+init_tracing("chat")' in proc.stdout
    assert "boot.py" not in proc.stdout  # its only fix is unsafe
    assert "Would fix 2 findings in 1 file (1 remaining)" in proc.stderr


def test_fix_then_nothing_left_to_do(tmp_path: Path) -> None:
    make_project(tmp_path, FILES)
    proc = run_cli("fix", "--no-cache", "--show-fixes", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the unsafe ST102 remains
    assert "Fixed 2 findings in 1 file (1 remaining)" in proc.stdout
    assert "services/chat/app/main.py:" in proc.stdout and "1 x ST201" in proc.stdout
    assert "not fixed: unsafe fix: run with --unsafe-fixes" in proc.stdout
    unsafe = run_cli("fix", "--no-cache", "--unsafe-fixes", ".", cwd=tmp_path)
    assert unsafe.returncode == 0, unsafe.stdout + unsafe.stderr
    assert "Fixed 1 finding in 1 file (0 remaining)" in unsafe.stdout
    again = run_cli("fix", "--diff", "--no-cache", "--unsafe-fixes", ".", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == ""
    check = run_cli("check", "--no-cache", ".", cwd=tmp_path)
    assert check.returncode == 0, check.stdout


def test_select_limits_the_fixes(tmp_path: Path) -> None:
    make_project(tmp_path, FILES)
    proc = run_cli("fix", "--no-cache", "--select", "ST201", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "services/chat/app/main.py").read_text()
    assert '"false"' in text and "init_tracing" not in text


def test_check_fix_keeps_machine_output_clean(tmp_path: Path) -> None:
    make_project(tmp_path, FILES)
    proc = run_cli("check", "--fix", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1
    remaining = json.loads(proc.stdout)
    found = remaining["findings"] if isinstance(remaining, dict) else remaining
    assert [f["code"] for f in found] == ["ST102"]
    assert "Fixed 2 findings in 1 file (1 remaining)" in proc.stderr
    diff = run_cli("check", "--diff", "--no-cache", "--unsafe-fixes", ".", cwd=tmp_path)
    assert diff.returncode == 1 and '+client = init_tracing("billing")' in diff.stdout


def test_example_monorepo_diff_is_readable(tmp_path: Path) -> None:
    source = REPO / "examples" / "monorepo"
    copy = tmp_path / "monorepo"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".somatrace_cache"))
    before = tree_bytes(copy)
    proc = run_cli("fix", "--diff", "--no-cache", ".", cwd=copy)
    assert proc.returncode == 1, proc.stderr
    assert tree_bytes(copy) == before
    hunks = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    assert hunks, proc.stdout
    for line in proc.stdout.splitlines():
        assert line[:1] in {"-", "+", " ", "@", "\\"}, line
    changed = [line for line in proc.stdout.splitlines() if line[:1] in "+-"]
    headers = [line for line in changed if line.startswith(("---", "+++"))]
    # Small and reviewable: a handful of changed lines per file.
    assert len(changed) - len(headers) <= 6 * (len(headers) // 2)
    assert "Would fix" in proc.stderr


def test_progress_bar_on_a_terminal_for_big_trees(tmp_path: Path) -> None:
    files = {f"services/s{i}/app/util_{j}.py": "X = 1\n" for i in range(4) for j in range(80)}
    files.update(
        {f"services/s{i}/app/main.py": FILES["services/chat/app/main.py"] for i in range(4)}
    )
    make_project(tmp_path, files, select=["ST201"])
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "somatrace.checks.cli.main", "fix", "--no-cache", "."],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=300,
            env=dict(os.environ),
        )
        os.close(slave)
        slave = -1
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stdout
    assert b"fixing [" in shown and b"4/4" in shown
    assert b"Fixed 4 findings in 4 files (0 remaining)" in proc.stdout
    piped = run_cli("fix", "--no-cache", ".", cwd=tmp_path)
    assert "fixing [" not in piped.stderr  # not a terminal: no bar


def test_reason_survives_lines_moved_by_other_fixes(tmp_path: Path) -> None:
    code = """
        from fastapi import FastAPI
        from traceloop.sdk import Traceloop

        app = FastAPI()


        def later():
            client = Traceloop.init(app_name="chat")
            return client
        """
    make_project(tmp_path, {"services/chat/app/main.py": code}, select=["ST101", "ST102"])
    proc = run_cli("fix", "--no-cache", ".", cwd=tmp_path)
    assert "Fixed 1 finding in 1 file (1 remaining)" in proc.stdout, proc.stdout
    [line] = [ln for ln in proc.stdout.splitlines() if "ST102" in ln]
    assert line.startswith("services/chat/app/main.py:10:")  # moved down by the ST101 fix
    assert "[not fixed: unsafe fix" in line
