"""Fixtures of the monitoring tests; timings of the end-to-end runs are printed at the end."""

from __future__ import annotations

from typing import Any

# name -> seconds, printed by pytest_terminal_summary (the closing note quotes them)
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("somatrace monitoring: end-to-end timings (s)")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:8.1f}  {name}")
