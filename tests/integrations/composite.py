"""Runs a composite action's shell steps for real, the way the GitHub runner does, outside GitHub.

Only what ``action.yml`` uses is supported, and anything else is refused loudly so the action
cannot drift away from what this runner proves:

- ``${{ }}`` expressions naming ``inputs.*``, ``github.action_path``, ``github.workspace``,
  ``runner.temp`` or ``steps.<id>.outputs.*``, inside ``env:`` maps and output values;
- ``shell: bash`` steps, started as the runner starts them
  (``bash --noprofile --norc -eo pipefail <script>``) in the workspace, with ``GITHUB_OUTPUT``,
  ``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTION_PATH``, ``GITHUB_WORKSPACE`` and ``RUNNER_TEMP``;
- ``uses:`` steps cannot run here: their outputs are what the machine provides instead (e.g.
  ``actions/setup-python``'s ``python-path`` is this machine's real Python 3.11), given by the
  caller and checked against the step's id.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_OUTPUT = re.compile(r"steps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)")


class UnsupportedByLocalRunner(AssertionError):
    """The action uses something this runner does not run; extend it, do not work around it."""


def parse_output_file(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as the runner reads them."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs


@dataclass
class StepResult:
    step_id: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class CompositeAction:
    action_dir: Path
    workspace: Path
    runner_temp: Path
    base_env: Mapping[str, str]
    manifest: dict[str, Any] = field(init=False)
    step_outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    summary_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.manifest = yaml.safe_load((self.action_dir / "action.yml").read_text("utf-8"))
        if self.manifest["runs"]["using"] != "composite":
            raise UnsupportedByLocalRunner("not a composite action")
        self.runner_temp.mkdir(parents=True, exist_ok=True)
        self.summary_file = self.runner_temp / "step_summary.md"
        self.summary_file.touch()

    # ------------------------------------------------------------------ inputs and expressions
    def resolve_inputs(self, given: Mapping[str, str]) -> dict[str, str]:
        declared = self.manifest.get("inputs", {})
        unknown = set(given) - set(declared)
        if unknown:
            raise AssertionError(f"inputs the action does not declare: {sorted(unknown)}")
        values = {}
        for name, spec in declared.items():
            if name in given:
                values[name] = str(given[name])
            elif spec.get("required") and "default" not in spec:
                raise AssertionError(f"required input {name!r} missing")
            else:
                values[name] = str(spec.get("default", ""))
        return values

    def evaluate(self, text: str, inputs: Mapping[str, str]) -> str:
        def lookup(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("inputs."):
                return inputs[expr.removeprefix("inputs.")]
            if expr == "github.action_path":
                return str(self.action_dir)
            if expr == "github.workspace":
                return str(self.workspace)
            if expr == "runner.temp":
                return str(self.runner_temp)
            step = STEP_OUTPUT.fullmatch(expr)
            if step:
                return self.step_outputs.get(step.group(1), {}).get(step.group(2), "")
            raise UnsupportedByLocalRunner(f"expression not supported here: ${{{{ {expr} }}}}")

        return EXPRESSION.sub(lookup, str(text))

    # ------------------------------------------------------------------------------- steps
    def steps(self) -> list[dict[str, Any]]:
        return list(self.manifest["runs"]["steps"])

    def step(self, step_id: str) -> dict[str, Any]:
        for step in self.steps():
            if step.get("id") == step_id:
                return step
        raise KeyError(step_id)

    def provide(self, step_id: str, outputs: Mapping[str, str]) -> None:
        """Stand in for a ``uses:`` step with the machine's real equivalent of its outputs."""
        if "uses" not in self.step(step_id):
            raise AssertionError(f"{step_id} is a shell step: run it")
        self.step_outputs[step_id] = dict(outputs)

    def run_step(self, step_id: str, inputs: Mapping[str, str]) -> StepResult:
        step = self.step(step_id)
        if "uses" in step:
            raise UnsupportedByLocalRunner(f"{step_id} uses {step['uses']}: provide its outputs")
        for key in step:
            if key not in {"name", "id", "shell", "env", "run"}:
                raise UnsupportedByLocalRunner(f"step key {key!r} ({step_id})")
        if step.get("shell") != "bash":
            raise UnsupportedByLocalRunner(f"shell {step.get('shell')!r} ({step_id})")
        if EXPRESSION.search(step["run"]):
            raise AssertionError(f"{step_id}: an expression inside the script (template injection)")
        values = self.resolve_inputs(inputs)
        output_file = self.runner_temp / f"output_{step_id}"
        output_file.write_text("", "utf-8")
        script = self.runner_temp / f"step_{step_id}.sh"
        script.write_text(step["run"], "utf-8")
        env = dict(self.base_env)
        env.update({k: self.evaluate(v, values) for k, v in (step.get("env") or {}).items()})
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(self.summary_file),
                "GITHUB_ACTION_PATH": str(self.action_dir),
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_TEMP": str(self.runner_temp),
            }
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        outputs = parse_output_file(output_file.read_text("utf-8"))
        self.step_outputs[step_id] = outputs
        return StepResult(step_id, done.returncode, done.stdout, done.stderr, outputs)

    def action_outputs(self, inputs: Mapping[str, str]) -> dict[str, str]:
        values = self.resolve_inputs(inputs)
        return {
            name: self.evaluate(spec["value"], values)
            for name, spec in self.manifest.get("outputs", {}).items()
        }


def clean_path_env() -> dict[str, str]:
    """The caller's environment without any ``somatrace`` on PATH: the action must bring its own."""
    keep = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and not (Path(directory) / "somatrace").exists():
            keep.append(directory)
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    env["PATH"] = os.pathsep.join(keep)
    return env
