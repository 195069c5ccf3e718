"""Fixer of ST202 trace-content-enabled-config: set the content switch to ``false`` in place."""

from __future__ import annotations

from somatrace.checks.lint.findings import Edit, Finding, Fix
from somatrace.checks.policy.environ import is_truthy
from somatrace.fixers.support.base import NoFix, TextFixer
from somatrace.fixers.support.edits import text_between
from somatrace.rules.trace_content_enabled_config import VALUE_SPAN, TraceContentEnabledConfig


class SetContentSwitchFalse(TextFixer):
    """Replace the truthy word itself: quotes, blanks, comments and the rest of the file stay
    byte-for-byte (``"true"`` -> ``"false"``, ``'1'`` -> ``'false'``, ``on`` -> ``false``)."""

    RULE = TraceContentEnabledConfig
    SAFETY = "safe: only the truthy word changes, to the one value the policy allows"

    def fix_text(self, finding: Finding, text: str) -> Fix | NoFix:
        span = finding.data.get(VALUE_SPAN)
        if not (
            isinstance(span, list) and len(span) == 4 and all(isinstance(n, int) for n in span)
        ):
            return NoFix("the value is not spelled verbatim (escaped or folded): edit it by hand")
        line, col, end_line, end_col = (int(n) for n in span)
        if not is_truthy(text_between(text, line, col, end_line, end_col)):
            return NoFix("the file changed since it was checked; run check again")
        variable = finding.data.get("variable", "the content switch")
        return Fix(f"set {variable} to false", (Edit(line, col, end_line, end_col, "false"),))
