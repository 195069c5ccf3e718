"""The receiver's ``langfuse`` profile refuses what Langfuse's ingestion refuses (a contract
check, not Langfuse), and the spine's exporter passes it."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from somatrace.checks.runtime.receiver import OTLPReceiver

from .conftest import Pipeline

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def json_body(span: dict | None = None) -> bytes:
    span = span if span is not None else {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "j"}
    return json.dumps(
        {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
    ).encode()


def protobuf_body(trace_id: bytes = bytes.fromhex(TRACE_ID)) -> bytes:
    request = trace_service_pb2.ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = trace_id, bytes.fromhex(SPAN_ID), "p"
    return request.SerializeToString()


def post(receiver: OTLPReceiver, body: bytes, path: str = "/v1/traces", **headers: str):
    """POST with the contract's defaults; a keyword overrides a header, ``"-"`` removes it."""
    sent = {
        "content-type": "application/x-protobuf",
        "x-langfuse-ingestion-version": "4",
        **{key.lower(): value for key, value in receiver.auth_headers().items()},
    }
    sent.update({key.replace("_", "-"): value for key, value in headers.items()})
    sent = {key: value for key, value in sent.items() if value != "-"}
    return httpx.post(receiver.url + path, content=body, headers=sent, timeout=10)


def test_the_spines_exporter_passes_the_contract(receiver: OTLPReceiver) -> None:
    for compression in ("none", "gzip"):
        pipeline = Pipeline(receiver, compression=compression)
        with pipeline.tracer.start_as_current_span(f"ok-{compression}"):
            pass
        assert pipeline.flush()
        pipeline.close()
    assert [span["name"] for span in receiver.wait_for_spans(2)] == ["ok-none", "ok-gzip"]
    assert [(r["status"], r["content_encoding"]) for r in receiver.requests()] == [
        (200, ""),
        (200, "gzip"),
    ]


def test_wrong_path_deflate_and_no_auth_are_refused_like_langfuse(receiver: OTLPReceiver) -> None:
    assert httpx.post(receiver.host_url + "/v1/traces", content=protobuf_body()).status_code == 404
    assert httpx.get(receiver.url + "/v1/traces").status_code == 405
    deflated = post(receiver, zlib.compress(protobuf_body()), content_encoding="deflate")
    assert deflated.status_code == 400  # not decoded at all, so the protobuf does not parse
    assert deflated.json() == {"error": "Failed to parse OTel Protobuf Trace"}
    assert post(receiver, b"\x1f\x8b-not-gzip", content_encoding="gzip").status_code == 400
    assert (
        post(receiver, gzip.compress(protobuf_body()), content_encoding="gzip").status_code == 200
    )
    assert post(receiver, protobuf_body(), content_type="text/plain").json() == {
        "error": "Invalid content type"
    }
    assert receiver.spans() and len(receiver.spans()) == 1


@pytest.mark.parametrize(
    ("authorization", "status", "message"),
    [
        ("-", 401, "No authorization header"),
        (
            "Basic " + base64.b64encode(b"pk-lf-somatrace-contract:wrong").decode(),
            401,
            "Invalid credentials",
        ),
        ("Basic " + base64.b64encode(b"pk-only").decode(), 401, "Invalid authorization header"),
        ("Basic !!!", 401, "not correctly encoded"),
        ("Bearer pk-lf-somatrace-contract", 403, "insufficient permissions"),
        ("Token abc", 401, "Invalid authorization header"),
    ],
)
def test_basic_auth_with_the_configured_pair_is_required(
    receiver: OTLPReceiver, authorization: str, status: int, message: str
) -> None:
    answer = post(receiver, protobuf_body(), authorization=authorization)
    assert answer.status_code == status
    assert message in answer.json()["message"]
    assert receiver.spans() == []


@pytest.mark.parametrize(
    ("version", "status"),
    [("4", 200), ("3", 200), ("4abc", 200), ("-", 200), ("5", 400), ("v4", 400), ("40", 400)],
)
def test_ingestion_version_header_at_most_4(
    receiver: OTLPReceiver, version: str, status: int
) -> None:
    answer = post(receiver, protobuf_body(), x_langfuse_ingestion_version=version)
    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["error"].startswith("Unsupported x-langfuse-ingestion-version")


def test_json_bodies_and_invalid_ids_reject_the_whole_batch(receiver: OTLPReceiver) -> None:
    assert post(receiver, json_body(), content_type="application/json").status_code == 200
    missing = post(
        receiver, json_body({"spanId": SPAN_ID, "name": "x"}), content_type="application/json"
    )
    assert missing.status_code == 400 and "traceId:absent" in missing.json()["error"]
    mapped = post(
        receiver,
        json_body({"traceId": TRACE_ID, "spanId": SPAN_ID, "attributes": {"k": "v"}}),
        content_type="application/json",
    )
    assert mapped.status_code == 400 and "attributes:not_an_array" in mapped.json()["error"]
    empty_id = post(receiver, protobuf_body(trace_id=b""))
    assert empty_id.status_code == 400 and "traceId:absent" in empty_id.json()["error"]
    assert [span["name"] for span in receiver.spans()] == ["j"]


def test_metrics_are_accepted_and_discarded(receiver: OTLPReceiver) -> None:
    answer = post(receiver, b"anything", path="/v1/metrics")
    assert (answer.status_code, answer.json()) == (200, {"message": "OK"})
    assert post(receiver, b"", path="/v1/metrics", authorization="-").status_code == 401
    assert receiver.metrics() == []


def test_a_stock_otlp_exporter_with_deflate_loses_its_spans(receiver: OTLPReceiver) -> None:
    """What the contract check exists for: deflate looks fine against a lenient receiver."""
    provider = TracerProvider(shutdown_on_exit=False)
    exporter = OTLPSpanExporter(
        endpoint=receiver.traces_url,
        headers=receiver.auth_headers(),
        compression=Compression.Deflate,
        timeout=5,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("lost"):
        pass
    provider.shutdown()
    assert [r["status"] for r in receiver.requests()] == [400]
    assert receiver.spans() == []
    with OTLPReceiver(profile="otlp") as lenient:
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(
            SimpleSpanProcessor(
                OTLPSpanExporter(endpoint=lenient.traces_url, compression=Compression.Deflate)
            )
        )
        with provider.get_tracer("t").start_as_current_span("kept"):
            pass
        provider.shutdown()
        assert [span["name"] for span in lenient.spans()] == ["kept"]


def test_the_store_never_holds_the_secret(receiver: OTLPReceiver) -> None:
    post(receiver, protobuf_body())
    post(
        receiver,
        protobuf_body(),
        authorization="Basic " + base64.b64encode(b"pk:SECRET-x").decode(),
    )
    dump = "\n".join(receiver.store.dump())
    assert receiver.credentials.secret_key not in dump and "SECRET-x" not in dump
    assert base64.b64encode(b"pk:SECRET-x").decode() not in dump
    assert [r["headers"]["authorization"] for r in receiver.requests()] == ["<redacted>"] * 2
    assert "secret" not in repr(receiver.credentials).replace("secret_key", "")
