"""Which files a run checks, and that an untrusted checkout runs nothing: no-files warnings,
explicit files and --force-exclude, deleted tracked files, unreadable folders, gitignore
patterns (pathspec) inside and outside git, repository-configured programs, cache paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

DIRECT = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'
APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def codes_by_path(out: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    return {(r["path"], r["code"]) for r in json.loads(out.stdout)}


def test_nothing_to_check_is_a_warning_not_a_silent_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write_files(tmp_path, {"README.md": "docs\n"})
    for target in ("empty", "README.md"):
        out = run_cli("check", target, cwd=tmp_path)
        assert out.returncode == 0
        assert "warning: No files found" in out.stderr, target


def test_named_files_are_checked_unless_force_exclude(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"exclude": ["legacy"]})
    write_files(tmp_path, {"legacy/old.py": DIRECT})
    assert run_cli("check", ".", cwd=tmp_path).returncode == 0  # walking: excluded
    named = run_cli("check", "legacy/old.py", cwd=tmp_path)
    assert named.returncode == 1 and "legacy/old.py:2:1: ST102" in named.stdout
    forced = run_cli("check", "legacy/old.py", "--force-exclude", cwd=tmp_path)
    assert forced.returncode == 0 and "No files found" in forced.stderr


def test_deleted_but_tracked_files_are_skipped(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write_files(tmp_path, {"gone.py": DIRECT, "kept.py": DIRECT})
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "two")
    (tmp_path / "gone.py").unlink()
    out = run_cli("check", ".", "--output-format", "json", cwd=tmp_path)
    assert codes_by_path(out) == {("kept.py", "ST102")}, out.stdout


@pytest.mark.parametrize("in_git", [True, False])
def test_gitignore_semantics_of_patterns(tmp_path: Path, in_git: bool) -> None:
    if in_git:
        init_repo(tmp_path)
    write_pyproject(tmp_path, {"exclude": ["/vendor", "build/", "gen/**", "!gen/keep.py"]})
    write_files(
        tmp_path,
        {
            "vendor/a.py": DIRECT,  # anchored: excluded
            "lib/vendor/b.py": DIRECT,  # not the root's vendor: checked
            "build/c.py": DIRECT,
            "gen/d.py": DIRECT,
            "gen/keep.py": DIRECT,  # re-included by the negation
            "ignored/e.py": DIRECT,  # .gitignore: skipped in and outside git
            "ok.py": DIRECT,
            ".gitignore": "ignored/\n",
        },
    )
    out = run_cli("check", ".", "--output-format", "json", "--no-cache", cwd=tmp_path)
    assert {p for p, _ in codes_by_path(out)} == {"lib/vendor/b.py", "gen/keep.py", "ok.py"}


def test_respect_gitignore_false_outside_git(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"respect-gitignore": False})
    write_files(tmp_path, {"ignored/e.py": DIRECT, ".gitignore": "ignored/\n"})
    out = run_cli("check", ".", "--output-format", "json", cwd=tmp_path)
    assert codes_by_path(out) == {("ignored/e.py", "ST102")}


DROP_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--"]  # fmt: skip


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is part of util-linux")
@pytest.mark.parametrize("in_git", [True, False])
def test_unreadable_folder_is_reported(tmp_path: Path, in_git: bool) -> None:
    """Root reads every folder, so the check runs without the capabilities that let it
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a real unreadable folder."""
    if in_git:
        init_repo(tmp_path)
    write_pyproject(tmp_path, {})
    write_files(tmp_path, {"services/hidden/app/main.py": APP, "ok.py": DIRECT})
    hidden = tmp_path / "services/hidden"
    hidden.chmod(0o000)
    try:
        done = subprocess.run(
            [*DROP_DAC, sys.executable, "-m", "somatrace.checks.cli.main",
             "check", ".", "--no-cache", "--output-format", "json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        hidden.chmod(0o755)
    assert done.returncode == 1, done.stderr
    found = codes_by_path(done)
    assert found == {("ok.py", "ST102"), ("services/hidden", "ST900")}, found
    record = next(r for r in json.loads(done.stdout) if r["code"] == "ST900")
    assert record["message"] == "cannot read folder: Permission denied"


MARKER_CONFIG = {
    "core.fsmonitor": "touch {marker}.fsmonitor; false",
    "filter.evil.clean": "touch {marker}.clean; cat",
    "filter.evil.process": "touch {marker}.process",
    "diff.external": "touch {marker}.diff",
    "diff.evil.textconv": "touch {marker}.textconv; cat",
    "core.pager": "touch {marker}.pager; cat",
    "core.hooksPath": "{hooks}",
}


def test_repository_configured_programs_never_run(tmp_path: Path) -> None:
    """An untrusted checkout's .git/config names programs for every hook git offers; checking it
    (plain, --changed-since, the fix path) runs none of them."""
    root = tmp_path / "checkout"
    root.mkdir()
    init_repo(root)
    marker = tmp_path / "ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("post-index-change", "reference-transaction", "post-checkout"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}.hook\n")
        (hooks / name).chmod(0o755)
    write_files(root, {"app.py": DIRECT, ".gitattributes": "* filter=evil diff=evil\n"})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    for key, value in MARKER_CONFIG.items():
        git(root, "config", key, value.format(marker=marker, hooks=hooks))
    (root / "app.py").write_text(DIRECT + "# edited\n")  # stat-dirty: git would run clean
    (root / "new.py").write_text(DIRECT)
    for args in (["check", "."], ["check", ".", "--changed-since", "HEAD"], ["fix", "--diff", "."]):
        out = run_cli(*args, "--no-cache", cwd=root)
        assert out.returncode == 1, (args, out.stderr)
        assert "app.py" in out.stdout + out.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ran")) == []


def test_cached_findings_use_this_runs_paths(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    mono.mkdir()
    write_pyproject(mono, {})
    write_files(mono, {"services/a/app/main.py": APP, "lib/direct.py": DIRECT})
    first = run_cli("check", "mono", "--output-format", "json", cwd=tmp_path)
    assert codes_by_path(first) == {
        ("mono/services/a/app/main.py", "ST101"),
        ("mono/lib/direct.py", "ST102"),
    }
    second = run_cli("check", "--output-format", "json", cwd=mono)  # from the cache
    assert codes_by_path(second) == {
        ("services/a/app/main.py", "ST101"),
        ("lib/direct.py", "ST102"),
    }
    sarif = json.loads(run_cli("check", "--output-format", "sarif", cwd=mono).stdout)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"services/a/app/main.py", "lib/direct.py"}
    text = run_cli("check", cwd=mono)
    assert "(2 files checked)" in text.stdout
