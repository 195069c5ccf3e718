"""rag-api: a FastAPI app factory whose spans lack the required tags.

Violates ST301 (a span without tenant_id/workflow_name/agent_id) and ST302 (a tag binding
that forgets agent_id).
"""

from fastapi import FastAPI
from opentelemetry import trace

from somatrace.tags import bind
from somatrace.tracing import init_tracing

tracer = trace.get_tracer("rag-api")


def create_app() -> FastAPI:
    init_tracing("rag-api")
    app = FastAPI(title="rag-api")

    @app.get("/search")
    def search(q: str) -> dict[str, str]:
        with tracer.start_as_current_span("rag.retrieve", attributes={"query.length": len(q)}):
            return {"q": q}

    @app.get("/answer")
    def answer(tenant_id: str, q: str) -> dict[str, str]:
        with bind(tenant_id=tenant_id, workflow_name="rag-answer"):
            return {"q": q}

    return app
