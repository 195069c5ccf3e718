"""Service entrypoints as the code shows them: which calls build a served app or start a server,
which functions run at start-up, and where tracing is initialised (ST101).

Sites are reported where the service starts: an app construction (FastAPI, Starlette, Flask,
Quart, Sanic, aiohttp, Litestar, Celery, FastMCP) at module level or in a factory, or a server
start (uvicorn, hypercorn, granian, grpc, aiohttp ``run_app``, waitress, ``websockets.serve``,
``http.server``, ``app.run()``, ``mcp.run()``, Gradio's ``launch()``).

Not entrypoints: apps built in test files (``tests/``, ``test_*.py``, ``*_test.py``,
``conftest.py``) or in pytest fixtures and ``test_*`` functions; a Typer/Click command line; a
Celery app that only sends tasks. How a Celery app is judged: it is a *producer* when its module
sends tasks through it (``send_task``, ``signature``) and shows no sign of a worker; signs of a
worker are a task defined in the module (``@app.task``, ``@shared_task``), tasks included or
discovered (``include=``/``imports=``, ``autodiscover_tasks``, ``conf.include``/``conf.imports``),
a worker started (``worker_main``, ``start``) or a worker signal connected
(``worker_process_init`` ...). A Celery app with neither sign is a worker entrypoint (``celery
-A module worker`` is how most are started, with the tasks in other modules).
"""

from __future__ import annotations

import ast
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from somatrace.checks.analysis.values import string_value
from somatrace.checks.lint.known import ApiTable
from somatrace.checks.lint.module import FunctionNode, Module, Scope, walk_shallow

_APPS = {
    "fastapi.FastAPI": "FastAPI",
    "fastapi.applications.FastAPI": "FastAPI",
    "starlette.applications.Starlette": "Starlette",
    "flask.Flask": "Flask",
    "flask.app.Flask": "Flask",
    "quart.Quart": "Quart",
    "quart.app.Quart": "Quart",
    "sanic.Sanic": "Sanic",
    "sanic.app.Sanic": "Sanic",
    "celery.Celery": "Celery",
    "celery.app.base.Celery": "Celery",
    "celery.app.Celery": "Celery",
    "aiohttp.web.Application": "aiohttp",
    "aiohttp.web_app.Application": "aiohttp",
    "litestar.Litestar": "Litestar",
    "litestar.app.Litestar": "Litestar",
    "mcp.server.fastmcp.FastMCP": "FastMCP",
    "mcp.server.fastmcp.server.FastMCP": "FastMCP",
    "fastmcp.FastMCP": "FastMCP",
    "fastmcp.server.FastMCP": "FastMCP",
    "fastmcp.server.server.FastMCP": "FastMCP",
}
_GRADIO = {
    "gradio.Blocks": "Gradio",
    "gradio.Interface": "Gradio",
    "gradio.ChatInterface": "Gradio",
    "gradio.TabbedInterface": "Gradio",
    "gradio.blocks.Blocks": "Gradio",
    "gradio.interface.Interface": "Gradio",
}
# Calls that start a server (the process serves from here on).
SERVER_STARTS = frozenset(
    {
        "uvicorn.run",
        "uvicorn.main.run",
        "hypercorn.asyncio.serve",
        "hypercorn.trio.serve",
        "granian.Granian",
        "granian.server.Granian",
        "grpc.server",
        "grpc.aio.server",
        "aiohttp.web.run_app",
        "waitress.serve",
        "websockets.serve",
        "websockets.server.serve",
        "websockets.asyncio.server.serve",
        "websockets.sync.server.serve",
        "http.server.HTTPServer",
        "http.server.ThreadingHTTPServer",
        "wsgiref.simple_server.make_server",
        "socketserver.TCPServer",
        "socketserver.ThreadingTCPServer",
    }
)
# `<app>.<method>()` that serves: Flask/Quart/Sanic/FastMCP `run`, Gradio `launch`, Celery's
# `worker_main`/`start`.
APP_SERVES = {
    "Flask": ("run",),
    "Quart": ("run",),
    "Sanic": ("run",),
    "FastMCP": ("run",),
    "Gradio": ("launch", "queue"),
    "Celery": ("worker_main", "start"),
}
# A Prometheus exporter's `start_http_server` serves from a thread: it is a service only when
# the same block then keeps the process alive.
PROMETHEUS_SERVER = frozenset(
    {"prometheus_client.start_http_server", "prometheus_client.exposition.start_http_server"}
)
_BLOCKING_CALLS = frozenset({"serve_forever", "pause", "wait", "join", "run_forever", "sleep"})
_BLOCKING_NAMES = frozenset({"asyncio.run", "signal.pause"})
# Decorators (dotted spelling, first string argument) that mark a start-up hook.
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
_CELERY_WORKER_SIGNALS = ("worker_process_init", "worker_init", "celeryd_init", "worker_ready")
_NOT_SERVICES = frozenset({"typer.Typer", "click.group", "click.command"})
_TEST_FUNCTIONS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})

TABLE = ApiTable(
    types={
        **{k: f"app:{v}" for k, v in _APPS.items()},
        **{k: f"app:{v}" for k, v in _GRADIO.items()},
    },
)

MODULE = "module"
MAIN = "main"


def is_test_path(relpath: str) -> bool:
    """Files pytest collects or configures: their apps are test apps."""
    parts = relpath.replace(os.sep, "/").split("/")
    name = parts[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in ("tests", "test") for part in parts[:-1])


@dataclass
class Site:
    kind: str  # "app" | "server" | "configured"
    label: str
    scope: str  # "module" | "main" | "func:<qualname>"
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass
class _Function:
    qualname: str
    node: FunctionNode
    top_level: bool
    init_lines: list[int] = field(default_factory=list)
    calls: list[tuple[int, list[str]]] = field(default_factory=list)
    startup_hook: bool = False
    test: bool = False


def _decorator_key(module: Module, decorator: ast.expr) -> str:
    from somatrace.checks.lint.module import dotted

    if type(decorator) is ast.Call:
        name = dotted(decorator.func) or ""  # type: ignore[attr-defined]
        first = string_value(decorator.args[0]) if decorator.args else None  # type: ignore[attr-defined]
        return f"{name}:{first}" if first else name
    return dotted(decorator) or ""


class EntrypointAnalysis:
    """ST101's facts about one module, computed in one pass over its calls."""

    def __init__(
        self,
        module: Module,
        init_functions: frozenset[str],
        *,
        configured: bool,
        auto_detect: bool = True,
    ) -> None:
        self.module = module
        self.init_functions = init_functions
        self.configured = configured
        self.auto_detect = auto_detect
        self.test_file = is_test_path(module.relpath)
        self.functions: dict[str, _Function] = {}
        self.module_init: list[int] = []
        self.main_init: list[int] = []
        self.module_calls: list[tuple[int, list[str]]] = []
        self.main_calls: list[tuple[int, list[str]]] = []
        self.sites: list[Site] = []
        self.app_vars: dict[str, str] = {}  # module-level name -> app label
        self.local_app_classes: dict[str, str] = {}
        self.hooks: set[str] = set()
        self.celery_evidence = False  # signs of a worker
        self.celery_producer = False  # signs of a producer
        self._collect()

    # -- facts ------------------------------------------------------------------------------

    def _scope_key(self, scope: Scope, node: ast.AST) -> str:
        function = scope.function
        if function is not None:
            return f"func:{function.qualname}"
        return MAIN if self.module.in_main_guard(node) else MODULE

    def _collect(self) -> None:
        module = self.module
        for fn, scope in module.functions:
            outer = scope.parent or module.scope
            keys = [_decorator_key(module, d) for d in fn.decorator_list]
            facts = _Function(scope.qualname, fn, top_level=outer.kind == "module")
            facts.startup_hook = any(
                key.endswith(marker) or key.split(":")[0].endswith(marker)
                for key in keys
                for marker in STARTUP_DECORATORS
            )
            decorator_names = {
                n
                for d in fn.decorator_list
                for n in module.qualified_names(d.func if type(d) is ast.Call else d, outer)  # type: ignore[attr-defined]
            }
            facts.test = fn.name.startswith("test_") or bool(decorator_names & _TEST_FUNCTIONS)
            if any(key.split(".")[0] in _CELERY_WORKER_SIGNALS for key in keys):
                self.celery_evidence = True
            if any(key.endswith(".task") or key.endswith("shared_task") for key in keys):
                self.celery_evidence = True
            self.functions[scope.qualname] = facts
        for cls, scope in module.classes:
            if scope.parent is not module.scope:
                continue
            for base in cls.bases:
                label = self._app_label(module.qualified_names(base, module.scope))
                if label is None:
                    name = base.id if type(base) is ast.Name else None  # type: ignore[attr-defined]
                    label = self.local_app_classes.get(name or "")
                if label is not None:
                    self.local_app_classes[cls.name] = cls.name  # named after itself
        for node, scope in module.assignments:
            if scope is not module.scope or type(node) is ast.AugAssign:
                continue
            value = node.value
            if type(value) is not ast.Call:
                continue
            label = self._construction_label(value, scope)
            if label is None:
                continue
            targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[union-attr]
            for target in targets:
                if type(target) is ast.Name:
                    self.app_vars[target.id] = label
        for call, scope in module.calls:
            self._call(call, scope)

    def _app_label(self, names: frozenset[str]) -> str | None:
        for name in names:
            label = _APPS.get(name) or _GRADIO.get(name)
            if label is not None:
                return label
        return None

    def _construction_label(self, call: ast.Call, scope: Scope) -> str | None:
        names = self.module.qualified_names(call.func, scope)
        label = self._app_label(names)
        if label is None and type(call.func) is ast.Name:
            if scope.lookup(call.func.id) and call.func.id in self.local_app_classes:
                owner, _ = scope.lookup(call.func.id)  # type: ignore[misc]
                if owner is self.module.scope:
                    label = self.local_app_classes[call.func.id]
        return label

    def _call(self, call: ast.Call, scope: Scope) -> None:
        module = self.module
        names = module.qualified_names(call.func, scope)
        line = call.lineno
        where = self._scope_key(scope, call)
        if names & self.init_functions:
            self._record_init(where, line)
        elif names:
            record = (line, sorted(names))
            if where == MODULE:
                self.module_calls.append(record)
            elif where == MAIN:
                self.main_calls.append(record)
            else:
                fn = self.functions.get(where[5:])
                if fn is not None:
                    fn.calls.append(record)
        func = call.func
        if type(func) is ast.Attribute:
            attr = func.attr
            if attr in ("autodiscover_tasks", "worker_main"):
                self.celery_evidence = True
            elif attr in ("send_task", "signature"):
                self.celery_producer = True
            if attr in ("include", "imports") and type(func.value) is ast.Attribute:
                self.celery_evidence = True
        if self.test_file or not (self.auto_detect or self.configured):
            return
        label = self._construction_label(call, scope)
        if label is not None:
            if label == "Gradio":
                return  # a Gradio UI serves only when launched (or when mounted elsewhere)
            if label == "Celery" and any(kw.arg in ("include", "imports") for kw in call.keywords):
                self.celery_evidence = True
            self._add_site(call, "app", f"{label} app", where)
            self._note_hooks(call)
            return
        starts = names & SERVER_STARTS
        if starts:
            self._add_site(call, "server", sorted(starts)[0], where)
            return
        if names & PROMETHEUS_SERVER and self._blocks_after(call, scope):
            self._add_site(call, "server", "prometheus_client.start_http_server", where)
            return
        if type(func) is ast.Attribute:
            self._method_start(call, func, scope, where)

    def _method_start(self, call: ast.Call, func: ast.Attribute, scope: Scope, where: str) -> None:
        receiver = func.value
        label: str | None = None
        if type(receiver) is ast.Name:
            found = scope.lookup(receiver.id)
            if found is not None and found[0] is self.module.scope:
                label = self.app_vars.get(receiver.id)
        elif type(receiver) is ast.Call:
            label = self._construction_label(receiver, scope)
        if label is None:
            return
        if func.attr in APP_SERVES.get(label, ()):
            if func.attr == "queue":
                return  # `demo.queue().launch()`: the launch is the start
            self._add_site(call, "server", f"{dotted_receiver(receiver)}.{func.attr}", where)
        elif func.attr == "add_event_handler" and call.args:
            if string_value(call.args[0]) == "startup" and len(call.args) > 1:
                if type(call.args[1]) is ast.Name:
                    self.hooks.add(call.args[1].id)

    def _note_hooks(self, call: ast.Call) -> None:
        for kw in call.keywords:
            if kw.arg == "lifespan" and type(kw.value) is ast.Name:
                self.hooks.add(kw.value.id)
            elif kw.arg == "on_startup" and type(kw.value) in (ast.List, ast.Tuple):
                for element in kw.value.elts:  # type: ignore[attr-defined]
                    if type(element) is ast.Name:
                        self.hooks.add(element.id)

    def _blocks_after(self, call: ast.Call, scope: Scope) -> bool:
        """Whether the body that calls ``call`` goes on serving: a ``while True`` loop or a
        blocking call (``serve_forever``, ``signal.pause``, ``Event.wait``, ``asyncio.run``...)."""
        function = scope.function
        body = function.node.body if function is not None else self.module.tree.body  # type: ignore[attr-defined]
        if function is None and self.module.in_main_guard(call):
            guard = next(
                g for g in self.module.main_guards if g.lineno <= call.lineno <= (g.end_lineno or 0)
            )
            body = guard.body
        for statement in body:
            if statement.lineno < call.lineno:
                continue
            for node in walk_shallow(statement):
                if type(node) is ast.While and type(node.test) is ast.Constant and node.test.value:
                    return True
                if type(node) is ast.Call:
                    name = self.module.qualified_names(node.func, scope)  # type: ignore[attr-defined]
                    attr = node.func.attr if type(node.func) is ast.Attribute else None  # type: ignore[attr-defined]
                    if name & _BLOCKING_NAMES or attr in _BLOCKING_CALLS - {"sleep"}:
                        return True
        return False

    def _record_init(self, where: str, line: int) -> None:
        if where == MODULE:
            self.module_init.append(line)
        elif where == MAIN:
            self.main_init.append(line)
        else:
            fn = self.functions.get(where[5:])
            if fn is not None:
                fn.init_lines.append(line)

    def _add_site(self, call: ast.Call, kind: str, label: str, where: str) -> None:
        if where.startswith("func:"):
            fn = self.functions.get(where[5:])
            if fn is not None and self._in_test_function(fn):
                return
        span = self.module.span(call)
        self.sites.append(
            Site(kind, label, where, span.line, span.col, span.end_line, span.end_col)
        )

    def _in_test_function(self, fn: _Function) -> bool:
        parts = fn.qualname.split(".<locals>.")
        return any(
            self.functions.get(".<locals>.".join(parts[: i + 1]), fn).test
            for i in range(len(parts))
        )

    # -- summary ----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The facts ST101 keeps per module (JSON): entrypoints found here and what the import
        graph needs (does it initialise at import time, which functions wrap the init)."""

        def calls_init(fn: _Function, wrappers: set[str]) -> bool:
            return bool(fn.init_lines) or any(set(names) & wrappers for _, names in fn.calls)

        prefix = f"{self.module.module_name}." if self.module.module_name else ""
        wrappers: set[str] = set()
        changed = True
        while changed:
            changed = False
            for fn in self.functions.values():
                qualified = prefix + fn.qualname
                if fn.top_level and qualified not in wrappers and calls_init(fn, wrappers):
                    wrappers.add(qualified)
                    changed = True
        hooks_init = any(
            (fn.startup_hook or fn.qualname in self.hooks) and calls_init(fn, wrappers)
            for fn in self.functions.values()
        )
        module_init = bool(self.module_init) or any(
            set(names) & wrappers for _, names in self.module_calls
        )
        main_init_line = min(
            self.main_init + [line for line, names in self.main_calls if set(names) & wrappers],
            default=None,
        )
        main_called: dict[str, int] = {}
        for line, names in self.main_calls:
            for name in names:
                main_called.setdefault(name, line)
        entries: list[dict[str, Any]] = []
        module_sites = [s for s in self.sites if s.scope in (MODULE, MAIN)]
        sites = self._worker_sites(module_sites)
        if sites:
            apps = [s for s in sites if s.kind == "app"]
            site = apps[0] if apps else sites[0]
            starts = [s.line for s in sites if s.scope == MAIN and s.kind == "server"]
            initialized = module_init or hooks_init
            if main_init_line is not None and (
                site.scope == MODULE or not starts or main_init_line < min(starts)
            ):
                initialized = True
            calls = [n for _, names in self.module_calls for n in names]
            if site.scope == MAIN:
                calls += [n for line, names in self.main_calls if line < site.line for n in names]
            entries.append(_entry(site, initialized, calls))
        by_function: dict[str, list[Site]] = {}
        for s in self._worker_sites([s for s in self.sites if s.scope.startswith("func:")]):
            by_function.setdefault(s.scope[5:], []).append(s)
        for name, function_sites in by_function.items():
            site = function_sites[0]
            fn = self.functions[name]
            top = prefix + name.split(".")[0]
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
            if top in main_called:
                calls += [
                    n for line, names in self.main_calls if line < main_called[top] for n in names
                ]
            entries.append(_entry(site, initialized, calls))
        if not entries and self.configured:
            any_init = (
                module_init
                or hooks_init
                or main_init_line is not None
                or any(fn.init_lines for fn in self.functions.values())
            )
            line = self.module.main_guards[0].lineno if self.module.main_guards else 1
            site = Site("configured", "configured entrypoint", MODULE, line, 1, line, 1)
            calls = [n for _, names in self.module_calls + self.main_calls for n in names]
            calls += [n for fn in self.functions.values() for _, names in fn.calls for n in names]
            entries.append(_entry(site, any_init, calls))
        return {
            "entrypoints": entries,
            **self.import_facts(module_init, wrappers),
        }

    def _worker_sites(self, sites: list[Site]) -> list[Site]:
        """Celery apps count only as workers (see the module docstring)."""
        if self.celery_evidence or not self.celery_producer:
            return sites
        return [s for s in sites if s.label != "Celery app"]

    def import_facts(self, module_init: bool, wrappers: set[str]) -> dict[str, Any]:
        return {
            "init_at_import": module_init,
            "module_calls": sorted({n for _, names in self.module_calls for n in names}),
            "wrappers": sorted(wrappers),
            "imports": import_time_imports(self.module),
        }


def dotted_receiver(node: ast.expr) -> str:
    from somatrace.checks.lint.module import dotted

    return dotted(node) or "app"


def _entry(site: Site, initialized: bool, calls: list[str]) -> dict[str, Any]:
    return {**asdict(site), "initialized": initialized, "calls": sorted(set(calls))}


def import_time_imports(module: Module) -> list[str]:
    """Modules imported when the module is imported: module-level imports (also inside
    ``if``/``try``), not in the ``__main__`` block or in functions; ``from m import x`` names
    both ``m`` and ``m.x`` (which may be a submodule)."""
    out: list[str] = []
    for node, scope in module.imports:
        if scope is not module.scope or module.in_main_guard(node):
            continue
        if type(node) is ast.Import:
            out.extend(alias.name for alias in node.names)
            continue
        base = module.absolute_module(node.module, node.level)  # type: ignore[union-attr]
        if base is None:
            continue
        out.append(base)
        out.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(set(out))


def init_facet(module: Module, init_functions: frozenset[str]) -> dict[str, Any]:
    """The import-graph facts of any project module (for the entrypoints that import it)."""
    analysis = EntrypointAnalysis(module, init_functions, configured=False, auto_detect=False)
    summary = analysis.summary()
    summary.pop("entrypoints", None)
    return summary
