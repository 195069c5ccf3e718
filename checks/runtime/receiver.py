"""An embedded OTLP/HTTP receiver for tests and the CI smoke trace.

It is a real HTTP server bound to loopback that implements the OTLP/HTTP protocol
(https://opentelemetry.io/docs/specs/otlp/#otlphttp) for the three signals:

- ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``;
- ``application/x-protobuf`` and ``application/json`` bodies (JSON per the OTLP JSON
  mapping: hex trace/span ids, lowerCamelCase keys, unknown fields ignored);
- ``Content-Encoding: gzip`` (and ``deflate``);
- answers ``200`` with an ``Export*ServiceResponse`` in the request's encoding, carrying
  ``partial_success`` when some items are rejected (spans with invalid ids, log records
  with malformed ids, metrics without a name); ``400`` with a ``google.rpc.Status`` on a
  malformed body; ``415`` on an unknown content type or encoding; ``404``/``405`` otherwise.

Everything accepted is stored in SQLite (in memory, or in a file that other processes can
read with :class:`TelemetryStore`), and spans come back as plain dicts with decoded
attributes. For resilience tests the server can be told to misbehave: answer slowly
(``delay_seconds``) or with an error status (``fail_status``, optionally only for the
first ``fail_count`` requests).

Run it in-process::

    with OTLPReceiver() as receiver:
        ...  # export to receiver.url
        spans = receiver.wait_for_spans(3, timeout=10)

or as a process: ``python -m somatrace.checks.runtime.receiver --port 4318 --store spans.db``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import signal
import sqlite3
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024 * 1024
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_GRPC_INVALID_ARGUMENT = 3
_GRPC_INTERNAL = 13
_GRPC_UNAVAILABLE = 14

SpanDict = dict[str, Any]


class MalformedRequest(ValueError):
    """The body cannot be decoded as the OTLP message the path asks for."""


# --------------------------------------------------------------------------- decoding


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
    import base64

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


def decode_body(body: bytes, content_type: str, message: Message) -> Message:
    """Parse ``body`` into ``message`` according to the OTLP/HTTP encoding."""
    try:
        if content_type == PROTOBUF:
            message.ParseFromString(body)
        else:
            document = json.loads(body.decode("utf-8"))
            if not isinstance(document, dict):
                raise MalformedRequest("the JSON body is not an object")
            json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except MalformedRequest:
        raise
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError) as error:
        raise MalformedRequest(f"cannot decode the {content_type} body: {error}") from error
    return message


def encode_message(message: Message, content_type: str) -> bytes:
    if content_type == JSON:
        return json_format.MessageToJson(message, indent=None).encode("utf-8")
    return message.SerializeToString()


def decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as error:
        raise MalformedRequest(f"cannot decompress the {encoding} body: {error}") from error
    raise LookupError(encoding)


def _valid_id(raw: bytes, size: int) -> bool:
    return len(raw) == size and any(raw)


def _span_dict(resource: dict[str, Any], scope: Any, span: Any) -> SpanDict:
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


def split_traces(
    request: trace_service_pb2.ExportTraceServiceRequest,
) -> tuple[list[SpanDict], int, str]:
    """Accepted spans, the number rejected, and why."""
    accepted: list[SpanDict] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if _valid_id(span.trace_id, 16) and _valid_id(span.span_id, 8):
                    accepted.append(_span_dict(resource, scope_spans.scope, span))
                else:
                    rejected += 1
    reason = f"{rejected} span(s) with an invalid trace_id or span_id" if rejected else ""
    return accepted, rejected, reason


def split_metrics(
    request: metrics_service_pb2.ExportMetricsServiceRequest,
) -> tuple[list[dict[str, Any]], int, str]:
    accepted: list[dict[str, Any]] = []
    rejected = 0
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                data = json_format.MessageToDict(metric, preserving_proto_field_name=True)
                points = _count_data_points(metric)
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


def _count_data_points(metric: Any) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0


def split_logs(
    request: logs_service_pb2.ExportLogsServiceRequest,
) -> tuple[list[dict[str, Any]], int, str]:
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


# --------------------------------------------------------------------------- storage


class TelemetryStore:
    """What the receiver accepted, in SQLite; readable from any process when file-backed."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY, received_at REAL, path TEXT, content_type TEXT,
        content_encoding TEXT, status INTEGER, headers TEXT, body_bytes INTEGER);
    CREATE TABLE IF NOT EXISTS spans (
        id INTEGER PRIMARY KEY, request_id INTEGER, trace_id TEXT, span_id TEXT,
        name TEXT, data TEXT);
    CREATE TABLE IF NOT EXISTS metrics (
        id INTEGER PRIMARY KEY, request_id INTEGER, name TEXT, data TEXT);
    CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY, request_id INTEGER, data TEXT);
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else ":memory:"
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(self._SCHEMA)
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(
        self,
        *,
        path: str,
        content_type: str,
        content_encoding: str,
        status: int,
        headers: dict[str, str],
        body_bytes: int,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store one request and, when it was accepted, the items it carried."""
        with self._changed:
            cursor = self._db.execute(
                "INSERT INTO requests (received_at, path, content_type, content_encoding, status,"
                " headers, body_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    path,
                    content_type,
                    content_encoding,
                    status,
                    json.dumps(headers),
                    body_bytes,
                ),
            )
            request_id = cursor.lastrowid
            for item in items or []:
                blob = json.dumps(item)
                if path == "/v1/traces":
                    self._db.execute(
                        "INSERT INTO spans (request_id, trace_id, span_id, name, data)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (request_id, item["trace_id"], item["span_id"], item["name"], blob),
                    )
                elif path == "/v1/metrics":
                    self._db.execute(
                        "INSERT INTO metrics (request_id, name, data) VALUES (?, ?, ?)",
                        (request_id, item["name"], blob),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO logs (request_id, data) VALUES (?, ?)", (request_id, blob)
                    )
            self._db.commit()
            self._changed.notify_all()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def spans(self, name: str | None = None) -> list[SpanDict]:
        """Every accepted span in arrival order, optionally only those called ``name``."""
        if name is None:
            rows = self._rows("SELECT data FROM spans ORDER BY id")
        else:
            rows = self._rows("SELECT data FROM spans WHERE name = ? ORDER BY id", (name,))
        return [json.loads(row[0]) for row in rows]

    def metrics(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self._rows("SELECT data FROM metrics ORDER BY id")]

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self._rows("SELECT data FROM logs ORDER BY id")]

    def requests(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT path, content_type, content_encoding, status, headers, body_bytes"
            " FROM requests ORDER BY id"
        )
        return [
            {
                "path": path,
                "content_type": content_type,
                "content_encoding": encoding,
                "status": status,
                "headers": json.loads(headers),
                "body_bytes": size,
            }
            for path, content_type, encoding, status, headers, size in rows
        ]

    def clear(self) -> None:
        with self._changed:
            for table in ("requests", "spans", "metrics", "logs"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.commit()

    def wait_for_spans(
        self,
        count: int,
        timeout: float = 10.0,
        predicate: Callable[[SpanDict], bool] | None = None,
    ) -> list[SpanDict]:
        """Wait until at least ``count`` spans (matching ``predicate``) arrived; return them.

        Raises ``TimeoutError`` naming how many arrived if the deadline passes first.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [span for span in self.spans() if predicate is None or predicate(span)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"expected {count} span(s) within {timeout:g}s, received {len(found)}"
                )
            # Writers in this process notify; writers in another process are polled.
            with self._changed:
                self._changed.wait(min(remaining, 0.05))


# --------------------------------------------------------------------------- HTTP


_SIGNALS: dict[
    str, tuple[type[Message], type[Message], Callable[[Any], tuple[list[Any], int, str]]]
] = {
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        split_traces,
    ),
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        split_metrics,
    ),
    "/v1/logs": (
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        split_logs,
    ),
}
_REJECTED_FIELD = {
    "/v1/traces": "rejected_spans",
    "/v1/metrics": "rejected_data_points",
    "/v1/logs": "rejected_log_records",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ReceiverHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._answer_plain(405 if self.path in _SIGNALS else 404, "use POST")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            raw = self._read_body()
        except MalformedRequest as error:
            self.close_connection = True
            self._answer_status(400, _GRPC_INVALID_ARGUMENT, str(error), content_type)
            return
        behaviour = self.server.behaviour
        delay = behaviour.delay_seconds
        if delay:
            time.sleep(delay)

        def record(status: int, items: list[dict[str, Any]] | None = None) -> None:
            self.server.store.record(
                path=path,
                content_type=content_type,
                content_encoding=encoding,
                status=status,
                headers=headers,
                body_bytes=len(raw),
                items=items,
            )

        if path not in _SIGNALS:
            record(404)
            self._answer_plain(404, f"unknown path {path}")
            return
        if behaviour.should_fail():
            status = behaviour.fail_status or 500
            record(status)
            self._answer_status(
                status,
                _GRPC_UNAVAILABLE if status in (502, 503, 504) else _GRPC_INTERNAL,
                "the receiver was told to fail",
                content_type,
                retry_after=behaviour.retry_after,
            )
            return
        if content_type not in (PROTOBUF, JSON):
            record(415)
            self._answer_plain(
                415, f"unsupported content type {content_type!r}; use {PROTOBUF} or {JSON}"
            )
            return
        try:
            body = decompress(raw, encoding)
        except LookupError:
            record(415)
            self._answer_plain(415, f"unsupported content encoding {encoding!r}")
            return
        except MalformedRequest as error:
            record(400)
            self._answer_status(400, _GRPC_INVALID_ARGUMENT, str(error), content_type)
            return
        request_type, response_type, split = _SIGNALS[path]
        try:
            request = decode_body(body, content_type, request_type())
        except MalformedRequest as error:
            record(400)
            self._answer_status(400, _GRPC_INVALID_ARGUMENT, str(error), content_type)
            return
        accepted, rejected, reason = split(request)
        record(200, accepted)
        response = response_type()
        if rejected:
            setattr(response.partial_success, _REJECTED_FIELD[path], rejected)
            response.partial_success.error_message = reason
        self._answer(200, content_type, encode_message(response, content_type))

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as error:
            raise MalformedRequest("invalid Content-Length") from error
        if length < 0 or length > MAX_BODY_BYTES:
            raise MalformedRequest(f"body of {length} bytes is not accepted")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).strip()
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError as error:
                raise MalformedRequest("invalid chunk size") from error
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise MalformedRequest("chunked body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _answer(
        self, status: int, content_type: str, body: bytes, retry_after: float | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if retry_after is not None:
                self.send_header("Retry-After", f"{retry_after:g}")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a slow receiver)

    def _answer_plain(self, status: int, text: str) -> None:
        self._answer(status, "text/plain; charset=utf-8", text.encode("utf-8"))

    def _answer_status(
        self,
        status: int,
        code: int,
        message: str,
        content_type: str,
        retry_after: float | None = None,
    ) -> None:
        encoding = content_type if content_type in (PROTOBUF, JSON) else PROTOBUF
        body = encode_message(status_pb2.Status(code=code, message=message), encoding)
        self._answer(status, encoding, body, retry_after)


class Behaviour:
    """How the receiver answers: promptly and successfully unless told otherwise."""

    def __init__(
        self,
        delay_seconds: float = 0.0,
        fail_status: int | None = None,
        fail_count: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if fail_status is not None and not 400 <= fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP error status, not {fail_status}")
        self.delay_seconds = delay_seconds
        self.fail_status = fail_status
        self.fail_count = fail_count
        self.retry_after = retry_after
        self._failed = 0
        self._lock = threading.Lock()

    def should_fail(self) -> bool:
        if self.fail_status is None:
            return False
        with self._lock:
            if self.fail_count is not None and self._failed >= self.fail_count:
                return False
            self._failed += 1
            return True


class _ReceiverHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], store: TelemetryStore, behaviour: Behaviour, verbose: bool
    ) -> None:
        self.store = store
        self.behaviour = behaviour
        self.verbose = verbose
        super().__init__(address, _Handler)


class OTLPReceiver:
    """An OTLP/HTTP receiver on 127.0.0.1 serving from a background thread."""

    def __init__(
        self,
        port: int = 0,
        store: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        delay_seconds: float = 0.0,
        fail_status: int | None = None,
        fail_count: int | None = None,
        retry_after: float | None = None,
        verbose: bool = False,
    ) -> None:
        self.store = TelemetryStore(store)
        self.behaviour = Behaviour(delay_seconds, fail_status, fail_count, retry_after)
        self._server = _ReceiverHTTPServer((host, port), self.store, self.behaviour, verbose)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The OTLP base URL (exporters append ``/v1/traces`` etc.)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OTLPReceiver:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="otlp-receiver",
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def spans(self, name: str | None = None) -> list[SpanDict]:
        return self.store.spans(name)

    def metrics(self) -> list[dict[str, Any]]:
        return self.store.metrics()

    def logs(self) -> list[dict[str, Any]]:
        return self.store.logs()

    def requests(self) -> list[dict[str, Any]]:
        return self.store.requests()

    def clear(self) -> None:
        self.store.clear()

    def wait_for_spans(
        self, count: int, timeout: float = 10.0, predicate: Callable[[SpanDict], bool] | None = None
    ) -> list[SpanDict]:
        return self.store.wait_for_spans(count, timeout, predicate)


def iter_attribute_strings(span: SpanDict) -> Iterator[tuple[str, str]]:
    """Every (where, text) pair in a span: attributes, event attributes, resource, names."""

    def walk(where: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(f"{where}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(f"{where}[{index}]", item)
        elif value is not None:
            yield where, str(value)

    yield "name", span["name"]
    yield from walk("attributes", span["attributes"])
    yield from walk("resource", span["resource"])
    for index, event in enumerate(span["events"]):
        yield f"events[{index}].name", event["name"]
        yield from walk(f"events[{index}].attributes", event["attributes"])


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m somatrace.checks.runtime.receiver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free port)")
    parser.add_argument(
        "--store", default=None, help="SQLite file to store into (default: in memory)"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument(
        "--fail-status", type=int, default=None, help="answer every request with this status"
    )
    parser.add_argument(
        "--fail-count", type=int, default=None, help="fail only the first N requests"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        receiver = OTLPReceiver(
            args.port,
            args.store,
            delay_seconds=args.delay,
            fail_status=args.fail_status,
            fail_count=args.fail_count,
            verbose=args.verbose,
        )
    except (OSError, ValueError) as error:
        print(f"error: cannot start the receiver: {error}", file=sys.stderr)
        return 2

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=receiver._server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {receiver.url}", flush=True)
    try:
        receiver.serve_forever()
    finally:
        receiver._server.server_close()
        receiver.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
