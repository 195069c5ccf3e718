"""Generated programs through the real ``somatrace check``, real files with an inserted
entrypoint or span through the real ``somatrace fix`` - small and seeded (the pipeline is
``tests/hostile/generated.py``; ``benchmarks/generated_programs.py`` runs it at full size).

The real files are modules of packages installed in the test environment (``httpx`` and
``starlette``, both required by the SDK and FastAPI), so the test needs no network. Below: the
bugs the full run found, each as its smallest reproduction.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import starlette

from tests.helpers import run_cli, write_pyproject
from tests.hostile import generated

SEED = 20260
PROGRAMS = 60
REAL_FILES = 15


def _assert_clean(tally: generated.Tally, title: str) -> None:
    summary = generated.report(title, tally)
    print(summary)
    assert not tally.failures, summary + "\n\n" + "\n\n".join(tally.failures[:10])


def test_generated_programs_through_check_and_fix(tmp_path: Path) -> None:
    made = generated.generate_programs(PROGRAMS, SEED)
    assert len(made.programs) == PROGRAMS
    assert len({p.source for p in made.programs}) == PROGRAMS
    again = generated.generate_programs(10, SEED + 1).programs
    assert again == generated.generate_programs(10, SEED + 1).programs  # seeded: reproducible
    tally = generated.check_programs(made.programs, tmp_path, batch_size=30)
    _assert_clean(tally, "programs")
    assert tally.files == PROGRAMS and tally.trees == 2
    primed = sum(p.primed for p in made.programs)
    assert primed >= PROGRAMS // 3
    # The rules ran over the generated code: the primed footer's app and span were found and,
    # except where a generated body hid them, fixed.
    assert tally.findings["ST101"] >= primed // 2 and tally.findings["ST301"] >= primed // 2
    assert tally.notes["fix primed: files changed"] >= primed // 2


def test_real_files_with_an_inserted_entrypoint_or_span_through_fix(tmp_path: Path) -> None:
    sources: dict[str, bytes] = {}
    for package in (httpx, starlette):
        sources.update(generated.python_sources(Path(package.__file__).parent, package.__name__))
    tally = generated.Tally()
    inserted = generated.fix_real_files(tally, tmp_path / "real", sources, REAL_FILES, str(SEED))
    _assert_clean(tally, "real files")
    assert inserted == REAL_FILES
    assert tally.notes["fix: files changed"] == REAL_FILES
    assert tally.notes["inserted entrypoint"] and tally.notes["inserted span"]


def test_unexpected_changes_are_caught() -> None:
    """The diff check itself: what the fixers add passes, anything else is reported."""
    before = 'import os\nif __name__ == "__main__":\n    run()\nx = 1\n'
    fixed = (
        "import os\nfrom somatrace.tracing import init_tracing\n"
        'if __name__ == "__main__":\n    init_tracing("svc")\n    run()\nx = 1\n'
    )
    assert generated.unexpected_changes(before, fixed, (2, 3), "\n") == []
    outside = fixed.replace("x = 1", "x = 2")
    assert generated.unexpected_changes(before, outside, (2, 3), "\n") == [
        "line 4: 'x = 1\\n' became 'x = 2\\n'"
    ]
    call_elsewhere = before + 'init_tracing("svc")\n'
    assert generated.unexpected_changes(before, call_elsewhere, (2, 3), "\n")
    crlf = fixed.replace("import os\n", "import os\r\n")
    assert generated.unexpected_changes(before, crlf, (2, 3), "\n")


# -- reproductions of what the generated run found ---------------------------------------------


def _project(tmp_path: Path, name: str, data: bytes) -> Path:
    write_pyproject(tmp_path, {})
    (tmp_path / name).write_bytes(data)
    return tmp_path


SPAN = b'tracer = trace.get_tracer(__name__)\nwith tracer.start_as_current_span("x"):\n    pass\n'


def test_form_feed_does_not_move_noqa_to_the_next_line(tmp_path: Path) -> None:
    # `str.splitlines` ends a line at a form feed, CPython does not: the noqa comment on line 4
    # was read as line 5's and the span on line 4 was reported (and fixed) anyway.
    noqa = b"  # " + b"noqa: ST301"  # split: ruff reads noqa comments even inside strings
    data = b"from opentelemetry import trace\n\x0c\n" + SPAN.replace(b'("x"):', b'("x"):' + noqa)
    root = _project(tmp_path, "ff.py", data)
    check = run_cli("check", "--no-cache", "--select", "ST301", ".", cwd=root)
    assert check.returncode == 0, check.stdout
    fix = run_cli("fix", "--no-cache", "--diff", "--select", "ST301", ".", cwd=root)
    assert fix.returncode == 0 and fix.stdout == "", fix.stdout


def test_line_separator_characters_keep_columns_and_the_fix(tmp_path: Path) -> None:
    # `\x1e` in a comment: the column of the span was computed on a piece of that comment line
    # (col 3 instead of 6), so the fixer did not find the span to fix.
    data = "from opentelemetry import trace\n#\x1eé\x1eé\n".encode() + SPAN
    root = _project(tmp_path, "sep.py", data)
    check = run_cli("check", "--no-cache", "--select", "ST301", ".", cwd=root)
    assert "sep.py:4:6: ST301" in check.stdout, check.stdout
    fix = run_cli("fix", "--no-cache", "--select", "ST301", ".", cwd=root)
    assert "Fixed 1 finding in 1 file (0 remaining)" in fix.stdout, fix.stdout
    assert (root / "sep.py").read_bytes() == (
        "from opentelemetry import trace\nfrom somatrace.tags import span_tags\n#\x1eé\x1eé\n".encode()
        + SPAN.replace(b'("x"):', b'("x", attributes=span_tags()):')
    )


def test_lone_cr_file_keeps_its_last_newline_and_edit_positions(tmp_path: Path) -> None:
    # Old Mac line endings: LibCST dropped the final `\r`, and the JSON edits counted lines at
    # `\n` only (everything on "line 1").
    data = SPAN.replace(b"\n", b"\r")
    root = _project(tmp_path, "cr.py", b"from opentelemetry import trace\r" + data)
    check = run_cli(
        "check", "--no-cache", "--select", "ST301", "--output-format", "json", ".", cwd=root
    )
    (record,) = json.loads(check.stdout)
    lines = sorted(e["location"]["line"] for e in record["fix"]["edits"])
    assert lines == [2, 3], record["fix"]["edits"]
    fix = run_cli("fix", "--no-cache", "--select", "ST301", ".", cwd=root)
    assert "Fixed 1 finding" in fix.stdout, fix.stdout
    assert (root / "cr.py").read_bytes() == (
        b"from opentelemetry import trace\rfrom somatrace.tags import span_tags\r"
        + data.replace(b'("x"):', b'("x", attributes=span_tags()):')
    )


def test_form_feed_in_an_indent_does_not_crash_json_or_fix(tmp_path: Path) -> None:
    # LibCST infers the file's indent from its first indented line, form feed included, then
    # refuses it as a parser config: `check --output-format json` (its fix edits) exited 2 with a
    # traceback, and `fix` applied nothing.
    head = b"from opentelemetry import trace\nif True:\n\t \x0c x = 1\n"
    root = _project(tmp_path, "indent.py", head + SPAN)
    check = run_cli("check", "--no-cache", "--output-format", "json", ".", cwd=root)
    assert check.returncode == 1, check.stderr
    assert [r["code"] for r in json.loads(check.stdout)] == ["ST301"]
    fix = run_cli("fix", "--no-cache", ".", cwd=root)
    assert "Fixed 1 finding in 1 file (0 remaining)" in fix.stdout, fix.stdout + fix.stderr
    assert (root / "indent.py").read_bytes() == (
        head.replace(b"trace\n", b"trace\nfrom somatrace.tags import span_tags\n", 1)
        + SPAN.replace(b'("x"):', b'("x", attributes=span_tags()):')
    )
