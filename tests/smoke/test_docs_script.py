"""The smoke script docs/smoke.md tells service owners to write passes ``somatrace smoke``."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import REPO
from tests.smoke.conftest import run_smoke


def documented_script() -> str:
    doc = (REPO / "docs" / "smoke.md").read_text("utf-8")
    section = doc.split("## Writing a smoke script for your service", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_smoke_script_passes(llm_url: str, tmp_path: Path) -> None:
    script = tmp_path / "billing_smoke.py"
    script.write_text(documented_script())
    done = run_smoke(
        "--script", str(script), "--workflows", "2", "--tenants", "2", "--llm-url", llm_url,
        # A deploy setting through --env: only the OpenAI instrumentation (seconds of start-up).
        "--env", "SOMATRACE_INSTRUMENTS=openai",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   call #1 (tenant-01 / invoice-qa / planner)" in done.stdout
    assert "ok   call #2 (tenant-02 / invoice-qa / planner)" in done.stdout
