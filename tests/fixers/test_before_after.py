"""Before/after pairs for every fixer, run through the real ``somatrace fix`` pipeline on real
files: the result is byte-exact, valid Python, re-checks clean for the fixed rule, and a second
run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixers.support import assert_valid_python, codes, dedent, fix, make_project


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    before: str
    after: str
    path: str = "services/billing/app/main.py"
    settings: dict = field(default_factory=dict)
    unsafe: bool = False
    files: dict = field(default_factory=dict)


CASES = [
    # ------------------------------------------------------------------ ST102
    Case(
        "st102-docstring-future-import-removed",
        "ST102",
        '''
        """Billing service."""
        from __future__ import annotations

        import os

        from fastapi import FastAPI
        from traceloop.sdk import Traceloop  # tracing

        Traceloop.init(app_name="billing", disable_batch=True, telemetry_enabled=False)
        app = FastAPI()
        ''',
        '''
        """Billing service."""
        from __future__ import annotations

        import os

        from fastapi import FastAPI
        from somatrace.tracing import init_tracing

        init_tracing("billing", disable_batch=True)
        app = FastAPI()
        ''',
    ),
    Case(
        "st102-alias-multiline-call-keeps-layout",
        "ST102",
        """
        from traceloop.sdk import Traceloop as TL


        def setup():
            TL.init(
                disable_batch=True,  # flush at once
                app_name='worker',
            )
        """,
        """
        from somatrace.tracing import init_tracing


        def setup():
            init_tracing(
                disable_batch=True,  # flush at once
                app_name='worker',
            )
        """,
        path="services/worker/app/setup.py",
    ),
    Case(
        "st102-module-alias-and-endpoint",
        "ST102",
        """
        import traceloop.sdk as ts

        ts.Traceloop.init("billing", "http://collector:4318", headers={"a": "b"})
        """,
        """
        from somatrace.tracing import init_tracing

        init_tracing("billing", endpoint="http://collector:4318", headers={"a": "b"})
        """,
        path="services/billing/app/tracing_setup.py",
    ),
    Case(
        "st102-no-app-name-uses-service-folder",
        "ST102",
        """
        from traceloop.sdk import Traceloop

        Traceloop.init()
        Traceloop.set_association_properties({"tenant_id": "t"})
        """,
        """
        from somatrace.tracing import init_tracing
        from traceloop.sdk import Traceloop

        init_tracing("billing")
        Traceloop.set_association_properties({"tenant_id": "t"})
        """,
        path="services/billing/app/boot.py",
    ),
    Case(
        "st102-return-value-used-unsafe",
        "ST102",
        """
        from traceloop.sdk import Traceloop

        client = Traceloop.init(app_name="billing")
        """,
        """
        from somatrace.tracing import init_tracing

        client = init_tracing("billing")
        """,
        path="services/billing/app/boot.py",
        unsafe=True,
    ),
    # ------------------------------------------------------------------ ST101
    Case(
        "st101-module-level-after-setup-before-app",
        "ST101",
        '''
        #!/usr/bin/env python
        """Chat API."""
        from __future__ import annotations

        import os

        from dotenv import load_dotenv
        from fastapi import FastAPI

        load_dotenv()


        # the app
        app = FastAPI(title="chat")
        ''',
        '''
        #!/usr/bin/env python
        """Chat API."""
        from __future__ import annotations

        import os

        from dotenv import load_dotenv
        from fastapi import FastAPI
        from somatrace.tracing import init_tracing

        load_dotenv()


        init_tracing("chat")
        # the app
        app = FastAPI(title="chat")
        ''',
        path="services/chat/app/main.py",
    ),
    Case(
        "st101-merged-into-multiline-partial-import",
        "ST101",
        """
        from fastapi import FastAPI
        from somatrace.tracing import (
            current_settings,
            shutdown_tracing,
        )

        app = FastAPI()
        """,
        """
        from fastapi import FastAPI
        from somatrace.tracing import (
            current_settings,
            init_tracing,
            shutdown_tracing,
        )

        init_tracing("chat")
        app = FastAPI()
        """,
        path="services/chat/app/main.py",
    ),
    Case(
        "st101-factory-with-docstring-and-decorated-routes",
        "ST101",
        '''
        from flask import Flask


        def create_app() -> Flask:
            """Build the app."""
            app = Flask(__name__)

            @app.get("/health")
            def health() -> str:
                return "ok"

            return app
        ''',
        '''
        from flask import Flask
        from somatrace.tracing import init_tracing


        def create_app() -> Flask:
            """Build the app."""
            init_tracing("billing")
            app = Flask(__name__)

            @app.get("/health")
            def health() -> str:
                return "ok"

            return app
        ''',
    ),
    Case(
        "st101-main-block-single-quotes-config-name",
        "ST101",
        """
        import sys

        import uvicorn

        from .api import build

        if __name__ == '__main__':
            port = int(sys.argv[1])
            uvicorn.run(build(), port=port)
        """,
        """
        import sys

        import uvicorn
        from somatrace.tracing import init_tracing

        from .api import build

        if __name__ == '__main__':
            port = int(sys.argv[1])
            init_tracing('search-gateway')
            uvicorn.run(build(), port=port)
        """,
        path="services/search/app/serve.py",
        settings={"service-name": {"services/search/**": "search-gateway"}},
        files={
            "services/search/app/__init__.py": "",
            "services/search/app/api.py": "def build():\n    return None\n",
        },
    ),
    Case(
        "st101-name-from-nearest-pyproject",
        "ST101",
        """
        from fastapi import FastAPI

        app = FastAPI()
        """,
        """
        from fastapi import FastAPI
        from somatrace.tracing import init_tracing

        init_tracing("ledger-api")
        app = FastAPI()
        """,
        path="apps/ledger/server.py",
        files={"apps/ledger/pyproject.toml": '[project]\nname = "ledger-api"\nversion = "1"\n'},
    ),
    Case(
        "st101-one-line-main-suite",
        "ST101",
        """
        import uvicorn
        from fastapi import FastAPI

        def make(): return FastAPI()

        if __name__ == "__main__": uvicorn.run(make())
        """,
        """
        import uvicorn
        from fastapi import FastAPI
        from somatrace.tracing import init_tracing

        def make():
            init_tracing("billing")
            return FastAPI()

        if __name__ == "__main__":
            init_tracing("billing")
            uvicorn.run(make())
        """,
        path="services/billing/app/run.py",
    ),
    Case(
        "st101-tab-indented-factory",
        "ST101",
        "from flask import Flask\n\n\ndef create_app():\n\tif True:\n\t\tpass\n\treturn Flask(__name__)\n",
        "from flask import Flask\nfrom somatrace.tracing import init_tracing\n\n\n"
        'def create_app():\n\tinit_tracing("tabs")\n\tif True:\n\t\tpass\n\treturn Flask(__name__)\n',
        path="services/tabs/app/main.py",
    ),
    Case(
        "st101-configured-entrypoint-worker-keeps-pep8-blank-lines",
        "ST101",
        '''
        """Worker."""
        import time


        def loop():
            while True:
                time.sleep(1)
        ''',
        '''
        """Worker."""
        import time
        from somatrace.tracing import init_tracing

        init_tracing("worker")


        def loop():
            while True:
                time.sleep(1)
        ''',
        path="services/worker/app/main.py",
    ),
    # ------------------------------------------------------------------ ST201
    Case(
        "st201-env-and-keywords-only-the-value-changes",
        "ST201",
        """
        import os

        from langfuse import observe
        from somatrace.tracing import init_tracing

        ON = "true"
        os.environ["TRACELOOP_TRACE_CONTENT"] = 'true'  # do not touch this comment
        os.environ.setdefault("TRACE_CONTENT", ON)
        os.environ.update({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ("1")})
        init_tracing("billing", trace_content=True)


        @observe(capture_input=True, capture_output=True)
        def answer(q):
            return q
        """,
        """
        import os

        from langfuse import observe
        from somatrace.tracing import init_tracing

        ON = "true"
        os.environ["TRACELOOP_TRACE_CONTENT"] = 'false'  # do not touch this comment
        os.environ.setdefault("TRACE_CONTENT", "false")
        os.environ.update({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ("false")})
        init_tracing("billing", trace_content=False)


        @observe(capture_input=False, capture_output=False)
        def answer(q):
            return q
        """,
        path="services/billing/app/content.py",
    ),
    # ------------------------------------------------------------------ ST301
    Case(
        "st301-absent-dict-positional-and-partial-import",
        "ST301",
        """
        from opentelemetry import trace
        from somatrace.tags import bind

        tracer = trace.get_tracer(__name__)


        def handle(q):
            with tracer.start_as_current_span("a"):
                pass
            with tracer.start_as_current_span(
                "b",
                attributes={
                    "query.len": len(q),
                },
            ):
                pass
            tracer.start_span("c", None, None, {"x": 1}).end()
            tracer.start_span("d", attributes=dict(step=1)).end()
        """,
        """
        from opentelemetry import trace
        from somatrace.tags import bind, span_tags

        tracer = trace.get_tracer(__name__)


        def handle(q):
            with tracer.start_as_current_span("a", attributes=span_tags()):
                pass
            with tracer.start_as_current_span(
                "b",
                attributes={
                    "query.len": len(q),
                    **span_tags(),
                },
            ):
                pass
            tracer.start_span("c", None, None, {"x": 1, **span_tags()}).end()
            tracer.start_span("d", attributes={**dict(step=1), **span_tags()}).end()
        """,
        path="services/billing/app/spans.py",
    ),
    Case(
        "st301-variable-attributes-unsafe",
        "ST301",
        """
        from opentelemetry import trace

        tracer = trace.get_tracer(__name__)


        def handle(attrs):
            tracer.start_span("c", attributes=attrs).end()
        """,
        """
        from opentelemetry import trace
        from somatrace.tags import span_tags

        tracer = trace.get_tracer(__name__)


        def handle(attrs):
            tracer.start_span("c", attributes={**attrs, **span_tags()}).end()
        """,
        path="services/billing/app/spans.py",
        unsafe=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_before_after(case: Case, tmp_path: Path) -> None:
    make_project(
        tmp_path, {**case.files, case.path: case.before}, **{"select": [case.rule], **case.settings}
    )
    target = tmp_path / case.path
    assert case.rule in codes(tmp_path), "the sample must violate the rule"
    report = fix(tmp_path, unsafe=case.unsafe)
    fixed = target.read_text(encoding="utf-8")
    assert fixed == dedent(case.after), fixed
    assert_valid_python(fixed)
    assert case.rule not in codes(tmp_path)
    assert report.fixed_count >= 1 and not report.errors
    again = fix(tmp_path, unsafe=case.unsafe)
    assert again.fixed_count == 0 and target.read_text(encoding="utf-8") == fixed


@pytest.mark.parametrize("case", [c for c in CASES if c.unsafe], ids=lambda c: c.id)
def test_unsafe_fixes_need_the_flag(case: Case, tmp_path: Path) -> None:
    make_project(
        tmp_path, {**case.files, case.path: case.before}, **{"select": [case.rule], **case.settings}
    )
    before = (tmp_path / case.path).read_bytes()
    report = fix(tmp_path, unsafe=False)
    assert (tmp_path / case.path).read_bytes() == before
    reasons = [report.reason_for(f) for f in report.remaining() if f.code == case.rule]
    assert reasons and all("--unsafe-fixes" in (r or "") for r in reasons)


def test_st102_custom_exporter_gets_no_fix_and_says_why(tmp_path: Path) -> None:
    code = """
    from traceloop.sdk import Traceloop
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    Traceloop.init(app_name="billing", exporter=OTLPSpanExporter())
    """
    make_project(tmp_path, {"services/billing/app/boot.py": code}, select=["ST102"])
    before = (tmp_path / "services/billing/app/boot.py").read_bytes()
    report = fix(tmp_path, unsafe=True)
    assert (tmp_path / "services/billing/app/boot.py").read_bytes() == before
    [left] = report.remaining()
    assert "custom `exporter`" in (report.reason_for(left) or "")


def test_all_fixers_in_one_file_add_each_import_once(tmp_path: Path) -> None:
    code = '''
    """One file, three rules."""
    import os

    from fastapi import FastAPI
    from opentelemetry import trace

    tracer = trace.get_tracer(__name__)
    os.environ["TRACE_CONTENT"] = "yes"
    app = FastAPI()


    @app.get("/")
    def root():
        with tracer.start_as_current_span("root"):
            return {}


    @app.get("/b")
    def other():
        with tracer.start_as_current_span("b", attributes={"k": 1}):
            return {}
    '''
    make_project(tmp_path, {"services/chat/app/main.py": code}, select=["ST101", "ST201", "ST301"])
    report = fix(tmp_path)
    text = (tmp_path / "services/chat/app/main.py").read_text(encoding="utf-8")
    assert_valid_python(text)
    assert text.count("from somatrace.tracing import init_tracing") == 1
    assert text.count("from somatrace.tags import span_tags") == 1
    assert text.count('init_tracing("chat")') == 1
    assert report.fixed_count == 4 and report.passes == 1
    assert codes(tmp_path, ["ST101", "ST201", "ST301"]) == []
    # The import precedes its first use.
    assert text.index("import init_tracing") < text.index('init_tracing("chat")')


def test_st101_and_st102_in_one_file_init_once(tmp_path: Path) -> None:
    code = """
    from fastapi import FastAPI
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name="both")
    app = FastAPI()
    """
    make_project(tmp_path, {"services/both/app/main.py": code}, select=["ST1"])
    report = fix(tmp_path)
    text = (tmp_path / "services/both/app/main.py").read_text(encoding="utf-8")
    assert text.count("init_tracing(") == 1 and "Traceloop" not in text
    assert report.remaining() == []
