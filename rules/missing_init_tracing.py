"""ST101 missing-init-tracing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from somatrace.checks.analysis.frameworks import (
    APP_LABELS,
    APP_SERVES,
    MAIN,
    MODULE,
    EntrypointAnalysis,
    init_facet,
    is_test_path,
)
from somatrace.checks.analysis.references import TaskUses, folders_under, referring_files
from somatrace.checks.lint.byte_words import (
    CALL_FOLLOWS,
    WORD_BYTES,
    capitalised_word_ending,
    has_word,
    starts_word,
    word_then,
    word_then_after,
)
from somatrace.checks.lint.codes import MISSING_INIT_TRACING
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.module import Module
from somatrace.checks.lint.project import (
    DEPENDENCIES_HINT,
    Missing,
    ModuleFacts,
    ProjectModel,
)
from somatrace.checks.lint.rule import FileContext, FixAvailability, Invalid, PythonRule, Valid

INIT_FACET = "init"
MAX_IMPORT_CLOSURE = 5000
_FRAMEWORK_MODULES = (
    b"fastapi",
    b"starlette",
    b"flask",
    b"quart",
    b"sanic",
    b"celery",
    b"aiohttp",
    b"litestar",
    b"uvicorn",
    b"hypercorn",
    b"granian",
    b"grpc",
    b"waitress",
    b"websockets",
    b"mcp",
    b"fastmcp",
    b"gunicorn",
    b"gradio",
    b"http.server",
    b"wsgiref",
    b"socketserver",
    b"prometheus_client",
)
# An imported module of a framework, or of a package built on one (`mcp_server_qdrant`,
# `fastapi_utils`), matched against the file's imports (`FileContext.imports`).
_FRAMEWORK_NAME = re.compile(
    "(?:" + "|".join(re.escape(m.decode()) for m in _FRAMEWORK_MODULES) + ")(?:$|[._])"
)


# The screen's test for "an app is built, a server started, or an app class imported under
# another name or subclassed", as substring searches (checks/lint/byte_words.py); the regex it
# stands for is kept in tests/rules/test_screens.py, which holds the two to the same answers.
_APP_CLASSES = (
    b"FastAPI", b"Starlette", b"Flask", b"Quart", b"Sanic", b"Celery", b"Application",
    b"Litestar", b"FastMCP", b"Blocks", b"Interface", b"ChatInterface", b"TabbedInterface",
)  # fmt: skip
_SERVER_WORDS = (
    b"uvicorn", b"hypercorn", b"granian", b"waitress", b"gunicorn",
    b"run_app", b"make_server", b"HTTPServer", b"ThreadingHTTPServer", b"TCPServer",
    b"start_http_server", b"worker_main",
)  # fmt: skip
# Called as code spells a call: `grpc.server(`, `serve(`, `demo.launch(` (prose says "the MCP
# server (...)", and a `def serve(` defines a method; on llm-stack 14 files were parsed only for
# one of those and none builds or serves anything).
_SERVE_CALLS = (b"server", b"serve", b"launch")
_APP_SUBCLASS_SUFFIXES = (b"App", b"Application", b"Server", b"MCP")
_BUILT_OR_LISTED = re.compile(rb"\s*[(),]")  # built, subclassed, or imported in a list
# `as NAME`, NAME whole (the `\b` keeps a backtracking regex from taking a prefix of it).
_AS_NAME = re.compile(rb"\bas[ \t]+([A-Za-z_][A-Za-z0-9_]*)\b")
_BUILT_OR_BASE = re.compile(rb"\s*[()]")  # `Alias(`: built; `(Alias)`: subclassed
_SPACE_BYTES = frozenset(b" \t\n\r\f\v")


def _called(source: bytes, word: bytes) -> bool:
    r"""``word`` called somewhere, not defined: ``\bword\(`` where what comes before it, past
    spaces and tabs, is not the word ``def`` (the regex in tests/rules/test_screens.py)."""
    if word not in source:
        return False
    size = len(word)
    at = source.find(word)
    while at != -1:
        if starts_word(source, at) and source[at + size : at + size + 1] == b"(":
            before = at
            while before > 0 and source[before - 1] in b" \t":
                before -= 1
            if before == at or not (
                source[before - 3 : before] == b"def" and starts_word(source, before - 3)
            ):
                return True
        at = source.find(word, at + 1)
    return False


_END = re.compile(rb"\Z")


# What an alias may hide for this screen: what the screen counts unaliased, an app class of a
# framework (`FastAPI as Api`), a serving call (`serve as ws_serve`) or a project app class by
# its name (`ChatServer as Base`). An alias of anything else (`Response as FastAPIResponse`,
# `prisma_client as _prisma_client`) builds no app: on llm-stack 39 files were parsed only
# for such an alias, 2.4 MB, and none is an entrypoint.
def _may_hide_an_app(source: bytes, as_at: int) -> bool:
    """Whether the name before the ``as`` at ``as_at`` (the last part of a dotted one) is one."""
    end = as_at
    while end > 0 and source[end - 1] in b" \t":
        end -= 1
    start = end
    while start > 0 and source[start - 1] in WORD_BYTES:
        start -= 1
    name = source[start:end]
    return (
        name in _APP_CLASSES
        or name in _SERVE_CALLS
        or any(capitalised_word_ending(name, s, _END) for s in _APP_SUBCLASS_SUFFIXES)
    )


def _alias_built(source: bytes) -> bool:
    r"""A name imported under an alias that may hide an app (:func:`_may_hide_an_app`) and
    that the code then builds or subclasses: ``^(?>[^\n]*?\bimport\s)[^\n]*?\b(N)[ \t]+as[ \t]+
    (\w+)\b`` followed, anywhere after it, by ``\b\2\s*[()]`` (``App(...)``, ``class Chat(App):``),
    where ``N`` is one of those names (the regex is kept in tests/rules/test_screens.py). As in
    that pattern, only the first ``import`` of a line counts (its ``\s`` may be the line's end:
    then the aliases are looked for on the next line), and the scan goes on from the next line.
    Most aliases are modules, helpers and types (``import numpy as np``, ``status as
    http_status``) that are never called or subclassed: on llm-stack 1,590 files alias
    something and 332 call or subclass an alias."""
    at = source.find(b"import")
    while at != -1:
        after = at + 6
        if starts_word(source, at) and after < len(source) and source[after] in _SPACE_BYTES:
            line_end = source.find(b"\n", after)
            line_end = len(source) if line_end == -1 else line_end
            end = line_end
            if line_end == after:  # `import\n`: the rest of the pattern is the next line
                end = source.find(b"\n", after + 1)
                end = len(source) if end == -1 else end
            # Every `as` of the line, as the lazy pattern tries them (`as as App` holds two).
            alias = _AS_NAME.search(source, after + 1, end)
            while alias is not None:
                if _may_hide_an_app(source, alias.start()) and word_then_after(
                    source, alias.group(1), _BUILT_OR_BASE, alias.end()
                ):
                    return True
                alias = _AS_NAME.search(source, alias.start() + 1, end)
            at = source.find(b"import", line_end + 1)
            continue
        at = source.find(b"import", at + 1)
    return False


def _may_import_a_framework(source: bytes, ctx: FileContext) -> bool:
    """Whether an import of the file can name a framework module, without scanning them: an
    absolute one spells the module's name, a relative one resolves under the file's own
    package (the import scan costs more than all the screens' searches)."""
    return any(m in source for m in _FRAMEWORK_MODULES) or (
        ctx.module_name is not None and _FRAMEWORK_NAME.match(ctx.module_name) is not None
    )


def _builds_or_serves(source: bytes) -> bool:
    return (
        any(word_then(source, name, _BUILT_OR_LISTED) for name in _APP_CLASSES)
        or any(has_word(source, word) for word in _SERVER_WORDS)
        or any(_called(source, word) for word in _SERVE_CALLS)
        # a project subclass of an app class, built: `RagApp(`, `ToolServer (`
        or any(capitalised_word_ending(source, s, CALL_FOLLOWS) for s in _APP_SUBCLASS_SUFFIXES)
        or _alias_built(source)
    )


# A program (a `__main__` block or a console script's `main`) that calls a serving method.
# Anchored at the start and atomic up to the first `__main__`/`def main`: one scan of the file
# (unanchored, every `__main__` rescanned to the end: 36 s on 320 KB of them).
# What every match of _MAIN_SERVES holds (each of its methods starts with one): three passes
# that spare most programs (a test module's `unittest.main()`) the 22 of _FRAMEWORK_MODULES.
_MAIN_SERVES_CALLS = (b".run", b".launch", b".worker_main")
# A console script's `main` is a module-level function: `async def main():` indented under a
# docstring's example is not a program (6 library files on llm-stack, 0.5 MB, were parsed for it).
_MAIN_SERVES = re.compile(
    rb"\A(?>[\s\S]*?(?:__main__|^(?:async[ \t]+)?def[ \t]+main\b))[\s\S]*"
    rb"\.(?:run|run_async|run_stdio_async|run_sse_async|"
    rb"run_streamable_http_async|run_http_async|launch|worker_main)\s*\(",
    re.MULTILINE,
)


def _init_functions(ctx: FileContext) -> frozenset[str]:
    return frozenset(ctx.config.init_functions)


def _init_facet(module: Module, ctx: FileContext) -> dict[str, Any]:
    computed = getattr(module, "_init_facet", None)  # by `check`, when it ran on this module
    return computed if computed is not None else init_facet(module, _init_functions(ctx))


# A bridge server a running process starts as a background task (two samples).
_BRIDGE = """
import uvicorn
from starlette.applications import Starlette


async def run_bridge():
    bridge = Starlette(routes=[])
    server = uvicorn.Server(uvicorn.Config(bridge, port=5556))
    await server.serve()
"""


def _spawned_by(module: str, code: str) -> dict[str, str]:
    """The sample package with a module that imports ``run_bridge`` and runs ``code``."""
    spawner = "import asyncio\n\nfrom app.bridge import run_bridge\n\n" + code
    return {"services/demo/app/__init__.py": "", f"services/demo/app/{module}": spawner}


# A factory that takes its settings: served only if the project refers to it (two samples).
_FACTORY = """
from fastapi import FastAPI


def create_app(settings):
    app = FastAPI(title=settings)
    return app
"""


class MissingInitTracing(PythonRule):
    """A service entrypoint starts without calling `init_tracing`.

    ## What it does
    Finds every service entrypoint and proves that it runs `init_tracing` (configurable with
    `init-function`) at start-up. Entrypoints are the files matching `entrypoints` (default
    `services/*/app/main.py`) and, with `auto-detect-entrypoints` (default on), every
    module-level or factory-built ASGI/WSGI app (FastAPI, Starlette, Flask, Quart, Sanic,
    aiohttp, Litestar, and classes the file derives from them), every server start
    (`uvicorn.run`, `hypercorn`, `grpc.server`, `grpc.aio.server`, `aiohttp.web.run_app`,
    `waitress.serve`, `app.run()` on a detected app) and every Celery app.

    An entrypoint is traced when `init_tracing` runs:
    - at module level (import time), anywhere in the module;
    - in the app factory, before the app is built;
    - in the `if __name__ == "__main__":` block (or the function it calls) before the server
      starts;
    - in a FastAPI/Starlette `lifespan` or `on_startup` handler, an `on_event("startup")`
      handler, Quart's `before_serving`, Sanic's `before_server_start`, or Celery's
      `worker_process_init` signal;
    - or in a project module the entrypoint imports (transitively, relative imports included)
      that calls it, or a project function that calls it, at import time. Only modules from
      which an import chain reaches a file that spells the init function's name (as a whole
      identifier: `self._init_tracing` is not a spelling) are read; the one shape this does not
      follow is a module-level call through an attribute chain to a submodule nothing imports
      (`import pkg` then `pkg.obs.setup()`, which works only when some other module imported
      `pkg.obs` first).

    A `typer.Typer()` or `click.group()` called `app` is a command line, not a service, and a
    `__main__` block that starts no server is not an entrypoint. A command that starts the
    server in a child process (`subprocess.Popen([sys.executable, "-m", "gunicorn", ...,
    "pkg.app:create_app()"])`) is a launcher: tracing in it would trace only the launcher, so
    it is not reported; the app the child imports is the entrypoint, and is reported where it is
    built. A library helper that builds or serves an app for its caller (`to_a2a(agent)`,
    `launch_gradio_demo(tool)`: a module-level function, undecorated or under plain-name
    decorators, with a parameter the caller must pass) is not reported when nothing in the
    project refers to it: no call or read of it outside its own body, no `"pkg.mod:name"`
    import string, no mention in a Dockerfile, Procfile, Makefile, shell script or
    TOML/YAML/INI/JSON file of the project; the user's module that calls it is the entrypoint.
    A factory the project serves is referred to, and is reported. A server started in a context
    manager's `__enter__`/`__aenter__` (`async with GrpcServer(...):` in an app's lifespan) is
    a resource of the process that enters it, not reported: the app or program that runs the
    process is the entrypoint. Neither is a server function (a module-level `async def` its
    own module never refers to) that other modules only start as a background task of their
    running event loop (`asyncio.create_task(run_bridge())`, `tg.start_soon(run_bridge)`),
    unless one of them is a program (`__main__`): that is what runs it. Apps and servers in
    what pytest collects (files under `tests/` or `test/`, `test_*.py`, `*_test.py`,
    `conftest.py`; fixtures and `test_*` functions anywhere) are test apps: not reported, and
    test files are not parsed for this rule, so a test that mounts the real app into a harness
    does not make it a sub-app. Each entrypoint is reported once, at the app construction or
    server start.

    ## Why is this bad?
    A service that never initialises tracing produces no spans: its LLM calls are invisible,
    unattributed to tenants and uncosted, and the content policy is not applied. Worse, if the
    service starts Traceloop some other way, prompts may be captured (traceloop-sdk 0.62 captures
    content by default).

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from somatrace.tracing import init_tracing

    init_tracing("chat-api")
    app = FastAPI()
    ```

    ## Fix safety
    `somatrace fix` inserts the import and the call (service name from `service-name`, else
    the `services/<name>/` folder, else the nearest `pyproject.toml` project name, else the
    package folder). The fix is safe: it only adds the policy's own start-up call.
    """

    CODE = MISSING_INIT_TRACING
    NAME = "missing-init-tracing"
    FIX = FixAvailability.ALWAYS
    TRIGGERS = _FRAMEWORK_MODULES  # refined by applies_to: the framework must be imported
    FACETS = {INIT_FACET: _init_facet}
    # One reference pass over every file answers all the entrypoint questions' helper names.
    JOIN_AS_ONE = True
    # `_may_initialise` walks the import scans back from the files that spell an init function.
    READS_IMPORT_SCANS = True

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if ctx.is_configured_entrypoint:
            return True
        if not ctx.config.auto_detect_entrypoints:
            return False
        if is_test_path(ctx.relpath):
            # Apps built in what pytest collects are test apps, never reported: not parsed for
            # this rule (the join fetches a test module's init facet if an import asks for it,
            # and a test's `mount(...)` of the real app does not make that app a sub-app).
            return False
        # An app or server can only be detected where its framework is imported (the import
        # check keeps "Quarter" or "XQuartz" from costing a parse), and where an app is built,
        # a server started, or an app class imported under another name or subclassed: a
        # module that only defines routes, schemas or dependencies is not parsed.
        if (
            _may_import_a_framework(source, ctx)
            and any(_FRAMEWORK_NAME.match(name) for name in ctx.imports(source))
            and _builds_or_serves(source)
        ):
            return True
        # A program that runs an app imported from elsewhere (`mcp.run()` under `__main__`).
        return (
            (b"__main__" in source or b"def main" in source)
            and any(call in source for call in _MAIN_SERVES_CALLS)
            and any(t in source for t in _FRAMEWORK_MODULES)
            and _MAIN_SERVES.search(source) is not None
        )

    def check(self, module: Module) -> None:
        analysis = EntrypointAnalysis(
            module,
            _init_functions(self.ctx),
            configured=self.ctx.is_configured_entrypoint,
            auto_detect=self.ctx.config.auto_detect_entrypoints,
        )
        summary = analysis.summary()
        module._init_facet = {k: v for k, v in summary.items() if k != "entrypoints"}  # type: ignore[attr-defined]
        for entry in summary["entrypoints"]:
            if entry["initialized"]:
                continue
            finding = Finding(
                path=self.ctx.display_path,
                line=entry["line"],
                col=entry["col"],
                end_line=entry["end_line"],
                end_col=entry["end_col"],
                code=self.CODE,
                message=_message(entry),
                data={
                    "kind": entry["kind"],
                    "scope": entry["scope"],
                    "label": entry["label"],
                    "fix": "safe",
                },
            )
            query = {
                "calls": entry["calls"],
                "imports": summary["imports"],
                "needs": entry.get("needs"),
                "names": entry.get("names", []),
                "helper": entry.get("helper"),
                "task": entry.get("task"),
            }
            self.defer_finding(finding, query)

    @classmethod
    def settle(
        cls, finding: Finding, query: Any, project: ProjectModel, facts: ModuleFacts
    ) -> Iterable[Finding]:
        needs = query.get("needs")
        if needs and not _needs_hold(project, facts, needs):
            return
        if query.get("names") and _mounted_elsewhere(project, query["names"]):
            return
        if query.get("helper") and not _referred_to_elsewhere(project, facts, query["helper"]):
            return  # a library helper: the caller's module is the entrypoint
        if query.get("task") and _started_as_task_elsewhere(project, facts, query["task"]):
            return  # a background task of a process whose entrypoint is elsewhere
        if project.hints.get(DEPENDENCIES_HINT):
            # Every module the verdict rests on is wanted (--changed-since): no pruning.
            proven, visited = _initialized_elsewhere(
                project, facts, query["calls"], query["imports"], None
            )
        else:
            proven, visited = _initialized_elsewhere(
                project, facts, query["calls"], query["imports"], _may_initialise(project)
            )
        if proven:
            return
        data = dict(finding.data)
        data["depends_on"] = visited
        yield Finding(
            path=finding.path,
            line=finding.line,
            col=finding.col,
            end_line=finding.end_line,
            end_col=finding.end_col,
            code=finding.code,
            message=finding.message,
            data=data,
        )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
from fastapi import FastAPI
from somatrace.tracing import init_tracing

init_tracing("chat-api")
app = FastAPI()
""",
            why="module-level init before the app is built",
        ),
        Valid(
            """
from flask import Flask
from somatrace.tracing import init_tracing

def create_app():
    init_tracing("billing")
    app = Flask(__name__)
    return app
""",
            why="init at the top of the app factory",
        ),
        Valid(
            """
import uvicorn
from somatrace.tracing import init_tracing

if __name__ == "__main__":
    init_tracing("search")
    uvicorn.run("app.main:app", host="0.0.0.0")
""",
            path="scripts/serve.py",
            why="init in the __main__ block before the server starts",
        ),
        Valid(
            """
from contextlib import asynccontextmanager
from fastapi import FastAPI
from somatrace.tracing import init_tracing

@asynccontextmanager
async def lifespan(app):
    init_tracing("rag")
    yield

app = FastAPI(lifespan=lifespan)
""",
            why="FastAPI lifespan handler",
        ),
        Valid(
            """
import fastapi
import somatrace.tracing as st

app = fastapi.FastAPI()

@app.on_event("startup")
async def startup():
    st.init_tracing("rag")
""",
            why="startup event handler, module import alias",
        ),
        Valid(
            """
from fastapi import FastAPI
from . import telemetry

app = FastAPI()
""",
            files={
                "services/demo/app/__init__.py": "",
                "services/demo/app/telemetry.py": """
from somatrace.tracing import init_tracing
init_tracing("demo")
""",
            },
            why="a relatively imported project module initialises at import time",
        ),
        Valid(
            """
from fastapi import FastAPI
from app.config import settings

app = FastAPI(title=settings)
""",
            files={
                "services/demo/app/__init__.py": "",
                "services/demo/app/config.py": """
import app.telemetry
settings = "demo"
""",
                "services/demo/app/telemetry.py": """
from somatrace.tracing import init_tracing
init_tracing("demo")
""",
            },
            why="transitive import-time init through another module",
        ),
        Valid(
            """
from fastapi import FastAPI
from shared.observability import setup_observability

setup_observability()
app = FastAPI()
""",
            files={
                "shared/__init__.py": "",
                "shared/observability.py": """
from somatrace.tracing import init_tracing

def setup_observability():
    init_tracing("shared")
""",
            },
            why="a project function that calls init, called at import time",
        ),
        Valid(
            """
import typer

app = typer.Typer()

if __name__ == "__main__":
    app()
""",
            path="tools/cli.py",
            why="a Typer app named app is a command line, not a service",
        ),
        Valid(
            """
import json

def main():
    print(json.dumps({"ok": True}))

if __name__ == "__main__":
    main()
""",
            path="scripts/report.py",
            why="a __main__ block that starts no server is not an entrypoint",
        ),
        Valid(
            """
import grpc


class SpanReceiver:
    async def __aenter__(self):
        self._server = grpc.aio.server()
        await self._server.start()
        return self

    async def __aexit__(self, *exc):
        await self._server.stop(None)
""",
            path="services/demo/app/receiver.py",
            why="a server a context manager starts is a resource of the process entering it",
        ),
        Valid(
            _BRIDGE,
            path="services/demo/app/bridge.py",
            files=_spawned_by(
                "graphs.py",
                """
async def load_graphs():
    asyncio.create_task(run_bridge())
""",
            ),
            why="a server another module starts as a task of its running process",
        ),
        Valid(
            '''
"""Build the app with `app = FastAPI()` and run `uvicorn.run(app)`."""
EXAMPLE = "app = Flask(__name__)"
''',
            path="lib/docs.py",
            why="constructions inside docstrings and strings are nothing",
        ),
        Valid(
            """
from celery import Celery
from celery.signals import worker_process_init
from somatrace.tracing import init_tracing

celery_app = Celery("worker", broker="redis://localhost")

@worker_process_init.connect
def start_tracing(**kwargs):
    init_tracing("worker")
""",
            why="Celery worker_process_init signal handler",
        ),
        Valid(
            """
from concurrent import futures
import grpc
from somatrace.tracing import init_tracing

def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.start()

if __name__ == "__main__":
    init_tracing("grpc-svc")
    serve()
""",
            why="the __main__ block initialises before calling the function that serves",
        ),
        Valid(
            """
from fastapi import FastAPI
import app.boot

app = FastAPI()
""",
            files={
                "services/demo/app/__init__.py": "",
                "services/demo/app/boot.py": """
from shared import obs as observability

observability.setup()
""",
                "shared/__init__.py": "",
                "shared/obs.py": """
from somatrace import tracing

def setup():
    tracing.init_tracing("demo")
""",
            },
            why="an imported module calls another module's wrapper at import time",
        ),
        Valid(
            """
from celery import Celery

celery_app = Celery("producer", broker="redis://localhost")

def enqueue(doc_id):
    celery_app.send_task("ingest.index", args=[doc_id])
""",
            path="services/api/app/queue.py",
            why="a Celery app that only sends tasks is a producer, not a worker",
        ),
        Valid(
            """
from fastapi import FastAPI

def test_health():
    app = FastAPI()
    assert app
""",
            path="services/demo/tests/test_health.py",
            why="apps built in tests are test apps",
        ),
        Valid(
            """
import subprocess
import sys

import click

@click.command()
def start(port: int) -> None:
    subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"0.0.0.0:{port}",
         "--worker-class", "uvicorn.workers.UvicornWorker", "gateway.app:create_app()"]
    ).wait()
""",
            path="gateway/cli.py",
            why="a command serving from a child process is a launcher, not the entrypoint",
        ),
        Valid(
            """
import gradio as gr

__all__ = ["launch_demo"]


def launch_demo(tool):
    \"\"\"Serve a tool in the browser::

        from toolkit.demo import launch_demo
        launch_demo(my_tool)
    \"\"\"
    gr.Interface(fn=tool, inputs="text", outputs="text").launch()
""",
            path="toolkit/demo.py",
            why="a library helper nothing in the project calls: its caller is the entrypoint",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
from fastapi import FastAPI

app = FastAPI()
""",
            line=3,
            col=7,
            message="FastAPI app",
        ),
        Invalid(
            """
from flask import Flask

def create_app():
    app = Flask(__name__)
    return app
""",
            line=4,
            col=11,
            message="create_app()",
        ),
        Invalid(
            """
import uvicorn
from somatrace.tracing import init_tracing

if __name__ == "__main__":
    uvicorn.run("app.main:app")
    init_tracing("too-late")
""",
            path="scripts/serve.py",
            line=5,
            col=5,
            message="__main__",
        ),
        Invalid(
            """
from concurrent import futures
import grpc

def serve():
    server = grpc.aio.server(futures.ThreadPoolExecutor(max_workers=4))
    server.start()

if __name__ == "__main__":
    serve()
""",
            path="services/grpc/server.py",
            line=5,
            col=14,
        ),
        Invalid(
            """
import grpc


class SpanReceiver:
    async def serve(self):
        self._server = grpc.aio.server()
        await self._server.start()
""",
            line=6,
            col=24,
            message="grpc.aio.server",
        ),
        Invalid(
            _BRIDGE,
            path="services/demo/app/bridge.py",
            files=_spawned_by(
                "run.py",
                """
async def main():
    asyncio.create_task(run_bridge())
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
""",
            ),
            line=6,
            col=14,
            message="Starlette app",
        ),
        Invalid(
            """
from celery import Celery

celery_app = Celery("worker", broker="redis://localhost")
""",
            path="services/worker/tasks.py",
            line=3,
            col=14,
        ),
        Invalid(
            """
from fastapi import FastAPI as _Base

class ChatApp(_Base):
    pass

app = ChatApp()
""",
            line=6,
            message="ChatApp",
            col=7,
        ),
        Invalid(
            """
import asyncio

async def consume():
    await asyncio.sleep(1)

if __name__ == "__main__":
    asyncio.run(consume())
""",
            path="services/worker/app/main.py",
            line=6,
            message="configured service entrypoint",
            col=1,
        ),
        Invalid(
            """
from fastapi import FastAPI
from app import telemetry

app = FastAPI()
""",
            files={
                "services/demo/app/__init__.py": "",
                "services/demo/app/telemetry.py": """
from somatrace.tracing import init_tracing

def later():
    init_tracing("demo")
""",
            },
            line=4,
            why="the imported module only defines a function that is never called",
            col=7,
        ),
        Invalid(
            """
from fastapi import FastAPI
from mylib.tracing import init_tracing

init_tracing("impostor")
app = FastAPI()
""",
            line=5,
            why="an init_tracing from another package is not the policy's helper",
            col=7,
        ),
        Invalid(
            """
from fastapi import FastAPI

app = FastAPI()
""",
            config={"init-function": ["platform_obs.start"]},
            files={"platform_obs.py": "def start(service):\n    ...\n"},
            line=3,
            why="init-function is configurable (a function the project defines)",
            col=7,
        ),
        Invalid(
            _FACTORY,
            files={"Procfile": "web: gunicorn 'services.demo.app.main:create_app(\"prod\")'\n"},
            line=5,
            why="a factory the project serves (named in its Procfile) is an entrypoint",
            col=11,
        ),
        Invalid(
            _FACTORY,
            files={
                "services/demo/app/__init__.py": "",
                "services/demo/factories.py": "import app.main\n\n"
                "FACTORIES = {'prod': app.main.create_app}\n",
            },
            line=5,
            why="a factory another module of the project refers to is an entrypoint",
            col=11,
        ),
    ]


def _message(entry: dict[str, Any]) -> str:
    label = entry["label"]
    scope = entry["scope"]
    if entry["kind"] == "configured":
        return (
            "configured service entrypoint never calls `init_tracing`: call it at module level "
            "or in the `__main__` block before the service starts"
        )
    where = {
        MODULE: "at module level, before the app is built",
        MAIN: "in the `__main__` block before the server starts",
    }.get(scope, f"at the top of `{scope[5:]}()`")
    return (
        f"service entrypoint ({label}) starts without `init_tracing`; call it {where}, in a "
        "startup/lifespan handler, or in a module this one imports"
    )


def _needs_hold(project: ProjectModel, facts: ModuleFacts, needs: dict[str, str]) -> bool:
    """What a candidate site needs from another module: ``mcp.run()`` on an imported ``mcp``
    (is it bound to an app that serves with that method?), or an imported class built at
    module level (is it a project subclass of an app class?)."""
    if "app_class" in needs:
        return _class_label(project, facts, needs["app_class"], 0) is not None
    label = _variable_label(project, facts, needs["app_var"])
    return label is not None and needs["method"] in APP_SERVES.get(label, ())


def _summary(
    project: ProjectModel, facts: ModuleFacts, qualified: str
) -> tuple[dict[str, Any], ModuleFacts, str] | None:
    """The ST101 facet of the project module defining ``qualified``, its context, the name."""
    if "." not in qualified:
        return None
    module, name = qualified.rsplit(".", 1)
    files = project.resolve_module(module, facts)
    if not files:
        return None
    return project.facet(files[-1], INIT_FACET) or {}, project.context_for(files[-1]), name


def _variable_label(project: ProjectModel, facts: ModuleFacts, qualified: str) -> str | None:
    found = _summary(project, facts, qualified)
    if found is None:
        return None
    summary, context, name = found
    label = summary.get("apps", {}).get(name)
    if label is None and name in summary.get("imported_instances", {}):
        label = _class_label(project, context, summary["imported_instances"][name], 0)
    return label


def _class_label(
    project: ProjectModel, facts: ModuleFacts, qualified: str, depth: int
) -> str | None:
    """The app label of a project class (``class QdrantMCPServer(FastMCP)``), following bases
    imported from other project modules."""
    if depth > 4:
        return None
    found = _summary(project, facts, qualified)
    if found is None:
        return None
    summary, context, name = found
    label = summary.get("app_classes", {}).get(name)
    if label is not None:
        return label
    for base in summary.get("imported_bases", {}).get(name, ()):
        label = APP_LABELS.get(base) or _class_label(project, context, base, depth + 1)
        if label is not None:
            return label
    return None


_MOUNTED_MEMO = "st101-mounted"


def _mounted_elsewhere(project: ProjectModel, names: list[str]) -> bool:
    """Whether a module read in this run mounts the app into another one (a sub-app)."""
    mounted = project.memo.get(_MOUNTED_MEMO)
    if mounted is None:  # once per run: the modules read are fixed, and many apps ask
        mounted = project.memo[_MOUNTED_MEMO] = frozenset(
            name
            for summary in project.read_facets(INIT_FACET)
            for name in summary.get("mounted", ())
        )
    return not mounted.isdisjoint(names)


_REFERENCES_MEMO = "st101-helper-references"
_TASKS_MEMO = "st101-task-references"


def _references(
    project: ProjectModel, facts: ModuleFacts, helper: str | None, task: str | None
) -> tuple[dict[str, set[str]], dict[str, TaskUses]]:
    """One pass over the project for every helper and task name of the modules read this run
    (and the one asked): ``(helper -> referring files, task -> TaskUses)``."""
    helpers: dict[str, set[str]] = project.memo.setdefault(_REFERENCES_MEMO, {})
    tasks: dict[str, TaskUses] = project.memo.setdefault(_TASKS_MEMO, {})
    if (helper is None or helper in helpers) and (task is None or task in tasks):
        return helpers, tasks
    read_facets = list(project.read_facets(INIT_FACET))
    names = {h for f in read_facets for h in f.get("helpers", ())} - helpers.keys()
    spawned = {t for f in read_facets for t in f.get("tasks", ())} - tasks.keys()
    names.update([helper] if helper is not None and helper not in helpers else [])
    spawned.update([task] if task is not None and task not in tasks else [])
    root = min(facts.roots, key=len) if facts.roots else os.path.dirname(facts.path)
    found, read, uses = referring_files(
        sorted(project.index.files), folders_under(project.index.dirs, root), names, spawned
    )
    project.used.update(path for path in read if path not in project.scans)
    helpers.update(found)
    tasks.update(uses)
    return helpers, tasks


def _referred_to_elsewhere(project: ProjectModel, facts: ModuleFacts, helper: str) -> bool:
    """Whether any project file but the helper's own module refers to it. The names of every
    helper of the modules read this run are looked for in one pass over the project."""
    helpers, _ = _references(project, facts, helper, None)
    return bool(helpers[helper] - {facts.path})


def _started_as_task_elsewhere(project: ProjectModel, facts: ModuleFacts, task: str) -> bool:
    """Whether another module starts the server function only as a background task of its
    own running process (``asyncio.create_task(serve())``), and no file refers to it in any
    other way: that process's entrypoint is the one to trace."""
    _, tasks = _references(project, facts, None, task)
    uses = tasks[task]
    return bool(uses.spawners - {facts.path}) and not (uses.others - {facts.path})


def _may_initialise(project: ProjectModel) -> frozenset[str]:
    """The modules whose import can initialise tracing, by the byte scans: a module that
    spells an init function, or imports (transitively) one that does. A module calls the init
    function, or a project function wrapping it, only if it spells its name or imports the
    module defining the wrapper, which spells it; the one shape this does not follow is a
    module-level call through an attribute chain to a submodule nothing imports
    (``import pkg`` then ``pkg.obs.setup()``, which works only when another module happened to
    import ``pkg.obs`` first)."""
    return project.import_ancestors(project.scans.spelling)


def _initialized_elsewhere(
    project: ProjectModel,
    facts: ModuleFacts,
    calls: list[str],
    imports: list[str],
    may_initialise: frozenset[str] | None,
) -> tuple[bool, list[str]]:
    """Follow one entrypoint's calls and import-time imports through the project: is tracing
    initialised by a project function it calls, or by a module it imports (transitively)?

    Breadth first; the modules of a level that are not known yet are asked for together, so
    the project join fetches a whole level at once. With ``may_initialise`` (see
    :func:`_may_initialise`), a module outside it is neither read nor followed."""
    missing: list[tuple[str, str]] = []

    def may(path: str) -> bool:
        return may_initialise is None or path in may_initialise

    def spells_init(path: str) -> bool:
        return may_initialise is None or path not in project.scans or path in project.scans.spelling

    def summary_of(path: str) -> dict[str, Any] | None:
        try:
            return project.facet(path, INIT_FACET)
        except Missing as need:
            missing.extend(need.wanted)
            return None

    def is_wrapper(context: ModuleFacts, qualified: str) -> bool:
        if "." not in qualified:
            return False
        files = project.resolve_module(qualified.rsplit(".", 1)[0], context)
        if not files or not spells_init(files[-1]):
            return False  # a wrapper calls the init function, so its module spells it
        summary = summary_of(files[-1])
        return bool(summary) and qualified in summary.get("wrappers", [])

    if any([is_wrapper(facts, name) for name in calls]):
        return True, []
    visited: list[str] = []
    seen: set[str] = {facts.path}
    level: list[tuple[str, ModuleFacts]] = [(name, facts) for name in imports]
    while level and len(seen) < MAX_IMPORT_CLOSURE:
        following: list[tuple[str, ModuleFacts]] = []
        for module, importer in level:
            for path in project.resolve_module(module, importer):
                if path in seen:
                    continue
                seen.add(path)
                if not may(path):
                    continue
                visited.append(path)
                summary = summary_of(path)
                if not summary:
                    continue
                context = project.context_for(path)
                if summary.get("init_at_import") or any(
                    [is_wrapper(context, n) for n in summary.get("module_calls", [])]
                ):
                    return True, visited
                following.extend((name, context) for name in summary.get("imports", []))
        if missing:
            raise Missing(*missing[0], *missing[1:])
        level = following
    return False, visited
