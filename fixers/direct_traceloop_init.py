"""ST102 fixer: rewrite ``Traceloop.init(...)`` to ``init_tracing(...)``.

Arguments of ``Traceloop.init`` (traceloop-sdk 0.62, positional order respected) map onto the
helper's (``init_tracing(app_name, **options)``, see ``somatrace.settings.OPTION_NAMES``):

| ``Traceloop.init``      | ``init_tracing``                  |
|-------------------------|-----------------------------------|
| ``app_name``            | ``app_name`` (positional when it comes first) |
| ``api_endpoint``        | ``endpoint``                      |
| ``headers``             | ``headers``                       |
| ``disable_batch``       | ``disable_batch``                 |
| ``resource_attributes`` | ``resource_attributes``           |
| ``enabled``             | ``enabled``                       |
| ``telemetry_enabled``   | dropped (the helper never sends Traceloop telemetry) |
| ``traceloop_sync_enabled`` | dropped - **unsafe** (prompt sync from the Traceloop cloud stops) |

Anything else - a custom ``exporter``, ``processor``, ``propagator``, ``sampler``, metrics or
logging exporter, ``api_key``, instrument lists, ``*args``/``**kwargs`` - has no equivalent:
no fix is offered and the reason is printed with the finding (:func:`unfixable_reason`).
Without ``app_name`` the service name is resolved like ST101's (config, path, pyproject).

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

from somatrace.checks.lint.findings import Finding
from somatrace.fixers.support.base import FileFacts, Fixer, ImportSpec, NoFix, Plan
from somatrace.fixers.support.imports import name_conflict

INIT_TRACING = ImportSpec("somatrace.tracing", "init_tracing")

# Traceloop.init's parameters in positional order (traceloop-sdk 0.62).
POSITIONAL = (
    "app_name",
    "api_endpoint",
    "api_key",
    "enabled",
    "headers",
    "disable_batch",
    "telemetry_enabled",
    "exporter",
    "metrics_exporter",
    "metrics_headers",
    "logging_exporter",
    "logging_headers",
    "processor",
    "propagator",
    "sampler",
    "traceloop_sync_enabled",
    "should_enrich_metrics",
    "resource_attributes",
    "instruments",
    "block_instruments",
    "image_uploader",
    "span_postprocess_callback",
)
RENAMED = {
    "api_endpoint": "endpoint",
    "headers": "headers",
    "disable_batch": "disable_batch",
    "resource_attributes": "resource_attributes",
    "enabled": "enabled",
}
DROPPED_SAFE = frozenset({"telemetry_enabled"})
DROPPED_UNSAFE = frozenset({"traceloop_sync_enabled"})
CUSTOM_PIPELINE = frozenset(
    {
        "exporter",
        "processor",
        "propagator",
        "sampler",
        "metrics_exporter",
        "logging_exporter",
        "span_postprocess_callback",
        "image_uploader",
    }
)


def _named_args(call: cst.Call) -> list[tuple[str, cst.Arg]] | str:
    named: list[tuple[str, cst.Arg]] = []
    position = 0
    for arg in call.args:
        if arg.star:
            return f"the call passes `{arg.star}` arguments, which cannot be mapped"
        if arg.keyword is None:
            if position >= len(POSITIONAL):
                return "the call passes more positional arguments than Traceloop.init takes"
            named.append((POSITIONAL[position], arg))
            position += 1
        else:
            named.append((arg.keyword.value, arg))
    return named


def unfixable_reason(call: cst.Call) -> str | None:
    """Why ``Traceloop.init(...)`` cannot be rewritten to ``init_tracing(...)``, or None.

    Pure function of the call node, so the ST102 rule can put the reason into its message.
    """
    named = _named_args(call)
    if isinstance(named, str):
        return named
    for name, _ in named:
        if name in CUSTOM_PIPELINE:
            return (
                f"a custom `{name}` has no init_tracing equivalent (the helper builds the "
                "export pipeline that enforces the policy); move it into the helper's config "
                "or drop it by hand"
            )
        if name == "api_key":
            return (
                "`api_key` has no init_tracing equivalent; put the OTLP credentials into "
                "OTEL_EXPORTER_OTLP_HEADERS"
            )
        if name in ("instruments", "block_instruments"):
            return f"`{name}` has no init_tracing equivalent (the helper instruments every library)"
        if name not in RENAMED and name not in DROPPED_SAFE | DROPPED_UNSAFE and name != "app_name":
            return f"`{name}` has no init_tracing equivalent"
    return None


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
    CODE = "ST102"
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
            literal = cst.SimpleString(f"{quote}{_escape(service, quote)}{quote}")
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


def _escape(value: str, quote: str) -> str:
    return value.replace("\\", "\\\\").replace(quote, "\\" + quote)
