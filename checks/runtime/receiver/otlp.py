"""The ``otlp`` profile: the OTLP/HTTP specification, leniently
(https://opentelemetry.io/docs/specs/otlp/#otlphttp).

- ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``; no authentication;
- ``application/x-protobuf`` and ``application/json`` bodies;
- ``Content-Encoding: gzip`` and ``deflate``;
- ``200`` with an ``Export*ServiceResponse`` in the request's encoding, carrying
  ``partial_success`` when some items are rejected (spans with invalid ids, log records with
  malformed ids, metrics without a name); ``400`` with a ``google.rpc.Status`` on a malformed
  body; ``415`` on an unknown content type or encoding; ``404``/``405`` otherwise.

More lenient than Langfuse on purpose (any path prefix-free, deflate, no auth): use it where a
test is about OTLP itself. The SDK tests and ``somatrace smoke`` use the ``langfuse`` profile.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from google.rpc import status_pb2

from somatrace.checks.runtime.receiver import decode
from somatrace.checks.runtime.receiver.exchange import (
    LOGS,
    METRICS,
    TRACES,
    Reply,
    Request,
    text_reply,
)

_GRPC_INVALID_ARGUMENT = 3

_SIGNALS: dict[
    str, tuple[str, type[Message], type[Message], Callable[[Any], tuple[list[Any], int, str]], str]
] = {
    "/v1/traces": (
        TRACES,
        decode.TraceRequest,
        decode.TraceResponse,
        decode.split_traces,
        "rejected_spans",
    ),
    "/v1/metrics": (
        METRICS,
        decode.MetricsRequest,
        decode.MetricsResponse,
        decode.split_metrics,
        "rejected_data_points",
    ),
    "/v1/logs": (
        LOGS,
        decode.LogsRequest,
        decode.LogsResponse,
        decode.split_logs,
        "rejected_log_records",
    ),
}


def decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as error:
        raise decode.MalformedRequest(f"cannot decompress the {encoding} body: {error}") from error
    raise LookupError(encoding)


def status_reply(status: int, code: int, message: str, content_type: str) -> Reply:
    encoding = content_type if content_type in (decode.PROTOBUF, decode.JSON) else decode.PROTOBUF
    body = decode.encode_message(status_pb2.Status(code=code, message=message), encoding)
    return Reply(status, encoding, body, reason=message)


class OTLPProfile:
    name = "otlp"
    base_path = ""

    def handle(self, request: Request) -> Reply:
        content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        encoding = (request.header("content-encoding") or "").strip().lower()
        if request.path not in _SIGNALS:
            return text_reply(404, f"unknown path {request.path}")
        if request.method != "POST":
            return text_reply(405, "use POST")
        if content_type not in (decode.PROTOBUF, decode.JSON):
            return text_reply(
                415,
                f"unsupported content type {content_type!r}; "
                f"use {decode.PROTOBUF} or {decode.JSON}",
            )
        try:
            body = decompress(request.body, encoding)
        except LookupError:
            return text_reply(415, f"unsupported content encoding {encoding!r}")
        except decode.MalformedRequest as error:
            return status_reply(400, _GRPC_INVALID_ARGUMENT, str(error), content_type)
        signal, request_type, response_type, split, rejected_field = _SIGNALS[request.path]
        try:
            message = decode.decode_body(body, content_type, request_type())
        except decode.MalformedRequest as error:
            return status_reply(400, _GRPC_INVALID_ARGUMENT, str(error), content_type)
        accepted, rejected, reason = split(message)
        response = response_type()
        if rejected:
            setattr(response.partial_success, rejected_field, rejected)
            response.partial_success.error_message = reason
        return Reply(
            200,
            content_type,
            decode.encode_message(response, content_type),
            signal=signal,
            items=accepted,
        )
