"""billing: a Flask app factory that starts Traceloop by hand.

Violates ST102 (direct Traceloop.init: content capture defaults to on in traceloop-sdk 0.62)
and therefore ST101 (the policy's init_tracing never runs).
"""

from flask import Flask
from traceloop.sdk import Traceloop


def create_app() -> Flask:
    Traceloop.init(app_name="billing", disable_batch=True)
    app = Flask(__name__)

    @app.get("/invoices/<tenant_id>")
    def invoices(tenant_id: str) -> dict[str, list[str]]:
        return {"tenant": [tenant_id]}

    return app
