"""ST301 fixer: give an OpenTelemetry span the bound tags with ``**span_tags()``.

By the form of the span's ``attributes`` (``finding.data["attributes"]``):

| attributes                              | becomes                                   | safety |
|-----------------------------------------|-------------------------------------------|--------|
| absent                                  | ``attributes=span_tags()`` added          | safe   |
| ``None``                                | ``span_tags()``                           | safe   |
| a dict literal ``{...}`` (keyword or positional) | ``{..., **span_tags()}``         | safe   |
| a ``dict(...)`` call                    | ``{**dict(...), **span_tags()}``          | safe   |
| anything else (``attrs``, ``build()``)  | ``{**attrs, **span_tags()}``              | unsafe |
| the call passes ``*args``/``**kwargs``  | no fix                                    |        |

``span_tags`` is imported from ``somatrace.tags`` (merged into an existing import from it).
The spread goes last, so the tags bound at run time win over literal values of the same key.
A Traceloop decorator (``@workflow`` ...) gets no fix: where to bind its tags (``@bind`` above
it, or ``set_association_properties`` in its body) is the author's choice.

Safety: adding the spread to a literal only adds the tags bound at run time. Wrapping an
expression is **unsafe**: it turns any mapping into a ``dict`` copy and fails at run time where
the expression can be ``None`` or not a mapping.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from somatrace.checks.lint.findings import Finding
from somatrace.fixers.support.base import FileFacts, Fixer, ImportSpec, NoFix, Plan
from somatrace.fixers.support.imports import name_conflict
from somatrace.rules.span_missing_tags import SpanMissingTags

SPAN_TAGS = ImportSpec("somatrace.tags", "span_tags")
ATTRIBUTES_POSITION = 3  # start_span(name, context, kind, attributes, ...)


def _span_tags_call() -> cst.Call:
    return cst.Call(func=cst.Name("span_tags"))


def _spread() -> cst.StarredDictElement:
    return cst.StarredDictElement(value=_span_tags_call())


def _append_element(node: cst.Dict) -> cst.Dict:
    """``{a: 1}`` -> ``{a: 1, **span_tags()}``, in the dict's own layout (one line, or one
    element per line with or without a trailing comma)."""
    elements = list(node.elements)
    new = _spread()
    if not elements:
        return node.with_changes(elements=[new])
    last = elements[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: the new element takes its place
        between = (
            elements[-2].comma.whitespace_after
            if len(elements) > 1 and isinstance(elements[-2].comma, cst.Comma)
            else node.lbrace.whitespace_after
        )
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
        elements.append(new.with_changes(comma=last.comma))
    else:
        elements[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        elements.append(new)
    return node.with_changes(elements=elements)


def _append_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        between = (
            args[-2].comma.whitespace_after
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
            else call.whitespace_before_args
        )
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
        args.append(arg.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(arg)
    return call.with_changes(args=args)


def _is_dict_call(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict"
    )


def _with_tags(value: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    """The attributes expression with the spread added, and whether that is safe."""
    if isinstance(value, cst.Dict):
        return _append_element(value), True
    if isinstance(value, cst.Name) and value.value == "None":
        return _span_tags_call().with_changes(lpar=value.lpar, rpar=value.rpar), True
    wrapped = cst.Dict(
        elements=[
            cst.StarredDictElement(
                value=value,
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            ),
            _spread(),
        ]
    )
    return wrapped, _is_dict_call(value)


def _attributes_arg(call: cst.Call) -> cst.Arg | str | None:
    for arg in call.args:
        if arg.star:
            return "the call passes `*`/`**` arguments, so its attributes cannot be located"
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "attributes":
            return arg
    positional = [arg for arg in call.args if arg.keyword is None]
    if len(positional) > ATTRIBUTES_POSITION:
        return positional[ATTRIBUTES_POSITION]
    return None


class SpanMissingTagsFixer(Fixer):
    RULE = SpanMissingTags
    SAFETY: ClassVar[str] = (
        "safe for absent, None, dict-literal and dict(...) attributes; unsafe when it wraps "
        "another expression"
    )

    def plan(self, finding: Finding, facts: FileFacts) -> Plan | NoFix:
        if finding.data.get("kind") != "otel-span":
            return NoFix(
                "a Traceloop decorator's tags are bound by the author: put `@bind(...)` above "
                "it or call `Traceloop.set_association_properties({...})` in its body"
            )
        call = facts.node_at(finding, cst.Call)
        if not isinstance(call, cst.Call):
            return NoFix("the reported span was not found in the file")
        conflict = name_conflict(facts.module, SPAN_TAGS)
        if conflict is not None:
            return NoFix(conflict)
        located = _attributes_arg(call)
        if isinstance(located, str):
            return NoFix(located)
        description = "add `**span_tags()` to the span's attributes"
        if located is None:
            new_arg = cst.Arg(
                keyword=cst.Name("attributes"),
                value=_span_tags_call(),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )

            def add_keyword(node: cst.CSTNode) -> cst.CSTNode:
                assert isinstance(node, cst.Call)
                return _append_arg(node, new_arg)

            return Plan(
                description="add `attributes=span_tags()` to the span",
                replacements=[(call, add_keyword)],
                imports=[SPAN_TAGS],
            )
        target = located.value
        _, safe = _with_tags(target)

        def add_tags(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.BaseExpression)
            new, _ = _with_tags(node)
            return new

        return Plan(
            description=description,
            safe=safe,
            replacements=[(target, add_tags)],
            imports=[SPAN_TAGS],
        )
