"""An embedded OTLP/HTTP receiver for tests and the CI smoke trace.

A real HTTP server on loopback that stores what it accepts in SQLite (:class:`TelemetryStore`)
and returns spans as plain dicts with decoded attributes. Two profiles judge requests:

- ``langfuse`` (the default): a *contract check* of Langfuse's OTLP ingestion endpoint, as
  Langfuse's server source decides requests (see :mod:`.langfuse`): path
  ``/api/public/otel/v1/traces``, Basic auth with the configured key pair, gzip only,
  protobuf or JSON, ``x-langfuse-ingestion-version`` <= 4, ``/v1/metrics`` accepted and
  discarded. It is not Langfuse: nothing after ingestion is modelled.
- ``otlp``: the OTLP/HTTP specification, leniently (see :mod:`.otlp`).

In-process::

    with OTLPReceiver() as receiver:  # service env: receiver.service_env()
        ...
        spans = receiver.wait_for_spans(3, timeout=10)

or as a process: ``python -m somatrace.checks.runtime.receiver --port 4318 --store spans.db``.
Faults for resilience tests: ``delay_seconds``, ``hang``, ``trickle_seconds``, ``fail_status``
(+ ``fail_count``, ``retry_after``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from somatrace.checks.runtime.receiver.decode import SpanDict
from somatrace.checks.runtime.receiver.http import PROFILES, Faults, OTLPReceiver
from somatrace.checks.runtime.receiver.langfuse import Credentials
from somatrace.checks.runtime.receiver.store import TelemetryStore

__all__ = [
    "PROFILES",
    "Credentials",
    "Faults",
    "OTLPReceiver",
    "SpanDict",
    "TelemetryStore",
    "iter_attribute_strings",
]


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
