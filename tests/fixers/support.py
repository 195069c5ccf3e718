"""Shared helpers for the fixer tests: real projects on disk, the real engine and CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

from somatrace.checks.api import CheckSettings, check_paths
from somatrace.checks.lint.engine import Engine
from somatrace.fixers.support.session import FixOptions, FixReport, run_fixes
from tests.helpers import write_pyproject


def dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


def make_project(root: Path, files: dict[str, str], **settings: object) -> None:
    write_pyproject(root, {"select": ["ST"], **settings})
    for rel, code in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dedent(code), encoding="utf-8", newline="")


def fix(
    root: Path, *, unsafe: bool = False, dry_run: bool = False, select: list[str] | None = None
) -> FixReport:
    settings = CheckSettings(select=select, use_cache=False)
    return run_fixes([root], settings, FixOptions(unsafe=unsafe, dry_run=dry_run), cwd=root)


def codes(root: Path, select: list[str] | None = None) -> list[str]:
    return [f.code for f in check_paths([root], CheckSettings(select=select, use_cache=False))]


def assert_valid_python(text: str) -> None:
    cst.parse_module(text)
    compile(text, "<fixed>", "exec", dont_inherit=True)


__all__ = ["Engine", "assert_valid_python", "codes", "dedent", "fix", "make_project"]
