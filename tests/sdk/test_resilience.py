"""The service is unaffected when the backend is down, slow or failing: nothing raises,
export is bounded in time and memory, and every lost span is counted.

These tests assert time bounds on purpose (the issue asks for bounded export); the
bounds are generous multiples of the configured timeouts.
"""

from __future__ import annotations

import time

from somatrace import tags
from somatrace.checks.runtime.receiver import OTLPReceiver

from .conftest import Pipeline, free_closed_port


def make_spans(pipeline: Pipeline, count: int) -> float:
    """Create ``count`` tagged spans as a service would; return the seconds it took."""
    started = time.monotonic()
    with tags.bind(tenant_id="acme", workflow_name="w", agent_id="a"):
        for index in range(count):
            with pipeline.tracer.start_as_current_span(f"work-{index}") as span:
                span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                span.set_attribute("gen_ai.usage.input_tokens", 10)
                span.set_attribute("gen_ai.usage.output_tokens", 5)
    return time.monotonic() - started


def test_receiver_down_nothing_raises_and_failures_are_counted(
    pipeline_factory: type[Pipeline],
) -> None:
    pipeline = pipeline_factory(f"http://127.0.0.1:{free_closed_port()}", timeout_s=1.0)
    elapsed = make_spans(pipeline, 200)
    started = time.monotonic()
    flushed = pipeline.flush()
    flush_seconds = time.monotonic() - started
    assert flush_seconds < 2 * 1.0 + 3.0  # flush timeout (2 x export timeout) + scheduling slack
    snapshot = pipeline.stats.snapshot()
    assert snapshot["spans_ended"] == 200
    if flushed:
        assert snapshot["spans_export_failed"] == 200
    assert snapshot["spans_exported"] == 0
    assert elapsed < 5.0  # span creation never waited for the network


def test_receiver_answering_500_counts_failed_spans(pipeline_factory: type[Pipeline]) -> None:
    with OTLPReceiver(fail_status=500) as failing:
        pipeline = pipeline_factory(failing.url, timeout_s=1.0)
        make_spans(pipeline, 50)
        assert pipeline.flush()
        snapshot = pipeline.stats.snapshot()
        assert snapshot["spans_export_failed"] == 50
        assert snapshot["spans_exported"] == 0
        assert failing.requests() and all(r["status"] == 500 for r in failing.requests())
        assert failing.spans() == []


def test_receiver_answering_503_then_recovering_delivers_after_retry(
    pipeline_factory: type[Pipeline],
) -> None:
    with OTLPReceiver(fail_status=503, fail_count=1, retry_after=0) as flaky:
        pipeline = pipeline_factory(flaky.url, timeout_s=5.0)
        make_spans(pipeline, 5)
        assert pipeline.flush()
        assert [r["status"] for r in flaky.requests()] == [503, 200]
        assert len(flaky.wait_for_spans(5)) == 5
        assert pipeline.stats.snapshot()["spans_exported"] == 5


def test_slow_receiver_export_and_flush_are_bounded(pipeline_factory: type[Pipeline]) -> None:
    with OTLPReceiver(delay_seconds=3.0) as slow:
        pipeline = pipeline_factory(slow.url, timeout_s=0.5)
        elapsed = make_spans(pipeline, 100)
        started = time.monotonic()
        pipeline.flush()
        assert time.monotonic() - started < 0.5 * 2 + 3.0
        assert elapsed < 5.0
        deadline = time.monotonic() + 5
        while (
            pipeline.stats.snapshot()["spans_export_failed"] < 100 and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert pipeline.stats.snapshot()["spans_export_failed"] == 100


def test_queue_is_bounded_and_drops_are_counted(pipeline_factory: type[Pipeline]) -> None:
    with OTLPReceiver(delay_seconds=1.0) as slow:
        pipeline = pipeline_factory(
            slow.url, timeout_s=3.0, max_queue_size=20, max_export_batch_size=10
        )
        make_spans(pipeline, 300)
        assert pipeline.processor.queue_length() <= 20
        snapshot = pipeline.stats.snapshot()
        assert snapshot["spans_ended"] == 300
        assert snapshot["spans_dropped_queue_full"] >= 300 - 20 - 10
        assert snapshot["spans_queued"] + snapshot["spans_dropped_queue_full"] == 300
        started = time.monotonic()
        pipeline.processor.shutdown(timeout_millis=500)
        assert time.monotonic() - started < 3.0
        after = pipeline.stats.snapshot()
        lost = after["spans_dropped_queue_full"] + after["spans_dropped_at_shutdown"]
        assert lost + after["spans_exported"] + after["spans_export_failed"] <= 300
        assert lost >= 270


def test_synchronous_mode_against_a_dead_port_does_not_raise(
    pipeline_factory: type[Pipeline],
) -> None:
    pipeline = pipeline_factory(
        f"http://127.0.0.1:{free_closed_port()}", batch=False, timeout_s=0.5
    )
    make_spans(pipeline, 3)
    snapshot = pipeline.stats.snapshot()
    assert snapshot["spans_ended"] == 3
    assert snapshot["spans_export_failed"] == 3
