"""What the receiver saw, in SQLite: every request (headers with credentials masked: the
store never holds a secret) and the spans, metrics and log records it accepted.

In memory, or in a file that other processes read with :class:`TelemetryStore`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from somatrace.checks.runtime.receiver.decode import SpanDict
from somatrace.checks.runtime.receiver.exchange import LOGS, METRICS, TRACES
from somatrace.settings import masked_headers


class TelemetryStore:
    """What the receiver accepted, in SQLite; readable from any process when file-backed."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY, received_at REAL, method TEXT, path TEXT, content_type TEXT,
        content_encoding TEXT, status INTEGER, headers TEXT, principal TEXT, reason TEXT,
        body_bytes INTEGER);
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
        method: str = "POST",
        path: str,
        headers: Mapping[str, str],
        status: int,
        body_bytes: int,
        signal: str | None = None,
        items: list[dict[str, Any]] | None = None,
        principal: str | None = None,
        reason: str = "",
    ) -> None:
        """Store one request and, when it was accepted, the items it carried."""
        with self._changed:
            cursor = self._db.execute(
                "INSERT INTO requests (received_at, method, path, content_type, content_encoding,"
                " status, headers, principal, reason, body_bytes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    method,
                    path,
                    (headers.get("content-type") or "").split(";", 1)[0].strip().lower(),
                    (headers.get("content-encoding") or "").strip().lower(),
                    status,
                    json.dumps(masked_headers(headers)),
                    principal,
                    reason,
                    body_bytes,
                ),
            )
            request_id = cursor.lastrowid
            for item in items or []:
                blob = json.dumps(item)
                if signal == TRACES:
                    self._db.execute(
                        "INSERT INTO spans (request_id, trace_id, span_id, name, data)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (request_id, item["trace_id"], item["span_id"], item["name"], blob),
                    )
                elif signal == METRICS:
                    self._db.execute(
                        "INSERT INTO metrics (request_id, name, data) VALUES (?, ?, ?)",
                        (request_id, item["name"], blob),
                    )
                elif signal == LOGS:
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

    def span_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM spans")[0][0])

    def metrics(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self._rows("SELECT data FROM metrics ORDER BY id")]

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self._rows("SELECT data FROM logs ORDER BY id")]

    def requests(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT received_at, method, path, content_type, content_encoding, status, headers,"
            " principal, reason, body_bytes FROM requests ORDER BY id"
        )
        return [
            {
                "received_at": received_at,
                "method": method,
                "path": path,
                "content_type": content_type,
                "content_encoding": encoding,
                "status": status,
                "headers": json.loads(headers),
                "principal": principal,
                "reason": reason,
                "body_bytes": size,
            }
            for (
                received_at, method, path, content_type, encoding, status, headers, principal,
                reason, size,
            ) in rows
        ]  # fmt: skip

    def dump(self) -> Iterator[str]:
        """Every row of every table as text (to prove what the store holds, e.g. no secret)."""
        with self._lock:
            yield from self._db.iterdump()

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
