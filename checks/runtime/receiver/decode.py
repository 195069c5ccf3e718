"""OTLP bodies in, plain Python out: protobuf and OTLP/JSON decoding, and the conversion of
accepted spans, metrics and log records into JSON-able dicts.

Shared by both profiles (``otlp`` and ``langfuse``); what a profile *accepts* is its own
business, how a body turns into dicts is decided here once.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})

SpanDict = dict[str, Any]
TraceRequest = trace_service_pb2.ExportTraceServiceRequest
TraceResponse = trace_service_pb2.ExportTraceServiceResponse
MetricsRequest = metrics_service_pb2.ExportMetricsServiceRequest
MetricsResponse = metrics_service_pb2.ExportMetricsServiceResponse
LogsRequest = logs_service_pb2.ExportLogsServiceRequest
LogsResponse = logs_service_pb2.ExportLogsServiceResponse


class MalformedRequest(ValueError):
    """The body cannot be decoded as the OTLP message the path asks for."""


def any_value(value: common_pb2.AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` into the matching Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values: Any) -> dict[str, Any]:
    """Convert repeated ``KeyValue`` into a dict."""
    return {kv.key: any_value(kv.value) for kv in key_values}


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP JSON carries ids as hex; protobuf's JSON mapping expects base64 for bytes."""
    if isinstance(node, dict):
        converted = {}
        for key, item in node.items():
            if key in _ID_KEYS and isinstance(item, str):
                try:
                    converted[key] = base64.b64encode(bytes.fromhex(item)).decode("ascii")
                except ValueError as error:
                    raise MalformedRequest(f"{key} is not hex: {item!r}") from error
            else:
                converted[key] = _hex_ids_to_base64(item)
        return converted
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def parse_json_document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedRequest(f"cannot decode the JSON body: {error}") from error
    if not isinstance(document, dict):
        raise MalformedRequest("the JSON body is not an object")
    return document


def decode_body(body: bytes, content_type: str, message: Message) -> Message:
    """Parse ``body`` into ``message`` according to the OTLP/HTTP encoding."""
    try:
        if content_type == PROTOBUF:
            message.ParseFromString(body)
        else:
            document = parse_json_document(body)
            json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except MalformedRequest:
        raise
    except (DecodeError, json_format.ParseError, ValueError, TypeError) as error:
        raise MalformedRequest(f"cannot decode the {content_type} body: {error}") from error
    return message


def encode_message(message: Message, content_type: str) -> bytes:
    if content_type == JSON:
        return json_format.MessageToJson(message, indent=None).encode("utf-8")
    return message.SerializeToString()


def valid_id(raw: bytes, size: int) -> bool:
    return len(raw) == size and any(raw)


def span_dict(resource: dict[str, Any], scope: Any, span: Any) -> SpanDict:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex() or None,
        "kind": span.kind,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "status": {"code": span.status.code, "message": span.status.message},
        "resource": resource,
        "scope": {"name": scope.name, "version": scope.version},
        "attributes": attributes(span.attributes),
        "events": [
            {
                "name": e.name,
                "time_unix_nano": e.time_unix_nano,
                "attributes": attributes(e.attributes),
            }
            for e in span.events
        ],
        "links": [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": attributes(link.attributes),
            }
            for link in span.links
        ],
    }


def all_spans(request: TraceRequest) -> list[SpanDict]:
    """Every span of a trace export, as dicts."""
    found = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            found.extend(span_dict(resource, scope_spans.scope, s) for s in scope_spans.spans)
    return found


def split_traces(request: TraceRequest) -> tuple[list[SpanDict], int, str]:
    """Accepted spans, the number rejected (invalid ids), and why."""
    accepted: list[SpanDict] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if valid_id(span.trace_id, 16) and valid_id(span.span_id, 8):
                    accepted.append(span_dict(resource, scope_spans.scope, span))
                else:
                    rejected += 1
    reason = f"{rejected} span(s) with an invalid trace_id or span_id" if rejected else ""
    return accepted, rejected, reason


def split_metrics(request: MetricsRequest) -> tuple[list[dict[str, Any]], int, str]:
    accepted: list[dict[str, Any]] = []
    rejected = 0
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                data = json_format.MessageToDict(metric, preserving_proto_field_name=True)
                kind = metric.WhichOneof("data")
                points = len(getattr(metric, kind).data_points) if kind else 0
                if not metric.name:
                    rejected += points
                    continue
                accepted.append(
                    {
                        "name": metric.name,
                        "resource": resource,
                        "scope": {"name": scope_metrics.scope.name},
                        "data": data,
                    }
                )
    reason = f"{rejected} data point(s) of metrics without a name" if rejected else ""
    return accepted, rejected, reason


def split_logs(request: LogsRequest) -> tuple[list[dict[str, Any]], int, str]:
    accepted: list[dict[str, Any]] = []
    rejected = 0
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                if len(record.trace_id) not in (0, 16) or len(record.span_id) not in (0, 8):
                    rejected += 1
                    continue
                accepted.append(
                    {
                        "resource": resource,
                        "scope": {"name": scope_logs.scope.name},
                        "time_unix_nano": record.time_unix_nano,
                        "severity_text": record.severity_text,
                        "body": any_value(record.body),
                        "attributes": attributes(record.attributes),
                        "trace_id": record.trace_id.hex() or None,
                        "span_id": record.span_id.hex() or None,
                    }
                )
    reason = f"{rejected} log record(s) with a malformed trace_id or span_id" if rejected else ""
    return accepted, rejected, reason
