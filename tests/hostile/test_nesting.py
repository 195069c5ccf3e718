"""Deep nesting: refused before any parser sees it (CPython's and LibCST's are recursive; LibCST
segfaults at ~1,400 nested brackets), in check, fix, --changed-since and the JSON report (which
parses fixable files with LibCST) alike; a file just under the bound is checked and fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.lint.bounds import MAX_NESTING, NESTED_TOO_DEEPLY, nesting_depth
from tests.helpers import git
from tests.hostile.canaries import (
    assert_canaries_checked,
    assert_sound,
    assert_st900,
    check,
    make_repo,
    run_cli,
    write_hostile,
)

# A hostile file hides a policy violation behind the nesting: the direct Traceloop.init call
# makes the file one that rules must parse (a file no rule applies to is never parsed).
HIDDEN = "from traceloop.sdk import Traceloop\nTraceloop.init(app_name='hidden')\n"

CASES = {
    "parens_100k": HIDDEN + "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",
    "chain_100k": HIDDEN + "x = " + "a + " * 100_000 + "a\n",
    "parens_1500_3kb": HIDDEN + "(" * 1500 + ")" * 1500 + "\n",
    "brackets_1500": HIDDEN + "x = " + "[" * 1500 + "]" * 1500 + "\n",
    "unary_5000": HIDDEN + "x = " + "-" * 5000 + "1\n",
    "attributes_1500": HIDDEN + "x = a" + ".b" * 1500 + "\n",
    "calls_1500": HIDDEN + "x = f" + "()" * 1500 + "\n",
    # brackets around an f-string and in its replacement field: CPython 3.11 counts each part on
    # its own (each under its 200), LibCST's tree holds them together
    "fstring_fields": HIDDEN
    + "x = "
    + "(" * 100
    + 'f"{'
    + "(" * 150
    + "1"
    + ")" * 150
    + '}"'
    + ")" * 100
    + "\n",
}


def test_the_scan_is_linear_and_stops_past_the_bound() -> None:
    assert nesting_depth(CASES["parens_100k"]) == MAX_NESTING + 1
    assert nesting_depth("x = " + "a + " * 150 + "a\n") == 150
    assert nesting_depth('x = "((((((((" + f"{{((((((((" # ((((((((\n') <= 2


# What `check` makes of each: CPython's parser keeps its own bounds (so check does not scan
# first, see bounds.ast_needs_refusal_scan) and reports its reason; what CPython parses and the
# model can walk is analysed like any file (its hidden ST102 is found). LibCST (fix) refuses
# them all.
CPYTHON_REASON = {
    "parens_100k": "too many nested parentheses",
    "parens_1500_3kb": "too many nested parentheses",
    "brackets_1500": "too many nested parentheses",
    "chain_100k": NESTED_TOO_DEEPLY,
    "unary_5000": NESTED_TOO_DEEPLY,
    "attributes_1500": None,
    "calls_1500": None,
    "fstring_fields": None,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_reports_the_deep_file_and_checks_every_other(tmp_path: Path, name: str) -> None:
    if name == "fstring_fields":
        # 190 + 150 brackets, each under CPython's own 200 but deeper together than the bound
        assert nesting_depth(CASES[name]) > MAX_NESTING
    root = make_repo(tmp_path / "repo", {f"gen/{name}.py": CASES[name]})
    run = check(root)
    assert_sound(run, seconds=60, rss_mb=400)
    assert_canaries_checked(run)
    reason = CPYTHON_REASON[name]
    if reason is None:
        codes = [line.split()[1] for line in run.lines_for(f"gen/{name}.py")]
        assert codes == ["ST102"], run.output
    else:
        assert_st900(run, f"gen/{name}.py", reason)


@pytest.mark.parametrize(
    "name", ["parens_1500_3kb", "chain_100k", "unary_5000", "attributes_1500", "fstring_fields"]
)
def test_fix_refuses_the_deep_file_and_fixes_the_others(tmp_path: Path, name: str) -> None:
    root = make_repo(tmp_path / "repo", {f"gen/{name}.py": CASES[name]})
    before = (root / f"gen/{name}.py").read_bytes()
    run = run_cli(root, "fix", "--no-cache")
    assert_sound(run, seconds=90, rss_mb=400)
    assert (root / f"gen/{name}.py").read_bytes() == before  # never touched
    if CPYTHON_REASON[name] is not None:
        assert_st900(run, f"gen/{name}.py", CPYTHON_REASON[name])
    else:  # checked, and its fix refused before LibCST sees the file
        (line,) = run.lines_for(f"gen/{name}.py")
        assert " ST102 " in line and NESTED_TOO_DEEPLY in run.output, run.output
    # the canaries' safe fixes were applied: ST101 (beta) and ST102 (gamma) are gone
    assert "init_tracing(" in (root / "services/beta/app/main.py").read_text()
    assert "Traceloop.init" not in (root / "services/gamma/app/main.py").read_text()
    assert any(" ST401 " in line for line in run.lines_for("services/delta/app/main.py"))


def test_json_report_with_fix_edits_survives_the_3kb_file(tmp_path: Path) -> None:
    """JSON carries each fix as edits, computed with LibCST: the file that crashes LibCST's
    native parser must never reach it."""
    root = make_repo(tmp_path / "repo", {"gen/deep.py": CASES["parens_1500_3kb"]})
    run = check(root, "--output-format", "json")
    assert_sound(run, seconds=60, rss_mb=400)
    assert "too many nested parentheses" in run.stdout and '"ST102"' in run.stdout


def test_changed_since_reports_a_deep_file_added_after_the_base(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {})
    base = git(root, "rev-parse", "HEAD").strip()
    write_hostile(root, {"gen/deep.py": CASES["chain_100k"]})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "deep")
    run = check(root, "--changed-since", base)
    assert_sound(run, seconds=60, rss_mb=400)
    assert_st900(run, "gen/deep.py", NESTED_TOO_DEEPLY)
    assert run.lines_for("services/beta/app/main.py") == []  # unchanged: not reported


@pytest.mark.parametrize(
    "body",
    [
        "x = " + "(" * (MAX_NESTING - 2) + "1" + ")" * (MAX_NESTING - 2),
        "x = " + "a + " * (MAX_NESTING - 2) + "a",
        "x = " + "-" * (MAX_NESTING - 2) + "1",
        "x = a" + ".b" * (MAX_NESTING - 2),
        "".join(" " * i + "if x:\n" for i in range(90)) + " " * 90 + "y = " + "a + " * 100 + "a",
    ],
    ids=["parens", "chain", "unary", "attributes", "blocks"],
)
def test_just_under_the_bound_is_checked_and_fixed(tmp_path: Path, body: str) -> None:
    """The bound sits below every parser failure: such a file is parsed, its finding found and
    fixed by LibCST, never an ST900."""
    text = HIDDEN + body + "\n"
    assert nesting_depth(text) <= MAX_NESTING
    root = make_repo(tmp_path / "repo", {"gen/edge.py": text})
    run = check(root)
    assert_sound(run, seconds=60, rss_mb=400)
    assert [line.split()[1] for line in run.lines_for("gen/edge.py")] == ["ST102"], run.output
    fixed = run_cli(root, "fix", "--no-cache", "gen/edge.py")
    assert "Traceback" not in fixed.output and "ST900" not in fixed.output, fixed.output
    assert "Traceloop.init" not in (root / "gen/edge.py").read_text()
