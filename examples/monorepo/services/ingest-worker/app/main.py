"""ingest-worker: a Celery worker that switches prompt capture on.

Violates ST201: TRACELOOP_TRACE_CONTENT=true ships every prompt and completion to the
trace backend.
"""

import os

from celery import Celery

from somatrace.tracing import init_tracing

os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
init_tracing("ingest-worker")

celery_app = Celery("ingest", broker=os.environ.get("BROKER_URL", "redis://localhost:6379/0"))


@celery_app.task
def embed(document_id: str) -> str:
    return document_id
