"""Adopting the gate on legacy code: a baseline of today's findings.

``somatrace check --write-baseline .somatrace-baseline.json`` records every finding as its
code, root-relative path and fingerprint (:func:`somatrace.checks.cli.presentation.fingerprint`:
a hash of the normalised text of the finding's line(s) and its index among identical ones, so
edits above or below a finding do not resurrect it); ``--baseline FILE`` then reports, and fails
on, only findings that are not in it. Each recorded entry absorbs one finding, so a second copy
of a baselined line is new.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.version import VERSION

FORMAT = "somatrace-baseline"
FORMAT_VERSION = 1


def _key(code: str, path: str, fingerprint: str) -> tuple[str, str, str]:
    return (code, path, fingerprint)


def write_baseline(path: Path, findings: list[Finding], rel_paths: list[str]) -> int:
    entries = [
        {"code": f.code, "path": rel, "fingerprint": f.data["fingerprint"], "message": f.message}
        for f, rel in zip(findings, rel_paths, strict=True)
    ]
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "tool": f"somatrace {VERSION}",
        "findings": sorted(entries, key=lambda e: (e["path"], e["code"], e["fingerprint"])),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(entries)


def read_baseline(path: Path) -> Counter[tuple[str, str, str]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: baseline file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a somatrace baseline: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f'{path}: not a somatrace baseline (no "format": "{FORMAT}")')
    if document.get("version") != FORMAT_VERSION:
        raise UsageError(f"{path}: baseline version {document.get('version')!r} is not supported")
    counts: Counter[tuple[str, str, str]] = Counter()
    for entry in document.get("findings", []):
        try:
            counts[_key(entry["code"], entry["path"], entry["fingerprint"])] += 1
        except (KeyError, TypeError):
            raise UsageError(f"{path}: malformed baseline entry {entry!r}") from None
    return counts


def new_findings(
    findings: list[Finding], rel_paths: list[str], known: Counter[tuple[str, str, str]]
) -> tuple[list[Finding], int]:
    """The findings not absorbed by the baseline, and how many it absorbed."""
    left = Counter(known)
    out = []
    absorbed = 0
    for f, rel in zip(findings, rel_paths, strict=True):
        key = _key(f.code, rel, f.data["fingerprint"])
        if left[key] > 0:
            left[key] -= 1
            absorbed += 1
        else:
            out.append(f)
    return out, absorbed
