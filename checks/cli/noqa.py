"""``--add-noqa`` (Ruff's): a ``# noqa: CODES`` on every line with a finding, and the audit of
``# noqa`` directives: unknown codes of somatrace's namespace (a warning; another tool's code,
``F401``, is that tool's) and, with ``--report-unused-noqa`` or
``report-unused-noqa = true``, directives that suppress nothing (like Ruff's RUF100).

The audit's second pass runs the same check with suppressions read but not applied (and no
cache), over the files that hold directives only, so a directive is "used" exactly when a
finding it names would be reported without it.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tokenize
from collections.abc import Callable, Mapping
from pathlib import Path

from somatrace.checks.lint.boundary import OUTSIDE_REASON, inside, project_root, within_project
from somatrace.checks.lint.codes import PARSE_ERROR
from somatrace.checks.lint.engine import CheckSettings, Engine
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.selectors import is_ours
from somatrace.checks.lint.source import Unreadable, decode, split_lines
from somatrace.checks.lint.suppression import Directive, directives, set_applied, unknown_codes
from somatrace.fixers.support.write import (
    ChangedOnDisk,
    Refused,
    Snapshot,
    encode_text,
    write_atomic,
)


@dataclasses.dataclass
class Audit:
    unknown: list[str] = dataclasses.field(default_factory=list)  # warnings
    unused: list[str] = dataclasses.field(default_factory=list)  # findings of the audit


def _text(path: Path) -> str | None:
    if not within_project(path, Path.cwd()):
        return None  # never read through a link out of the project
    try:
        data = path.read_bytes()
    except OSError:
        return None
    decoded = decode(path, data, python=path.suffix == ".py")
    return None if isinstance(decoded, Unreadable) else decoded.text


def _used(directive: Directive, findings: list[Finding]) -> set[str] | None:
    """The directive's codes some finding needs (``None``: a bare ``noqa`` that is used)."""
    hits = [f for f in findings if directive.file_level or f.line == directive.line]
    if directive.codes is None:
        return None if hits else set()
    return {c for c in directive.codes if any(f.code.startswith(c) for f in hits)}


def _unknown_warning(shown: str, line: int, col: int, code: str) -> str:
    return f"{shown}:{line}:{col}: unknown rule code `{code}` in `# noqa` (Unknown rule selector)"


def audit_noqa(
    paths: list[Path],
    display: Callable[[Path], str],
    make_engine: Callable[[CheckSettings], Engine],
    settings: CheckSettings,
    report_unused: bool,
    known: Mapping[str, list[tuple[int, int, str]]] | None = None,
) -> Audit:
    """``known``: the unknown codes the analysis already found, per file (absolute path), so
    that a file it read is not read again (without ``report_unused``, which needs every
    directive)."""
    result = Audit()
    with_directives: dict[Path, list[Directive]] = {}
    for path in paths:
        found_before = None if known is None or report_unused else known.get(str(path))
        if found_before is not None:
            result.unknown.extend(
                _unknown_warning(display(path), line, col, code) for line, col, code in found_before
            )
            continue
        text = _text(path)
        found = directives(text) if text is not None else []
        if not found:
            continue
        with_directives[path] = found
        result.unknown.extend(
            _unknown_warning(display(path), line, col, code)
            for line, col, code in unknown_codes(found)
        )
    if not report_unused or not with_directives:
        return result
    raw_settings = dataclasses.replace(settings, use_cache=False, changed_since=None)
    set_applied(False)
    try:
        raw = make_engine(raw_settings).run(sorted(with_directives))
    finally:
        set_applied(True)
    by_file: dict[str, list[Finding]] = {}
    for f in raw.findings:
        by_file.setdefault(f.path, []).append(f)
    for path, found in sorted(with_directives.items()):
        shown = display(path)
        findings = by_file.get(shown, [])
        for d in found:
            ours = [c for c in d.codes or () if is_ours(c)]
            if d.codes is not None and not ours:
                continue  # only another tool's codes (F401): not ours to judge
            used = _used(d, findings)
            if used is None:
                continue
            unused = [c for c in ours if c not in used]
            if d.codes is None or unused:
                what = f" (unused: {', '.join(unused)})" if unused else ""
                result.unused.append(f"{shown}:{d.line}:{d.col}: unused `# noqa` directive{what}")
    return result


def _string_lines(text: str) -> set[int]:
    """Lines inside a multi-line string (a comment there would change the string)."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return inside


def _add_to_line(line: str, codes: list[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    return f"{body}  # noqa: {', '.join(codes)}{ending}"


def add_noqa(findings: list[Finding], cwd: Path) -> tuple[int, list[str]]:
    """Append ``# noqa: CODES`` to each line with findings; returns (directives added, notes)."""
    by_file: dict[Path, dict[int, list[str]]] = {}
    for f in findings:
        if f.code == PARSE_ERROR:
            continue
        lines = by_file.setdefault(Path(os.path.abspath(cwd / f.path)), {})
        codes = lines.setdefault(f.line, [])
        if f.code not in codes:
            codes.append(f.code)
    added = 0
    notes: list[str] = []
    for path, lines in sorted(by_file.items()):
        root = project_root(path, cwd)
        if not inside(path, root):
            notes.append(f"{path}: not written: {OUTSIDE_REASON}")
            continue
        try:
            snapshot = Snapshot.take(path)
        except OSError as exc:
            notes.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        decoded = decode(path, snapshot.data, python=path.suffix == ".py")
        if isinstance(decoded, Unreadable):
            continue
        text_lines = split_lines(decoded.text)
        strings = _string_lines(decoded.text) if path.suffix == ".py" else set()
        count = 0
        for number, codes in sorted(lines.items()):
            if not 0 < number <= len(text_lines) or number in strings:
                notes.append(f"{path}:{number}: inside a multi-line string; no `# noqa` added")
                continue
            text_lines[number - 1] = _add_to_line(text_lines[number - 1], codes)
            count += 1
        if not count:
            continue
        try:
            data = encode_text("".join(text_lines), decoded.encoding, snapshot.data)
            write_atomic(snapshot, data, root=root)
        except (ChangedOnDisk, Refused, OSError) as exc:
            notes.append(f"{path}: not written: {exc}")
            continue
        added += count
    return added, notes
