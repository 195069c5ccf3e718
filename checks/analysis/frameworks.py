"""Service entrypoints as the code shows them: which calls build a served app or start a server,
which functions run at start-up, and where tracing is initialised (ST101).

Sites are reported where the service starts: an app construction (FastAPI, Starlette, Flask,
Quart, Sanic, aiohttp, Litestar, Celery, FastMCP) at module level or in a factory, or a server
start (uvicorn, hypercorn, granian, grpc, aiohttp ``run_app``, waitress, ``websockets.serve``,
``http.server``, ``app.run()``, ``mcp.run()``, Gradio's ``launch()``).

Not entrypoints: apps built in test files (``tests/``, ``test_*.py``, ``*_test.py``,
``conftest.py``) or in pytest fixtures and ``test_*`` functions; a Typer/Click command line; a
server started in a context manager's ``__enter__``/``__aenter__`` (a resource of the process
that enters it, as Phoenix's gRPC span receiver is entered in its FastAPI app's lifespan: the
app or the code that runs the process is the entrypoint); a Celery app that only sends tasks.
How a Celery app is judged: it is a *producer* when its module sends tasks through it
(``send_task``, ``signature``) and shows no sign of a worker; signs of a worker are a task
defined in the module (``@app.task``, ``@shared_task``), tasks included or discovered
(``include=``/``imports=``, ``autodiscover_tasks``, ``conf.include``/``conf.imports``), a worker
started (``worker_main``, ``start``) or a worker signal connected (``worker_process_init`` ...).
A Celery app with neither sign is a worker entrypoint (``celery -A module worker`` is how most
are started, with the tasks in other modules).
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from somatrace.checks.analysis.values import string_value
from somatrace.checks.lint.known import ApiTable
from somatrace.checks.lint.module import FunctionNode, Module, Scope, walk_shallow

# Methods a `with`/`async with` statement runs: a server started there is a resource.
_CONTEXT_ENTERS = frozenset({"__enter__", "__aenter__"})

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
    # mcp 2.x renamed FastMCP to MCPServer (mcp/server/__init__.py exports it).
    "mcp.server.MCPServer": "MCPServer",
    "mcp.server.mcpserver.MCPServer": "MCPServer",
    "mcp.server.mcpserver.server.MCPServer": "MCPServer",
    "gunicorn.app.base.BaseApplication": "gunicorn",
    "gunicorn.app.base.Application": "gunicorn",
    "gunicorn.app.wsgiapp.WSGIApplication": "gunicorn",
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
        "uvicorn.Server",
        "uvicorn.server.Server",
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
    }
)
# Servers that serve only when told to serve forever (`handle_request()` answers one request:
# a one-shot listener such as an OAuth callback is not a service).
SERVE_FOREVER_SERVERS = frozenset(
    {
        "http.server.HTTPServer",
        "http.server.ThreadingHTTPServer",
        "wsgiref.simple_server.make_server",
        "socketserver.TCPServer",
        "socketserver.ThreadingTCPServer",
    }
)
_MCP_SERVES = (
    "run",
    "run_async",
    "run_stdio_async",
    "run_sse_async",
    "run_streamable_http_async",
    "run_http_async",
)
# `<app>.<method>()` that serves: Flask/Quart/Sanic `run`, FastMCP/MCPServer `run*`, Gradio
# `launch`, Celery's `worker_main`/`start`, a gunicorn application's `run`.
APP_SERVES = {
    "Flask": ("run",),
    "Quart": ("run",),
    "Sanic": ("run",),
    "FastMCP": _MCP_SERVES,
    "MCPServer": _MCP_SERVES,
    "Gradio": ("launch",),
    "Celery": ("worker_main", "start"),
    "gunicorn": ("run",),
}
SERVE_METHODS = frozenset(m for methods in APP_SERVES.values() for m in methods)
APP_LABELS = {**_APPS, **_GRADIO}  # qualified class name -> app label
# A Prometheus exporter's `start_http_server` serves from a thread: it is a service only when
# the same block then keeps the process alive.
PROMETHEUS_SERVER = frozenset(
    {"prometheus_client.start_http_server", "prometheus_client.exposition.start_http_server"}
)
_BLOCKING_CALLS = frozenset({"serve_forever", "pause", "wait", "join", "run_forever"})
_BLOCKING_NAMES = frozenset({"asyncio.run", "signal.pause"})
# Calls that mount an app into another one: the mounted app is not a service of its own.
_MOUNTS = frozenset(
    {"mount", "Mount", "include_router", "add_sub_app", "mount_gradio_app", "add_subapp"}
)
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
_TEST_FUNCTIONS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})

TABLE = ApiTable(
    types={
        **{k: f"app:{v}" for k, v in _APPS.items()},
        **{k: f"app:{v}" for k, v in _GRADIO.items()},
    },
)

MODULE = "module"
MAIN = "main"
_STDLIB = frozenset(sys.stdlib_module_names)


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
    # What the project must confirm before this is a site (an imported app's serving method).
    needs: dict[str, str] | None = None
    # Qualified names the app goes by (its module-level variables, its factory): when another
    # module mounts one of them, the app is a sub-app, not a service.
    names: list[str] = field(default_factory=list)


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
        # (scope, name) -> app label: names bound to an app, in any scope.
        self.app_vars: dict[tuple[int, str], str] = {}
        # (scope, class name) -> (shown, kind label): project classes deriving from an app class
        self.local_app_classes: dict[tuple[int, str], tuple[str, str]] = {}
        # module-level classes whose bases are imported: name -> qualified names of the bases
        self.imported_bases: dict[str, list[str]] = {}
        # module-level names bound to an instance of an imported class: name -> class name
        self.imported_instances: dict[str, str] = {}
        self.app_factories: dict[str, str] = {}  # module-level function -> label of its app
        self.hooks: set[str] = set()
        self.mounted: set[str] = set()  # qualified names of what this module mounts
        self.celery_evidence = False  # signs of a worker
        self.celery_producer = False  # signs of a producer
        self.launches = False  # a Gradio `launch()` somewhere in the module
        self.serves_forever = False  # a `serve_forever()` somewhere in the module
        self.direct: set[int] = set()  # ids of values a statement binds, returns or runs
        self._assignments_by_scope: (
            dict[int, list[tuple[ast.Assign | ast.AnnAssign | ast.AugAssign, Scope]]] | None
        ) = None
        self._withs_by_scope: dict[int, list[ast.With | ast.AsyncWith]] | None = None
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
            outer = scope.parent or module.scope
            # `class AtlassianMCP(ErrorPreservingFastMCP[Context])`: the generic's class.
            bases = [b.value if type(b) is ast.Subscript else b for b in cls.bases]
            for base in bases:
                label = self._app_label(module.qualified_names(base, outer))
                if label is None and type(base) is ast.Name:
                    found = outer.lookup(base.id)
                    known = self.local_app_classes.get((id(found[0]), base.id)) if found else None
                    label = known[1] if known is not None else None
                if label is not None:
                    self.local_app_classes[(id(outer), cls.name)] = (cls.name, label)
                    break
            else:
                if outer is module.scope:
                    imported = [
                        name
                        for base in bases
                        for name in module.qualified_names(base, outer)
                        if _is_imported(outer, base)
                    ]
                    if imported:
                        self.imported_bases[cls.name] = imported
        self._direct_values()
        self._bind_app_names()
        for call, _ in module.calls:
            func = call.func
            if type(func) is ast.Attribute:
                if func.attr == "launch":
                    self.launches = True
                elif func.attr == "serve_forever":
                    self.serves_forever = True
        for call, scope in module.calls:
            self._call(call, scope)

    def _direct_values(self) -> None:
        """Values a statement binds, returns, enters or runs (not an argument of a call, not an
        element of a container): only those can be a service's own app."""
        module = self.module
        direct = self.direct
        for node, _ in module.assignments:
            if node.value is not None:
                direct.add(id(node.value))
        for node, _ in module.returns:
            if node.value is not None:
                direct.add(id(node.value))
        for node, _ in module.withs:
            for item in node.items:
                direct.add(id(item.context_expr))
        direct |= module.statement_values
        for call, _ in module.calls:
            # `FastAPI().include_router(...)`: the receiver of a direct call is direct too.
            func = call.func
            if id(call) in direct and type(func) is ast.Attribute:
                direct.add(id(func.value))
        for node, _ in module.assignments:
            if type(node.value) is ast.Await:
                direct.add(id(node.value.value))  # `app = await make_app()`

    def _bind_app_names(self) -> None:
        """Names bound to an app: `app = FastAPI()`, `with gr.Blocks() as demo:`, and
        `demo = build_demo()` for a module-level function that returns its app."""
        module = self.module
        # Each function's returns, and each scope's assignments and `with`s, in source order:
        # looked up per function (a scan of the module's returns for each function was
        # quadratic: 0.2 s on one 3,000-function module).
        returns: dict[int, list[tuple[ast.Return, Scope]]] = {}
        for node, owner in module.returns:
            function = owner.function
            if type(node) is ast.Return and node.value is not None and function is not None:
                returns.setdefault(id(function), []).append((node, owner))
        for fn, scope in module.functions:
            if scope.parent is not module.scope or id(scope) not in returns:
                continue
            label = self._returned_app(returns[id(scope)])
            if label is not None:
                self.app_factories[fn.name] = label
        for node, scope in module.assignments:
            if type(node) is ast.AugAssign or type(node.value) is not ast.Call:
                continue
            label = self._app_value(node.value, scope)
            targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[union-attr]
            if label is None:
                self._note_imported_instance(node.value, scope, targets)
                continue
            for target in targets:
                if type(target) is ast.Name:
                    self.app_vars[(id(scope), target.id)] = label
        for node, scope in module.withs:
            for item in node.items:
                if type(item.optional_vars) is ast.Name and type(item.context_expr) is ast.Call:
                    label = self._app_value(item.context_expr, scope)
                    if label is not None:
                        self.app_vars[(id(scope), item.optional_vars.id)] = label

    def _imported_class(self, call: ast.Call, scope: Scope) -> str | None:
        """The qualified name of a class-like callee that is imported, or a class of this
        module derived from an imported class (the join tells if it is an app class)."""
        func = call.func
        if type(func) is ast.Name and func.id in self.imported_bases:
            found = scope.lookup(func.id)
            if found is not None and found[0] is self.module.scope and self.module.module_name:
                return f"{self.module.module_name}.{func.id}"
        if not _is_imported(scope, call.func):
            return None
        for name in sorted(self.module.qualified_names(call.func, scope)):
            if name.rsplit(".", 1)[-1][:1].isupper() and name.split(".", 1)[0] not in _STDLIB:
                return name
        return None

    def _note_imported_instance(
        self, call: ast.Call, scope: Scope, targets: list[ast.expr]
    ) -> None:
        """``main_mcp = AtlassianMCP(...)`` at module level, of a class whose app-ness another
        module decides (imported, or derived from an imported class): the project join tells."""
        if scope is not self.module.scope:
            return
        name = self._imported_class(call, scope)
        if name is not None:
            for target in targets:
                if type(target) is ast.Name:
                    self.imported_instances[target.id] = name

    def _returned_app(self, returns: list[tuple[ast.Return, Scope]]) -> str | None:
        """The app label of what a function returns (``returns``: its own ``return`` statements
        with a value): an app built in the ``return``, or a name bound to one in the same
        scope (``app = FastAPI()``, ``with gr.Blocks() as demo``)."""
        for node, owner in returns:
            value = node.value
            if type(value) is ast.Call:
                construction = self._construction(value, owner)
                if construction is not None:
                    return construction[1]
            elif type(value) is ast.Name:
                for assigned, _ in self._assignments_in(owner):
                    if type(assigned.value) is not ast.Call:
                        continue
                    targets = assigned.targets if type(assigned) is ast.Assign else []  # type: ignore[union-attr]
                    if any(type(t) is ast.Name and t.id == value.id for t in targets):
                        construction = self._construction(assigned.value, owner)
                        if construction is not None:
                            return construction[1]
                for with_node in self._withs_in(owner):
                    for item in with_node.items:
                        var = item.optional_vars
                        if type(var) is ast.Name and var.id == value.id:
                            construction = (
                                self._construction(item.context_expr, owner)
                                if type(item.context_expr) is ast.Call
                                else None
                            )
                            if construction is not None:
                                return construction[1]
        return None

    def _assignments_in(
        self, scope: Scope
    ) -> list[tuple[ast.Assign | ast.AnnAssign | ast.AugAssign, Scope]]:
        if self._assignments_by_scope is None:
            self._assignments_by_scope = {}
            for item in self.module.assignments:
                self._assignments_by_scope.setdefault(id(item[1]), []).append(item)
        return self._assignments_by_scope.get(id(scope), [])

    def _withs_in(self, scope: Scope) -> list[ast.With | ast.AsyncWith]:
        if self._withs_by_scope is None:
            self._withs_by_scope = {}
            for node, owner in self.module.withs:
                self._withs_by_scope.setdefault(id(owner), []).append(node)
        return self._withs_by_scope.get(id(scope), [])

    def _app_value(self, call: ast.Call, scope: Scope) -> str | None:
        construction = self._construction(call, scope)
        if construction is not None:
            return construction[1]
        func = call.func
        if type(func) is ast.Name:
            found = scope.lookup(func.id)
            if found is not None and found[0] is self.module.scope:
                return self.app_factories.get(func.id)
        return None

    def _app_label(self, names: frozenset[str]) -> str | None:
        for name in names:
            label = _APPS.get(name) or _GRADIO.get(name)
            if label is not None:
                return label
        return None

    def _construction(self, call: ast.Call, scope: Scope) -> tuple[str, str] | None:
        """``(shown label, kind label)`` when ``call`` builds an app (or a project subclass)."""
        label = self._app_label(self.module.qualified_names(call.func, scope))
        if label is not None:
            return label, label
        if type(call.func) is ast.Name:
            found = scope.lookup(call.func.id)
            if found is not None:
                return self.local_app_classes.get((id(found[0]), call.func.id))
        return None

    def _app_label_of_receiver(self, receiver: ast.expr, scope: Scope) -> str | None:
        if type(receiver) is ast.Name:
            found = scope.lookup(receiver.id)
            if found is not None:
                return self.app_vars.get((id(found[0]), receiver.id))
            return None
        if type(receiver) is ast.Call:
            func = receiver.func
            if type(func) is ast.Attribute and func.attr == "queue":
                return self._app_label_of_receiver(func.value, scope)  # `demo.queue().launch()`
            return self._app_value(receiver, scope)
        return None

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
        last = func.attr if type(func) is ast.Attribute else getattr(func, "id", None)
        if last in _MOUNTS:
            self._note_mount(call, scope)
        if self.test_file or not (self.auto_detect or self.configured):
            return
        construction = self._construction(call, scope)
        if construction is not None:
            shown, label = construction
            if not self._is_service_app(call, scope, label):
                return
            if label == "Celery" and any(kw.arg in ("include", "imports") for kw in call.keywords):
                self.celery_evidence = True
            self._add_site(call, "app", f"{shown} app", where)
            self._note_hooks(call)
            return
        if where == MODULE and id(call) in self.direct:
            imported_class = self._imported_class(call, scope)
            if imported_class is not None:
                shown = imported_class.rsplit(".", 1)[-1]
                needs = {"app_class": imported_class}
                self._add_site(call, "app", f"{shown} app", where, needs=needs)
                return
        starts = names & SERVER_STARTS
        if starts:
            if not self._serves_a_parameter(call, scope):
                self._add_site(call, "server", sorted(starts)[0], where)
            return
        if names & SERVE_FOREVER_SERVERS:
            if self.serves_forever:
                self._add_site(call, "server", sorted(names & SERVE_FOREVER_SERVERS)[0], where)
            return
        if names & PROMETHEUS_SERVER and self._blocks_after(call, scope):
            self._add_site(call, "server", "prometheus_client.start_http_server", where)
            return
        if type(func) is ast.Attribute:
            self._method_start(call, func, scope, where)

    def _is_service_app(self, call: ast.Call, scope: Scope, label: str) -> bool:
        """An app construction that is a service's own app (see the module docstring)."""
        if label == "Gradio" and not self.launches:
            return False  # a Gradio UI serves only when launched (else it is mounted)
        if id(call) not in self.direct:
            return False  # built as an argument or inside a container: a sub-app, a test stub
        spread = [a.value for a in call.args if type(a) is ast.Starred]
        spread += [kw.value for kw in call.keywords if kw.arg is None]
        if spread and all(self._is_parameter(value, scope) for value in spread):
            return False  # `FastAPI(*args, **kwargs)`: a generic helper; its callers serve
        function = scope.function
        # Built by a library class for its user (the user's script serves), unless the module
        # runs as a program itself.
        return function is None or function.owner is None or self._module_serves()

    def _is_parameter(self, node: ast.expr, scope: Scope) -> bool:
        if type(node) is not ast.Name:
            return False
        found = scope.lookup(node.id)
        return found is not None and all(b.kind == "param" for b in found[1])

    def _module_serves(self) -> bool:
        """Whether the module itself runs as a program (then its classes' apps may be its
        own)."""
        return bool(self.module.main_guards)

    def _serves_a_parameter(self, call: ast.Call, scope: Scope) -> bool:
        """``uvicorn.run(app)`` where ``app`` is the enclosing function's parameter: a helper
        that serves what its caller passes (the caller is the entrypoint)."""
        function = scope.function
        target = call.args[0] if call.args else None
        if function is None or type(target) is not ast.Name:
            return False
        found = scope.lookup(target.id)
        return (
            found is not None
            and found[0] is function
            and all(binding.kind == "param" for binding in found[1])
        )

    def _note_mount(self, call: ast.Call, scope: Scope) -> None:
        """``app.mount("/x", child)`` (Starlette), ``mcp.mount(child, prefix=...)`` (FastMCP),
        ``mount_gradio_app(parent, child, path)``: the child is the first argument that is not
        a path (or ``app=``/``blocks=``/``server=``)."""
        func = call.func
        method = type(func) is ast.Attribute
        parent = func.value if method else (call.args[0] if call.args else None)  # type: ignore[union-attr]
        if parent is not None and self._is_parameter(parent, scope):
            return  # a helper that mounts into its caller's app (`mount_chainlit(app, ...)`)
        mounted = [kw.value for kw in call.keywords if kw.arg in ("app", "blocks", "server")]
        positional = call.args if method else call.args[1:]
        child = next((a for a in positional if type(a) is not ast.Constant), None)
        if child is not None:
            mounted.append(child)
        for arg in mounted:
            for target in self._origins(arg, scope):
                for name in self.module.qualified_names(target, scope):
                    self.mounted.add(name)

    def _origins(self, node: ast.expr, scope: Scope) -> list[ast.expr]:
        """What a mounted value names: a factory it was built by (``create_api_app()``, also
        through a local variable), or the name itself (a module-level app)."""
        if type(node) is ast.Call:
            return [node.func]
        if type(node) is ast.Name:
            found = scope.lookup(node.id)
            if found is not None and found[0] is not self.module.scope:
                return [
                    b.value.func
                    for b in found[1]
                    if b.kind == "assign" and type(b.value) is ast.Call
                ]
        return [node]

    def _method_start(self, call: ast.Call, func: ast.Attribute, scope: Scope, where: str) -> None:
        receiver = func.value
        label = self._app_label_of_receiver(receiver, scope)
        if label is None:
            if func.attr in SERVE_METHODS and type(receiver) is ast.Name:
                self._imported_app_start(call, func, scope, where)
            return
        if func.attr in APP_SERVES.get(label, ()):
            self._add_site(call, "server", f"{dotted_receiver(receiver)}.{func.attr}", where)
        elif func.attr == "add_event_handler" and call.args:
            if string_value(call.args[0]) == "startup" and len(call.args) > 1:
                if type(call.args[1]) is ast.Name:
                    self.hooks.add(call.args[1].id)

    def _imported_app_start(
        self, call: ast.Call, func: ast.Attribute, scope: Scope, where: str
    ) -> None:
        """``mcp.run()`` on a name imported from a project module: a server start if that
        module's name is an app that serves with this method (settled by the project join)."""
        receiver: ast.Name = func.value  # type: ignore[assignment]
        found = scope.lookup(receiver.id)
        # `from app.server import mcp`: a name imported from a module (not a module itself).
        if found is None or not all(
            b.kind == "import" and type(b.node) is ast.ImportFrom for b in found[1]
        ):
            return
        targets = sorted(
            {b.target for b in found[1] if b.target and b.target.split(".")[0] not in _STDLIB}
        )
        if not targets:
            return
        self._add_site(
            call,
            "server",
            f"{receiver.id}.{func.attr}",
            where,
            needs={"app_var": targets[0], "method": func.attr},
        )

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
                    if name & _BLOCKING_NAMES or attr in _BLOCKING_CALLS:
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

    def _add_site(
        self, call: ast.Call, kind: str, label: str, where: str, needs: dict | None = None
    ) -> None:
        if where.startswith("func:"):
            fn = self.functions.get(where[5:])
            if fn is not None and self._in_test_function(fn):
                return
            if kind == "server" and where.rsplit(".", 1)[-1] in _CONTEXT_ENTERS:
                return  # a resource the process enters (see the module docstring)
        span = self.module.span(call)
        names = self._names_of(call, where) if kind == "app" else []
        self.sites.append(
            Site(kind, label, where, span.line, span.col, span.end_line, span.end_col, needs, names)
        )

    def _names_of(self, call: ast.Call, where: str) -> list[str]:
        prefix = f"{self.module.module_name}." if self.module.module_name else ""
        if where.startswith("func:"):
            return [prefix + where[5:].split(".<locals>.")[0]]
        names = []
        for node, scope in self.module.assignments:
            if scope is self.module.scope and node.value is call:
                targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[union-attr]
                names.extend(prefix + t.id for t in targets if type(t) is ast.Name)
        return names

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
        module_sites = self._worker_sites([s for s in self.sites if s.scope in (MODULE, MAIN)])
        confirmed = [s for s in module_sites if s.needs is None]
        # One entry for the module's own service; sites that another module must confirm
        # (an imported class or app) are entries of their own when nothing here is certain.
        for sites in [confirmed] if confirmed else [[s] for s in module_sites]:
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
            entry = _entry(site, initialized, calls)
            if not initialized and self._helper_shape(fn):
                entry["helper"] = fn.qualname
            if not initialized and self._task_shape(fn, function_sites):
                entry["task"] = fn.qualname
            entries.append(entry)
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
            "helpers": self.helpers(entries),
            "tasks": self.tasks(entries),
        }

    def _helper_shape(self, fn: _Function) -> bool:
        """Whether ``fn`` looks like a library helper that builds or serves an app for its
        caller (`launch_gradio_demo(tool)`, `to_a2a(agent)`): a module-level function with no
        decorator but plain names (`@experimental`; a call or an attribute, as in
        `@cli.command()` or `@app.get("/")`, registers it with a framework), with a parameter its
        caller must pass (the agent, tool or app it serves), that this module never refers to
        outside its own body, by name or by an import string (``"pkg.mod:name"``). Whether
        the rest of the project refers to it is the project join's question
        (:mod:`somatrace.checks.analysis.references`)."""
        node = fn.node
        if not fn.top_level or "." in fn.qualname:
            return False
        if any(type(d) is not ast.Name for d in node.decorator_list):
            return False  # `@cli.command()`, `@app.get("/")`: registered, called by a framework
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        required = len(positional) - len(args.defaults)
        required += sum(1 for default in args.kw_defaults if default is None)
        return required > 0 and self._only_referred_to_inside(fn)

    def _only_referred_to_inside(self, fn: _Function) -> bool:
        """Whether this module refers to ``fn`` only inside its own body: no read of its name
        elsewhere and no import string (``"pkg.mod:name"``) naming it."""
        if f":{fn.qualname}" in self.module.text:
            return False
        node = fn.node
        end = node.end_lineno or node.lineno
        return all(
            node.lineno <= used.lineno <= end for used, _ in self.module.names_loaded({fn.qualname})
        )

    def _task_shape(self, fn: _Function, sites: list[Site]) -> bool:
        """Whether ``fn`` may be a server another module starts as a background task of its own
        running process (LangGraph's ``asyncio.create_task(run_remote_checkpointer())``): a
        module-level ``async def`` that starts a server and that its own module never refers to
        outside its body. Whether the project only ever spawns it so is the join's question
        (:func:`somatrace.checks.analysis.references.task_uses`)."""
        if not fn.top_level or "." in fn.qualname or type(fn.node) is not ast.AsyncFunctionDef:
            return False
        return any(site.kind == "server" for site in sites) and self._only_referred_to_inside(fn)

    def _worker_sites(self, sites: list[Site]) -> list[Site]:
        """Celery apps count only as workers (see the module docstring)."""
        if self.celery_evidence or not self.celery_producer:
            return sites
        return [s for s in sites if s.label != "Celery app"]

    def import_facts(self, module_init: bool, wrappers: set[str]) -> dict[str, Any]:
        top = id(self.module.scope)
        return {
            "init_at_import": module_init,
            "module_calls": sorted({n for _, names in self.module_calls for n in names}),
            "wrappers": sorted(wrappers),
            "imports": import_time_imports(self.module),
            # module-level names bound to an app, and the label of each (`mcp = FastMCP()`)
            "apps": {name: label for (scope, name), label in self.app_vars.items() if scope == top},
            "app_classes": {
                name: label
                for (scope, name), (_, label) in self.local_app_classes.items()
                if scope == top
            },
            "imported_bases": self.imported_bases,
            "imported_instances": self.imported_instances,
            "mounted": sorted(self.mounted),
        }

    def helpers(self, entries: list[dict[str, Any]]) -> list[str]:
        return sorted({e["helper"] for e in entries if e.get("helper")})

    def tasks(self, entries: list[dict[str, Any]]) -> list[str]:
        return sorted({e["task"] for e in entries if e.get("task")})


def _is_imported(scope: Scope, node: ast.expr) -> bool:
    """Whether the head name of ``node`` is bound by an import (and nothing else)."""
    while type(node) is ast.Attribute:
        node = node.value  # type: ignore[attr-defined]
    if type(node) is not ast.Name:
        return False
    found = scope.lookup(node.id)  # type: ignore[attr-defined]
    return found is not None and all(b.kind == "import" for b in found[1])


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
