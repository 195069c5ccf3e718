"""The one-pass screen answers every substring test exactly as ``bytes`` does, on real files,
for the rules' own words, for words it has to learn, and through ``lower()``; and a check run
through it reports what a run on the plain bytes reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from somatrace.checks.lint.screen_words import (
    MIN_WORD_BYTES,
    LoweredBytes,
    ScreenedBytes,
    Vocabulary,
    harvest,
)
from somatrace.rules import all_rules

pytest.importorskip("hyperscan", reason="Hyperscan ships wheels for x86-64 only")

REPO = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
RULE_WORDS = sorted(harvest(all_rules()))
# Words no rule asks for: regex syntax, non-ASCII, mixed case, one that is every file's.
EXTRA = [b"a.b*(", b"[x]|y", b"caf\xc3\xa9", b"\xff\xfe", b"Import", b"IMPORT", b"import", b"def "]


def _real_files() -> list[bytes]:
    files = sorted(STDLIB.glob("*.py"))[:250] + sorted((REPO / "rules").glob("*.py"))
    files += sorted((REPO / "examples").rglob("*.py"))
    return [p.read_bytes() for p in files]


def test_the_harvest_holds_every_rules_triggers_and_its_screens_literals() -> None:
    words = set(RULE_WORDS)
    for rule in all_rules():
        assert set(rule.TRIGGERS) <= words, rule.CODE
    # Literals written only inside applies_to or a helper it calls.
    assert {b"__main__", b"def main", b"start_span", b"environ", b"putenv"} <= words


def test_every_answer_is_the_bytes_answer_on_real_files() -> None:
    vocabulary = Vocabulary(warmup=0)
    vocabulary.add(RULE_WORDS)
    needles = [*RULE_WORDS, *EXTRA, b"ab", b" ", b""]
    checked = 0
    files = _real_files()
    assert len(files) > 150
    for data in files:
        view = vocabulary.view(data)
        assert type(view) is ScreenedBytes and view == data
        lowered = view.lower()
        assert type(lowered) is LoweredBytes and lowered == data.lower()
        for needle in needles:
            assert (needle in view) == (needle in data), needle
            assert (needle in lowered) == (needle in data.lower()), needle
            checked += 1
    assert checked == len(files) * len(needles)
    # The extra words were learnt and compiled: now answered by the scan, still exactly.
    assert {w for w in EXTRA if len(w) >= MIN_WORD_BYTES} <= vocabulary.words
    assert b"caf\xc3\xa9" in vocabulary.lowered and b"IMPORT" not in vocabulary.lowered


def test_a_learnt_word_is_right_before_and_after_it_is_compiled() -> None:
    vocabulary = Vocabulary(warmup=0)
    vocabulary.add([b"start_span"])
    first = vocabulary.view(b"tracer.start_span('x')  # content_hash\n")
    compiles = vocabulary.compiles
    assert b"content_hash" in first and b"absent_word" not in first  # answered by bytes
    second = vocabulary.view(b"content_hash = 1\n")
    assert vocabulary.compiles == compiles + 1
    assert {b"content_hash", b"absent_word"} <= second._known
    assert b"content_hash" in second and b"absent_word" not in second
    # The first view was scanned before the words were compiled: it still answers them right.
    assert b"content_hash" in first and b"start_span" in first and b"nothing_here" not in first


def test_the_plain_bytes_before_warmup_and_for_short_words() -> None:
    vocabulary = Vocabulary(warmup=5)  # bytes, not files: a big first file pays at once
    vocabulary.add([b"start_span", b"ab", b" "])
    assert vocabulary._pending == {b"start_span"}  # shorter words are left to bytes
    assert type(vocabulary.view(b"abc")) is bytes and type(vocabulary.view(b"d")) is bytes
    assert type(vocabulary.view(b"e")) is bytes  # 4 of the 5 bytes screened so far
    assert type(vocabulary.view(b"z")) is ScreenedBytes and vocabulary.compiles == 1
    big = Vocabulary(warmup=5)
    big.add([b"start_span"])
    assert type(big.view(b"x" * 5)) is bytes and type(big.view(b"y")) is ScreenedBytes


def _check(tree: Path, warmup: int) -> list[dict[str, object]]:
    # A real `somatrace check` process, with the vocabulary's warm-up (bytes) set for this run:
    # 0 puts every file through the scan, a huge one none.
    code = (
        "import sys; from somatrace.checks.lint.screen_words import VOCABULARY; "
        f"VOCABULARY.warmup = {warmup}; from somatrace.checks.cli.main import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = [sys.executable, "-c", code, "check", "--no-cache", "--output-format", "json", "."]
    done = subprocess.run(argv, cwd=tree, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_a_check_through_the_scan_reports_what_the_plain_bytes_report(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(
        REPO / "examples" / "monorepo", tree, ignore=shutil.ignore_patterns(".somatrace_cache")
    )
    for source in sorted((REPO / "rules").glob("*.py")) + sorted(STDLIB.glob("http/*.py")):
        shutil.copy(source, tree / f"copied_{source.parent.name}_{source.name}")
    scanned, plain = _check(tree, 0), _check(tree, 10**9)
    assert scanned == plain
    assert len(scanned) >= 9  # the example's findings and the copies' are all there


def test_the_screens_learn_no_identifier_of_the_files_they_screen(tmp_path: Path) -> None:
    # ST101's screen looks for every alias a file imports (`import X as Y` then `Y(`): the
    # aliases are the file's own words, and a scan that learnt them recompiled its database
    # before the next file, once per new alias (110 times on llm-stack).
    from somatrace.checks.lint.config import Config
    from somatrace.checks.lint.engine import make_context
    from somatrace.checks.lint.rule import PythonRule

    vocabulary = Vocabulary(warmup=0)
    vocabulary.add(RULE_WORDS)
    rules = [rule for rule in all_rules() if issubclass(rule, PythonRule)]
    ctx = make_context(tmp_path / "m.py", "m.py", Config(root=tmp_path))
    answers = []
    for i in range(20):
        source = f"import numpy as np_{i}\nfrom fastapi import FastAPI as Web{i}\napp = Web{i}()\n"
        view = vocabulary.view(source.encode())
        answers.append([rule.applies_to(view, ctx) for rule in rules])
        assert not any(f"_{i}".encode() in word for word in vocabulary.words | vocabulary._pending)
    codes = [rule.CODE for rule in rules]
    assert all(row[codes.index("ST101")] for row in answers)  # `Web0()` builds an app
    assert vocabulary.compiles <= 2  # the rules' words, then any configured ones


def test_a_process_stops_recompiling_for_learnt_words_at_the_cap() -> None:
    from somatrace.checks.lint.screen_words import MAX_COMPILES

    vocabulary = Vocabulary(warmup=0)
    vocabulary.add([b"start_span"])
    for i in range(MAX_COMPILES + 10):
        view = vocabulary.view(b"tracer.start_span('x')\n")
        word = f"file_word_{i}".encode()
        assert word not in view  # a new word each file: learnt, compiled before the next
        assert b"start_span" in view
    assert vocabulary.compiles == MAX_COMPILES
    # Past the cap the words are still answered exactly, by bytes.
    late = vocabulary.view(b"file_word_40 = 1\n")
    assert b"file_word_40" in late and b"file_word_41" not in late and b"start_span" not in late
