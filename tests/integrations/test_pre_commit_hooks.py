"""The pre-commit hooks, run by the real ``pre-commit`` against real git repositories.

``pre-commit try-repo`` builds a fresh hook environment (a virtualenv with somatrace installed
from the snapshot of this repository) on every call, ~30 s each, so it runs twice; the other
scenarios use the docs' ``.pre-commit-config.yaml`` snippets, whose environment pre-commit builds
once per session and reuses.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from somatrace.checks.lint.discovery import is_candidate_name
from somatrace.checks.lint.engine import CheckSettings, Engine
from somatrace.rules import all_rules
from tests.helpers import REPO, git, init_repo, write_files, write_pyproject
from tests.integrations.conftest import PreCommit, SnapshotRepo, tool
from tests.integrations.snippets import pre_commit_config_for

MANIFEST = REPO / ".pre-commit-hooks.yaml"
HOOK_IDS = {"somatrace-check", "somatrace-fix", "somatrace-check-changed"}


def manifest() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text("utf-8"))


def hook(hook_id: str) -> dict:
    return next(h for h in manifest() if h["id"] == hook_id)


def commit_all(root: Path, message: str = "commit") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


# ----------------------------------------------------------------------------- the manifest
def test_manifest_is_valid_for_pre_commit() -> None:
    done = subprocess.run(
        [tool("pre-commit"), "validate-manifest", str(MANIFEST)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_manifest_offers_the_three_hooks_as_designed() -> None:
    hooks = {h["id"]: h for h in manifest()}
    assert set(hooks) == HOOK_IDS
    for h in hooks.values():
        assert h["language"] == "python"
        assert h["require_serial"] is True
        assert h["entry"].split()[0] == "somatrace"
    # File names come after `--`: a file named like an option is never read as one.
    assert hooks["somatrace-check"]["entry"] == "somatrace check --force-exclude --"
    assert hooks["somatrace-fix"]["entry"] == "somatrace fix --force-exclude --"
    for h in hooks.values():
        assert h.get("pass_filenames", True) is False or h["entry"].endswith(" --")
        assert "args" not in h  # would land after `--`, as file names
    assert hooks["somatrace-check-changed"]["pass_filenames"] is False
    assert "--changed-since HEAD" in hooks["somatrace-check-changed"]["entry"]


def sample_names(pattern: str) -> list[str]:
    """Concrete file names a glob of the engine matches, at the root and deeper."""
    name = pattern.replace("**/", "").replace("*", "svc")
    return [name, f"deploy/prod/{name}"]


@pytest.mark.parametrize("hook_id", sorted(HOOK_IDS))
def test_hook_files_cover_every_file_the_engine_reads(hook_id: str) -> None:
    files = re.compile(hook(hook_id)["files"])
    patterns = Engine(CheckSettings(), all_rules(), cwd=REPO).text_patterns()
    assert patterns, "no config-file rule is registered"
    names = ["main.py", "services/billing/app/main.py"]
    names += [n for p in patterns for n in sample_names(p)]
    for name in names:
        assert is_candidate_name(name, patterns), name  # the engine reads it ...
        assert files.search(name), f"{hook_id} does not pass {name}"  # ... and the hook passes it
    for name in ["README.md", "setup.cfg", "app/data.json", "envy", "a.env.bak", "x.pyc"]:
        assert not is_candidate_name(name, patterns), name
        assert not files.search(name), f"{hook_id} passes {name}, which no rule reads"


@pytest.mark.parametrize("name", ["pre-commit-config", "pre-commit-config-strict"])
def test_docs_configs_are_valid(name: str, tmp_path: Path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(pre_commit_config_for(name, tmp_path, "deadbeef" * 5), "utf-8")
    done = subprocess.run(
        [tool("pre-commit"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ids = {h["id"] for repo in yaml.safe_load(config.read_text())["repos"] for h in repo["hooks"]}
    assert ids <= HOOK_IDS


# ----------------------------------------------------------- try-repo: check fails, fix, pass
@pytest.fixture
def violating_project(tmp_path: Path) -> Path:
    """A service that never starts tracing, and a .env that turns content capture on."""
    root = tmp_path / "acme"
    root.mkdir()
    init_repo(root)
    write_pyproject(root, {"entrypoints": ["services/*/app/main.py"]}, name="acme")
    write_files(
        root,
        {
            "services/billing/app/__init__.py": "",
            "services/billing/app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()
            """,
            "services/billing/.env": "TRACELOOP_TRACE_CONTENT=true\n",
            "README.md": "acme services\n",
        },
    )
    commit_all(root, "violating service")
    return root


@pytest.mark.slow
def test_try_repo_check_fails_then_fix_then_check_passes(
    violating_project: Path, somatrace_repo: SnapshotRepo, pre_commit: PreCommit
) -> None:
    root = violating_project
    repo = str(somatrace_repo.path)

    checked = pre_commit("try-repo", repo, "somatrace-check", "--all-files", cwd=root)
    text = output(checked)
    assert checked.returncode == 1, text
    assert "somatrace check" in text and "Failed" in text
    assert "services/billing/app/main.py:3:7: ST101 " in text
    assert "services/billing/.env:1:" in text and "ST202 " in text

    fixed = pre_commit("try-repo", repo, "somatrace-fix", "--all-files", cwd=root)
    text = output(fixed)
    assert fixed.returncode == 1, text  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in text
    main = (root / "services/billing/app/main.py").read_text()
    assert "from somatrace.tracing import init_tracing" in main
    assert 'init_tracing("billing")' in main
    assert main.index('init_tracing("billing")') < main.index("app = FastAPI()")
    assert (root / "services/billing/.env").read_text() == "TRACELOOP_TRACE_CONTENT=false\n"

    # After the fix the same hook passes: through the docs' config (same repo, same commit).
    (root / ".pre-commit-config.yaml").write_text(
        pre_commit_config_for("pre-commit-config", somatrace_repo.path, somatrace_repo.sha)
    )
    commit_all(root, "fixed by somatrace-fix")
    passed = pre_commit("run", "somatrace-check", "--all-files", cwd=root)
    assert passed.returncode == 0, output(passed)
    assert re.search(r"somatrace check\.+Passed", output(passed))


# ------------------------------------------ what the check sees when only staged files pass
TELEMETRY_WITH_INIT = """
    from somatrace.tracing import init_tracing

    init_tracing("summarizer")
"""
TELEMETRY_WITHOUT_INIT = """
    import logging

    logging.basicConfig()
"""


@pytest.fixture
def traced_by_import(tmp_path: Path, somatrace_repo: SnapshotRepo) -> Path:
    """An entrypoint that starts tracing through the module it imports, an old untouched service
    that never does, and the strict docs config (fix, check, check-changed), all committed."""
    root = tmp_path / "fleet"
    root.mkdir()
    init_repo(root)
    write_pyproject(root, {"entrypoints": ["services/*/app/main.py"]}, name="fleet")
    write_files(
        root,
        {
            "services/summarizer/app/__init__.py": "",
            "services/summarizer/app/main.py": """
                from fastapi import FastAPI

                from . import telemetry  # noqa: F401

                app = FastAPI()
            """,
            "services/summarizer/app/telemetry.py": TELEMETRY_WITH_INIT,
            "services/legacy/app/__init__.py": "",
            "services/legacy/app/main.py": """
                from fastapi import FastAPI

                app = FastAPI()
            """,
        },
    )
    (root / ".pre-commit-config.yaml").write_text(
        pre_commit_config_for("pre-commit-config-strict", somatrace_repo.path, somatrace_repo.sha)
    )
    commit_all(root, "traced through an imported module")
    return root


def run_hook(pre_commit: PreCommit, root: Path, hook_id: str) -> subprocess.CompletedProcess[str]:
    """``pre-commit run HOOK`` on the staged files, as ``git commit`` would."""
    return pre_commit("run", hook_id, cwd=root)


@pytest.mark.slow
def test_staged_entrypoint_is_checked_against_its_imports(
    traced_by_import: Path, pre_commit: PreCommit
) -> None:
    root = traced_by_import
    main = root / "services/summarizer/app/main.py"
    main.write_text(main.read_text() + "\n# a reviewed change\n")
    git(root, "add", str(main))

    clean = run_hook(pre_commit, root, "somatrace-check")
    assert clean.returncode == 0, output(clean)  # telemetry.py (not staged) starts tracing

    write_files(root, {"services/summarizer/app/telemetry.py": TELEMETRY_WITHOUT_INIT})
    # ... removed on disk but not staged: pre-commit puts it aside, the commit keeps the init.
    unstaged = run_hook(pre_commit, root, "somatrace-check")
    assert unstaged.returncode == 0, output(unstaged)
    assert "init_tracing" not in (root / "services/summarizer/app/telemetry.py").read_text()

    git(root, "add", "services/summarizer/app/telemetry.py")
    staged = run_hook(pre_commit, root, "somatrace-check")
    assert staged.returncode == 1, output(staged)
    assert "services/summarizer/app/main.py:5:7: ST101 " in output(staged)

    # An imported module not added yet (untracked) stays on disk, and resolves.
    write_files(root, {"services/summarizer/app/startup.py": TELEMETRY_WITH_INIT})
    main.write_text(main.read_text().replace("import telemetry", "import startup"))
    git(root, "add", str(main))
    untracked = run_hook(pre_commit, root, "somatrace-check")
    assert untracked.returncode == 0, output(untracked)
    assert "startup.py" in git(root, "status", "--porcelain", "--untracked-files=all")


@pytest.mark.slow
def test_staged_import_alone_needs_check_changed(
    traced_by_import: Path, pre_commit: PreCommit
) -> None:
    root = traced_by_import
    write_files(root, {"services/summarizer/app/telemetry.py": TELEMETRY_WITHOUT_INIT})
    git(root, "add", "services/summarizer/app/telemetry.py")

    # somatrace-check gets telemetry.py only: no entrypoint, nothing to prove (the blind spot).
    blind = run_hook(pre_commit, root, "somatrace-check")
    assert blind.returncode == 0, output(blind)

    # somatrace-check-changed checks the project and reports the entrypoint the change broke.
    changed = run_hook(pre_commit, root, "somatrace-check-changed")
    assert changed.returncode == 1, output(changed)
    assert "services/summarizer/app/main.py:5:7: ST101 " in output(changed)

    # Unrelated staged changes do not drag in the old finding of the untouched legacy service.
    git(root, "reset", "-q", "HEAD", "--", "services/summarizer/app/telemetry.py")
    git(root, "checkout", "--", "services/summarizer/app/telemetry.py")
    write_files(root, {"services/summarizer/README.md": "docs\n", "deploy/values.yaml": "a: 1\n"})
    git(root, "add", "-A")
    quiet = run_hook(pre_commit, root, "somatrace-check-changed")
    assert quiet.returncode == 0, output(quiet)


@pytest.mark.slow
def test_check_changed_cannot_run_on_the_first_commit(
    tmp_path: Path, somatrace_repo: SnapshotRepo, pre_commit: PreCommit
) -> None:
    """Documented limit: with no HEAD yet there is nothing to compare with (exit 2, loudly)."""
    root = tmp_path / "new"
    root.mkdir()
    init_repo(root)
    (root / ".pre-commit-config.yaml").write_text(
        pre_commit_config_for("pre-commit-config-strict", somatrace_repo.path, somatrace_repo.sha)
    )
    write_files(root, {"app.py": "print('hello')\n"})
    git(root, "add", "-A")
    first = run_hook(pre_commit, root, "somatrace-check-changed")
    assert first.returncode == 1, output(first)
    assert "exit code: 2" in output(first)
    assert "unknown git revision 'HEAD'" in output(first)
    assert run_hook(pre_commit, root, "somatrace-check").returncode == 0


# ------------------------------------------------- file names that look like options (issue 18)
@pytest.mark.slow
def test_file_names_are_never_options(
    tmp_path: Path, somatrace_repo: SnapshotRepo, pre_commit: PreCommit
) -> None:
    root = tmp_path / "hostile"
    root.mkdir()
    init_repo(root)
    write_pyproject(root, {"exclude": ["vendor"]}, name="hostile")
    setup = "from setuptools import setup\n\nsetup()\n"
    write_files(
        root,
        {
            "setup.py": setup,
            "--output-file=setup.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n',
            "--exit-zero.py": "",
            "--config=evil.py": 'select = ["ST9"]\n',
            "vendor/lib.py": 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="v")\n',
        },
    )
    (root / ".pre-commit-config.yaml").write_text(
        pre_commit_config_for("pre-commit-config", somatrace_repo.path, somatrace_repo.sha)
    )
    commit_all(root, "hostile names")
    done = pre_commit("run", "somatrace-check", "--all-files", cwd=root)
    text = output(done)
    assert done.returncode == 1, text  # the finding fails the hook: no option turned it off
    assert "--output-file=setup.py:2:1: ST102 " in text  # checked as the file it is
    assert (root / "setup.py").read_text() == setup  # no report written over it
    assert "vendor/lib.py" not in text  # --force-exclude: exclude holds for named files
