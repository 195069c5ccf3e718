"""ST102 fixer: rewrite ``Traceloop.init(...)`` to ``init_tracing(...)``.

Which arguments map onto the helper, and why the others do not, is
:mod:`somatrace.checks.analysis.traceloop_init` (shared with the rule, whose message says why a
call has no fix). Without ``app_name`` the service name is resolved like ST101's (config, path,
pyproject).

Safety: the rewrite is **safe** (it changes exactly what the policy asks: content capture off,
tags and cost on, export to the configured endpoint) when the call is a statement of its own;
when the call's return value is used (``client = Traceloop.init(...)``) it is **unsafe**,
because ``init_tracing`` does not return Traceloop's client. The now-unused
``from traceloop.sdk import Traceloop`` is removed; one still used elsewhere stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import libcst as cst

from somatrace.checks.analysis.traceloop_init import (
    DROPPED_SAFE,
    DROPPED_UNSAFE,
    RENAMED,
    argument_names,
)
from somatrace.checks.analysis.traceloop_init import unfixable_reason as shared_reason
from somatrace.checks.lint.findings import Finding
from somatrace.fixers.support.base import (
    FileFacts,
    Fixer,
    ImportSpec,
    NoFix,
    Plan,
    string_literal,
)
from somatrace.fixers.support.imports import name_conflict
from somatrace.rules.direct_traceloop_init import DirectTraceloopInit

INIT_TRACING = ImportSpec("somatrace.tracing", "init_tracing")


def _named_args(call: cst.Call) -> list[tuple[str, cst.Arg]] | str:
    star = next((str(arg.star) for arg in call.args if arg.star), None)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    keywords = [arg.keyword.value for arg in call.args if arg.keyword is not None]
    names = argument_names(len(positional), keywords, star)
    if isinstance(names, str):
        return names
    args = [*positional, *(arg for arg in call.args if arg.keyword is not None)]
    return list(zip(names, args, strict=True))


def unfixable_reason(call: cst.Call) -> str | None:
    """Why ``Traceloop.init(...)`` cannot be rewritten to ``init_tracing(...)``, or None."""
    named = _named_args(call)
    return shared_reason(named if isinstance(named, str) else [name for name, _ in named])


def _imports_to_drop(func: cst.BaseExpression) -> list[tuple[str, str | None, str | None]]:
    # Traceloop.init / TL.init / ts.Traceloop.init / traceloop.sdk.Traceloop.init
    if not isinstance(func, cst.Attribute):
        return []
    owner = func.value
    if isinstance(owner, cst.Name):
        asname = None if owner.value == "Traceloop" else owner.value
        return [
            ("traceloop.sdk", "Traceloop", asname),
            ("traceloop.sdk.tracing.tracing", "Traceloop", asname),
            ("traceloop.sdk.tracing", "Traceloop", asname),
        ]
    if isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name):
        return [("traceloop.sdk", None, owner.value.value)]
    if isinstance(owner, cst.Attribute):
        return [("traceloop.sdk", None, None)]
    return []


def _kept_layout(args: list[cst.Arg], original: Sequence[cst.Arg]) -> list[cst.Arg]:
    """Arguments keep their own commas (and the comments after them); the one that ends up
    last takes the original last argument's comma, so a trailing comma stays or stays away."""
    if not args:
        return args
    out = list(args)
    if out[-1] is not original[-1] and original:
        out[-1] = out[-1].with_changes(comma=original[-1].comma)
    for i, arg in enumerate(out[:-1]):
        if not isinstance(arg.comma, cst.Comma):
            out[i] = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return out


def _leading_arg(value: cst.BaseExpression, call: cst.Call) -> cst.Arg:
    """A new first argument, followed by the call's own layout (one line or one per line)."""
    whitespace = call.whitespace_before_args
    if not call.args:
        return cst.Arg(value=value)
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return cst.Arg(value=value, comma=cst.Comma(whitespace_after=whitespace))
    return cst.Arg(value=value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))


class DirectTraceloopInitFixer(Fixer):
    RULE = DirectTraceloopInit
    SAFETY: ClassVar[str] = (
        "safe when the call is a statement; unsafe when its return value is used or when it "
        "drops traceloop_sync_enabled"
    )

    def plan(self, finding: Finding, facts: FileFacts) -> Plan | NoFix:
        call = facts.node_at(finding, cst.Call)
        if not isinstance(call, cst.Call):
            return NoFix("the reported call was not found in the file")
        reason = unfixable_reason(call)
        if reason is not None:
            return NoFix(reason)
        conflict = name_conflict(facts.module, INIT_TRACING)
        if conflict is not None:
            return NoFix(conflict)
        named = _named_args(call)
        assert not isinstance(named, str)
        safe = isinstance(facts.parents.get(call), cst.Expr)
        has_app_name = False
        kept: list[cst.Arg] = []
        for index, (name, arg) in enumerate(named):
            if name == "app_name":
                has_app_name = True
                if index == 0:  # first already: positional, as the helper's docs write it
                    arg = arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
                kept.append(arg)
            elif name in DROPPED_SAFE:
                continue
            elif name in DROPPED_UNSAFE:
                safe = False
            else:
                changes: dict[str, object] = {"keyword": cst.Name(RENAMED[name])}
                if arg.keyword is None:  # a positional beyond the first becomes a keyword
                    changes["equal"] = cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    )
                kept.append(arg.with_changes(**changes))
        new_args = _kept_layout(kept, call.args)
        if not has_app_name:
            quote = facts.quote()
            service = facts.service_name().name
            literal = cst.SimpleString(string_literal(service, quote))
            first = _leading_arg(literal, call) if new_args else cst.Arg(value=literal)
            new_args = [first, *new_args]

        def rewrite(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.Call)
            return node.with_changes(func=cst.Name("init_tracing"), args=new_args)

        return Plan(
            description="rewrite `Traceloop.init` to `init_tracing`",
            safe=safe,
            replacements=[(call, rewrite)],
            imports=[INIT_TRACING],
            drop_if_unused=_imports_to_drop(call.func),
        )
