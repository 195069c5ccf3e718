"""Imported first by the service: tracing starts at import time."""

from somatrace.tracing import init_tracing

init_tracing("summarizer")
