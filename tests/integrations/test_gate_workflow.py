"""The reusable workflow's own shell steps (``.github/workflows/gate.yml``), run for real.

The workflow checks somatrace's action out next to the caller's code (``.somatrace-gate/``, at
``job.workflow_sha``); these tests prove that checkout never enters the caller's check, and that
a runner without ``job.workflow_*`` stops with a clear error instead of running something else.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.helpers import REPO, git, init_repo, run_cli, write_files, write_pyproject
from tests.integrations.conftest import SnapshotRepo

GATE = REPO / ".github" / "workflows" / "gate.yml"


def gate_step(name: str) -> dict:
    (job,) = yaml.safe_load(GATE.read_text("utf-8"))["jobs"].values()
    return next(s for s in job["steps"] if s.get("name") == name)


def run_step(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    step = gate_step(name)
    assert step.get("shell") == "bash"
    assert "${{" not in step["run"]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_action_checkout_stays_out_of_the_callers_check(
    tmp_path: Path, somatrace_repo: SnapshotRepo
) -> None:
    workspace = tmp_path / "caller"
    workspace.mkdir()
    init_repo(workspace)
    write_pyproject(workspace, {"entrypoints": ["services/*/app/main.py"]}, name="caller")
    write_files(workspace, {"lib/util.py": "def add(a, b):\n    return a + b\n"})
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "caller")
    # What actions/checkout leaves at `path: .somatrace-gate`: a clone of somatrace.
    git(workspace, "clone", "-q", str(somatrace_repo.path), ".somatrace-gate")
    nested = run_cli(
        "check",
        "--no-cache",
        "--output-format",
        "json",
        ".",
        cwd=workspace / ".somatrace-gate" / "examples" / "monorepo",
    )
    assert nested.returncode == 1  # somatrace's example monorepo violates on purpose

    done = run_step("Keep somatrace's own files out of the check", workspace, {})
    assert done.returncode == 0, done.stderr
    assert "/.somatrace-gate/" in (workspace / ".git" / "info" / "exclude").read_text()

    checked = run_cli("check", "--no-cache", "--output-format", "json", ".", cwd=workspace)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "[]"
    untracked = git(workspace, "status", "--porcelain", "--untracked-files=all")
    assert ".somatrace-gate" not in untracked


def test_a_runner_without_job_workflow_context_stops_loudly(tmp_path: Path) -> None:
    name = "Find this workflow's own repository and commit"
    missing = run_step(name, tmp_path, {"WORKFLOW_REPOSITORY": "", "WORKFLOW_SHA": ""})
    assert missing.returncode == 1
    assert "::error title=somatrace::" in missing.stdout
    assert "job.workflow_repository" in missing.stdout
    present = run_step(
        name, tmp_path, {"WORKFLOW_REPOSITORY": "somatrace/somatrace", "WORKFLOW_SHA": "a" * 40}
    )
    assert present.returncode == 0, present.stdout
    assert f"somatrace/somatrace@{'a' * 40}" in present.stdout


def test_the_step_env_names_the_job_context() -> None:
    step = gate_step("Find this workflow's own repository and commit")
    assert step["env"] == {
        "WORKFLOW_REPOSITORY": "${{ job.workflow_repository }}",
        "WORKFLOW_SHA": "${{ job.workflow_sha }}",
    }
    checkout = gate_step("Check out somatrace's action")
    assert checkout["with"]["repository"] == "${{ job.workflow_repository }}"
    assert checkout["with"]["ref"] == "${{ job.workflow_sha }}"
    assert checkout["with"]["path"] == ".somatrace-gate"
    run_gate = gate_step("Run the somatrace gate")
    assert run_gate["uses"] == "./.somatrace-gate"
