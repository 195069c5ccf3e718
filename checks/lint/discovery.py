"""Which files to check: git-aware (honours ``.gitignore``), config excludes, sensible defaults.

In a git work tree the file list comes from ``git ls-files --cached --others --exclude-standard``
(one process for the whole tree, far faster than walking it); elsewhere the tree is walked
without following directory symlinks (so symlink loops cannot trap it), skipping the usual
virtualenv, cache and build folders.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from somatrace.checks.lint.config import Config, ConfigResolver
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.globs import matches_any

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".somatrace_cache",
        "site-packages",
        ".eggs",
    }
)


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path  # absolute
    config: Config
    relpath: str  # relative to config.root
    explicit: bool  # named on the command line


def git_toplevel(directory: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    return Path(out.stdout.strip()).resolve()


def _git_files(directory: Path) -> list[Path] | None:
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(directory),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--full-name",
                "--",
                ".",
            ],
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    top = git_toplevel(directory)
    if top is None:
        return None
    names = [n for n in out.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    return [top / n for n in names]


def project_files(root: Path) -> list[str]:
    """Every Python file of the project under ``root`` (absolute paths): what ``import``
    statements may load. From git when ``root`` is in a work tree, else a walk."""
    files = _git_files(root) if git_toplevel(root) else None
    if files is None:
        files = list(_walk(root, lambda name: name.endswith(".py")))
    return [str(path) for path in files if path.name.endswith(".py")]


def _walk(directory: Path, wanted: Callable[[str], bool]) -> Iterable[Path]:
    """Files under ``directory`` whose name ``wanted`` accepts; directory symlinks are not
    followed (no loops), tool and environment folders are pruned."""
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if wanted(name):
                yield Path(root, name)


def is_candidate_name(relpath: str, text_patterns: tuple[str, ...]) -> bool:
    if relpath.endswith(".py"):
        return True
    return bool(text_patterns) and matches_any(text_patterns, relpath)


def discover(
    paths: list[Path],
    resolver: ConfigResolver,
    text_patterns: tuple[str, ...] = (),
) -> list[Candidate]:
    """All files under ``paths`` that some rule may check, each with the config that governs it."""
    seen: set[Path] = set()
    out: list[Candidate] = []
    name_patterns = tuple({p.rsplit("/", 1)[-1] for p in text_patterns})

    def wanted(name: str) -> bool:
        # Cheap first: most files in a tree are neither Python nor a config format.
        return name.endswith(".py") or any(fnmatch.fnmatchcase(name, p) for p in name_patterns)

    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise UsageError(f"{given}: no such file or directory")
        # A folder is checked where it really is (git reports real paths; a symlinked checkout
        # must give the same module names and roots); a file keeps the name it was given.
        absolute = Path(os.path.realpath(given) if given.is_dir() else os.path.abspath(given))
        resolver.for_path(absolute)  # a broken config is an error even where no file is checked
        from_git = False
        if given.is_dir():
            files = _git_files(absolute) if git_toplevel(absolute) else None
            from_git = files is not None
            if files is None:
                files = list(_walk(absolute, wanted))
            explicit = False
        else:
            files = [absolute]
            explicit = True
        for path in files:
            if path in seen:
                continue
            if from_git:
                if not wanted(path.name):
                    continue
                if any(p in SKIP_DIRS for p in path.parts[len(absolute.parts) :]):
                    continue
            config = resolver.for_path(path)
            relpath = config.relpath(path)
            if not is_candidate_name(relpath, text_patterns):
                continue
            if resolver.is_excluded(path, config, absolute):
                continue
            seen.add(path)
            out.append(Candidate(path=path, config=config, relpath=relpath, explicit=explicit))
    out.sort(key=lambda c: c.path)
    return out


def changed_files(ref: str, cwd: Path) -> set[Path]:
    """Files changed in the work tree since ``ref`` (committed, staged, unstaged, untracked)."""
    top = git_toplevel(cwd)
    if top is None:
        raise UsageError("--changed-since needs a git repository")
    verify = subprocess.run(
        ["git", "-C", str(top), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if verify.returncode != 0:
        raise UsageError(f"--changed-since: unknown git revision {ref!r}")
    diff = subprocess.run(
        ["git", "-C", str(top), "diff", "-z", "--name-only", "--no-renames", ref, "--"],
        capture_output=True,
        check=True,
    )
    untracked = subprocess.run(
        ["git", "-C", str(top), "ls-files", "-z", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    )
    names = diff.stdout.split(b"\0") + untracked.stdout.split(b"\0")
    return {Path(os.path.realpath(top / n.decode("utf-8", "surrogateescape"))) for n in names if n}
