"""billing: a Flask app factory that starts Traceloop by hand.

Violates ST102 (direct Traceloop.init: content capture defaults to on in traceloop-sdk 0.62),
therefore ST101 (the policy's init_tracing never runs), and ST203 (a customer's e-mail
address as a span attribute).
"""

from flask import Flask, request
from opentelemetry import trace
from traceloop.sdk import Traceloop


def create_app() -> Flask:
    Traceloop.init(app_name="billing", disable_batch=True)
    app = Flask(__name__)

    @app.get("/invoices/<tenant_id>")
    def invoices(tenant_id: str) -> dict[str, list[str]]:
        trace.get_current_span().set_attribute("customer.email", request.args.get("email", ""))
        return {"tenant": [tenant_id]}

    return app
