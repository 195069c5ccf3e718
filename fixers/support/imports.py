"""Imports that fixes need: collected per file, added once, after every fix of the file.

Fixit rules cannot add imports next to other fixes (Fixit #358) and LibCST's
``AddImportsVisitor`` can put an import after the code that uses it (LibCST #1023). Here:

- a name the module already imports from the same module is not imported again;
- an existing module-level ``from X import a, b`` (one line or parenthesised over several
  lines, with or without a trailing comma) gets the new name merged in, in sorted position when
  the names are sorted, in the list's own comma style;
- otherwise a new ``from X import name`` line goes into the leading import block - after the
  module docstring and ``from __future__`` imports, never after the first statement that is not
  an import - among the third-party imports in sorted position when they are sorted, else after
  the last import of that block. Code the fixes insert goes after that block, so an import
  always precedes its first use.

Imports a fix made unnecessary (``from traceloop.sdk import Traceloop`` after ST102) are
removed only when nothing in the file references them any more (LibCST's scope analysis).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from somatrace.fixers.support.base import ImportSpec, parsing_config

_STDLIB = frozenset(sys.stdlib_module_names)


def _module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return get_full_name_for_node(node.module)


def _import_statement(stmt: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Import | cst.ImportFrom):
            return small
    return None


def is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_future(stmt: cst.CSTNode) -> bool:
    node = _import_statement(stmt)
    return isinstance(node, cst.ImportFrom) and _module_name(node) == "__future__"


class _ModuleBindings(cst.CSTVisitor):
    """Names bound at module level (imports, defs, classes, assignments), not inside bodies of
    functions or classes."""

    def __init__(self) -> None:
        super().__init__()
        self.imported: dict[str, set[ImportSpec]] = {}
        self.other: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.other.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.other.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _module_name(node)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            bound = alias.evaluated_alias or name
            if module is None:
                self.other.add(bound)
            else:
                self.imported.setdefault(bound, set()).add(ImportSpec(module, name))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                bound = alias.evaluated_alias or name
                self.imported.setdefault(bound, set()).add(ImportSpec(name))
            else:
                self.imported.setdefault(name.split(".")[0], set()).add(ImportSpec(name))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        for name in _target_names(node.target):
            self.other.add(name)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        for name in _target_names(node.target):
            self.other.add(name)


def _target_names(target: cst.BaseExpression) -> Iterable[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, cst.Tuple | cst.List):
        for element in target.elements:
            yield from _target_names(element.value)


def module_bindings(module: cst.Module) -> _ModuleBindings:
    visitor = _ModuleBindings()
    module.visit(visitor)
    return visitor


def name_conflict(module: cst.Module, spec: ImportSpec) -> str | None:
    """Why ``spec.name`` cannot be imported into ``module`` (it names something else), or None."""
    assert spec.name is not None
    bindings = module_bindings(module)
    if spec.name in bindings.other:
        return f"`{spec.name}` already names something else in this file"
    others = bindings.imported.get(spec.name, set()) - {spec}
    if others:
        other = sorted(others, key=str)[0]
        origin = f"{other.module}.{other.name}" if other.name else other.module
        return f"`{spec.name}` is already imported from `{origin}` in this file"
    return None


def _separator(node: cst.ImportFrom, names: Sequence[cst.ImportAlias]) -> cst.Comma:
    """The comma that separates two names in this import's own layout."""
    if len(names) > 1 and isinstance(names[0].comma, cst.Comma):
        return names[0].comma
    if node.lpar is not None and isinstance(
        node.lpar.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return cst.Comma(whitespace_after=node.lpar.whitespace_after)  # one name per line
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def merge_alias(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """``from X import a, c`` + ``b`` -> ``from X import a, b, c`` in the list's own style."""
    assert not isinstance(node.names, cst.ImportStar)
    names = list(node.names)
    existing = [get_full_name_for_node(a.name) or "" for a in names]
    keys = [n.lower() for n in existing]
    index = len(names)
    if keys == sorted(keys):
        index = next((i for i, k in enumerate(keys) if k > name.lower()), len(names))
    separator = _separator(node, names)
    new = cst.ImportAlias(name=cst.Name(name))
    if index == len(names):
        last = names[-1]
        new = new.with_changes(comma=last.comma)
        names[-1] = last.with_changes(comma=separator)
        names.append(new)
    else:
        names.insert(index, new.with_changes(comma=separator))
    # A one-line import stays one line: line length is the formatter's business.
    return node.with_changes(names=names)


def leading_block(body: Sequence[cst.BaseStatement]) -> tuple[int, int]:
    """``(start, end)``: body[start:end] are the imports of the leading import block; start is
    after the docstring and ``from __future__`` imports."""
    start = 0
    if body and is_docstring(body[0]):
        start = 1
    while start < len(body) and _is_future(body[start]):
        start += 1
    end = start
    while end < len(body) and _import_statement(body[end]) is not None:
        end += 1
    return start, end


def _sort_key(stmt: cst.CSTNode) -> tuple[int, int, str] | None:
    """isort's default order (also Ruff's): section (stdlib, third party), then ``import x``
    lines before ``from x import y`` lines, then the module name; None for relative imports."""
    node = _import_statement(stmt)
    if node is None:
        return None
    if isinstance(node, cst.ImportFrom):
        module, is_from = _module_name(node), 1
    else:
        module, is_from = get_full_name_for_node(node.names[0].name), 0
    if module is None:
        return None
    return (0 if module.split(".")[0] in _STDLIB else 1, is_from, module.lower())


def _insert_new(module: cst.Module, spec: ImportSpec) -> cst.Module:
    code = f"from {spec.module} import {spec.name}" if spec.name else f"import {spec.module}"
    new = cst.parse_statement(code, config=parsing_config(module))
    body = list(module.body)
    start, end = leading_block(body)
    section = 0 if spec.module.split(".")[0] in _STDLIB else 1
    key = (section, 1 if spec.name else 0, spec.module.lower())
    keys = [_sort_key(s) for s in body[start:end]]
    same_section = [(i, k) for i, k in enumerate(keys) if k is not None and k[0] == section]
    index: int | None = None
    if same_section and [k for _, k in same_section] == sorted(k for _, k in same_section):
        index = next((start + i for i, k in same_section if k > key), None)
    if index is not None:
        # Join the group of the import it precedes: take over that import's leading lines.
        following = body[index]
        new = new.with_changes(leading_lines=following.leading_lines)
        body[index] = following.with_changes(leading_lines=())
        body.insert(index, new)
    elif same_section:
        body.insert(start + same_section[-1][0] + 1, new)
    elif end > start:
        body.insert(end, new)
    elif start > 0:
        # After the docstring / __future__ imports, as its own block.
        new = new.with_changes(leading_lines=(cst.EmptyLine(),))
        body.insert(start, new)
    else:
        if body:
            first = body[0]
            new = new.with_changes(leading_lines=first.leading_lines)
            body[0] = first.with_changes(leading_lines=())
        body.insert(0, new)
    return module.with_changes(body=body)


def _merge_into_existing(module: cst.Module, spec: ImportSpec) -> cst.Module | None:
    assert spec.name is not None
    body = list(module.body)
    for i, stmt in enumerate(body):
        node = _import_statement(stmt)
        if (
            isinstance(node, cst.ImportFrom)
            and not isinstance(node.names, cst.ImportStar)
            and _module_name(node) == spec.module
        ):
            assert isinstance(stmt, cst.SimpleStatementLine)
            body[i] = stmt.with_changes(body=[merge_alias(node, spec.name)])
            return module.with_changes(body=body)
    return None


def add_imports(module: cst.Module, specs: Iterable[ImportSpec]) -> cst.Module:
    """``module`` with every import in ``specs`` present, each added at most once."""
    for spec in dict.fromkeys(specs):
        bindings = module_bindings(module)
        bound = spec.name if spec.name else spec.module.split(".")[0]
        if spec in bindings.imported.get(bound, set()):
            continue
        if spec.name is not None:
            merged = _merge_into_existing(module, spec)
            if merged is not None:
                module = merged
                continue
        module = _insert_new(module, spec)
    return module


def remove_unused(
    module: cst.Module, candidates: Iterable[tuple[str, str | None, str | None]]
) -> cst.Module:
    """Remove the ``(module, name, asname)`` imports that nothing references any more."""
    candidates = list(dict.fromkeys(candidates))
    if not candidates:
        return module
    # libcst.codemod imports libcst.matchers (hundreds of generated dataclasses, ~0.3 s): only
    # a fix that removes an import pays for it.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import RemoveImportsVisitor

    context = CodemodContext()
    for mod, obj, asname in candidates:
        RemoveImportsVisitor.remove_unused_import(context, mod, obj, asname)
    return RemoveImportsVisitor(context).transform_module(module)
