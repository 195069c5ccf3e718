"""The example service broken on purpose, one way per script (tests/fixtures/smoke/): each run
fails (exit 1) with a message naming the call, the span and what is missing or leaked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from somatrace.checks.runtime.llm_server import free_port
from tests.helpers import REPO
from tests.smoke.conftest import FIXTURES, run_smoke

SPAN = r"span 'openai\.chat' \(span_id [0-9a-f]{16}\)"


def failures_of(stdout: str) -> list[str]:
    block = stdout.split("\nFailures:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.startswith("  [")]


def test_a_service_without_tags_fails_naming_each_missing_tag(llm_url: str) -> None:
    done = run_smoke("--script", str(FIXTURES / "no_tags.py"), "--llm-url", llm_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("somatrace smoke: FAILED")
    failures = failures_of(done.stdout)
    tag_failures = [f for f in failures if f.startswith("[tags]")]
    assert len(tag_failures) == 3, failures
    for tag in ("tenant_id", "workflow_name", "agent_id"):
        assert any(
            re.fullmatch(
                rf"\[tags\] call #1 \(tenant-01 / support-answer / answerer\): {SPAN} lacks tag "
                rf"{tag} \(neither traceloop\.association\.properties\.{tag} nor "
                rf"langfuse\.trace\.metadata\.{tag} is set\)",
                failure,
            )
            for failure in tag_failures
        ), (tag, tag_failures)
    # Its tokens and cost are fine; only the per-tenant attribution cannot reconcile.
    assert not [f for f in failures if f.startswith(("[cost]", "[tokens]", "[content]", "[span]"))]
    assert (
        "[reconciliation] tenant tenant-01: spans total 0 but the API's usage costs exactly"
        in done.stdout
    )


def test_a_service_with_content_switched_on_fails_naming_the_leak(llm_url: str) -> None:
    done = run_smoke("--script", str(FIXTURES / "content_on.py"), "--llm-url", llm_url)
    assert done.returncode == 1, done.stdout + done.stderr
    failures = failures_of(done.stdout)
    assert len(failures) == 1 and failures[0].startswith("[content]"), failures
    message = failures[0]
    assert re.match(rf"\[content\] {SPAN} carries prompt/completion content: ", message)
    assert "content attribute gen_ai.input.messages" in message
    assert re.search(
        r"the prompt marker SMOKE-MARKER-[0-9a-f]{12}-0000 in attributes\.gen_ai\.input\.messages",
        message,
    )
    # Tags, tokens and cost are all there: content is the one thing wrong.
    assert "ok   call #1 (tenant-01 / support-answer / answerer)" in done.stdout


def test_a_service_that_never_initialises_tracing_fails_with_no_span(
    llm_url: str, tmp_path: Path
) -> None:
    """Also through an external receiver process (``--receiver-url`` + ``--receiver-store``)."""
    store = tmp_path / "spans.db"
    port = free_port()
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "somatrace.checks.runtime.receiver",
            "--port",
            str(port),
            "--store",
            str(store),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().startswith("listening on")
        done = run_smoke(
            "--script", str(FIXTURES / "no_init_tracing.py"),
            "--llm-url", llm_url,
            "--receiver-url", f"http://127.0.0.1:{port}",
            "--receiver-store", str(store),
            "--report-dir", str(tmp_path / "reports"),
        )  # fmt: skip
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"receiver http://127.0.0.1:{port} (external)" in done.stdout
    failures = failures_of(done.stdout)
    span_failures = [f for f in failures if f.startswith("[span]")]
    assert len(span_failures) == 1, failures
    assert re.fullmatch(
        r"\[span\] call #1 \(tenant-01 / support-answer / answerer\): no LLM span with "
        r"gen_ai\.response\.id=chatcmpl-[0-9a-f-]+: the script exported no spans at all: "
        r"init_tracing\(\) was not called at start-up, or tracing is disabled or exports to "
        r"another endpoint",
        span_failures[0],
    )
    document = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert document["ok"] is False and document["calls"][0]["span_id"] is None
    assert document["reconciliation"]["ok"] is False
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert 'type="span"' in junit and "init_tracing() was not called" in junit


def test_an_unpriced_model_passes_as_explicitly_unpriced(llm_url: str, tmp_path: Path) -> None:
    """llama.cpp answers any model name; ``house-llm`` is in no price table."""
    done = run_smoke(
        "--llm-url", llm_url, "--model", "house-llm", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"ok   call #1 .*: openai\.chat \d+ in / \d+ out tokens, unpriced", done.stdout
    )
    document = json.loads((tmp_path / "report.json").read_text())
    assert (
        document["calls"][0]["cost_status"] == "unpriced" and document["calls"][0]["cost"] is None
    )
    assert document["tenants"]["tenant-01"]["unpriced_models"] == ["house-llm"]
    digest = (tmp_path / "cost-digest.md").read_text()
    assert "| `house-llm` | unpriced | unpriced | | |" in digest
    assert "1 call(s) to unpriced model(s) `house-llm`: no cost recorded." in digest


def test_a_service_that_crashes_fails_with_its_exit_code_and_stderr(llm_url: str) -> None:
    done = run_smoke("--script", str(FIXTURES / "crashes.py"), "--llm-url", llm_url)
    assert done.returncode == 1, done.stdout + done.stderr
    failures = failures_of(done.stdout)
    assert failures[0] == (
        "[script] tests/fixtures/smoke/crashes.py exited with code 1; last lines of its stderr:"
    )
    assert "configuration error: BILLING_DB_URL is not set" in done.stdout
    assert (
        "[script] tests/fixtures/smoke/crashes.py reported no LLM calls: a smoke script must "
        "report each call with SmokePlan.record_call (somatrace.checks.smoke.contract)"
    ) in failures
