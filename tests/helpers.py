"""Small helpers shared by tests: write real projects to disk, run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{ "
            + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"cannot write {value!r} as TOML")


def write_pyproject(root: Path, settings: Mapping[str, Any], name: str = "demo") -> Path:
    lines = ["[project]", f'name = "{name}"', 'version = "0"', "", "[tool.somatrace]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    path = root / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for rel, code in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(code).lstrip("\n"), encoding="utf-8")


def run_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``somatrace`` command line in a real subprocess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "somatrace.checks.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )
    return out.stdout


def init_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "commit.gpgsign", "false")


def commit_tree(root: Path, message: str = "project") -> None:
    """A repository at ``root`` holding everything written there, in one commit."""
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def wide_app_project(root: Path, obs: str, width: int) -> Path:
    """A committed project whose FastAPI entrypoint ``svc/app/main.py`` imports ``app.obs``
    (written as ``obs``) and ``width`` route modules, each importing one model module: the
    shape the join's import pruning and import scans are measured on."""
    app = root / "svc" / "app"
    app.mkdir(parents=True)
    write_pyproject(root, {})
    (app / "__init__.py").write_text("")
    (app / "obs.py").write_text(obs)
    for i in range(width):
        (app / f"routes{i}.py").write_text(f"from app import models{i}\nROUTE = {i}\n")
        (app / f"models{i}.py").write_text(f"import json\nMODEL = {i}\n")
    imports = "".join(f"from app import routes{i}\n" for i in range(width))
    (app / "main.py").write_text(
        f"{imports}from app import obs\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
    )
    commit_tree(root)
    return root


def check_in_process(root: Path, rules: Sequence[Any] | None = None, **settings: Any) -> Any:
    """``somatrace check .`` from ``root`` in this process (no cache, no workers unless
    ``jobs`` says), as the editor server and the API run it, with every rule or ``rules``:
    the :class:`~somatrace.checks.lint.engine.CheckResult`."""
    from somatrace.checks.lint.engine import CheckSettings, Engine
    from somatrace.rules import all_rules

    cwd = os.getcwd()
    os.chdir(root)
    try:
        chosen = all_rules() if rules is None else rules
        check = CheckSettings(**{"use_cache": False, "jobs": 0, **settings})
        return Engine(check, chosen).run([Path(".")])
    finally:
        os.chdir(cwd)
