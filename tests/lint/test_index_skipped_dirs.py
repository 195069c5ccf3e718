"""The project's module index holds the files the walk holds, in git or not: a committed
``node_modules`` or ``.venv`` (folders discovery never enters) is no part of the project, and
its files are not counted as modules the run could not scan."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.lint.discovery import project_files
from tests.helpers import git, init_repo


def test_the_module_index_skips_the_folders_discovery_skips_in_git_too(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "ui" / "node_modules" / "katex").mkdir(parents=True)
    (root / "ui" / "node_modules" / "katex" / "fonts.py").write_text("import sys\n")
    (root / "pkg.egg-info").mkdir()
    (root / "pkg.egg-info" / "stub.py").write_text("")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text("import json\n")
    walked = sorted(project_files(root))
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tree")
    listed = sorted(project_files(root))
    assert walked == listed == [str(root / "app" / "main.py")]
    # a project inside such a folder still has its own files
    inner = root / "ui" / "node_modules" / "katex"
    assert project_files(inner) == [str(inner / "fonts.py")]
