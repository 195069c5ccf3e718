"""One Python module, parsed once with CPython's ``ast`` and indexed once for every rule.

:class:`Module` holds the tree, the scopes with their bindings (Python's own rules: a name bound
anywhere in a function is local to all of it; class bodies are not visible from the methods in
them; comprehensions and lambdas have scopes of their own), and indexes of the nodes rules ask
about (calls, assignments, ``with`` statements, definitions), each with the scope it runs in.
Rules and analyses query it; nobody else walks the tree to find these again.

Names are resolved to absolute dotted names through the module's imports, relative imports
included (resolved from the module's own name, which LibCST's ``QualifiedNameProvider`` does not
do: LibCST #460). A name bound by a definition in this module resolves to
``<module>.<qualified name>``, so a project's own ``class Traceloop`` is not ``traceloop.sdk``'s.

Positions: CPython reports columns as UTF-8 byte offsets; :meth:`Module.span` turns them into
1-based character columns, the unit editors, SARIF and LibCST use.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field

from somatrace.checks.lint.modules import resolve_relative
from somatrace.checks.lint.source import split_lines

BUILTINS = frozenset(dir(builtins))

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# Nodes that open a scope of their own (besides the module).
_SCOPE_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


@dataclass(slots=True)
class Binding:
    """One way a name gets a value in a scope.

    ``kind``: ``import`` (``target`` is the absolute dotted name imported), ``def``, ``class``,
    ``param``, ``assign`` (``value`` is the assigned expression; ``None`` for a bare
    annotation), ``unpack`` (a ``for`` target or a name inside a tuple target: value not
    known), ``with`` (``value`` is the context expression), ``except``, ``augassign``,
    ``delete``.
    """

    kind: str
    node: ast.AST
    value: ast.expr | None = None
    target: str | None = None


@dataclass(eq=False, slots=True)
class Scope:
    kind: str  # "module" | "class" | "function" | "lambda" | "comprehension"
    node: ast.AST
    parent: Scope | None
    qualname: str  # Python's __qualname__ of the function or class ("" for the module)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared: dict[str, str] = field(default_factory=dict)  # name -> "global" | "nonlocal"
    # For a method (and what is nested in it): the class scope and the first parameter's name.
    owner: Scope | None = None
    self_name: str | None = None

    def bind(self, name: str, binding: Binding) -> None:
        scope = self._declaring(name)
        found = scope.bindings.get(name)
        if found is None:
            scope.bindings[name] = [binding]
        else:
            found.append(binding)

    def _declaring(self, name: str) -> Scope:
        """The scope a binding of ``name`` here really binds in (``global`` / ``nonlocal``)."""
        declared = self.declared.get(name)
        if declared is None:
            return self
        if declared == "global":
            return self.module
        scope = self.parent
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        return scope._declaring(name) if scope is not None else self

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    @property
    def function(self) -> Scope | None:
        """The innermost function (or lambda) scope this scope is part of."""
        scope: Scope | None = self
        while scope is not None and scope.kind not in ("function", "lambda"):
            if scope.kind in ("module", "class"):
                return None
            scope = scope.parent
        return scope

    def lookup(self, name: str) -> tuple[Scope, list[Binding]] | None:
        """The scope whose bindings of ``name`` a use in this scope sees (LEGB; class scopes
        are not visible from the functions nested in them)."""
        scope: Scope | None = self._declaring(name)
        first = True
        while scope is not None:
            if first or scope.kind != "class":
                found = scope.bindings.get(name)
                if found is not None:
                    return scope, found
            first = False
            scope = scope.parent
        return None


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, character-column source range (end exclusive)."""

    line: int
    col: int
    end_line: int
    end_col: int


class Module:
    """A parsed module and its semantic index. Build with :func:`parse_module`."""

    def __init__(
        self,
        tree: ast.Module,
        text: str,
        module_name: str | None,
        is_package: bool,
        relpath: str = "",
    ) -> None:
        self.tree = tree
        self.text = text
        self.module_name = module_name
        self.is_package = is_package
        self.relpath = relpath
        self._lines: list[str] | None = None
        self.ascii = text.isascii()
        self.scope = Scope("module", tree, None, "")
        self.scopes: dict[ast.AST, Scope] = {tree: self.scope}
        # Indexes, each in source order: (node, the scope it is evaluated in).
        self.calls: list[tuple[ast.Call, Scope]] = []
        self.assignments: list[tuple[ast.Assign | ast.AnnAssign | ast.AugAssign, Scope]] = []
        self.named_exprs: list[tuple[ast.NamedExpr, Scope]] = []
        self.withs: list[tuple[ast.With | ast.AsyncWith, Scope]] = []
        self.functions: list[tuple[FunctionNode, Scope]] = []  # scope: the function's own
        self.classes: list[tuple[ast.ClassDef, Scope]] = []  # scope: the class body's own
        self.imports: list[tuple[ast.Import | ast.ImportFrom, Scope]] = []
        self.returns: list[tuple[ast.Return | ast.Yield | ast.YieldFrom, Scope]] = []
        self.self_attributes: list[tuple[ast.Attribute, Scope]] = []  # `self.x` stores
        self.main_guards: list[ast.If] = []
        self.statement_values: set[int] = set()  # ids of expressions used as statements
        self._index()

    def release(self) -> None:
        """Let go of the tree and everything built on it, once nothing will ask again. The
        memos rules attach (``provenance.terms_for``) refer back to the module, so without this
        a file's whole tree and index is cyclic garbage: the worker's collection after each
        file traversed all of it (0.85 s of CPU on llm-stack's 709 parsed files); released,
        reference counting frees it as the analysis returns."""
        self.__dict__.clear()

    # -- building ---------------------------------------------------------------------------

    def _index(self) -> None:
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.scope)]
        calls, assignments, withs = self.calls, self.assignments, self.withs
        returns, named = self.returns, self.named_exprs
        # The most frequent kinds are tested first: every node passes this chain once.
        while stack:
            node, scope = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    self._bind_name_target(node, scope)  # type: ignore[arg-type]
                continue
            elif kind is ast.Constant:
                continue
            elif kind is ast.Call:
                calls.append((node, scope))  # type: ignore[arg-type]
            elif kind is ast.Attribute:
                if type(node.ctx) is ast.Store and scope.self_name is not None:  # type: ignore[attr-defined]
                    value = node.value  # type: ignore[attr-defined]
                    if type(value) is ast.Name and value.id == scope.self_name:
                        self.self_attributes.append((node, scope))  # type: ignore[arg-type]
            elif kind is ast.Assign or kind is ast.AnnAssign or kind is ast.AugAssign:
                assignments.append((node, scope))  # type: ignore[arg-type]
                self._bind_assignment(node, scope)  # type: ignore[arg-type]
            elif kind in _SCOPE_NODES:
                self._push_scope(node, scope, stack)
                continue
            elif kind is ast.With or kind is ast.AsyncWith:
                withs.append((node, scope))  # type: ignore[arg-type]
                for item in node.items:  # type: ignore[attr-defined]
                    if type(item.optional_vars) is ast.Name:
                        scope.bind(item.optional_vars.id, Binding("with", item, item.context_expr))
                        item.optional_vars._somatrace_bound = True  # type: ignore[attr-defined]
            elif kind is ast.Import or kind is ast.ImportFrom:
                self.imports.append((node, scope))  # type: ignore[arg-type]
                self._bind_import(node, scope)  # type: ignore[arg-type]
                continue
            elif kind is ast.Return or kind is ast.Yield or kind is ast.YieldFrom:
                returns.append((node, scope))  # type: ignore[arg-type]
            elif kind is ast.NamedExpr:
                named.append((node, scope))  # type: ignore[arg-type]
                target = node.target  # type: ignore[attr-defined]
                # PEP 572: the target binds in the enclosing non-comprehension scope.
                owner = scope
                while owner.kind == "comprehension" and owner.parent is not None:
                    owner = owner.parent
                owner.bind(target.id, Binding("assign", node, node.value))  # type: ignore[attr-defined]
                stack.append((node.value, scope))  # type: ignore[attr-defined]
                continue
            elif kind is ast.Global or kind is ast.Nonlocal:
                marker = "global" if kind is ast.Global else "nonlocal"
                for name in node.names:  # type: ignore[attr-defined]
                    scope.declared[name] = marker
                continue
            elif kind is ast.ExceptHandler:
                if node.name:  # type: ignore[attr-defined]
                    scope.bind(node.name, Binding("except", node))  # type: ignore[attr-defined]
            elif kind is ast.If and scope is self.scope and _is_main_guard(node):  # type: ignore[arg-type]
                self.main_guards.append(node)  # type: ignore[arg-type]
            elif kind is ast.Expr:
                value = node.value  # type: ignore[attr-defined]
                self.statement_values.add(id(value))
                if type(value) is ast.Await:  # `await server.serve()` runs the call too
                    self.statement_values.add(id(value.value))
            _push_children(node, scope, stack)
        for index in (self.calls, self.assignments, self.withs, self.returns, self.named_exprs):
            index.sort(key=_position)
        self.functions.sort(key=lambda item: _position(item))
        self.classes.sort(key=lambda item: _position(item))

    def _push_scope(self, node: ast.AST, scope: Scope, stack: list[tuple[ast.AST, Scope]]) -> None:
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            fn: FunctionNode = node  # type: ignore[assignment]
            scope.bind(fn.name, Binding("def", fn))
            qualname = _qualname(scope, fn.name)
            inner = Scope("function", fn, scope, qualname)
            params = [*fn.args.posonlyargs, *fn.args.args]
            if scope.kind == "class" and not _is_staticmethod(fn):
                if params:
                    inner.owner = scope
                    inner.self_name = params[0].arg
            elif scope.self_name is not None and all(p.arg != scope.self_name for p in params):
                inner.owner, inner.self_name = scope.owner, scope.self_name  # a closure
            self.scopes[fn] = inner
            self.functions.append((fn, inner))
            self._bind_params(fn.args, inner)
            outer_parts: list[ast.AST] = [*fn.decorator_list, *_defaults(fn.args)]
            outer_parts.extend(_annotations(fn.args))
            if fn.returns is not None:
                outer_parts.append(fn.returns)
            for part in reversed(outer_parts):
                stack.append((part, scope))
            for statement in reversed(fn.body):
                stack.append((statement, inner))
        elif kind is ast.ClassDef:
            cls: ast.ClassDef = node  # type: ignore[assignment]
            scope.bind(cls.name, Binding("class", cls))
            inner = Scope("class", cls, scope, _qualname(scope, cls.name))
            self.scopes[cls] = inner
            self.classes.append((cls, inner))
            for part in reversed([*cls.decorator_list, *cls.bases, *cls.keywords]):
                stack.append((part, scope))
            for statement in reversed(cls.body):
                stack.append((statement, inner))
        elif kind is ast.Lambda:
            lam: ast.Lambda = node  # type: ignore[assignment]
            inner = Scope("lambda", lam, scope, _qualname(scope, "<lambda>"))
            inner.owner, inner.self_name = scope.owner, scope.self_name
            self.scopes[lam] = inner
            self._bind_params(lam.args, inner)
            for part in _defaults(lam.args):
                stack.append((part, scope))
            stack.append((lam.body, inner))
        else:  # comprehensions: the first iterable is evaluated outside
            comp: ast.ListComp = node  # type: ignore[assignment]
            inner = Scope("comprehension", comp, scope, scope.qualname)
            inner.owner, inner.self_name = scope.owner, scope.self_name
            self.scopes[comp] = inner
            generators = comp.generators
            stack.append((generators[0].iter, scope))
            for i, generator in enumerate(generators):
                stack.append((generator.target, inner))
                if i:
                    stack.append((generator.iter, inner))
                for condition in generator.ifs:
                    stack.append((condition, inner))
            if kind is ast.DictComp:
                stack.append((comp.key, inner))  # type: ignore[attr-defined]
                stack.append((comp.value, inner))  # type: ignore[attr-defined]
            else:
                stack.append((comp.elt, inner))

    def _bind_params(self, args: ast.arguments, scope: Scope) -> None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            scope.bind(arg.arg, Binding("param", arg))
        for arg in (args.vararg, args.kwarg):
            if arg is not None:
                scope.bind(arg.arg, Binding("param", arg))

    def _bind_name_target(self, node: ast.Name, scope: Scope) -> None:
        # Plain-name targets of assignments are bound by _bind_assignment (with their value);
        # the rest (for targets, tuple unpacking, del) bind here without a known value.
        if getattr(node, "_somatrace_bound", False):
            return
        kind = "delete" if type(node.ctx) is ast.Del else "unpack"
        scope.bind(node.id, Binding(kind, node))

    def _bind_assignment(
        self, node: ast.Assign | ast.AnnAssign | ast.AugAssign, scope: Scope
    ) -> None:
        if type(node) is ast.Assign:
            for target in node.targets:  # type: ignore[union-attr]
                if type(target) is ast.Name:
                    scope.bind(target.id, Binding("assign", node, node.value))
                    target._somatrace_bound = True  # type: ignore[attr-defined]
        elif type(node) is ast.AnnAssign:
            target = node.target
            if type(target) is ast.Name:
                scope.bind(target.id, Binding("assign", node, node.value))  # type: ignore[attr-defined]
                target._somatrace_bound = True  # type: ignore[attr-defined]
        else:
            target = node.target
            if type(target) is ast.Name:
                scope.bind(target.id, Binding("augassign", node))  # type: ignore[attr-defined]
                target._somatrace_bound = True  # type: ignore[attr-defined]

    def _bind_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if type(node) is ast.Import:
            for alias in node.names:
                if alias.asname:
                    scope.bind(alias.asname, Binding("import", node, target=alias.name))
                else:
                    head = alias.name.split(".", 1)[0]
                    scope.bind(head, Binding("import", node, target=head))
            return
        base = self.absolute_module(node.module, node.level)  # type: ignore[union-attr]
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            scope.bind(
                alias.asname or alias.name, Binding("import", node, target=f"{base}.{alias.name}")
            )

    # -- names ------------------------------------------------------------------------------

    def absolute_module(self, module: str | None, level: int) -> str | None:
        """The absolute name of ``from <level dots><module> import ...`` in this module."""
        if not level:
            return module
        name = "." * level + (module or "")
        return resolve_relative(name, self.module_name, self.is_package)

    def qualified_names(self, node: ast.expr, scope: Scope) -> frozenset[str]:
        """Every absolute dotted name ``node`` may refer to; empty when it is not a name (or
        a chain of attributes on one) or refers to a local value."""
        if type(node) is ast.Name:
            return self._names_of(node.id, scope, 0)
        if type(node) is ast.Attribute:
            heads = self.qualified_names(node.value, scope)
            return frozenset(f"{head}.{node.attr}" for head in heads)
        return frozenset()

    def _names_of(self, name: str, scope: Scope, hops: int) -> frozenset[str]:
        found = scope.lookup(name)
        if found is None:
            return frozenset({f"builtins.{name}"}) if name in BUILTINS else frozenset()
        owner, bindings = found
        out: set[str] = set()
        for binding in bindings:
            if binding.kind == "import":
                out.add(binding.target)  # type: ignore[arg-type]
            elif binding.kind in ("def", "class") and owner.kind in ("module", "class"):
                prefix = f"{self.module_name}." if self.module_name else ""
                out.add(prefix + _qualname(owner, name))
            elif (
                binding.kind == "assign"
                and owner.kind == "module"
                and hops < 4
                and type(binding.value) in (ast.Name, ast.Attribute)
                and len(bindings) == 1
            ):
                # `TL = Traceloop` at module level: an alias of the name it copies.
                out |= self.qualified_names(binding.value, owner)  # type: ignore[arg-type]
        return frozenset(out)

    def calls_to(self, wanted: frozenset[str]) -> Iterator[tuple[ast.Call, Scope, str]]:
        """Calls whose callee resolves to one of ``wanted``, with the name it resolved to."""
        for call, scope in self.calls:
            names = self.qualified_names(call.func, scope)
            if names:
                hit = names & wanted
                if hit:
                    yield call, scope, min(hit)

    def names_loaded(self, wanted: set[str] | frozenset[str]) -> list[tuple[ast.expr, Scope]]:
        """Names (``ALWAYS_OFF``) and attribute chains ending in one (``sampling.ALWAYS_OFF``)
        read anywhere, with their scope; found by a walk on first use (few rules ask). A name
        that is not in the source text is not read: a file that spells none is not walked."""
        out: list[tuple[ast.expr, Scope]] = []
        if not any(name in self.text for name in wanted):
            return out
        for owner, scope in self.scopes.items():
            body = owner.body if isinstance(owner, ast.Module | ast.ClassDef) else [owner]
            if isinstance(owner, FunctionNode):
                body = owner.body
            elif type(owner) is ast.Lambda:
                body = [owner.body]  # type: ignore[list-item]
            elif not isinstance(owner, ast.Module | ast.ClassDef):
                continue  # comprehensions: their names are read in the enclosing scope's walk
            for statement in body:
                for node in walk_shallow(statement):
                    if (type(node) is ast.Name and node.id in wanted) or (
                        type(node) is ast.Attribute and node.attr in wanted
                    ):  # type: ignore[attr-defined]
                        out.append((node, scope))  # type: ignore[arg-type]
        out.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        return out

    def in_main_guard(self, node: ast.AST) -> bool:
        line = getattr(node, "lineno", 0)
        return any(g.lineno <= line <= (g.end_lineno or g.lineno) for g in self.main_guards)

    # -- positions --------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(self.text)
        return self._lines

    def _char_col(self, line: int, byte_col: int) -> int:
        if self.ascii or byte_col <= 0:
            return byte_col
        lines = self.lines
        if not 0 < line <= len(lines):
            return byte_col
        text = lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> Span:
        """``node``'s range: 1-based lines and 1-based character columns (end exclusive)."""
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        if end_col is None:
            end_col = col
        return Span(
            line,
            self._char_col(line, col) + 1,
            end_line,
            self._char_col(end_line, end_col) + 1,
        )

    def source_of(self, node: ast.AST) -> str:
        """The exact source text of ``node`` (for messages)."""
        line = getattr(node, "lineno", None)
        end_line = getattr(node, "end_lineno", None)
        lines = self.lines
        if line is None or end_line is None or not 0 < line <= end_line <= len(lines):
            return ast.unparse(node)
        first = lines[line - 1].encode("utf-8")
        col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if line == end_line:
            return first[col:end_col].decode("utf-8", "replace")
        parts = [first[col:].decode("utf-8", "replace")]
        parts.extend(lines[line : end_line - 1])
        parts.append(lines[end_line - 1].encode("utf-8")[:end_col].decode("utf-8", "replace"))
        return "".join(parts)


def parse_module(
    data: bytes | str, module_name: str | None, is_package: bool, relpath: str = ""
) -> Module:
    """Parse with CPython's parser. Raises ``SyntaxError``, ``ValueError`` (NUL bytes),
    ``RecursionError`` or ``MemoryError`` (nested too deeply) like :func:`ast.parse`."""
    tree = ast.parse(data, filename=relpath or "<unknown>")
    text = data if isinstance(data, str) else _decoded(data)
    return Module(tree, text, module_name, is_package, relpath)


def _decoded(data: bytes) -> str:
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


# Expression contexts (Load/Store/Del) and operators are leaves no rule asks for as nodes
# (only through their parent: ``node.ctx``, ``node.op``); the walks below do not visit them.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    found = _CHILD_FIELDS.get(kind)
    if found is None:
        found = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)  # type: ignore[attr-defined]
    return found


def children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, in field order, without expression contexts
    and operators."""
    out: list[ast.AST] = []
    for name in _CHILD_FIELDS.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name, None)
        if value is None:
            continue
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def _push_children(node: ast.AST, scope: Scope, stack: list[tuple[ast.AST, Scope]]) -> None:
    for child in reversed(children(node)):
        stack.append((child, scope))


def _defaults(args: ast.arguments) -> list[ast.expr]:
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def _annotations(args: ast.arguments) -> list[ast.expr]:
    out: list[ast.expr] = []
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None and arg.annotation is not None:
            out.append(arg.annotation)
    return out


def _qualname(scope: Scope, name: str) -> str:
    if scope.kind == "module":
        return name
    if scope.kind == "class":
        return f"{scope.qualname}.{name}"
    return f"{scope.qualname}.<locals>.{name}"


def _is_staticmethod(fn: FunctionNode) -> bool:
    return any(
        (type(d) is ast.Name and d.id == "staticmethod")
        or (type(d) is ast.Attribute and d.attr == "staticmethod")
        for d in fn.decorator_list
    )


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if type(test) is not ast.Compare or len(test.ops) != 1 or type(test.ops[0]) is not ast.Eq:
        return False
    sides = (test.left, test.comparators[0])
    names = [s.id for s in sides if type(s) is ast.Name]
    strings = [s.value for s in sides if type(s) is ast.Constant]
    return names == ["__name__"] and "__main__" in strings


def _position(item: tuple[ast.AST, Scope]) -> tuple[int, int]:
    node = item[0]
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def function_params(fn: FunctionNode | ast.Lambda) -> list[ast.arg]:
    """Positional parameters in order (positional-only first)."""
    return [*fn.args.posonlyargs, *fn.args.args]


def keyword_arg(call: ast.Call, name: str) -> ast.keyword | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def positional_args(call: ast.Call) -> list[ast.expr] | None:
    """The positional arguments, or ``None`` when a ``*spread`` hides their positions."""
    out: list[ast.expr] = []
    for arg in call.args:
        if type(arg) is ast.Starred:
            return None
        out.append(arg)
    return out


def argument(call: ast.Call, index: int, name: str | None = None) -> ast.expr | None:
    """The argument passed at ``index`` or as ``name=`` (``None`` when absent or hidden)."""
    if name is not None:
        kw = keyword_arg(call, name)
        if kw is not None:
            return kw.value
    positional = positional_args(call)
    if positional is not None and index < len(positional):
        return positional[index]
    return None


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else ``None``."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)  # type: ignore[attr-defined]
    return ".".join(reversed(parts))


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node``, ``node`` included: the nodes of :func:`ast.walk` but
    expression contexts and operators (see :func:`children`), depth first. Half the cost of
    ``ast.walk``, which visits every ``Load`` and operator and takes each node's fields
    through two generators."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def walk_shallow(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` that runs when ``node`` runs: function, lambda and class bodies
    are not entered (their decorators, and a function's defaults, are). Expression contexts
    and operators are not yielded (see :func:`children`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        kind = type(current)
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            stack.extend(reversed([*current.decorator_list, *_defaults(current.args)]))  # type: ignore[attr-defined]
            continue
        if kind is ast.ClassDef:
            stack.extend(reversed([*current.decorator_list, *current.bases]))  # type: ignore[attr-defined]
            continue
        if kind is ast.Lambda:
            stack.extend(reversed(_defaults(current.args)))  # type: ignore[attr-defined]
            continue
        stack.extend(reversed(children(current)))
