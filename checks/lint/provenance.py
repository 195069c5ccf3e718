"""Where values come from, written as terms that the project model resolves across modules.

Inside one module, an expression becomes a *term*: a small tree of tuples saying how its value
is made, down to what this module cannot know (an imported name, a parameter, an attribute of
``self``). The project model (:mod:`somatrace.checks.lint.project`) resolves terms to
*kinds* (``otel.tracer``, ``app:FastAPI``, a project function, ...) by following imports,
return values, the project's own call sites and class attributes.

Terms (all hashable tuples; JSON lists on disk):

- ``("k", kind)``: a known kind;
- ``("g", "pkg.mod.name")``: an absolute name (an import, or a name of another module);
- ``("m", name)``: a module-level name of the module the term comes from;
- ``("fn", qualname)`` / ``("cls", qualname)``: a function or class defined in that module;
- ``("self", class qualname)``: an instance of that class (``self`` in its methods);
- ``("p", function qualname, index, name)``: a parameter (index ``-1``: keyword-only or
  ``*args``/``**kwargs``);
- ``("call", T)``, ``("attr", T, name)``, ``("enter", T)`` (what ``with T as x`` binds);
- ``("tuple", (T, ...))``: a tuple or list display (what ``f(*args)`` spreads);
- ``("any", (T, ...))``: one of several; ``("?",)``: not known.

Local variables are inlined (the union of everything assigned to them, flow-insensitively), so a
module's facts only keep what other modules may ask about: its globals, functions, classes and
the call sites through which values reach parameters.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from somatrace.checks.lint.module import FunctionNode, Module, Scope, function_params

Term = tuple[Any, ...]
UNKNOWN: Term = ("?",)
LITERAL: Term = ("k", "lit")

_CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
_STDLIB = frozenset(sys.stdlib_module_names) | {"builtins"}
_MAX_ALTERNATIVES = 16
_MAX_DEPTH = 24
_MAX_ELEMENTS = 32  # of a tuple kept as a term (`args = (a, tracer, b)`, then `f(*args)`)
# The expression kinds a term follows (``Terms._of``); a literal display is LITERAL, any other
# kind UNKNOWN. Call sites are skipped on the same set (``_may_pass_a_value``).
_FOLLOWED_KINDS = frozenset(
    {ast.Name, ast.Attribute, ast.Call, ast.Await, ast.NamedExpr, ast.IfExp, ast.BoolOp}
    | {ast.Tuple, ast.List}
)
_LITERAL_KINDS = frozenset({ast.Constant, ast.JoinedStr, ast.Dict, ast.Set})


def union(terms: list[Term]) -> Term:
    """One term for several alternatives (flattened, deduplicated, unknowns dropped)."""
    flat: list[Term] = []
    for term in terms:
        for part in term[1] if term[0] == "any" else (term,):
            if part != UNKNOWN and part not in flat:
                flat.append(part)
    if not flat:
        return UNKNOWN
    if len(flat) == 1:
        return flat[0]
    return ("any", tuple(flat[:_MAX_ALTERNATIVES]))


class Terms:
    """Builds terms for one module (memoised per node)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self._memo: dict[int, Term] = {}
        self._visiting: set[tuple[int, str]] = set()

    # -- expressions ------------------------------------------------------------------------

    def of(self, node: ast.expr | None, scope: Scope, depth: int = 0) -> Term:
        if node is None or depth > _MAX_DEPTH:
            return UNKNOWN
        key = id(node)
        found = self._memo.get(key)
        if found is not None:
            return found
        term = self._of(node, scope, depth)
        self._memo[key] = term
        return term

    def _of(self, node: ast.expr, scope: Scope, depth: int) -> Term:
        kind = type(node)
        if kind not in _FOLLOWED_KINDS:
            return LITERAL if kind in _LITERAL_KINDS else UNKNOWN
        if kind is ast.Name:
            return self.name(node.id, scope, depth)  # type: ignore[attr-defined]
        if kind is ast.Attribute:
            value = node.value  # type: ignore[attr-defined]
            return ("attr", self.of(value, scope, depth + 1), node.attr)  # type: ignore[attr-defined]
        if kind is ast.Call:
            return ("call", self.of(node.func, scope, depth + 1))  # type: ignore[attr-defined]
        if kind is ast.Await:
            return self.of(node.value, scope, depth + 1)  # type: ignore[attr-defined]
        if kind is ast.NamedExpr:
            return self.of(node.value, scope, depth + 1)  # type: ignore[attr-defined]
        if kind is ast.IfExp:
            return union(
                [
                    self.of(node.body, scope, depth + 1),  # type: ignore[attr-defined]
                    self.of(node.orelse, scope, depth + 1),  # type: ignore[attr-defined]
                ]
            )
        if kind is ast.BoolOp:
            return union([self.of(v, scope, depth + 1) for v in node.values])  # type: ignore[attr-defined]
        if kind in (ast.Tuple, ast.List):
            elements = node.elts  # type: ignore[attr-defined]
            if elements and not any(type(e) is ast.Starred for e in elements):
                parts = tuple(self.of(e, scope, depth + 1) for e in elements[:_MAX_ELEMENTS])
                if any(_interesting(p) for p in parts):
                    return ("tuple", parts)
            return LITERAL
        return UNKNOWN

    def name(self, name: str, scope: Scope, depth: int = 0) -> Term:
        found = scope.lookup(name)
        if found is None:
            return ("g", f"builtins.{name}")
        owner, bindings = found
        if owner.kind == "module":
            return ("m", name)
        if (
            owner.self_name == name
            and owner.owner is not None
            and owner.kind == "function"
            and any(b.kind == "param" for b in bindings)
        ):
            return self.self_term(owner)
        visit = (id(owner), name)
        if visit in self._visiting:
            return UNKNOWN
        self._visiting.add(visit)
        try:
            return union([self.binding(b, owner, name, depth) for b in bindings])
        finally:
            self._visiting.discard(visit)

    def self_term(self, method: Scope) -> Term:
        assert method.owner is not None
        if _is_classmethod(method.node):
            return ("cls", method.owner.qualname)
        return ("self", method.owner.qualname)

    def binding(self, binding: Any, owner: Scope, name: str, depth: int) -> Term:
        kind = binding.kind
        if kind == "import":
            return ("g", binding.target)
        if kind == "assign":
            if binding.value is None:  # `x: Tracer` declares a type and nothing else
                return self.annotation_term(binding.node.annotation, owner)
            return self.of(binding.value, owner, depth + 1)
        if kind == "param":
            return self.param(binding.node, owner)
        if kind == "with":
            return ("enter", self.of(binding.value, owner, depth + 1))
        if kind == "def":
            return self.decorated(("fn", _child_qualname(owner, name)), binding.node, owner)
        if kind == "class":
            return self.decorated(("cls", _child_qualname(owner, name)), binding.node, owner)
        return UNKNOWN

    def param(self, arg: ast.arg, scope: Scope) -> Term:
        fn = scope.node
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return UNKNOWN
        params = function_params(fn)
        index = next((i for i, p in enumerate(params) if p is arg), -1)
        term: Term = ("p", scope.qualname, index, arg.arg)
        return term

    def decorated(self, base: Term, node: ast.AST, scope: Scope) -> Term:
        """A decorated definition is what its decorators return, and (as decorators almost
        always preserve the callable) the definition itself."""
        decorators = getattr(node, "decorator_list", [])
        if not decorators:
            return base
        results = [base]
        for decorator in decorators:
            results.append(("call", self.of(decorator, scope)))
        return union(results)

    def annotation_term(self, annotation: ast.expr | None, scope: Scope) -> Term:
        """What a value annotated as ``annotation`` is: an instance of each type it names
        (``X``, ``X | None``, ``Optional[X]``, ``"X"``)."""
        types = []
        for part in annotation_names(annotation):
            types.append(("call", self.of(part, scope)))
        return union(types)


def annotation_names(annotation: ast.expr | None) -> list[ast.expr]:
    """The type expressions an annotation names (unions, ``Optional``, strings unpacked)."""
    if annotation is None:
        return []
    kind = type(annotation)
    if kind is ast.Constant and type(annotation.value) is str:  # type: ignore[attr-defined]
        try:
            parsed = ast.parse(annotation.value.strip(), mode="eval").body  # type: ignore[attr-defined]
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        _relocate(parsed, annotation)
        return annotation_names(parsed)
    if kind is ast.BinOp and type(annotation.op) is ast.BitOr:  # type: ignore[attr-defined]
        return annotation_names(annotation.left) + annotation_names(annotation.right)  # type: ignore[attr-defined]
    if kind is ast.Subscript:
        head = annotation.value  # type: ignore[attr-defined]
        if type(head) in (ast.Name, ast.Attribute) and _last(head) in ("Optional", "Union"):
            inner = annotation.slice  # type: ignore[attr-defined]
            parts = inner.elts if type(inner) is ast.Tuple else [inner]  # type: ignore[attr-defined]
            return [n for part in parts for n in annotation_names(part)]
        return []
    if kind in (ast.Name, ast.Attribute):
        return [annotation]
    return []


def _relocate(parsed: ast.AST, anchor: ast.AST) -> None:
    for node in ast.walk(parsed):
        if hasattr(node, "lineno"):
            node.lineno = anchor.lineno  # type: ignore[attr-defined]
            node.col_offset = anchor.col_offset  # type: ignore[attr-defined]
            node.end_lineno = anchor.end_lineno  # type: ignore[attr-defined]
            node.end_col_offset = anchor.end_col_offset  # type: ignore[attr-defined]


def _last(node: ast.expr) -> str:
    return node.attr if type(node) is ast.Attribute else getattr(node, "id", "")  # type: ignore[attr-defined]


def _child_qualname(scope: Scope, name: str) -> str:
    if scope.kind == "module":
        return name
    if scope.kind == "class":
        return f"{scope.qualname}.{name}"
    return f"{scope.qualname}.<locals>.{name}"


def _is_classmethod(fn: ast.AST) -> bool:
    return any(
        (type(d) is ast.Name and d.id == "classmethod")
        or (type(d) is ast.Attribute and d.attr == "classmethod")
        for d in getattr(fn, "decorator_list", [])
    )


def callee_key(term: Term) -> str | None:
    """The name a call site is indexed by: the callee's last name, ``*`` when the callee is a
    parameter or computed (``func(...)`` inside a decorator), ``None`` when no project function
    can be called there."""
    head = term[0]
    if head == "g":
        name: str = term[1]
        if name.split(".", 1)[0] in _STDLIB:
            return None
        return name.rsplit(".", 1)[-1]
    if head in ("m", "fn", "cls"):
        return term[1].rsplit(".", 1)[-1]
    if head == "attr":
        return term[2]
    if head in ("p", "call", "any", "self", "enter"):
        return "*"
    return None


def _interesting(term: Term) -> bool:
    if term[0] == "*":
        return len(term) > 1 and _interesting(term[1])
    return term not in (UNKNOWN, LITERAL)


def module_facts(module: Module, terms: Terms | None = None) -> dict[str, Any]:
    """What other modules may ask about this one (see the module docstring)."""
    terms = terms or Terms(module)
    facts: dict[str, Any] = {
        "globals": {},
        "functions": {},
        "classes": {},
        "calls": [],
    }
    top = module.scope
    for name, bindings in top.bindings.items():
        facts["globals"][name] = union([terms.binding(b, top, name, 0) for b in bindings])
    for fn, scope in module.functions:
        facts["functions"][scope.qualname] = _function_facts(module, terms, fn, scope)
    for cls, scope in module.classes:
        facts["classes"][scope.qualname] = {
            "bases": [terms.of(base, scope.parent) for base in cls.bases],  # type: ignore[arg-type]
            "attrs": _class_attributes(module, terms, scope),
        }
    _returns(module, terms, facts["functions"])
    _self_attributes(module, terms, facts["classes"])
    facts["calls"] = _call_sites(module, terms)
    return facts


def _function_facts(module: Module, terms: Terms, fn: FunctionNode, scope: Scope) -> dict:
    params = function_params(fn)
    outer = scope.parent or module.scope
    annotations = {
        str(i): terms.annotation_term(p.annotation, outer)
        for i, p in enumerate(params)
        if p.annotation is not None
    }
    defaults: dict[str, Term] = {}
    positional_defaults = fn.args.defaults
    offset = len(params) - len(positional_defaults)
    for i, default in enumerate(positional_defaults):
        term = terms.of(default, outer)
        if _interesting(term):
            defaults[str(offset + i)] = term
    decorator_names = set()
    for decorator in fn.decorator_list:
        target = decorator.func if type(decorator) is ast.Call else decorator
        decorator_names |= module.qualified_names(target, outer)
    return {
        "params": [p.arg for p in params],
        "kwonly": [a.arg for a in fn.args.kwonlyargs],
        "ann": {k: v for k, v in annotations.items() if v != UNKNOWN},
        "defaults": defaults,
        "returns": UNKNOWN,
        "yields": UNKNOWN,
        "cm": bool(decorator_names & _CONTEXT_MANAGERS),
        "method": scope.owner is not None and scope.self_name is not None,
        "static": any(n.endswith("staticmethod") for n in decorator_names),
        "classmethod": any(n.endswith("classmethod") for n in decorator_names),
    }


def _returns(module: Module, terms: Terms, functions: dict[str, dict]) -> None:
    collected: dict[str, tuple[list[Term], list[Term]]] = {}
    for node, scope in module.returns:
        function = scope.function
        if function is None or function.kind != "function":
            continue
        returns, yields = collected.setdefault(function.qualname, ([], []))
        value = node.value
        if value is None:
            continue
        term = terms.of(value, scope)
        (yields if type(node) is not ast.Return else returns).append(term)
    for qualname, (returns, yields) in collected.items():
        facts = functions.get(qualname)
        if facts is not None:
            facts["returns"] = union(returns)
            facts["yields"] = union(yields)


def _class_attributes(module: Module, terms: Terms, scope: Scope) -> dict[str, Term]:
    attrs: dict[str, Term] = {}
    for name, bindings in scope.bindings.items():
        attrs[name] = union([terms.binding(b, scope, name, 0) for b in bindings])
    return attrs


def _self_attributes(module: Module, terms: Terms, classes: dict[str, dict]) -> None:
    found: dict[tuple[str, str], list[Term]] = {}
    for node, scope in module.assignments:
        if scope.owner is None or scope.self_name is None:
            continue
        targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[union-attr]
        for target in targets:
            if (
                type(target) is ast.Attribute
                and type(target.value) is ast.Name
                and target.value.id == scope.self_name
            ):
                values = found.setdefault((scope.owner.qualname, target.attr), [])
                if type(node) is ast.AnnAssign:
                    values.append(terms.annotation_term(node.annotation, scope))
                if getattr(node, "value", None) is not None and type(node) is not ast.AugAssign:
                    values.append(terms.of(node.value, scope))
    for (class_qualname, attr), values in found.items():
        facts = classes.get(class_qualname)
        if facts is not None:
            attrs = facts["attrs"]
            attrs[attr] = union([attrs.get(attr, UNKNOWN), *values])


def _may_pass_a_value(node: ast.expr) -> bool:
    """Whether ``node``'s term may be interesting (:func:`_interesting`): read off its kind,
    before any term is built (a kind ``Terms._of`` does not follow is LITERAL or UNKNOWN)."""
    kind = type(node)
    if kind is ast.Starred:
        return _may_pass_a_value(node.value)  # type: ignore[attr-defined]
    if kind not in _FOLLOWED_KINDS:
        return False
    if kind is ast.Tuple or kind is ast.List:
        return any(_may_pass_a_value(e) for e in node.elts)  # type: ignore[attr-defined]
    return True


def _call_sites(module: Module, terms: Terms) -> list[list[Any]]:
    """Calls through which a value may reach a project function's parameter."""
    out: list[list[Any]] = []
    for call, scope in module.calls:
        if not any(_may_pass_a_value(a) for a in call.args) and not any(
            kw.arg and _may_pass_a_value(kw.value) for kw in call.keywords
        ):
            continue  # every argument is a literal or opaque: nothing reaches a parameter
        callee = terms.of(call.func, scope)
        key = callee_key(callee)
        if key is None:
            continue
        args = [
            ("*", terms.of(arg.value, scope)) if type(arg) is ast.Starred else terms.of(arg, scope)
            for arg in call.args
        ]
        keywords = {kw.arg: terms.of(kw.value, scope) for kw in call.keywords if kw.arg}
        if not any(_interesting(t) for t in (*args, *keywords.values())):
            continue
        out.append([key, callee, args, keywords])
    for fn, scope in [*module.functions, *module.classes]:
        outer = scope.parent or module.scope
        target: Term = ("fn" if type(fn) is not ast.ClassDef else "cls", scope.qualname)
        for decorator in fn.decorator_list:
            callee = terms.of(decorator, outer)
            key = callee_key(callee)
            if key is not None:
                out.append([key, callee, [target], {}])
    return out


def terms_for(module: Module) -> Terms:
    """The module's term builder, shared by every rule and facet (one memo per module)."""
    cached = getattr(module, "_terms", None)
    if cached is None:
        cached = Terms(module)
        module._terms = cached  # type: ignore[attr-defined]
    return cached


VALUES_FACET = "values"


def values_facet(module: Module, ctx: object) -> dict[str, Any]:
    """The facet every rule that asks the project model about values declares."""
    return module_facts(module, terms_for(module))
