"""The embedded OTLP/HTTP receiver's lenient ``otlp`` profile answers per the OTLP/HTTP spec
and stores what it accepts (the ``langfuse`` profile: test_langfuse_contract.py)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from somatrace.checks.runtime.receiver import OTLPReceiver, TelemetryStore

from .conftest import REPO


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver(profile="otlp") as running:
        yield running


TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def json_traces(
    trace_id: str = TRACE_ID, span_id: str = SPAN_ID, extra_span: dict | None = None
) -> dict:
    spans = [
        {
            "traceId": trace_id,
            "spanId": span_id,
            "name": "json-span",
            "kind": 2,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [
                {"key": "s", "value": {"stringValue": "text"}},
                {"key": "i", "value": {"intValue": "42"}},
                {"key": "b", "value": {"boolValue": True}},
                {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
            ],
            "events": [{"name": "ev", "timeUnixNano": "1544712660500000000", "attributes": []}],
            "unknownFieldFromTheFuture": 1,
        }
    ]
    if extra_span:
        spans.append(extra_span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]
                },
                "scopeSpans": [{"scope": {"name": "sc"}, "spans": spans}],
            }
        ]
    }


def test_real_otlp_exporters_for_all_three_signals_are_stored(receiver: OTLPReceiver) -> None:
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces", compression=Compression.Gzip)
        )
    )
    tracer = tracer_provider.get_tracer("t")
    with (
        tracer.start_as_current_span("outer", attributes={"n": 1}),
        tracer.start_as_current_span("inner") as inner,
    ):
        inner.add_event("happened", {"k": "v"})
    spans = receiver.wait_for_spans(2, timeout=5)
    by_name = {span["name"]: span for span in spans}
    assert by_name["inner"]["parent_span_id"] == by_name["outer"]["span_id"]
    assert by_name["inner"]["trace_id"] == by_name["outer"]["trace_id"]
    assert by_name["outer"]["attributes"] == {"n": 1}
    assert by_name["inner"]["events"][0]["name"] == "happened"
    assert by_name["inner"]["events"][0]["attributes"] == {"k": "v"}
    assert "service.name" in by_name["outer"]["resource"]
    assert all(r["content_encoding"] == "gzip" for r in receiver.requests())

    meter_provider = MeterProvider(
        metric_readers=[
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{receiver.url}/v1/metrics"),
                export_interval_millis=60_000,
            )
        ],
        shutdown_on_exit=False,
    )
    meter_provider.get_meter("m").create_counter("requests_total").add(3)
    meter_provider.force_flush()
    meter_provider.shutdown()
    metrics = receiver.metrics()
    assert {metric["name"] for metric in metrics} == {"requests_total"}
    assert metrics[0]["data"]["sum"]["data_points"][0]["as_int"] == "3"

    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.url}/v1/logs"))
    )
    from opentelemetry._logs import LogRecord

    logger_provider.get_logger("l").emit(LogRecord(body="hello log", severity_text="INFO"))
    logger_provider.shutdown()
    tracer_provider.shutdown()
    assert [log["body"] for log in receiver.logs()] == ["hello log"]


def test_json_body_with_hex_ids_and_unknown_fields_is_decoded(receiver: OTLPReceiver) -> None:
    response = httpx.post(f"{receiver.url}/v1/traces", json=json_traces())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    (span,) = receiver.spans()
    assert span["trace_id"] == TRACE_ID and span["span_id"] == SPAN_ID
    assert span["attributes"] == {"s": "text", "i": 42, "b": True, "a": ["x"]}
    assert span["resource"] == {"service.name": "js"}
    assert span["kind"] == 2


def test_gzip_json_and_partial_success_in_the_request_encoding(receiver: OTLPReceiver) -> None:
    bad = {"traceId": "00000000000000000000000000000000", "spanId": SPAN_ID, "name": "bad"}
    body = gzip.compress(json.dumps(json_traces(extra_span=bad)).encode())
    response = httpx.post(
        f"{receiver.url}/v1/traces",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "invalid trace_id" in partial["errorMessage"]
    assert [span["name"] for span in receiver.spans()] == ["json-span"]


def test_protobuf_partial_success_is_a_protobuf_response(receiver: OTLPReceiver) -> None:
    request = trace_service_pb2.ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    good = scope.spans.add(
        name="good", trace_id=bytes.fromhex(TRACE_ID), span_id=bytes.fromhex(SPAN_ID)
    )
    assert good.name == "good"
    scope.spans.add(name="short-id", trace_id=b"\x01\x02", span_id=bytes.fromhex(SPAN_ID))
    response = httpx.post(
        f"{receiver.url}/v1/traces",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    decoded = trace_service_pb2.ExportTraceServiceResponse.FromString(response.content)
    assert decoded.partial_success.rejected_spans == 1
    assert [span["name"] for span in receiver.spans()] == ["good"]


@pytest.mark.parametrize(
    ("content_type", "encoding", "body"),
    [
        ("application/x-protobuf", "", b"\xff\xff\xff not protobuf"),
        ("application/json", "", b"{not json"),
        ("application/json", "", json.dumps(json_traces(trace_id="zz-not-hex")).encode()),
        ("application/json", "gzip", b"not gzip at all"),
    ],
)
def test_malformed_bodies_get_400_with_a_status(
    receiver: OTLPReceiver, content_type: str, encoding: str, body: bytes
) -> None:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    response = httpx.post(f"{receiver.url}/v1/traces", content=body, headers=headers)
    assert response.status_code == 400
    if content_type == "application/json":
        assert response.json()["code"] == 3
    else:
        assert status_pb2.Status.FromString(response.content).code == 3
    assert receiver.spans() == []


def test_unknown_content_type_encoding_and_path(receiver: OTLPReceiver) -> None:
    text = httpx.post(
        f"{receiver.url}/v1/traces", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    brotli = httpx.post(
        f"{receiver.url}/v1/traces",
        content=b"x",
        headers={"Content-Type": "application/json", "Content-Encoding": "br"},
    )
    assert brotli.status_code == 415
    assert httpx.post(f"{receiver.url}/v2/nothing", json={}).status_code == 404
    assert httpx.get(f"{receiver.url}/v1/traces").status_code == 405
    assert [r["status"] for r in receiver.requests()] == [415, 415, 404, 405]


def test_fail_status_delay_and_fail_count() -> None:
    with OTLPReceiver(
        profile="otlp", fail_status=500, fail_count=1, delay_seconds=0.3, retry_after=7
    ) as failing:
        started = time.monotonic()
        first = httpx.post(f"{failing.url}/v1/traces", json=json_traces())
        elapsed = time.monotonic() - started
        second = httpx.post(f"{failing.url}/v1/traces", json=json_traces())
    assert first.status_code == 500 and first.headers["retry-after"] == "7"
    assert elapsed >= 0.3
    assert second.status_code == 200
    assert [r["status"] for r in failing.requests()] == [500, 200]
    assert len(failing.spans()) == 1
    with pytest.raises(ValueError, match="fail_status"):
        OTLPReceiver(fail_status=200)


def test_wait_for_spans_times_out_with_a_count(receiver: OTLPReceiver) -> None:
    with pytest.raises(TimeoutError, match="expected 1 span"):
        receiver.wait_for_spans(1, timeout=0.2)


def test_runs_as_a_process_with_a_file_store(tmp_path: Path) -> None:
    store_file = tmp_path / "spans.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "somatrace.checks.runtime.receiver",
            "--port",
            "0",
            "--store",
            str(store_file),
            "--profile",
            "otlp",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split("listening on ", 1)[1].strip()
        assert httpx.post(f"{url}/v1/traces", json=json_traces()).status_code == 200
        spans = TelemetryStore(store_file).wait_for_spans(1, timeout=5)
        assert spans[0]["name"] == "json-span"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_the_process_defaults_to_the_langfuse_contract(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "somatrace.checks.runtime.receiver", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = line.split("listening on ", 1)[1].strip()
        assert url.endswith("/api/public/otel")
        assert httpx.post(f"{url}/v1/traces", json=json_traces()).status_code == 401
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
