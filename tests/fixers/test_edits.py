"""Fixes as text edits (SARIF ``fixes``) and the rules' own edits for config files."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.api import CheckSettings, check_paths
from somatrace.checks.lint.findings import Edit
from somatrace.checks.lint.source import Unreadable
from somatrace.fixers.support.edits import apply_edits, edits_between, unified_diff
from somatrace.fixers.support.sarif import with_fix_edits
from tests.fixers.support import make_project

PAIRS = [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\n", "a\nb\nc\n"),
    ("a\nb\nc", "x\na\nc"),
    ("", "x\n"),
    ("x = 'true'  # keep\r\n", "x = 'false'  # keep\r\n"),
    ("import os\n\napp = 1\n", "import os\nfrom m import n\n\nn()\napp = 1\n"),
]


def test_edits_between_round_trip() -> None:
    for before, after in PAIRS:
        edits = edits_between(before, after)
        assert apply_edits(before, edits)[0] == after, (before, after, edits)


def test_edits_are_minimal() -> None:
    [edit] = edits_between("x = 'true'  # keep\n", "x = 'false'  # keep\n")
    assert edit == Edit(1, 6, 1, 9, "fals")  # "tru" -> "fals"


def test_overlapping_edits_are_skipped_not_merged() -> None:
    text, skipped = apply_edits("abcdef", [Edit(1, 1, 1, 4, "X"), Edit(1, 2, 1, 5, "Y")])
    assert text == "Xdef" and skipped == [Edit(1, 2, 1, 5, "Y")]


def test_unified_diff_marks_missing_final_newline() -> None:
    out = unified_diff("a\nb", "a\nc", "f.py")
    assert out.startswith("--- a/f.py\n+++ b/f.py\n")
    assert "\\ No newline at end of file" in out


def test_with_fix_edits_gives_each_finding_its_own_fix(tmp_path: Path) -> None:
    code = """
    import os

    from fastapi import FastAPI

    os.environ["TRACE_CONTENT"] = "on"
    app = FastAPI()
    """
    make_project(tmp_path, {"services/chat/app/main.py": code}, select=["ST101", "ST201"])
    findings = check_paths([tmp_path], CheckSettings(use_cache=False))
    # check_paths reports paths relative to the process cwd; make them relative to tmp_path.
    findings = [f.with_path(str(Path(f.path).resolve().relative_to(tmp_path))) for f in findings]
    offered = with_fix_edits(findings, cwd=tmp_path)
    assert [f.code for f in offered] == ["ST201", "ST101"] or [f.code for f in offered] == [
        "ST101",
        "ST201",
    ]
    original = (tmp_path / "services/chat/app/main.py").read_text()
    by_code = {f.code: f for f in offered}
    st201 = by_code["ST201"].fix
    assert st201 is not None and st201.safe
    assert apply_edits(original, st201.edits)[0] == original.replace('"on"', '"false"')
    st101 = by_code["ST101"].fix
    assert st101 is not None
    fixed, _ = apply_edits(original, st101.edits)
    assert "from somatrace.tracing import init_tracing\n" in fixed
    assert 'init_tracing("chat")\napp = FastAPI()' in fixed
    assert 'TRACE_CONTENT"] = "on"' in fixed  # only its own fix


def test_python_finding_with_its_own_edits_is_applied_and_verified(tmp_path: Path) -> None:
    from somatrace.checks.lint.config import Config
    from somatrace.checks.lint.findings import Finding, Fix
    from somatrace.checks.lint.source import read_source
    from somatrace.fixers.support.runner import fix_source

    path = tmp_path / "m.py"
    path.write_text('span.set_attribute("user.email", email)\n', encoding="utf-8")
    source = read_source(path, 1 << 20)
    assert not isinstance(source, Unreadable)
    good = Fix("rename", (Edit(1, 21, 1, 31, "user.hash"),))
    broken = Fix("break", (Edit(1, 1, 1, 5, "(((("),))
    config = Config(root=tmp_path)
    found = Finding("m.py", 1, 21, "ST203", "pii", fix=good)
    fixed = fix_source(source, "m.py", [found], config, "m.py")
    assert fixed.after == 'span.set_attribute("user.hash", email)\n'
    assert [f.code for f, _ in fixed.applied] == ["ST203"]
    bad = fix_source(
        source, "m.py", [Finding("m.py", 1, 1, "ST203", "x", fix=broken)], config, "m.py"
    )
    assert bad.after == source.text and bad.error and "fix not applied" in bad.error
