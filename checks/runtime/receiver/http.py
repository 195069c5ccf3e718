"""The HTTP side: a real threaded HTTP/1.1 server on loopback that reads each request, lets
the profile judge it, stores the outcome and answers.

It can be told to misbehave like a collector in trouble (:class:`Faults`): answer late
(``delay_seconds``), never (``hang``), one byte every ``trickle_seconds``, with an error
status (``fail_status``, for the first ``fail_count`` requests, with ``Retry-After``), or 413
for bodies over ``max_body_bytes``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from somatrace.checks.runtime.receiver.decode import SpanDict
from somatrace.checks.runtime.receiver.exchange import Profile, Reply, Request, json_reply
from somatrace.checks.runtime.receiver.langfuse import Credentials, LangfuseProfile
from somatrace.checks.runtime.receiver.otlp import OTLPProfile
from somatrace.checks.runtime.receiver.store import TelemetryStore

MAX_BODY_BYTES = 64 * 1024 * 1024
PROFILES = ("langfuse", "otlp")


class BodyError(ValueError):
    """The request body could not be read (bad framing or too large)."""


class Faults:
    """How the receiver misbehaves: not at all unless told."""

    def __init__(
        self,
        delay_seconds: float = 0.0,
        fail_status: int | None = None,
        fail_count: int | None = None,
        retry_after: float | None = None,
        trickle_seconds: float | None = None,
        hang: bool = False,
        max_body_bytes: int | None = None,
    ) -> None:
        if fail_status is not None and not 400 <= fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP error status, not {fail_status}")
        self.delay_seconds = delay_seconds
        self.fail_status = fail_status
        self.fail_count = fail_count
        self.retry_after = retry_after
        self.trickle_seconds = trickle_seconds
        self.hang = hang
        self.max_body_bytes = max_body_bytes  # larger bodies get 413, like a proxy's limit
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ReceiverHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        headers = {key.lower(): value for key, value in self.headers.items()}
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_body()
        except BodyError as error:
            self.close_connection = True
            self._send(json_reply(400, {"error": str(error)}, reason=str(error)))
            return
        faults = self.server.faults
        if faults.hang:
            self.server.stopping.wait()  # never answers while the receiver runs
            self.close_connection = True
            return
        if faults.delay_seconds:
            self.server.stopping.wait(faults.delay_seconds)
        if faults.max_body_bytes is not None and len(body) > faults.max_body_bytes:
            reply = json_reply(413, {"error": "request entity too large"})
            reply.reason = f"fault: body over {faults.max_body_bytes} bytes"
        elif faults.should_fail():
            status = faults.fail_status or 500
            reply = json_reply(status, {"error": "the receiver was told to fail"})
            reply.reason = f"fault: HTTP {status}"
            if faults.retry_after is not None:
                reply.extra_headers["Retry-After"] = f"{faults.retry_after:g}"
        else:
            reply = self.server.profile.handle(Request(method, path, headers, body))
        self.server.store.record(
            method=method,
            path=path,
            headers=headers,
            status=reply.status,
            body_bytes=len(body),
            signal=reply.signal if reply.status == 200 else None,
            items=reply.items if reply.status == 200 else None,
            principal=reply.principal,
            reason=reply.reason,
        )
        self._send(reply)

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as error:
            raise BodyError("invalid Content-Length") from error
        if length < 0 or length > MAX_BODY_BYTES:
            raise BodyError(f"body of {length} bytes is not accepted")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).strip()
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError as error:
                raise BodyError("invalid chunk size") from error
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError("chunked body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        head += [f"Content-Type: {reply.content_type}", f"Content-Length: {len(reply.body)}"]
        head += [f"{name}: {value}" for name, value in reply.extra_headers.items()]
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body
        try:
            interval = self.server.faults.trickle_seconds
            if interval:
                for index in range(len(data)):
                    if self.server.stopping.wait(interval):
                        self.close_connection = True
                        return
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting


class _ReceiverHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        store: TelemetryStore,
        profile: Profile,
        faults: Faults,
        verbose: bool,
    ) -> None:
        self.store = store
        self.profile = profile
        self.faults = faults
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, _Handler)


def make_profile(name: str, credentials: Credentials | None = None) -> Profile:
    if name == "langfuse":
        return LangfuseProfile(credentials)
    if name == "otlp":
        return OTLPProfile()
    raise ValueError(f"unknown receiver profile {name!r}; use one of {', '.join(PROFILES)}")


class OTLPReceiver:
    """An OTLP/HTTP receiver on 127.0.0.1 serving from a background thread.

    ``profile="langfuse"`` (the default) is the contract check of Langfuse's ingestion
    endpoint; ``profile="otlp"`` is the lenient OTLP/HTTP spec receiver.
    """

    def __init__(
        self,
        port: int = 0,
        store: str | Path | None = None,
        *,
        profile: str = "langfuse",
        credentials: Credentials | None = None,
        host: str = "127.0.0.1",
        delay_seconds: float = 0.0,
        fail_status: int | None = None,
        fail_count: int | None = None,
        retry_after: float | None = None,
        trickle_seconds: float | None = None,
        hang: bool = False,
        max_body_bytes: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.credentials = credentials or Credentials()
        self.profile = make_profile(profile, self.credentials)
        self.store = TelemetryStore(store)
        self.faults = Faults(
            delay_seconds, fail_status, fail_count, retry_after, trickle_seconds, hang,
            max_body_bytes,
        )  # fmt: skip
        self._server = _ReceiverHTTPServer(
            (host, port), self.store, self.profile, self.faults, verbose
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``LANGFUSE_HOST`` names."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OTLP base URL (exporters append ``/v1/traces``): what
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` names."""
        return self.host_url + self.profile.base_path

    @property
    def traces_url(self) -> str:
        return self.url + "/v1/traces"

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header the ``langfuse`` profile accepts (none for ``otlp``)."""
        if self.profile.name != "langfuse":
            return {}
        return {"Authorization": self.credentials.authorization()}

    def service_env(self) -> dict[str, str]:
        """A service's environment as ``docs/observability/.env.template`` says: the host and
        the key pair for Langfuse, the OTLP endpoint for the ``otlp`` profile."""
        if self.profile.name != "langfuse":
            return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url}
        return {
            "LANGFUSE_HOST": self.host_url,
            "LANGFUSE_PUBLIC_KEY": self.credentials.public_key,
            "LANGFUSE_SECRET_KEY": self.credentials.secret_key,
        }

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

    def request_stop(self) -> None:
        """Stop serving (safe from a signal handler: the work happens in a thread)."""
        self._server.stopping.set()
        threading.Thread(target=self._server.shutdown, daemon=True).start()

    def stop(self) -> None:
        self._server.stopping.set()  # releases hanging, delayed and trickling handlers
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def close(self) -> None:
        self._server.server_close()
        self.store.close()

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
        self, count: int, timeout: float = 10.0, predicate: Any = None
    ) -> list[SpanDict]:
        return self.store.wait_for_spans(count, timeout, predicate)


def wait_until(condition: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition()`` until true or ``timeout`` seconds passed; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
