"""Bounded cost per file: ``max-file-size`` (1 MB by default) for every kind of file the gate
reads and for buffers, ``timeout-per-file`` really replacing a worker, and a deeply nested
``pyproject.toml`` never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.lint.bounds import (
    DEFAULT_MAX_FILE_SIZE,
    FSTRING_TOO_LARGE,
    MAX_FSTRING_FIELDS,
)
from tests.hostile.canaries import (
    assert_canaries_checked,
    assert_sound,
    assert_st900,
    check,
    make_repo,
    run_cli,
)

HIDDEN = "from traceloop.sdk import Traceloop\nTraceloop.init(app_name='hidden')\n"
BIG = DEFAULT_MAX_FILE_SIZE + 1
SECRET_ENV = "LANGFUSE_SECRET_KEY=sk-lf-0a1b2c3d4e5f\n"

LARGE = {
    # one 5 MB f-string: 164 s and 1.8 GB before the bound
    "gen/fstring.py": HIDDEN + 'x = f"' + "a" * (5 * 1024 * 1024) + '"\n',
    "deploy/values.yaml": "env:\n  LANGFUSE_SECRET_KEY: sk-lf-0a1b2c3d4e5f\n"
    + "# pad\n" * (BIG // 6),
    ".env": SECRET_ENV + "# pad\n" * (BIG // 6),
    "Dockerfile": "FROM python:3.11\nENV LANGFUSE_SECRET_KEY=sk-lf-0a1b2c3d4e5f\n"
    + "# pad\n" * (BIG // 6),
    "config/otel.json": '{"LANGFUSE_SECRET_KEY": "sk-lf-0a1b2c3d4e5f", "pad": "'
    + "a" * BIG
    + '"}\n',
}


@pytest.mark.parametrize("relpath", sorted(LARGE))
def test_a_file_past_max_file_size_is_st900(tmp_path: Path, relpath: str) -> None:
    root = make_repo(tmp_path / "repo", {relpath: LARGE[relpath]})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
    if relpath.endswith(".json"):  # no rule reads JSON here: not reported, never read whole
        assert run.lines_for(relpath) == []
        return
    assert_st900(run, relpath, "larger than max-file-size")


def test_an_fstring_with_too_many_fields_is_refused_before_parsing(tmp_path: Path) -> None:
    """Under max-file-size, but CPython 3.11 parses an f-string's fields in quadratic time
    (200,000 fields: over a minute)."""
    text = HIDDEN + 'x = f"' + "a{b}" * (DEFAULT_MAX_FILE_SIZE // 5) + '"\n'
    assert len(text) < DEFAULT_MAX_FILE_SIZE
    root = make_repo(tmp_path / "repo", {"gen/fstring.py": text})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
    assert_st900(run, "gen/fstring.py", FSTRING_TOO_LARGE)


def test_fstrings_under_the_field_bound_are_checked(tmp_path: Path) -> None:
    line = 'y = f"' + "a{b}" * MAX_FSTRING_FIELDS + '"\n'
    root = make_repo(tmp_path / "repo", {"gen/fstring.py": HIDDEN + line * 10})
    run = check(root)
    assert_sound(run, seconds=60, rss_mb=400)
    assert [line.split()[1] for line in run.lines_for("gen/fstring.py")] == ["ST102"]


def test_a_buffer_from_stdin_has_the_same_bound(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {})
    data = LARGE["gen/fstring.py"].encode()
    run = run_cli(root, "check", "--no-cache", "-", "--stdin-filename", "gen/x.py", stdin=data)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_st900(run, "gen/x.py", "larger than max-file-size")


def test_timeout_per_file_replaces_the_worker_and_reports_the_file(tmp_path: Path) -> None:
    # ~900 KB of statements: seconds to parse and index, far past a 0.05 s budget; the
    # canaries take milliseconds each
    slow = HIDDEN + "".join(f"v{i} = Traceloop.init(app_name=f'{{a}}{i}')\n" for i in range(20_000))
    root = make_repo(tmp_path / "repo", {"gen/slow.py": slow})
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "timeout-per-file = 0.05\n")
    run = check(root, "--jobs", "2")
    assert_sound(run, seconds=60, rss_mb=400)
    assert_canaries_checked(run)
    assert_st900(run, "gen/slow.py", "took longer than 0.05 s")


def test_a_deeply_nested_pyproject_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {})
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300, code=2)
    assert "nested too deeply to read" in run.stderr


def test_a_deeply_nested_vendored_pyproject_is_skipped(tmp_path: Path) -> None:
    """Not ours (no [tool.somatrace]) and not valid for tomllib: skipped, the run goes on."""
    deep = "[project]\nx = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n"
    root = make_repo(tmp_path / "repo", {"vendor/lib/pyproject.toml": deep})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
