"""Every fix of a file, applied in one transform of its original tree.

Plans refer to nodes of the original tree. One :class:`libcst.CSTTransformer` walks the tree
once; on leaving an original node it applies that node's replacements (in plan order, each to
the output of the previous one, so a fix of an inner node survives a fix of its parent) and
puts planned statements before it. Plans whose replaced ranges overlap a plan accepted earlier
are not applied in this pass (the re-check finds them again, like Ruff's fix loop) - in
practice rules report disjoint nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from somatrace.fixers.support.base import FileFacts, Plan, Replacement, ranges_overlap


@dataclass
class Merged:
    replacements: dict[cst.CSTNode, list[Replacement]] = field(default_factory=dict)
    before: dict[cst.CSTNode, list[cst.CSTNode]] = field(default_factory=dict)
    after: dict[cst.CSTNode, list[cst.CSTNode]] = field(default_factory=dict)
    accepted: list[Plan] = field(default_factory=list)
    deferred: list[Plan] = field(default_factory=list)


def merge_plans(plans: list[Plan], facts: FileFacts) -> Merged:
    merged = Merged()
    taken = []
    for plan in plans:
        ranges = [facts.positions[node] for node, _ in plan.replacements]
        if any(ranges_overlap(r, t) for r in ranges for t in taken):
            merged.deferred.append(plan)
            continue
        taken.extend(ranges)
        merged.accepted.append(plan)
        for node, replace in plan.replacements:
            merged.replacements.setdefault(node, []).append(replace)
        for node, statements in plan.insert_before:
            _add_unique(merged.before.setdefault(node, []), statements)
        for node, statements in plan.insert_after:
            _add_unique(merged.after.setdefault(node, []), statements)
    return merged


def _add_unique(existing: list[cst.CSTNode], statements: list[cst.CSTNode]) -> None:
    # Two findings asking for the same statement in the same place get it once.
    for statement in statements:
        if not any(statement.deep_equals(other) for other in existing):
            existing.append(statement)


class _Apply(cst.CSTTransformer):
    def __init__(self, merged: Merged) -> None:
        super().__init__()
        self.merged = merged

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        node = updated_node
        for replace in self.merged.replacements.get(original_node, ()):
            node = replace(node)
        before = self.merged.before.get(original_node, [])
        after = self.merged.after.get(original_node, [])
        if before and hasattr(node, "leading_lines") and hasattr(before[0], "leading_lines"):
            before, node = _share_blank_lines(before, node)
        if before or after:
            return cst.FlattenSentinel([*before, node, *after])
        return node


def _share_blank_lines(
    before: list[cst.CSTNode], node: cst.CSTNode
) -> tuple[list[cst.CSTNode], cst.CSTNode]:
    """New statements go after the blank lines that precede the statement and before its
    comments, so the diff adds lines and moves none. A function or class keeps its blank lines
    (PEP 8's two before a definition); the new statement then gets one of its own."""
    lines = list(getattr(node, "leading_lines", ()))
    blanks = 0
    while blanks < len(lines) and lines[blanks].comment is None:
        blanks += 1
    if not blanks:
        return before, node
    first = before[0]
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        moved = [cst.EmptyLine()]
    else:
        moved = lines[:blanks]
        node = node.with_changes(leading_lines=lines[blanks:])
    first = first.with_changes(leading_lines=[*moved, *first.leading_lines])
    return [first, *before[1:]], node


def apply_merged(module: cst.Module, merged: Merged) -> cst.Module:
    if not merged.replacements and not merged.before and not merged.after:
        return module
    result = module.visit(_Apply(merged))
    assert isinstance(result, cst.Module)
    return result
