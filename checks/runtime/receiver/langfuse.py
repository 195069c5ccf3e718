"""The ``langfuse`` profile: a *contract check* of Langfuse's OTLP ingestion endpoint.

This is not Langfuse. It answers the requests an exporter sends the way Langfuse's server
source decides them (langfuse/langfuse v4.16.0), so that a test fails where Langfuse would
lose the data; what Langfuse does with accepted spans afterwards (its worker) is not modelled.
Every rule below cites the upstream file and line it follows:

- routes: ``POST /api/public/otel/v1/traces`` and ``POST /api/public/otel/v1/metrics``
  (``web/src/pages/api/public/otel/v1/{traces,metrics}/index.ts``); another method is a 405
  (``withMiddlewares.ts:101-102``), another path a 404;
- authentication first (``createAuthedProjectAPIRoute.ts:344-383``), as
  ``ApiAuthService.verifyAuthHeaderAndReturnScope`` does (``apiAuth.ts:75-303``): no header is
  a 401 "No authorization header"; ``Basic base64(public:secret)`` must name the configured
  pair (the value after the first space, decoded, split at ``:``; both parts non-empty),
  else 401; ``Bearer <public key>`` authenticates with the "scores" access level, which this
  route does not accept: 403 (``createAuthedProjectAPIRoute.ts:132-141``);
- metrics: accepted and discarded, ``200 {"message": "OK"}`` (``metrics/index.ts:17``,
  ``createAuthedProjectAPIRoute.ts:482``);
- traces, in the server's order (``traces/index.ts``):
  gunzip when ``Content-Encoding`` *includes* "gzip", a body that does not gunzip is a 400
  (57-69), any other encoding is not decoded at all (so a deflate body fails to parse: 400);
  ``Content-Type`` must include ``application/json`` or ``application/x-protobuf``, else 400
  "Invalid content type" (72-82); an unparsable body is a 400 (83-109); no
  ``resourceSpans`` is a 200 ``{}`` (111-113); any span without a usable ``traceId`` /
  ``spanId`` (or with a present but unusable ``parentSpanId``, or, in JSON, ``attributes`` /
  ``events`` / ``spans`` / ``scopeSpans`` that are not arrays) rejects the whole batch with a
  400 (115-236; ``packages/shared/src/server/otel/utils.ts:12-229``);
  ``x-langfuse-ingestion-version`` (or ``x_langfuse_ingestion_version``,
  ``ingestionAttribution.ts:47-60``) parsed like JS ``parseInt`` must not be NaN or above 4
  (259-283), else 400; then 200.

Responses are JSON like the server's: ``{"error": ...}`` from the route, ``{"message": ...}``
from authentication. Spans of accepted requests are stored like the ``otlp`` profile's.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from somatrace.checks.runtime.receiver import decode
from somatrace.checks.runtime.receiver.exchange import (
    METRICS,
    TRACES,
    Reply,
    Request,
    json_reply,
)
from somatrace.policy import (
    INGESTION_VERSION_HEADER,
    LANGFUSE_OTLP_PATH,
    MAX_INGESTION_VERSION,
    OTLP_METRICS_PATH,
    OTLP_TRACES_PATH,
)
from somatrace.settings import js_parse_int

TRACES_PATH = LANGFUSE_OTLP_PATH + OTLP_TRACES_PATH
METRICS_PATH = LANGFUSE_OTLP_PATH + OTLP_METRICS_PATH
# The key pair the contract check accepts unless told otherwise (tests, `somatrace smoke`).
DEFAULT_PUBLIC_KEY = "pk-lf-somatrace-contract"
DEFAULT_SECRET_KEY = "sk-lf-somatrace-contract"
_HOST_HINT = ". Confirm that you've configured the correct host."  # apiAuth.ts:266-268


@dataclass(frozen=True)
class Credentials:
    public_key: str = DEFAULT_PUBLIC_KEY
    secret_key: str = DEFAULT_SECRET_KEY

    def authorization(self) -> str:
        token = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        return f"Basic {token}"

    def __repr__(self) -> str:  # the secret never shows
        return f"Credentials(public_key={self.public_key!r}, secret_key=<redacted>)"


class _Refused(Exception):
    def __init__(self, status: int, document: Mapping[str, Any]) -> None:
        super().__init__(document)
        self.status = status
        self.document = document


def _atob(text: str) -> str:
    """Browser ``atob``: forgiving about padding, strict about the alphabet."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The string to be decoded is not correctly encoded.") from None
    return raw.decode("latin-1")


class LangfuseProfile:
    name = "langfuse"
    base_path = LANGFUSE_OTLP_PATH

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials or Credentials()

    def handle(self, request: Request) -> Reply:
        if request.path not in (TRACES_PATH, METRICS_PATH):
            return json_reply(404, {"message": "Not Found"}, reason=f"unknown path {request.path}")
        if request.method != "POST":
            return json_reply(
                405,
                {"message": "Method not allowed", "error": "MethodNotAllowedError"},
                reason="method not allowed",
            )
        try:
            principal = self._authenticate(request.header("authorization"))
        except _Refused as refused:
            return json_reply(
                refused.status, refused.document, reason=str(refused.document["message"])
            )
        if request.path == METRICS_PATH:
            # metrics/index.ts:17: `fn: async () => {}`; the body is never read.
            return json_reply(200, {"message": "OK"}, signal=METRICS, principal=principal)
        try:
            spans = self._traces(request)
        except _Refused as refused:
            return json_reply(
                refused.status, refused.document, principal=principal,
                reason=str(refused.document["error"]),
            )  # fmt: skip
        return json_reply(200, {}, signal=TRACES, items=spans, principal=principal)

    # -- authentication (apiAuth.ts:75-303) ---------------------------------------------------

    def _authenticate(self, header: str | None) -> str:
        if not header:
            raise _Refused(401, {"message": "No authorization header"})
        if header.startswith("Basic "):
            value = header.split(" ")[1]  # apiAuth.ts:297
            try:
                if not value:
                    raise ValueError("Invalid authorization header")
                parts = _atob(value).split(":")
                username, password = parts[0], (parts[1] if len(parts) > 1 else "")
                if not username or not password:
                    raise ValueError("Invalid authorization header")
                if (username, password) != (
                    self.credentials.public_key,
                    self.credentials.secret_key,
                ):
                    raise ValueError("Invalid credentials")
            except ValueError as error:
                raise _Refused(401, {"message": f"{error}{_HOST_HINT}"}) from None
            return username
        if header.startswith("Bearer "):
            if header.replace("Bearer ", "", 1) == self.credentials.public_key:
                raise _Refused(
                    403, {"message": "Access denied - insufficient permissions for this endpoint"}
                )
            raise _Refused(401, {"message": f"Invalid credentials{_HOST_HINT}"})
        raise _Refused(401, {"message": "Invalid authorization header"})

    # -- the traces route (traces/index.ts) ---------------------------------------------------

    def _traces(self, request: Request) -> list[dict[str, Any]]:
        body = request.body
        if "gzip" in (request.header("content-encoding") or ""):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                raise _Refused(400, {"error": "Failed to decompress request body"}) from None
        content_type = (request.header("content-type") or "").lower()
        is_protobuf = decode.PROTOBUF in content_type
        if not content_type or (decode.JSON not in content_type and not is_protobuf):
            raise _Refused(400, {"error": "Invalid content type"})
        if is_protobuf:
            try:
                message = decode.decode_body(body, decode.PROTOBUF, decode.TraceRequest())
            except decode.MalformedRequest:
                raise _Refused(400, {"error": "Failed to parse OTel Protobuf Trace"}) from None
            if not message.resource_spans:
                return []
            problems = _protobuf_id_problems(message)
        else:
            try:
                document = decode.parse_json_document(body)
            except decode.MalformedRequest:
                raise _Refused(400, {"error": "Failed to parse OTel JSON Trace"}) from None
            resource_spans = document.get("resourceSpans")
            if not resource_spans:
                return []
            problems = _json_problems(resource_spans)
            message = None
        if problems:
            raise _Refused(
                400,
                {
                    "error": "Invalid OTLP trace export: "
                    f"({', '.join(sorted(set(problems)))}). The entire export was rejected and "
                    "no spans were ingested."
                },
            )
        version = _header(request, INGESTION_VERSION_HEADER)
        if version:
            parsed = js_parse_int(version)
            if parsed is None or parsed > MAX_INGESTION_VERSION:
                raise _Refused(
                    400,
                    {
                        "error": f'Unsupported x-langfuse-ingestion-version: "{version}". '
                        f'Maximum supported: "{MAX_INGESTION_VERSION}".'
                    },
                )
        if message is None:
            try:
                message = decode.decode_body(body, decode.JSON, decode.TraceRequest())
            except decode.MalformedRequest as error:
                # Langfuse would accept it here and lose it in its worker: refuse it loudly.
                raise _Refused(
                    400, {"error": f"contract check: not decodable as OTLP/JSON: {error}"}
                ) from None
        return decode.all_spans(message)


def _header(request: Request, name: str) -> str:
    """Hyphen or underscore spelling, like ``getHeaderValue`` (ingestionAttribution.ts:47-60)."""
    return request.header(name) or request.header(name.replace("-", "_")) or ""


def _protobuf_id_problems(message: Any) -> list[str]:
    """A protobuf decode omits empty bytes fields (protobufjs ``toObject`` without defaults),
    so an empty traceId/spanId is "absent" (utils.ts:15, 182-185)."""
    problems = []
    for resource_spans in message.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if not span.trace_id:
                    problems.append("traceId:absent")
                if not span.span_id:
                    problems.append("spanId:absent")
    return problems


def _id_problem(value: Any) -> str | None:
    """utils.ts:12-42: strings and byte arrays convert; a JSON'd Buffer too; nothing else."""
    if value is None:
        return "absent"
    if isinstance(value, str | list):
        return None
    if (
        isinstance(value, dict)
        and value.get("type") == "Buffer"
        and isinstance(value.get("data"), list)
    ):
        return None
    return "not_an_id"


def _not_list(value: Any) -> bool:
    return value is not None and not isinstance(value, list)


def _json_problems(resource_spans: Any) -> list[str]:
    """``validateOtelSpanIds`` (utils.ts:108-229) over an OTLP/JSON document."""
    if not isinstance(resource_spans, list):
        return []
    problems: list[str] = []
    for resource_span in resource_spans:
        resource = resource_span.get("resource") if isinstance(resource_span, dict) else None
        if isinstance(resource, dict) and _not_list(resource.get("attributes")):
            problems.append("resource.attributes:not_an_array")
        scope_spans = resource_span.get("scopeSpans") if isinstance(resource_span, dict) else None
        if not isinstance(scope_spans, list):
            if scope_spans is not None:
                problems.append("scopeSpans:not_an_array")
            continue
        for scope_span in scope_spans:
            scope_span = scope_span if isinstance(scope_span, dict) else {}
            scope = scope_span.get("scope")
            if isinstance(scope, dict) and _not_list(scope.get("attributes")):
                problems.append("scope.attributes:not_an_array")
            spans = scope_span.get("spans")
            if not isinstance(spans, list):
                if spans is not None:
                    problems.append("spans:not_an_array")
                continue
            for span in spans:
                span = span if isinstance(span, dict) else {}
                for kind in ("traceId", "spanId"):
                    reason = _id_problem(span.get(kind))
                    if reason:
                        problems.append(f"{kind}:{reason}")
                if span.get("parentSpanId"):
                    reason = _id_problem(span["parentSpanId"])
                    if reason:
                        problems.append(f"parentSpanId:{reason}")
                if _not_list(span.get("attributes")):
                    problems.append("attributes:not_an_array")
                events = span.get("events")
                if _not_list(events):
                    problems.append("events:not_an_array")
                elif isinstance(events, list) and any(
                    _not_list(event.get("attributes"))
                    for event in events
                    if isinstance(event, dict)
                ):
                    problems.append("event.attributes:not_an_array")  # utils.ts:201-210
    return problems
