"""ST101 missing-init-tracing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, ProviderT, ScopeProvider

from somatrace.checks.analysis.names import dotted, keyword, qualified_names, string_value
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.modules import module_files, resolve_relative, search_roots
from somatrace.checks.lint.rule import FileContext, Invalid, ProjectRule, Valid

APP_CLASSES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "starlette.applications.Starlette",
        "flask.Flask",
        "flask.app.Flask",
        "quart.Quart",
        "quart.app.Quart",
        "sanic.Sanic",
        "sanic.app.Sanic",
        "celery.Celery",
        "celery.app.base.Celery",
        "aiohttp.web.Application",
        "litestar.Litestar",
    }
)
SERVER_STARTS = frozenset(
    {
        "uvicorn.run",
        "uvicorn.main.run",
        "hypercorn.asyncio.serve",
        "hypercorn.trio.serve",
        "grpc.server",
        "grpc.aio.server",
        "aiohttp.web.run_app",
        "waitress.serve",
    }
)
# Decorators (by their dotted spelling, arguments ignored) that mark a start-up hook.
STARTUP_DECORATORS = (
    "on_event:startup",
    "before_serving",
    "before_first_request",
    "before_server_start",
    "main_process_start",
    "worker_process_init.connect",
    "worker_init.connect",
    "celeryd_init.connect",
)
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
    b"grpc",
    b"waitress",
)
_FRAMEWORK_IMPORT = re.compile(
    rb"^[ \t]*(?:from|import)[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*(?:"
    + b"|".join(_FRAMEWORK_MODULES)
    + rb")\b",
    re.MULTILINE,
)

MODULE = "module"
MAIN = "main"


@dataclass
class Site:
    """A place where a service starts: an app is built or a server is started."""

    kind: str  # "app" | "server"
    label: str
    scope: str  # "module" | "main" | "func:<qualified function name>"
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass
class FunctionFacts:
    name: str
    top_level: bool
    init_lines: list[int] = field(default_factory=list)
    calls: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, qualified names)
    is_startup_hook: bool = False


def _is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    names = [s.value for s in sides if isinstance(s, cst.Name)]
    strings = [string_value(s) for s in sides]
    return names == ["__name__"] and "__main__" in strings


def _decorator_key(decorator: cst.Decorator) -> str:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        name = dotted(expr.func) or ""
        first = string_value(expr.args[0].value) if expr.args else None
        return f"{name}:{first}" if first else name
    return dotted(expr) or ""


class MissingInitTracing(ProjectRule):
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
      that calls it, or a project function that calls it, at import time.

    A `typer.Typer()` or `click.group()` called `app` is a command line, not a service, and a
    `__main__` block that starts no server is not an entrypoint. Each entrypoint is reported
    once, at the app construction or server start.

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

    CODE = "ST101"
    NAME = "missing-init-tracing"
    FIXABLE = True
    TRIGGERS = _FRAMEWORK_MODULES  # refined by applies_to: the framework must be imported
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        PositionProvider,
        ScopeProvider,
    )

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        if ctx.is_configured_entrypoint:
            return True
        if not ctx.config.auto_detect_entrypoints:
            return False
        # An app or server can only be detected where its framework is imported; the import
        # check keeps "Quarter" or "XQuartz" from costing a parse.
        if not any(t in source for t in _FRAMEWORK_MODULES):
            return False
        return _FRAMEWORK_IMPORT.search(source) is not None

    NEEDS_CONTEXT_FILTER = True

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.init_names = frozenset(ctx.config.init_functions)
        self.functions: dict[str, FunctionFacts] = {}
        self.func_stack: list[str] = []
        self.class_stack: list[str] = []
        self.main_guard: cst.If | None = None
        self.module_init_lines: list[int] = []
        self.main_init_lines: list[int] = []
        self.module_calls: list[tuple[int, list[str]]] = []
        self.main_calls: list[tuple[int, list[str]]] = []
        self.imports: list[str] = []
        self.sites: list[Site] = []
        self.app_vars: set[str] = set()
        self.local_app_classes: set[str] = set()
        self.lifespan_hooks: set[str] = set()
        self.main_guard_line: int | None = None

    # ----------------------------------------------------------------- scopes
    def _scope(self) -> str:
        if self.func_stack:
            return f"func:{self.func_stack[-1]}"
        return MAIN if self.main_guard is not None else MODULE

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.append(node.name.value)
        if not self.func_stack:
            for base in node.bases:
                names = qualified_names(self, base.value)
                if names & APP_CLASSES or names & self.local_app_classes:
                    self.local_app_classes.add(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        prefix = f"{self.func_stack[-1]}." if self.func_stack else ""
        if not self.func_stack and self.class_stack:
            prefix = ".".join(self.class_stack) + "."
        name = prefix + node.name.value
        facts = FunctionFacts(name=name, top_level=not self.func_stack and not self.class_stack)
        keys = [_decorator_key(d) for d in node.decorators]
        facts.is_startup_hook = any(
            key.endswith(marker) or key.split(":")[0].endswith(marker)
            for key in keys
            for marker in STARTUP_DECORATORS
        )
        self.functions[name] = facts
        self.func_stack.append(name)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.func_stack.pop()

    def visit_If(self, node: cst.If) -> None:
        if not self.func_stack and not self.class_stack and self.main_guard is None:
            if _is_main_guard(node):
                self.main_guard = node
                self.main_guard_line = self._pos(node)[0]

    def leave_If(self, original_node: cst.If) -> None:
        if original_node is self.main_guard:
            self.main_guard = None

    # ---------------------------------------------------------------- imports
    def visit_Import(self, node: cst.Import) -> None:
        if self.func_stack:
            return
        for alias in node.names:
            name = dotted(alias.name)
            if name:
                self.imports.append(name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if self.func_stack:
            return
        base = dotted(node.module) if node.module else ""
        dots = "." * len(node.relative)
        module = self._absolute(dots + (base or ""))
        if module is None:
            return
        self.imports.append(module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                self.imports.append(f"{module}.{alias.name.value}")

    def _absolute(self, name: str) -> str | None:
        if not name.startswith("."):
            return name or None
        return resolve_relative(name, self.ctx.module_name, self.ctx.path.name == "__init__.py")

    # ------------------------------------------------------------------ calls
    def _pos(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        pos = self.get_metadata(PositionProvider, node)
        return pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1

    def _add_site(self, node: cst.CSTNode, kind: str, label: str) -> None:
        line, col, end_line, end_col = self._pos(node)
        self.sites.append(Site(kind, label, self._scope(), line, col, end_line, end_col))

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.func_stack or not isinstance(node.value, cst.Call):
            return
        names = qualified_names(self, node.value.func)
        if names & APP_CLASSES or names & self.local_app_classes:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.app_vars.add(target.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        names = qualified_names(self, node.func)
        line = self._pos(node)[0]
        scope = self._scope()
        if names & self.init_names:
            if scope == MODULE:
                self.module_init_lines.append(line)
            elif scope == MAIN:
                self.main_init_lines.append(line)
            else:
                self.functions[self.func_stack[-1]].init_lines.append(line)
        elif names:
            record = (line, sorted(names))
            if scope == MODULE:
                self.module_calls.append(record)
            elif scope == MAIN:
                self.main_calls.append(record)
            else:
                self.functions[self.func_stack[-1]].calls.append(record)
        if not self.ctx.config.auto_detect_entrypoints and not self.ctx.is_configured_entrypoint:
            return
        app_names = names & APP_CLASSES
        local_app = names & self.local_app_classes
        if app_names or local_app:
            label = sorted(app_names)[0].rsplit(".", 1)[-1] if app_names else sorted(local_app)[0]
            self._add_site(node, "app", f"{label} app")
            for kw in ("lifespan",):
                arg = keyword(node, kw)
                if arg is not None and isinstance(arg.value, cst.Name):
                    self.lifespan_hooks.add(arg.value.value)
            arg = keyword(node, "on_startup")
            if arg is not None and isinstance(arg.value, cst.List | cst.Tuple):
                for element in arg.value.elements:
                    if isinstance(element.value, cst.Name):
                        self.lifespan_hooks.add(element.value.value)
            return
        starts = names & SERVER_STARTS
        if starts:
            self._add_site(node, "server", sorted(starts)[0])
            return
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in {"run", "add_event_handler"}
            and isinstance(func.value, cst.Name)
            and func.value.value in self.app_vars
        ):
            if func.attr.value == "run":
                self._add_site(node, "server", f"{func.value.value}.run")
            elif node.args and string_value(node.args[0].value) == "startup":
                if len(node.args) > 1 and isinstance(node.args[1].value, cst.Name):
                    self.lifespan_hooks.add(node.args[1].value.value)

    # ---------------------------------------------------------------- summary
    def file_summary(self) -> dict[str, Any]:
        def calls_init(fn: FunctionFacts, wrappers: set[str]) -> bool:
            return bool(fn.init_lines) or any(set(names) & wrappers for _, names in fn.calls)

        # Local wrappers: top-level functions that call init, directly or via another wrapper.
        wrappers: set[str] = set()
        changed = True
        while changed:
            changed = False
            for fn in self.functions.values():
                if fn.top_level and fn.name not in wrappers and calls_init(fn, wrappers):
                    wrappers.add(fn.name)
                    changed = True
        hooks_init = any(
            (fn.is_startup_hook or fn.name in self.lifespan_hooks) and calls_init(fn, wrappers)
            for fn in self.functions.values()
        )
        module_init = bool(self.module_init_lines) or any(
            set(names) & wrappers for _, names in self.module_calls
        )
        main_init_line = min(
            self.main_init_lines
            + [line for line, names in self.main_calls if set(names) & wrappers],
            default=None,
        )
        main_called = {
            name: line for line, names in self.main_calls for name in names
        }  # function -> line it is called in the main block

        entries: list[dict[str, Any]] = []
        module_sites = [s for s in self.sites if s.scope in (MODULE, MAIN)]
        if module_sites:
            apps = [s for s in module_sites if s.kind == "app"]
            site = apps[0] if apps else module_sites[0]
            starts = [s.line for s in module_sites if s.scope == MAIN and s.kind == "server"]
            initialized = module_init or hooks_init
            if main_init_line is not None and (
                site.scope == MODULE or not starts or main_init_line < min(starts)
            ):
                initialized = True
            calls = [n for _, names in self.module_calls for n in names]
            if site.scope == MAIN:
                calls += [n for line, names in self.main_calls if line < site.line for n in names]
            entries.append(self._entry(site, initialized, calls))
        by_function: dict[str, list[Site]] = {}
        for s in self.sites:
            if s.scope.startswith("func:"):
                by_function.setdefault(s.scope[5:], []).append(s)
        for name, sites in by_function.items():
            site = sites[0]
            fn = self.functions[name]
            top = name.split(".")[0]
            before = [n for line, names in fn.calls if line < site.line for n in names]
            initialized = (
                module_init
                or hooks_init
                or any(line < site.line for line in fn.init_lines)
                or bool(set(before) & wrappers)
                or (
                    main_init_line is not None
                    and top in main_called
                    and main_init_line < main_called[top]
                )
            )
            calls = [n for _, names in self.module_calls for n in names] + before
            if top in main_called:  # the __main__ block may initialise before calling it
                calls += [
                    n for line, names in self.main_calls if line < main_called[top] for n in names
                ]
            entries.append(self._entry(site, initialized, calls))
        if not entries and self.ctx.is_configured_entrypoint:
            any_init = (
                module_init
                or hooks_init
                or main_init_line is not None
                or any(fn.init_lines for fn in self.functions.values())
            )
            line = self.main_guard_line or 1
            site = Site("configured", "configured entrypoint", MODULE, line, 1, line, 1)
            calls = [n for _, names in self.module_calls + self.main_calls for n in names]
            calls += [n for fn in self.functions.values() for _, names in fn.calls for n in names]
            entries.append(self._entry(site, any_init, calls))
        return {
            "module": self.ctx.module_name,
            "init_at_import": module_init,
            "module_calls": sorted({n for _, names in self.module_calls for n in names}),
            "wrappers": sorted(wrappers),
            "imports": sorted(set(self.imports)),
            "entrypoints": entries,
        }

    def _entry(self, site: Site, initialized: bool, calls: list[str]) -> dict[str, Any]:
        return {**asdict(site), "initialized": initialized, "calls": sorted(set(calls))}

    # ----------------------------------------------------------- project pass
    @classmethod
    def quick_summary(cls, source: bytes, ctx: FileContext) -> dict[str, Any] | None:
        """The import-graph facts of a module that cannot start tracing itself.

        A module whose text never names the init function (nor therefore defines a wrapper of
        it) needs no LibCST visit to be followed through: its module-level imports and calls
        come from CPython's own parser, ten times faster. Calls are resolved through the
        module's import table so that a call of another module's wrapper still counts.
        """
        names = {name.rsplit(".", 1)[-1].encode() for name in ctx.config.init_functions}
        if any(name in source for name in names):
            return None
        return _quick_import_facts(source, ctx)

    @classmethod
    def check_project(cls, index: Any) -> Iterable[Finding]:
        for path, summary in sorted(index.summaries.items()):
            entries = summary.get("entrypoints") or []
            if not entries:
                continue
            ctx: FileContext = index.contexts[path]
            resolver = _ProjectResolver(index, ctx)
            for entry in entries:
                if entry["initialized"]:
                    continue
                proven, visited = resolver.initialized_elsewhere(summary, entry["calls"])
                if proven:
                    continue
                yield Finding(
                    path=ctx.display_path,
                    line=entry["line"],
                    col=entry["col"],
                    end_line=entry["end_line"],
                    end_col=entry["end_col"],
                    code=cls.CODE,
                    message=_message(entry),
                    data={
                        "kind": entry["kind"],
                        "scope": entry["scope"],
                        "label": entry["label"],
                        "fixable": True,
                        "depends_on": [str(p) for p in visited],
                    },
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
from celery import Celery

celery_app = Celery("worker", broker="redis://localhost")
""",
            path="services/worker/tasks.py",
            line=3,
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
        ),
        Invalid(
            """
from fastapi import FastAPI

app = FastAPI()
""",
            config={"init-function": ["platform_obs.start"]},
            line=3,
            why="init-function is configurable",
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


class _ProjectResolver:
    """Follows one entrypoint's imports through the project to find import-time tracing."""

    def __init__(self, index: Any, ctx: FileContext) -> None:
        self.index = index
        self.ctx = ctx
        self.roots = search_roots(ctx.package_root, ctx.config.root)

    def _files(self, module: str) -> list[Path]:
        return module_files(module, self.roots)

    def _is_wrapper(self, qualified: str) -> bool:
        if "." not in qualified:
            return False
        module, func = qualified.rsplit(".", 1)
        files = self._files(module)
        if not files:
            return False
        summary = self.index.summary_for(files[-1])
        return bool(summary) and func in summary.get("wrappers", [])

    def initialized_elsewhere(
        self, summary: dict[str, Any], calls: list[str]
    ) -> tuple[bool, list[Path]]:
        if any(self._is_wrapper(name) for name in calls):
            return True, []
        visited: list[Path] = []
        seen: set[Path] = {self.ctx.path}
        queue = list(summary.get("imports", []))
        while queue and len(seen) < MAX_IMPORT_CLOSURE:
            module = queue.pop(0)
            for path in self._files(module):
                if path in seen:
                    continue
                seen.add(path)
                visited.append(path)
                imported = self.index.summary_for(path)
                if not imported:
                    continue
                if imported.get("init_at_import") or any(
                    self._is_wrapper(n) for n in imported.get("module_calls", [])
                ):
                    return True, visited
                queue.extend(imported.get("imports", []))
        return False, visited


def _quick_import_facts(source: bytes, ctx: FileContext) -> dict[str, Any] | None:
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    is_package = ctx.path.name == "__init__.py"
    table: dict[str, str] = {}
    imports: list[str] = []
    calls: set[str] = set()

    def absolute(module: str | None, level: int) -> str | None:
        name = "." * level + (module or "")
        if not level:
            return name or None
        return resolve_relative(name, ctx.module_name, is_package)

    def dotted_ast(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = dotted_ast(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
        for stmt in body:
            yield stmt
            if isinstance(stmt, ast.If):
                test = stmt.test
                if (
                    isinstance(test, ast.Compare)
                    and isinstance(test.left, ast.Name)
                    and test.left.id == "__name__"
                ):
                    continue  # the __main__ block does not run at import time
                yield from statements(stmt.body)
                yield from statements(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                for block in (stmt.body, stmt.orelse, stmt.finalbody):
                    yield from statements(block)
                for handler in stmt.handlers:
                    yield from statements(handler.body)
            elif isinstance(stmt, ast.With):
                yield from statements(stmt.body)

    for stmt in statements(tree.body):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                imports.append(alias.name)
                local = alias.asname or alias.name.split(".")[0]
                table[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(stmt, ast.ImportFrom):
            module = absolute(stmt.module, stmt.level)
            if module is None:
                continue
            imports.append(module)
            for alias in stmt.names:
                if alias.name != "*":
                    imports.append(f"{module}.{alias.name}")
                    table[alias.asname or alias.name] = f"{module}.{alias.name}"
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    continue
                if isinstance(node, ast.Call):
                    name = dotted_ast(node.func)
                    if name:
                        head, _, rest = name.partition(".")
                        resolved = table.get(head)
                        if resolved:
                            calls.add(f"{resolved}.{rest}" if rest else resolved)
    return {
        "module": ctx.module_name,
        "init_at_import": False,
        "module_calls": sorted(calls),
        "wrappers": [],
        "imports": sorted(set(imports)),
        "entrypoints": [],
    }
