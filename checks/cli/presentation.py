"""What every output format shows the same way: paths, control characters, fingerprints.

- Control characters in a message or a path (an attribute key holding ``\\x1b``, a file
  name with a newline) are escaped (``\\x1b``) before any reporter sees them: JUnit stays
  valid XML and the terminal never receives raw escape sequences.
- ``github`` annotations and SARIF need paths relative to the repository root (GitHub places
  an annotation only on a repository-relative path): :func:`repository_paths` rewrites them
  from the working directory to the git top level (absolute for a file outside it).
- A finding's fingerprint (:func:`fingerprint`) survives edits elsewhere in its file: the rule
  code, the root-relative path, a hash of the normalised text of the finding's line(s) and its
  index among identical ones. The baseline and SARIF's ``partialFingerprints`` use it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from somatrace.checks.lint.boundary import within_project
from somatrace.checks.lint.findings import Finding

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
FINGERPRINT_VERSION = "v1"


def printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _replace(finding: Finding, **changes: object) -> Finding:
    return dataclasses.replace(finding, **changes)  # type: ignore[arg-type]


def sanitised(findings: Iterable[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        path, message = printable(f.path), printable(f.message.replace("\n", " "))
        out.append(
            f if (path, message) == (f.path, f.message) else _replace(f, path=path, message=message)
        )
    return out


def relative_to(path: str, cwd: Path, base: Path | None) -> str:
    absolute = Path(os.path.abspath(cwd / path))
    if base is not None:
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            pass
    return absolute.as_posix()


def repository_paths(findings: Iterable[Finding], cwd: Path, top: Path | None) -> list[Finding]:
    """Paths relative to the git top level (outside git there is no repository for GitHub to
    place them in: they stay relative to the working directory)."""
    if top is None:
        return list(findings)
    return [_replace(f, path=relative_to(f.path, cwd, top)) for f in findings]


def _normalised_lines(lines: list[str], finding: Finding) -> str:
    first = max(finding.line, 1)
    last = max(finding.end_line or first, first)
    return _SPACE.sub(" ", " ".join(lines[first - 1 : last])).strip()


def fingerprints(findings: list[Finding], cwd: Path, root: Path | None) -> list[str]:
    """One fingerprint per finding (same order); files are read once each."""
    texts: dict[str, list[str]] = {}
    seen: Counter[tuple[str, str, str]] = Counter()
    out = []
    for f in findings:
        rel = relative_to(f.path, cwd, root)
        if rel not in texts:
            path = Path(os.path.abspath(cwd / f.path))
            try:
                # never read through a link out of the project (that file is ST900)
                raw = path.read_bytes() if within_project(path, cwd) else b""
                texts[rel] = raw.decode("utf-8", "replace").splitlines()
            except OSError:
                texts[rel] = []
        content = _normalised_lines(texts[rel], f) or f.message
        digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        key = (f.code, rel, digest)
        index = seen[key]
        seen[key] += 1
        whole = hashlib.sha256(f"{f.code}\0{rel}\0{digest}\0{index}".encode()).hexdigest()[:32]
        out.append(f"{FINGERPRINT_VERSION}:{whole}")
    return out


def with_fingerprints(findings: list[Finding], cwd: Path, root: Path | None) -> list[Finding]:
    prints = fingerprints(findings, cwd, root)
    return [
        _replace(f, data={**f.data, "fingerprint": p})
        for f, p in zip(findings, prints, strict=True)
    ]
