"""chat-api: a FastAPI service that follows the tracing policy (no findings expected)."""

from fastapi import FastAPI
from openai import OpenAI
from opentelemetry import trace

from somatrace.tags import bind, span_tags
from somatrace.tracing import init_tracing

init_tracing("chat-api")

app = FastAPI(title="chat-api")
client = OpenAI()
tracer = trace.get_tracer(__name__)


@app.post("/chat")
def chat(tenant_id: str, question: str) -> dict[str, str]:
    with bind(tenant_id=tenant_id, workflow_name="chat", agent_id="chat-agent"):
        with tracer.start_as_current_span("chat.answer", attributes={**span_tags()}):
            reply = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": question}],
            )
    return {"answer": reply.choices[0].message.content or ""}
