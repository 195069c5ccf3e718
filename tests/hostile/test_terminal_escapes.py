"""Terminal escape sequences in file names never reach the terminal: the text report, fix's
report and its diff show them escaped (`\\x1b`); GitHub annotations escape them their own way."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.canaries import assert_canaries_checked, assert_sound, check, make_repo, run_cli

EVIL = "gen/evil\x1b]0;pwned\x07\x1b[2J.py"
SHOWN = "gen/evil\\x1b]0;pwned\\x07\\x1b[2J.py"
BODY = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'


def test_text_report_escapes_the_name(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {EVIL: BODY})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
    assert "\x1b" not in run.output and "\x07" not in run.output
    assert any(" ST102 " in line for line in run.lines_for(SHOWN)), run.output
    files = run_cli(root, "check", "--show-files")
    assert "\x1b" not in files.output and SHOWN in files.stdout


def test_fix_and_its_diff_escape_the_name(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {EVIL: BODY})
    diff = run_cli(root, "fix", "--diff", "--no-cache", "--show-fixes")
    assert "Traceback" not in diff.output and "\x1b" not in diff.output, diff.output
    assert f"--- a/{SHOWN}" in diff.stdout
    fixed = run_cli(root, "fix", "--no-cache", "--show-fixes")
    assert "\x1b" not in fixed.output and SHOWN in fixed.stdout, fixed.output
    assert "Traceloop.init" not in (root / EVIL).read_text()


def test_github_annotations_escape_the_name(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {EVIL: BODY})
    run = check(root, "--output-format", "github")
    assert "\x1b" not in run.stdout and "::error file=gen/evil" in run.stdout
