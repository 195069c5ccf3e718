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


def test_the_st202_text_fixer_edits_the_word_it_saw_and_refuses_a_changed_file(
    tmp_path: Path,
) -> None:
    """ST202's fixer builds its edit from the span the rule recorded, and checks that the text
    there is still truthy: a file edited since the check gets no blind edit."""
    from somatrace.checks.lint.config import Config
    from somatrace.checks.lint.findings import Finding
    from somatrace.checks.lint.source import read_source
    from somatrace.fixers.support.runner import fix_source
    from somatrace.rules.trace_content_enabled_config import VALUE_SPAN

    path = tmp_path / ".env"
    path.write_text('# content\nTRACE_CONTENT="on"  # why\n', encoding="utf-8")
    source = read_source(path, 1 << 20, python=False)
    assert not isinstance(source, Unreadable)
    config = Config(root=tmp_path)
    data = {"variable": "TRACE_CONTENT", VALUE_SPAN: [2, 16, 2, 18]}
    found = Finding(".env", 2, 1, "ST202", "on", data=data)
    fixed = fix_source(source, ".env", [found], config, ".env")
    assert fixed.after == '# content\nTRACE_CONTENT="false"  # why\n'
    assert [description for _, description in fixed.applied] == ["set TRACE_CONTENT to false"]
    path.write_text('# content\nTRACE_CONTENT="no"  # why\n', encoding="utf-8")
    changed = read_source(path, 1 << 20, python=False)
    assert not isinstance(changed, Unreadable)
    stale = fix_source(changed, ".env", [found], config, ".env")
    assert stale.after == changed.text and not stale.applied
    assert [reason for _, reason in stale.not_fixed] == [
        "the file changed since it was checked; run check again"
    ]
    folded = Finding(".env", 2, 1, "ST202", "on", data={"variable": "TRACE_CONTENT"})
    unfixable = fix_source(source, ".env", [folded], config, ".env")
    assert unfixable.after == source.text and "not spelled verbatim" in unfixable.not_fixed[0][1]
