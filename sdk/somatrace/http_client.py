"""A minimal HTTP/1.1 POST client whose every call ends by a deadline, whatever the server does.

Why not ``requests`` (what the OTLP exporter uses): its ``timeout`` bounds each socket
operation, not the request. opentelemetry-exporter-otlp-proto-http 1.45 passes the export
timeout straight to ``requests`` (opentelemetry/exporter/otlp/common/http.py:152-160 and
opentelemetry/exporter/http/transport/_requests.py:90-98), so a collector that sends one byte
every 2 s keeps an export (and the export thread) busy for as long as it likes. Here the
remaining time is recomputed before every connect, send and receive, name resolution runs in
a helper thread that is abandoned at the deadline, and :meth:`abort` (from another thread)
breaks a blocked call at once.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 256 * 1024  # answers to an export are small; more is read and dropped


class DeadlineExceeded(TimeoutError):
    """The call did not finish before its deadline."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("deadline passed")
    return left


def resolve(host: str, port: int, deadline: float) -> list[tuple]:
    """``getaddrinfo`` bounded by ``deadline`` (it has no timeout of its own)."""
    result: list[list[tuple]] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as error:  # handed to the caller
            failure.append(error)

    worker = threading.Thread(target=lookup, name="somatrace-resolve", daemon=True)
    worker.start()
    worker.join(_remaining(deadline))
    if worker.is_alive():
        raise DeadlineExceeded(f"resolving {host} took too long")
    if failure:
        raise failure[0]
    return result[0]


class DeadlineHTTPClient:
    """POSTs to one URL over a kept-alive connection. Not thread-safe: one caller at a time
    (the export thread); :meth:`abort` may be called from any thread."""

    def __init__(
        self,
        url: str,
        *,
        ca_file: str | None = None,
        client_certificate_file: str | None = None,
        client_key_file: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if parts.scheme == "https" else 80
        self.host_header = self.host if self.port == default_port else f"{self.host}:{self.port}"
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._tls = ssl.create_default_context(cafile=ca_file)
            if client_certificate_file:
                self._tls.load_cert_chain(client_certificate_file, client_key_file)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._aborted = False

    # -- connection -----------------------------------------------------------------------

    def _connect(self, deadline: float) -> socket.socket:
        last: BaseException | None = None
        for family, kind, proto, _, address in resolve(self.host, self.port, deadline):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_remaining(deadline))
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._tls is not None:
                    sock = self._handshake(sock, deadline)
                return sock
            except (OSError, DeadlineExceeded) as error:
                sock.close()
                last = error
                if isinstance(error, DeadlineExceeded):
                    break
        raise last or OSError(f"cannot connect to {self.host}:{self.port}")

    def _handshake(self, sock: socket.socket, deadline: float) -> socket.socket:
        assert self._tls is not None
        wrapped = self._tls.wrap_socket(
            sock, server_hostname=self.host, do_handshake_on_connect=False
        )
        while True:
            wrapped.settimeout(_remaining(deadline))
            try:
                wrapped.do_handshake()
                return wrapped
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def abort(self) -> None:
        """Break a call in progress (it raises) and refuse later calls: for shutdown."""
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- one request ------------------------------------------------------------------------

    def post(self, body: bytes, headers: dict[str, str], deadline: float) -> Response:
        """POST ``body``; returns the response or raises ``OSError`` / ``DeadlineExceeded``.

        A kept-alive connection the server closed meanwhile is retried once on a new one.
        """
        if self._aborted:
            raise ConnectionAbortedError("the client was aborted (shutdown)")
        reused = self._sock is not None
        try:
            return self._post_once(body, headers, deadline)
        except ConnectionError:
            self.close()
            if not reused or self._aborted:
                raise
        except BaseException:
            self.close()
            raise
        try:
            return self._post_once(body, headers, deadline)
        except BaseException:
            self.close()
            raise

    def _post_once(self, body: bytes, headers: dict[str, str], deadline: float) -> Response:
        if self._sock is None:
            sock = self._connect(deadline)
            with self._lock:
                self._sock = sock
        sock = self._sock
        assert sock is not None
        lines = [f"POST {self.target} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "Connection: keep-alive"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        sock.settimeout(_remaining(deadline))
        sock.sendall(request)  # Python >= 3.5: the timeout bounds the whole sendall
        response, keep = _read_response(sock, deadline)
        if not keep:
            self.close()
        return response


class _EmptyResponse(ConnectionError):
    """The server closed the connection before answering (a stale kept-alive connection)."""


def _recv(sock: socket.socket, deadline: float) -> bytes:
    sock.settimeout(_remaining(deadline))
    try:
        return sock.recv(65536)
    except TimeoutError:
        raise DeadlineExceeded("no answer before the deadline") from None


def _read_response(sock: socket.socket, deadline: float) -> tuple[Response, bool]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = _recv(sock, deadline)
        if not chunk:
            if not buffer:
                raise _EmptyResponse("connection closed before the response")
            raise ConnectionError("connection closed inside the response headers")
        buffer += chunk
        if len(buffer) > MAX_RESPONSE_BYTES:
            raise ConnectionError("response headers too large")
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ConnectionError(f"not an HTTP response: {status_line[:80]!r}") from None
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(sock, rest, deadline)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        received, body = len(rest), rest[:MAX_RESPONSE_BYTES]
        while received < length:
            chunk = _recv(sock, deadline)
            if not chunk:
                raise ConnectionError("connection closed inside the response body")
            received += len(chunk)
            if len(body) < MAX_RESPONSE_BYTES:
                body += chunk
        body = body[:MAX_RESPONSE_BYTES]
    else:
        body, keep = rest, False
        while chunk := _recv(sock, deadline):
            if len(body) < MAX_RESPONSE_BYTES:
                body += chunk
    return Response(status, headers, body), keep


def _read_chunked(sock: socket.socket, data: bytes, deadline: float) -> bytes:
    body = b""
    while True:
        while b"\r\n" not in data:
            chunk = _recv(sock, deadline)
            if not chunk:
                raise ConnectionError("connection closed inside a chunked body")
            data += chunk
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";", 1)[0], 16)
        while len(data) < size + 2:
            chunk = _recv(sock, deadline)
            if not chunk:
                raise ConnectionError("connection closed inside a chunked body")
            data += chunk
        if size == 0:
            return body[:MAX_RESPONSE_BYTES]
        if len(body) < MAX_RESPONSE_BYTES:
            body += data[:size]
        data = data[size + 2 :]
