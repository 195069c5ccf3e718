"""Name resolution shared by rules: what does this expression refer to?

Asks LibCST's scope analysis (``ScopeProvider``) for qualified names, only for the nodes a rule
asks about, and finishes the job of LibCST's ``QualifiedNameProvider``: relative imports are made
absolute from the file's module name (LibCST #460), so ``from .tracing import init_tracing``
inside ``app/main.py`` resolves to ``app.tracing.init_tracing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ScopeProvider

from somatrace.checks.lint.modules import resolve_relative
from somatrace.checks.lint.rule import PythonRule


def qualified_names(rule: PythonRule, node: cst.CSTNode) -> set[str]:
    """Every absolute dotted name ``node`` may refer to (empty when unknown)."""
    # Ask the node's scope lazily instead of running QualifiedNameProvider, which visits every
    # node of the module to attach names that rules never ask for (~40% of the metadata cost).
    try:
        scope = rule.get_metadata(ScopeProvider, node, None)
    except KeyError:
        return set()
    if scope is None:
        return set()
    names = scope.get_qualified_names_for(node)
    out: set[str] = set()
    is_package = rule.ctx.path.name == "__init__.py"
    for qn in names:
        name = qn.name
        if name.startswith("."):
            resolved = resolve_relative(name, rule.ctx.module_name, is_package)
            if resolved:
                out.add(resolved)
        else:
            out.add(name)
    return out


def callee_names(rule: PythonRule, call: cst.Call) -> set[str]:
    return qualified_names(rule, call.func)


def matches_name(rule: PythonRule, node: cst.CSTNode, wanted: set[str] | frozenset[str]) -> bool:
    return not qualified_names(rule, node).isdisjoint(wanted)


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else ``None``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non f-) string literal, including implicit concatenation."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


# --- Module constants ------------------------------------------------------------------------
# ``KEY = "TRACE_CONTENT"; os.environ[KEY] = "true"``: a rule that reads literals follows names
# bound once at module level to their value. Computed once per file, shared by every rule.

_CONSTANTS_MEMO = "names.module_constants"
_MAX_CONSTANT_HOPS = 8


def module_constants(rule: PythonRule, module: cst.Module) -> dict[str, cst.BaseExpression]:
    """Names assigned exactly once by a plain statement at module level, mapped to their value.

    A name bound more than once at module level (``x = 1`` then ``x = 2``, ``x += 1``, or
    conditionally inside ``if``/``try``) is not a constant: its value cannot be known.
    """
    memo = rule.ctx.memo
    cached = memo.get(_CONSTANTS_MEMO)
    if cached is not None:
        return cached
    values: dict[str, cst.BaseExpression] = {}
    unstable: set[str] = set()

    def bind(name: str, value: cst.BaseExpression | None) -> None:
        if value is None or name in values or name in unstable:
            values.pop(name, None)
            unstable.add(name)
        else:
            values[name] = value

    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            bind(target.target.value, small.value)
                        else:
                            for name in _bound_names(target.target):
                                bind(name, None)
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    bind(small.target.value, small.value)
                elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
                    bind(small.target.value, None)
        else:
            # Compound statements (if/try/for/with/def/class) bind conditionally or rebind.
            for node in _assigned_in(statement):
                bind(node, None)
    memo[_CONSTANTS_MEMO] = values
    return values


def _bound_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for element in target.elements for n in _bound_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return []


def _assigned_in(statement: cst.BaseCompoundStatement) -> list[str]:
    """Module-level names a compound statement may bind (its def/class name, or assignments in
    its blocks outside nested functions and classes)."""
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return [statement.name.value]
    found: list[str] = []

    class Collector(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.append(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.append(node.name.value)
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            found.extend(_bound_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            found.extend(_bound_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.extend(_bound_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            found.extend(_bound_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            if isinstance(node.name, cst.Name):
                found.append(node.name.value)

    statement.visit(Collector())
    return found


def resolve_constant(
    rule: PythonRule, node: cst.BaseExpression, constants: dict[str, cst.BaseExpression]
) -> cst.BaseExpression:
    """``node``, or — when it is a name that refers to a module constant — the constant's value
    (followed through further constants). A local or parameter of the same name is not followed."""
    for _ in range(_MAX_CONSTANT_HOPS):
        if not isinstance(node, cst.Name) or node.value not in constants:
            return node
        if qualified_names(rule, node) != {node.value}:
            return node  # a local, parameter or import that shadows the constant
        node = constants[node.value]
    return node


def constant_string(
    rule: PythonRule, node: cst.BaseExpression, constants: dict[str, cst.BaseExpression]
) -> str | None:
    """The string ``node`` stands for, literally or through module constants."""
    return string_value(resolve_constant(rule, node, constants))


# --- Literal mappings ------------------------------------------------------------------------


@dataclass(frozen=True)
class LiteralMapping:
    """What can be read from a mapping written in the code (``{...}``, ``dict(...)``, keyword
    arguments): the keys whose names are known with their value expressions, the parts that
    may hold any number of unknown keys (``**spread``), and keys whose value cannot be read
    here (``{SpanAttributes.LLM_SYSTEM: ...}``), each of which is still just one key."""

    items: tuple[tuple[str, cst.BaseExpression], ...] = ()
    opaque: tuple[cst.BaseExpression, ...] = ()
    unknown_keys: tuple[cst.BaseExpression, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.items)

    def merged(self, other: LiteralMapping) -> LiteralMapping:
        return LiteralMapping(
            self.items + other.items,
            self.opaque + other.opaque,
            self.unknown_keys + other.unknown_keys,
        )


def literal_mapping(
    rule: PythonRule, node: cst.BaseExpression, constants: dict[str, cst.BaseExpression]
) -> LiteralMapping | None:
    """Read a dict display or a ``dict(...)`` call (directly or through a module constant);
    ``None`` when ``node`` is not a mapping written in the code."""
    node = resolve_constant(rule, node, constants)
    if isinstance(node, cst.Dict):
        result = LiteralMapping()
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                inner = literal_mapping(rule, element.value, constants)
                result = result.merged(inner or LiteralMapping(opaque=(element.value,)))
                continue
            key = constant_string(rule, element.key, constants)
            if key is None:
                result = result.merged(LiteralMapping(unknown_keys=(element.key,)))
            else:
                result = result.merged(LiteralMapping(items=((key, element.value),)))
        return result
    if isinstance(node, cst.Call) and "builtins.dict" in callee_names(rule, node):
        return call_arguments_mapping(rule, node, constants)
    return None


def call_arguments_mapping(
    rule: PythonRule, call: cst.Call, constants: dict[str, cst.BaseExpression]
) -> LiteralMapping:
    """A call's arguments read as one mapping, like ``dict(...)`` builds it: keyword arguments
    by name, ``**spread`` and positional mappings by their content."""
    result = LiteralMapping()
    for arg in call.args:
        if arg.keyword is not None:
            result = result.merged(LiteralMapping(((arg.keyword.value, arg.value),)))
            continue
        inner = literal_mapping(rule, arg.value, constants) if arg.star in ("", "**") else None
        result = result.merged(inner if inner is not None else LiteralMapping(opaque=(arg.value,)))
    return result


# --- Annotations -----------------------------------------------------------------------------


def annotation_refers_to(
    rule: PythonRule, annotation: cst.BaseExpression, wanted: frozenset[str]
) -> bool:
    """Does a type annotation name one of ``wanted`` — plainly, optional (``X | None``,
    ``Optional[X]``) or quoted (``"X"``, resolved in the annotation's scope)?

    String annotations need ``ScopeProvider`` among the rule's metadata dependencies.
    """
    if isinstance(annotation, cst.Name | cst.Attribute):
        return matches_name(rule, annotation, wanted)
    if isinstance(annotation, cst.BinaryOperation):
        return annotation_refers_to(rule, annotation.left, wanted) or annotation_refers_to(
            rule, annotation.right, wanted
        )
    if isinstance(annotation, cst.Subscript):
        return any(
            isinstance(element.slice, cst.Index)
            and annotation_refers_to(rule, element.slice.value, wanted)
            for element in annotation.slice
        )
    text = string_value(annotation)
    if text is None:
        return False
    try:
        parsed = cst.parse_expression(text.strip())
    except cst.ParserSyntaxError:
        return False
    return _quoted_refers_to(rule, annotation, parsed, wanted)


def _quoted_refers_to(
    rule: PythonRule, anchor: cst.CSTNode, parsed: cst.BaseExpression, wanted: frozenset[str]
) -> bool:
    name = dotted(parsed)
    if name is not None:
        try:
            scope = rule.get_metadata(ScopeProvider, anchor, None)
        except KeyError:
            return False
        if scope is None:
            return False
        return any(qn.name in wanted for qn in scope.get_qualified_names_for(name))
    if isinstance(parsed, cst.BinaryOperation):
        return _quoted_refers_to(rule, anchor, parsed.left, wanted) or _quoted_refers_to(
            rule, anchor, parsed.right, wanted
        )
    if isinstance(parsed, cst.Subscript):
        return any(
            isinstance(element.slice, cst.Index)
            and _quoted_refers_to(rule, anchor, element.slice.value, wanted)
            for element in parsed.slice
        )
    return False


# --- somatrace's tag API, as the rules that prove span tags see it ---------------------------

TAGS_BIND = frozenset({"somatrace.tags.bind"})
SPAN_TAGS = frozenset({"somatrace.tags.span_tags"})
SET_ASSOCIATION_PROPERTIES = frozenset(
    {
        "traceloop.sdk.Traceloop.set_association_properties",
        "traceloop.sdk.set_association_properties",
        "traceloop.sdk.tracing.tracing.set_association_properties",
    }
)


@dataclass(frozen=True)
class TagProof:
    """Which tags a piece of code is proven to set, and which parts of it hide their keys:
    ``opaque`` parts may hold any number of tags, each of ``unknown_keys`` at most one.
    Both hold descriptions for messages, e.g. "`**extra`"."""

    keys: frozenset[str] = frozenset()
    opaque: tuple[str, ...] = ()
    unknown_keys: tuple[str, ...] = ()

    def __or__(self, other: TagProof) -> TagProof:
        return TagProof(
            self.keys | other.keys,
            self.opaque + other.opaque,
            self.unknown_keys + other.unknown_keys,
        )

    def missing(self, required: list[str] | tuple[str, ...]) -> list[str]:
        return [tag for tag in required if tag not in self.keys]

    def may_supply(self, missing: list[str]) -> bool:
        """Could the hidden parts hold every missing tag? (A key read elsewhere is one tag.)"""
        return bool(self.opaque) or len(self.unknown_keys) >= len(missing)

    def unknown_keys_note(self) -> str:
        """For a definite finding despite keys defined elsewhere: why they cannot make up."""
        if not self.unknown_keys:
            return ""
        keys = ", ".join(dict.fromkeys(self.unknown_keys))
        return f" (keys defined elsewhere, {keys}, can supply at most {len(self.unknown_keys)})"


def is_span_tags_call(rule: PythonRule, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and matches_name(rule, node.func, SPAN_TAGS)


def mapping_tag_proof(
    rule: PythonRule,
    mapping: LiteralMapping,
    required: frozenset[str],
) -> TagProof:
    """Tags a literal mapping proves: its known keys, plus every required tag for each
    ``**span_tags()`` spread; any other opaque part is reported as such."""
    keys = set(mapping.keys)
    opaque: list[str] = []
    for part in mapping.opaque:
        if is_span_tags_call(rule, part):
            keys |= required
        else:
            opaque.append(_source(part))
    unknown_keys = tuple(_source(key) for key in mapping.unknown_keys)
    return TagProof(frozenset(keys), tuple(opaque), unknown_keys)


def expression_tag_proof(
    rule: PythonRule,
    node: cst.BaseExpression,
    constants: dict[str, cst.BaseExpression],
    required: frozenset[str],
) -> TagProof:
    """Tags an expression used as a mapping of tags proves (``{...}``, ``dict(...)``,
    ``span_tags()``); anything else is opaque."""
    if is_span_tags_call(rule, node):
        return TagProof(required)
    mapping = literal_mapping(rule, node, constants)
    if mapping is None:
        return TagProof(frozenset(), (_source(node),))
    return mapping_tag_proof(rule, mapping, required)


def tag_call_proof(
    rule: PythonRule,
    call: cst.Call,
    constants: dict[str, cst.BaseExpression],
    required: frozenset[str],
) -> TagProof | None:
    """Tags bound by a call of ``somatrace.tags.bind(...)`` (its keyword arguments) or
    ``Traceloop.set_association_properties(...)`` (its mapping); ``None`` for any other call."""
    names = callee_names(rule, call)
    if names & TAGS_BIND:
        mapping = call_arguments_mapping(rule, call, constants)
        # `bind(tenant_id=None)` binds nothing: it keeps whatever the outer scope had.
        bound = tuple((key, value) for key, value in mapping.items if not _is_none(value))
        mapping = LiteralMapping(bound, mapping.opaque, mapping.unknown_keys)
        return mapping_tag_proof(rule, mapping, required)
    if names & SET_ASSOCIATION_PROPERTIES:
        argument = call.args[0] if call.args and call.args[0].star == "" else None
        if argument is None:
            argument = keyword(call, "properties")
        if argument is None:
            return TagProof(frozenset(), (_source(call),))
        return expression_tag_proof(rule, argument.value, constants, required)
    return None


@dataclass
class TagScope:
    """The tags in context while one body (module or function) runs, statement by statement,
    as somatrace and traceloop keep them (one context value, ``association_properties``):
    ``bind(...)`` adds to it until its ``with`` ends; ``set_association_properties`` replaces
    it until the enclosing ``with`` (whose exit resets the context) ends."""

    context: TagProof = field(default_factory=TagProof)
    association_all: TagProof = field(default_factory=TagProof)  # every call in the body
    _saved: list[TagProof] = field(default_factory=list)

    def enter_with(self) -> None:
        self._saved.append(self.context)

    def leave_with(self) -> None:
        self.context = self._saved.pop()

    def bind(self, proof: TagProof) -> None:
        self.context = self.context | proof

    def set_association_properties(self, proof: TagProof) -> None:
        self.context = proof
        self.association_all = self.association_all | proof


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _source(node: cst.CSTNode) -> str:
    return f"`{cst.Module(body=[]).code_for_node(node)}`"


# --- Environment variables set in code -------------------------------------------------------

OS_ENVIRON = frozenset({"os.environ"})
_ENVIRON_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
_ENVIRON_UPDATE = frozenset({"os.environ.update"})


def environ_writes(
    rule: PythonRule, node: cst.CSTNode, constants: dict[str, cst.BaseExpression]
) -> list[tuple[str, cst.BaseExpression]]:
    """``(variable, value expression)`` for every environment variable ``node`` sets under a
    name known from the code: ``os.environ[K] = v``, ``os.environ |= {...}``,
    ``os.environ.setdefault(K, v)``, ``os.environ.update(...)`` and ``os.putenv(K, v)``, with
    ``os``/``environ`` under any alias and names through module constants. ``node`` is an
    ``Assign``, ``AugAssign`` or ``Call``; anything else sets nothing."""
    out: list[tuple[str, cst.BaseExpression]] = []
    if isinstance(node, cst.Assign):
        for target in node.targets:
            item = target.target
            if (
                isinstance(item, cst.Subscript)
                and len(item.slice) == 1
                and isinstance(item.slice[0].slice, cst.Index)
                and matches_name(rule, item.value, OS_ENVIRON)
            ):
                name = constant_string(rule, item.slice[0].slice.value, constants)
                if name is not None:
                    out.append((name, node.value))
    elif isinstance(node, cst.AugAssign):
        if isinstance(node.operator, cst.BitOrAssign) and matches_name(
            rule, node.target, OS_ENVIRON
        ):
            mapping = literal_mapping(rule, node.value, constants)
            if mapping is not None:
                out.extend(mapping.items)
    elif isinstance(node, cst.Call):
        names = callee_names(rule, node)
        if names & _ENVIRON_SETTERS:
            positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
            key = positional[0].value if positional else None
            value = positional[1].value if len(positional) > 1 else None
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "key":
                    key = arg.value
                elif arg.keyword is not None and arg.keyword.value in ("default", "value"):
                    value = arg.value
            name = constant_string(rule, key, constants) if key is not None else None
            if name is not None and value is not None:
                out.append((name, value))
        elif names & _ENVIRON_UPDATE:
            out.extend(call_arguments_mapping(rule, node, constants).items)
    return out
