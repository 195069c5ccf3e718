"""ST201 fixer: switch content capture off by replacing exactly the reported value.

- an environment value (``os.environ["TRACELOOP_TRACE_CONTENT"] = "true"``, ``setdefault``,
  ``update``, ``putenv``, ``|=``) becomes ``"false"`` - in the literal's own quote character
  when it was a string, else in the file's;
- a keyword (``init_tracing(..., trace_content=True)``, ``observe(capture_input=True)``)
  becomes ``False``.

Nothing else on the line changes: the key, comments, parentheses around the value and the rest
of the call stay as they are. A value that came through a module constant
(``os.environ[KEY] = ON``) is replaced at the use the rule reported, never at the constant,
which other code may read.

Safety: **safe** - it does exactly what the policy asks (content capture off). A service that
relied on seeing prompts in its traces will no longer see them there; that is the policy.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from somatrace.checks.lint.findings import Finding
from somatrace.fixers.support.base import FileFacts, Fixer, NoFix, Plan
from somatrace.rules.trace_content_enabled import TraceContentEnabled


def _false_string(value: cst.BaseExpression, facts: FileFacts) -> cst.SimpleString:
    quote = value.quote if isinstance(value, cst.SimpleString) and len(value.quote) == 1 else None
    quote = quote or facts.quote()
    return cst.SimpleString(f"{quote}false{quote}")


class TraceContentEnabledFixer(Fixer):
    RULE = TraceContentEnabled
    SAFETY: ClassVar[str] = "safe: sets the reported switch to false and changes nothing else"

    def plan(self, finding: Finding, facts: FileFacts) -> Plan | NoFix:
        value = next(
            (n for n in facts.nodes_at(finding) if isinstance(n, cst.BaseExpression)), None
        )
        if value is None:
            return NoFix("the reported value was not found in the file")
        kind = finding.data.get("kind")
        if kind == "keyword":
            new: cst.BaseExpression = cst.Name("False")
            description = f"set `{finding.data.get('keyword', 'the keyword')}=False`"
        elif kind == "env":
            new = _false_string(value, facts)
            description = f'set `{finding.data.get("switch", "the switch")}` to "false"'
        else:
            return NoFix("the finding does not say which kind of switch it is")

        def replace(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.BaseExpression)
            return new.with_changes(lpar=node.lpar, rpar=node.rpar)

        return Plan(description=description, replacements=[(value, replace)])
