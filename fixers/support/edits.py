"""Text edits: apply a rule's own :class:`Edit` s (config files), and turn a before/after pair
into the smallest :class:`Edit` s (for SARIF ``fixes`` and JSON output).

Positions are 1-based (line, column) in code points, the end exclusive - the same convention as
findings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from somatrace.checks.lint.findings import Edit
from somatrace.checks.lint.source import line_starts, split_lines


def offset_of(starts: list[int], text: str, line: int, col: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + col - 1, len(text))


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    # the last line start <= offset
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1, offset - starts[lo] + 1


def text_between(text: str, line: int, col: int, end_line: int, end_col: int) -> str:
    """The text between two positions (the convention of findings and edits)."""
    starts = line_starts(text)
    return text[offset_of(starts, text, line, col) : offset_of(starts, text, end_line, end_col)]


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, list[Edit]]:
    """``text`` with every non-overlapping edit applied; returns the edits it skipped."""
    starts = line_starts(text)
    spans = []
    for edit in edits:
        start = offset_of(starts, text, edit.line, edit.col)
        end = offset_of(starts, text, edit.end_line, edit.end_col)
        spans.append((start, end, edit))
    spans.sort(key=lambda s: (s[0], s[1]))
    kept: list[tuple[int, int, Edit]] = []
    skipped: list[Edit] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            skipped.append(span[2])
            continue
        kept.append(span)
    out = text
    for start, end, edit in reversed(kept):
        out = out[:start] + edit.replacement + out[end:]
    return out, skipped


def edits_between(before: str, after: str) -> tuple[Edit, ...]:
    """The smallest edits (per changed line group, trimmed to the changed characters) that
    turn ``before`` into ``after``."""
    old_lines = split_lines(before)
    new_lines = split_lines(after)
    starts = line_starts(before)
    old_offsets = [0]
    for line in old_lines:
        old_offsets.append(old_offsets[-1] + len(line))
    new_offsets = [0]
    for line in new_lines:
        new_offsets.append(new_offsets[-1] + len(line))
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_start, old_end = old_offsets[i1], old_offsets[i2]
        new_start, new_end = new_offsets[j1], new_offsets[j2]
        old_chunk, new_chunk = before[old_start:old_end], after[new_start:new_end]
        prefix = 0
        while (
            prefix < min(len(old_chunk), len(new_chunk)) and old_chunk[prefix] == new_chunk[prefix]
        ):
            prefix += 1
        suffix = 0
        while (
            suffix < min(len(old_chunk), len(new_chunk)) - prefix
            and old_chunk[-1 - suffix] == new_chunk[-1 - suffix]
        ):
            suffix += 1
        start = old_start + prefix
        end = old_end - suffix
        line, col = _position(starts, start)
        end_line, end_col = _position(starts, end)
        replacement = new_chunk[prefix : len(new_chunk) - suffix]
        edits.append(Edit(line, col, end_line, end_col, replacement))
    return tuple(edits)


def _range(start: int, length: int) -> str:
    # difflib's convention: "start,length", "start" for one line, "start-1,0" for none
    if length == 1:
        return f"{start + 1}"
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


def unified_diff(before: str, after: str, display: str, context: int = 3) -> str:
    """A ``git diff``-like unified diff of one file (``a/``, ``b/`` prefixes).

    Unlike ``difflib.unified_diff`` the matcher runs without the "autojunk" heuristic, which
    treats lines frequent in big files (blank lines) as junk and then shows an untouched blank
    line as removed and added again.
    """
    old = split_lines(before)
    new = split_lines(after)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out: list[str] = []

    def emit(prefix: str, line: str) -> None:
        body = line.rstrip("\r\n")  # one ending: `\r\n`, `\r` or `\n` (split_lines)
        text = body + "\n"
        if body == line:
            text += "\\ No newline at end of file\n"
        out.append(prefix + text)

    for group in matcher.get_grouped_opcodes(context):
        if not out:
            out.append(f"--- a/{display}\n+++ b/{display}\n")
        first, last = group[0], group[-1]
        old_range = _range(first[1], last[2] - first[1])
        new_range = _range(first[3], last[4] - first[3])
        out.append(f"@@ -{old_range} +{new_range} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old[i1:i2]:
                    emit(" ", line)
                continue
            for line in old[i1:i2]:
                emit("-", line)
            for line in new[j1:j2]:
                emit("+", line)
    return "".join(out)
