"""The observability-smoke workflow runs what this command line accepts, on pull requests,
with the llama.cpp build cached. (Schemas, actionlint and zizmor: tests/integrations.)"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from somatrace.checks.cli.main import build_parser
from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "observability-smoke.yml"


def test_the_workflow_runs_valid_smoke_commands_on_pull_requests(tmp_path: Path) -> None:
    workflow = yaml.load(WORKFLOW.read_text("utf-8"), Loader=yaml.BaseLoader)
    assert "pull_request" in workflow["on"]
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    commands = [
        " ".join(step["run"].split())
        for step in steps
        if step.get("run", "").lstrip().startswith("somatrace smoke")
    ]
    assert len(commands) == 2, commands
    for command in commands:
        argv = shlex.split(command.replace("$RUNNER_TEMP", str(tmp_path)))[1:]
        parser, _ = build_parser(argv)
        args = parser.parse_args(argv)  # exits (fails the test) on an unknown option
        assert args.command == "smoke" and args.report_dir is not None
    load = shlex.split(commands[1].replace("$RUNNER_TEMP", str(tmp_path)))
    assert load[load.index("--workflows") + 1] == "100" and load[load.index("--tenants") + 1] == "5"

    [cache] = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == "~/.cache/pip"
    assert "hashFiles('pyproject.toml')" in cache["with"]["key"]
    assert workflow["env"]["CMAKE_ARGS"] == "-DGGML_NATIVE=OFF"
    install = next(s["run"] for s in steps if "pip install" in s.get("run", ""))
    assert ".[smoke]" in install
