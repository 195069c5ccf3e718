"""Fixtures for the integration tests: the real pre-commit, GitHub workflow linters and the
action's own shell steps, all run against real git repositories on disk.

``somatrace_repo`` is this repository's working tree (committed or not) turned into a clean git
repository with a single commit: ``pre-commit try-repo`` and the action install from it exactly
what is on disk, and pre-commit builds its hook environment once per session (its store is keyed
by repository path and commit).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO, git, init_repo

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A tool from the ``dev`` extra, installed next to the interpreter running the tests."""
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise AssertionError(f"{name} is not installed: pip install -e '.[dev]'")
        return found
    return str(path)


def working_tree_files(root: Path) -> list[str]:
    """Tracked and untracked, not ignored, still existing files: what a commit of everything
    on disk would hold."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    )
    names = [n for n in out.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    return sorted({n for n in names if (root / n).is_file() or (root / n).is_symlink()})


@dataclass(frozen=True)
class SnapshotRepo:
    path: Path
    sha: str


@pytest.fixture(scope="session")
def somatrace_repo(tmp_path_factory: pytest.TempPathFactory) -> SnapshotRepo:
    target = tmp_path_factory.mktemp("somatrace-snapshot") / "somatrace"
    target.mkdir()
    for name in working_tree_files(REPO):
        source = REPO / name
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, dest)
    init_repo(target)
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot of the working tree")
    return SnapshotRepo(path=target, sha=git(target, "rev-parse", "HEAD").strip())


@dataclass(frozen=True)
class PreCommit:
    """The real ``pre-commit`` command with a session-wide store (its hook environments)."""

    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
        env.pop("SKIP", None)
        env.pop("VIRTUAL_ENV", None)
        env.update(
            {
                "PRE_COMMIT_HOME": str(self.home),
                "PRE_COMMIT_COLOR": "never",
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com",
            }
        )
        return env

    def __call__(
        self, *args: str, cwd: Path, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = self.env()
        env.update(extra_env or {})
        return subprocess.run(
            [tool("pre-commit"), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )


@pytest.fixture(scope="session")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreCommit]:
    yield PreCommit(home=tmp_path_factory.mktemp("pre-commit-home"))
