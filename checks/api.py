"""The library API: run the gate from Python (other commands, tests, integrations)."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.lint.engine import CheckResult, CheckSettings, Engine
from somatrace.checks.lint.findings import Edit, Finding, Fix
from somatrace.rules import all_rules

__all__ = ["CheckResult", "CheckSettings", "Edit", "Finding", "Fix", "check_paths", "run_check"]


def run_check(paths: list[Path], settings: CheckSettings | None = None) -> CheckResult:
    """Check ``paths`` exactly as ``somatrace check`` would, returning the full result."""
    return Engine(settings or CheckSettings(), all_rules()).run([Path(p) for p in paths])


def check_paths(paths: list[Path], settings: CheckSettings | None = None) -> list[Finding]:
    """The findings ``somatrace check PATHS`` would report, sorted by path and position."""
    return run_check(paths, settings).findings
