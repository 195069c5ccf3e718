"""Every INVALID sample of every fixable rule, fixed for real on disk.

For each sample: the fixed Python compiles; the sample's ``expected_fixed`` (when it has one) is
matched exactly; no finding of the rule is left without a stated reason; and a second run
changes nothing (convergence).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.lint.rule import Invalid
from somatrace.rules import all_rules
from tests.fixers.support import assert_valid_python, dedent, fix
from tests.helpers import write_files, write_pyproject

CASES = [
    pytest.param(rule, sample, id=f"{rule.CODE}-invalid-{i}")
    for rule in all_rules()
    if rule.FIX.fixable
    for i, sample in enumerate(rule.INVALID)
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".somatrace_cache" not in p.parts
    }


@pytest.mark.parametrize(("rule", "sample"), CASES)
def test_fix_sample(rule: type, sample: Invalid, tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": [rule.CODE], **dict(sample.config)})
    write_files(tmp_path, {**dict(sample.files), sample.path: sample.code})
    before = _snapshot(tmp_path)
    report = fix(tmp_path, unsafe=True)
    after = _snapshot(tmp_path)
    for rel, data in after.items():
        if rel.endswith(".py") and data != before.get(rel):
            assert_valid_python(data.decode("utf-8-sig"))
    if sample.expected_fixed is not None:
        assert after[sample.path].decode() == dedent(sample.expected_fixed)
    left = [f for f in report.remaining() if f.code == rule.CODE]
    for finding in left:
        assert report.reason_for(finding), f"{finding} left without a reason"
    if not left:
        assert report.fixed_count >= 1
    second = fix(tmp_path, unsafe=True)
    assert second.fixed_count == 0 and _snapshot(tmp_path) == after
