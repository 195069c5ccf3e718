"""Output formats. Each reporter turns a :class:`CheckResult` into text for one audience."""

from __future__ import annotations

from collections.abc import Callable

from somatrace.checks.lint.engine import CheckResult

Reporter = Callable[[CheckResult], str]

FORMATS = ("text", "concise", "json", "sarif", "github", "junit")


def get_reporter(name: str) -> Reporter:
    if name in ("text", "concise"):
        from somatrace.checks.reporters.text import render, render_concise

        return render if name == "text" else render_concise
    if name == "json":
        from somatrace.checks.reporters.json_report import render

        return render
    if name == "sarif":
        from somatrace.checks.reporters.sarif import render

        return render
    if name == "github":
        from somatrace.checks.reporters.github import render

        return render
    if name == "junit":
        from somatrace.checks.reporters.junit import render

        return render
    raise ValueError(f"unknown output format {name!r}; choose from {', '.join(FORMATS)}")
