"""ST900 parse-error: reported by the engine itself for files it cannot read or parse."""

from __future__ import annotations

from somatrace.checks.lint.codes import PARSE_ERROR
from somatrace.checks.lint.rule import Rule


class ParseError(Rule):
    """A file the tool could not read or parse.

    ## What it does
    Reports a file that somatrace had to check but could not: a syntax error (including syntax
    LibCST does not support yet), bytes that are not valid in the file's declared encoding, a
    binary file with a `.py` name, an unreadable file, a symlink loop, a file larger than
    `max-file-size`.

    ## Why is this bad?
    A file that cannot be parsed cannot be proven compliant. The finding keeps the gap visible
    instead of passing silently. It is never fatal: every other file is still checked, and
    `somatrace fix` never rewrites a file with this finding.

    Syntax errors are reported for files that some rule had to parse (a file that mentions no
    tracing, framework or span API is not parsed at all, which is what keeps the gate fast).
    Unreadable, binary and undecodable files are always reported.

    ## Example
    ```python
    def broken(:
        pass
    ```

    ## Use instead
    Fix the syntax, save the file as UTF-8 (or declare its encoding with a coding comment), or
    exclude the path in `[tool.somatrace] exclude`.

    ## Fix safety
    No fix.
    """

    CODE = PARSE_ERROR
    NAME = "parse-error"
