"""The action's own shell steps (``action.yml``), run for real against the example monorepo.

The workspace is a git checkout of ``examples/monorepo`` (as ``actions/checkout`` leaves one);
the action is the snapshot of this repository; somatrace is installed by the action's own
install step into a fresh virtualenv under ``RUNNER_TEMP`` (no ``somatrace`` is on PATH). The
one ``uses:`` step, ``actions/setup-python``, cannot run outside GitHub: its ``python-path``
output is this machine's real base Python 3.11. The inputs are the docs' action snippet's.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import REPO, git, init_repo, run_cli
from tests.integrations.composite import CompositeAction, StepResult, clean_path_env
from tests.integrations.conftest import SnapshotRepo
from tests.integrations.snippets import snippet

pytestmark = pytest.mark.slow  # installs somatrace into a fresh virtualenv (~30 s)

MONOREPO = REPO / "examples" / "monorepo"
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"


def unescape(value: str) -> str:
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, char)
    return value


@dataclass(frozen=True)
class Annotation:
    level: str
    properties: dict[str, str]
    message: str


def annotations(stdout: str) -> list[Annotation]:
    found = []
    for line in stdout.splitlines():
        if not line.startswith("::error ") and not line.startswith("::error::"):
            continue
        head, message = line[2:].split("::", 1)
        level, _, props = head.partition(" ")
        properties = dict(p.split("=", 1) for p in props.split(",") if p)
        found.append(
            Annotation(level, {k: unescape(v) for k, v in properties.items()}, unescape(message))
        )
    return found


def snippet_inputs() -> dict[str, str]:
    """The ``with:`` of the somatrace step in the docs' action snippet."""
    workflow = yaml.safe_load(snippet("action-step"))
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    ours = [s for s in steps if str(s.get("uses", "")).startswith("somatrace/somatrace@")]
    assert len(ours) == 1
    return {k: str(v) for k, v in (ours[0].get("with") or {}).items()}


@pytest.fixture(scope="module")
def action(
    tmp_path_factory: pytest.TempPathFactory, somatrace_repo: SnapshotRepo
) -> Iterator[CompositeAction]:
    workspace = tmp_path_factory.mktemp("workspace") / "acme"
    shutil.copytree(MONOREPO, workspace, ignore=shutil.ignore_patterns(".somatrace_cache"))
    init_repo(workspace)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "checkout")
    runner = CompositeAction(
        action_dir=somatrace_repo.path,
        workspace=workspace,
        runner_temp=tmp_path_factory.mktemp("runner-temp"),
        base_env=clean_path_env(),
    )
    base_python = getattr(sys, "_base_executable", sys.executable)
    runner.provide("python", {"python-path": base_python, "python-version": "3.11"})
    installed = runner.run_step("install", {})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield runner


def reference_findings(workspace: Path, *args: str) -> set[tuple[str, int, int, str]]:
    """The same check by the test suite's own somatrace, as JSON."""
    done = run_cli("check", "--output-format", "json", "--no-cache", *args, cwd=workspace)
    assert done.returncode in (0, 1), done.stderr
    return {
        (r["path"], r["location"]["line"], r["location"]["col"], r["code"])
        for r in json.loads(done.stdout)
    }


def sarif_findings(sarif: dict) -> set[tuple[str, int, int, str]]:
    found = set()
    for result in sarif["runs"][0]["results"]:
        location = result["locations"][0]["physicalLocation"]
        region = location["region"]
        found.add(
            (
                location["artifactLocation"]["uri"],
                region["startLine"],
                region["startColumn"],
                result["ruleId"],
            )
        )
    return found


def gate(action: CompositeAction, **inputs: str) -> StepResult:
    return action.run_step("gate", inputs)


def test_install_step_installs_somatrace_from_the_action_source(action: CompositeAction) -> None:
    outputs = action.step_outputs["install"]
    somatrace = Path(outputs["somatrace"])
    assert somatrace.is_file()
    assert somatrace.is_relative_to(action.runner_temp)
    assert Path(outputs["python"]).is_file()


def test_docs_snippet_inputs_annotate_every_finding_and_write_sarif(
    action: CompositeAction,
) -> None:
    inputs = snippet_inputs()
    assert inputs == {"paths": "services"}
    result = gate(action, **inputs)
    # The example monorepo violates on purpose: the step fails (fail-on-findings: true).
    assert result.returncode == 1, result.stdout + result.stderr

    expected = reference_findings(action.workspace, "services")
    # designed-in: billing never starts tracing; summarizer complies
    assert ("services/billing/app/main.py", "ST101") in {(p, code) for p, _, _, code in expected}
    assert not any(p.startswith("services/summarizer/") for p, *_ in expected)

    found = annotations(result.stdout)
    findings = [a for a in found if "file" in a.properties]
    assert {
        (a.properties["file"], int(a.properties["line"]), int(a.properties["col"]), a.message[:5])
        for a in findings
    } == expected
    for a in findings:
        assert a.level == "error"
        assert a.properties["title"].startswith(a.message[:5] + " ")
        assert (action.workspace / a.properties["file"]).is_file()
    # and the step's own closing error, without a file
    closing = [a for a in found if "file" not in a.properties]
    assert len(closing) == 1 and closing[0].message.startswith(f"{len(expected)} finding(s)")

    outputs = action.action_outputs(inputs)
    assert outputs["findings"] == str(len(expected))
    sarif_path = action.workspace / outputs["sarif-file"]
    assert outputs["sarif-file"] == "somatrace.sarif"
    sarif = json.loads(sarif_path.read_text("utf-8"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text("utf-8")))
    assert sarif_findings(sarif) == expected
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {code for *_, code in expected} <= rule_ids

    summary = action.summary_file.read_text("utf-8")
    assert "### somatrace" in summary
    for code in {code for *_, code in expected}:
        assert f"| {code} |" in summary


def test_fail_on_findings_false_reports_without_failing(action: CompositeAction) -> None:
    result = gate(action, paths="services", **{"fail-on-findings": "false"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert any("file" in a.properties for a in annotations(result.stdout))
    assert int(result.outputs["findings"]) > 0


def test_clean_paths_pass_with_zero_findings(action: CompositeAction, tmp_path: Path) -> None:
    sarif = tmp_path / "reports" / "clean.sarif"
    result = gate(action, paths="services/summarizer", **{"sarif-file": str(sarif)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert annotations(result.stdout) == []
    assert result.outputs == {"findings": "0", "sarif-file": str(sarif)}
    assert json.loads(sarif.read_text("utf-8"))["runs"][0]["results"] == []
    assert "No findings." in action.summary_file.read_text("utf-8")


def test_changed_since_reports_only_what_changed(action: CompositeAction) -> None:
    main = action.workspace / "services/billing/app/main.py"
    original = main.read_text("utf-8")
    try:
        main.write_text(original + "\n# touched by this pull request\n", "utf-8")
        result = gate(action, paths=".", **{"changed-since": "HEAD"})
        found = [a.properties["file"] for a in annotations(result.stdout) if "file" in a.properties]
        assert set(found) == {"services/billing/app/main.py"}
        assert result.returncode == 1
        assert result.outputs["findings"] == str(len(found))
        # The SARIF report still holds every finding, for code scanning.
        sarif = json.loads((action.workspace / result.outputs["sarif-file"]).read_text("utf-8"))
        assert sarif_findings(sarif) == reference_findings(action.workspace, ".")
        assert f"{len(found)} finding(s) in what changed since `HEAD`" in (
            action.summary_file.read_text("utf-8")
        )
    finally:
        main.write_text(original, "utf-8")


def test_bad_arguments_fail_with_exit_2(action: CompositeAction) -> None:
    result = gate(action, args="--select NOT-A-CODE")
    assert result.returncode == 2
    assert "::error title=somatrace::somatrace check failed (exit 2)" in result.stdout
    bad_flag = gate(action, **{"fail-on-findings": "yes"})
    assert bad_flag.returncode == 2
    assert "fail-on-findings must be true or false" in bad_flag.stdout


def test_version_input_is_validated_before_pip_runs(action: CompositeAction) -> None:
    installed = dict(action.step_outputs["install"])
    try:
        result = action.run_step("install", {"version": "1.0; rm -rf /"})
        assert result.returncode == 2
        assert "the version input must be a version number" in result.stdout
        assert "pip" not in result.stdout + result.stderr
    finally:
        action.step_outputs["install"] = installed
