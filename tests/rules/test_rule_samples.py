"""Every rule's VALID and INVALID samples, run through the real engine on real files.

A sample is written into a fresh project on disk (with a ``pyproject.toml`` selecting only the
rule under test, plus the sample's config overrides and extra project files), checked with the
same code path as ``somatrace check``, and its findings compared with the sample's expectations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.api import CheckSettings, check_paths
from somatrace.checks.lint.rule import Expect, Invalid, PythonRule, TextRule, Valid
from somatrace.rules import all_rules
from tests.helpers import write_files, write_pyproject

CASES = [
    pytest.param(rule, sample, id=f"{rule.CODE}-{kind}-{i}")
    for rule in all_rules()
    for kind, samples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for i, sample in enumerate(samples)
]


def run_sample(rule: type, sample: Valid | Invalid, root: Path) -> list:
    settings = {"select": [rule.CODE], **dict(sample.config)}
    write_pyproject(root, settings)
    write_files(root, {**dict(sample.files), sample.path: sample.code})
    findings = check_paths([root], CheckSettings(use_cache=False))
    return [f for f in findings if f.code == rule.CODE]


def expectations(sample: Invalid) -> list[Expect]:
    """Every finding the sample must produce, in order of position."""
    if sample.expect:
        return list(sample.expect)
    assert sample.count == 1, "a sample with several findings lists each of them in `expect`"
    assert sample.line is not None and sample.col is not None, "give the finding's line and col"
    return [Expect(sample.line, sample.col, sample.message)]


@pytest.mark.parametrize(("rule", "sample"), CASES)
def test_sample(rule: type, sample: Valid | Invalid, tmp_path: Path) -> None:
    findings = run_sample(rule, sample, tmp_path)
    if isinstance(sample, Valid):
        assert findings == [], f"{rule.CODE} must not report ({sample.why}):\n{findings}"
        return
    expected = expectations(sample)
    assert len(findings) == len(expected) == sample.count or (
        sample.expect and len(findings) == len(expected)
    ), f"{rule.CODE} expected {len(expected)} finding(s): {findings}"
    for finding, expect in zip(findings, expected, strict=True):
        assert finding.path.endswith(expect.path or sample.path), finding
        assert (finding.line, finding.col) == (expect.line, expect.col), finding
        if expect.message is not None:
            assert expect.message in finding.message, finding.message


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.CODE)
def test_rule_documents_itself(rule: type) -> None:
    docs = rule.docs()
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert section in docs, f"{rule.CODE} docs lack {section!r}"
    assert rule.NAME.lower() == rule.NAME and " " not in rule.NAME
    module = rule.__module__.rsplit(".", 1)[-1]
    assert module == rule.NAME.replace("-", "_"), "a rule lives in the module named after it"


# ST900 (engine) and ST403 (deploy validate / audit-cluster) are reported outside the visitors:
# they document themselves here and are tested where they are reported.
CHECKED_FILE_BY_FILE = [r for r in all_rules() if issubclass(r, PythonRule | TextRule)]


@pytest.mark.parametrize("rule", CHECKED_FILE_BY_FILE, ids=lambda r: r.CODE)
def test_rule_has_samples(rule: type) -> None:
    assert rule.VALID, f"{rule.CODE} has no VALID samples"
    assert rule.INVALID, f"{rule.CODE} has no INVALID samples"
