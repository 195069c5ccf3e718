"""One request in, one reply out: what the HTTP layer hands a profile and gets back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

TRACES = "traces"
METRICS = "metrics"
LOGS = "logs"


@dataclass(frozen=True)
class Request:
    """A request as it arrived: header names lower-cased, the body as sent (not decompressed)."""

    method: str
    path: str  # without the query string
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """What to answer, and what (if anything) to store."""

    status: int
    content_type: str
    body: bytes
    signal: str | None = None  # TRACES / METRICS / LOGS: the items are of this kind
    items: list[dict[str, Any]] = field(default_factory=list)
    principal: str | None = None  # who authenticated (a public key, never a secret)
    reason: str = ""  # why the request was refused, for the store and the logs
    extra_headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, document: Mapping[str, Any], **fields: Any) -> Reply:
    body = json.dumps(document).encode("utf-8")
    return Reply(status, "application/json; charset=utf-8", body, **fields)


def text_reply(status: int, text: str, **fields: Any) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", text.encode("utf-8"), reason=text, **fields)


class Profile(Protocol):
    """How the receiver judges a request: ``otlp`` (the OTLP/HTTP spec, lenient) or
    ``langfuse`` (Langfuse's ingestion contract)."""

    name: str
    base_path: str  # the OTLP base URL's path: exporters append /v1/traces to it

    def handle(self, request: Request) -> Reply: ...
