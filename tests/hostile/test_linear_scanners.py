"""Every text scanner is linear: each adversarial input (which took seconds to minutes with the
former regex) finishes in a generous bound, and each scanner gives the answer the former regex
gave on ordinary inputs (the former patterns are kept here as the reference)."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from somatrace.checks.config_files import line_scan
from somatrace.checks.lint.import_scan import scan_imports
from somatrace.checks.policy.environ import is_reference
from tests.hostile.canaries import assert_canaries_checked, assert_sound, check, make_repo

mit = importlib.import_module("somatrace.rules.missing_init_tracing")
pii = importlib.import_module("somatrace.rules.pii_span_attribute")

OLD_REFERENCE = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*?\}\}|<[A-Z_]+>"
)
OLD_KEY = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=q)"
    r"[ \t]*:(?:[ \t]+(?P<value>.*?))?[ \t]*\r?$"
)
OLD_LIST = re.compile(
    r"^[ \t]*-[ \t]+(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*?)(?P=q)[ \t]*\r?$"
)
OLD_MAIN = re.compile(
    rb"(?:__main__|^(?:async[ \t]+)?def[ \t]+main\b)[\s\S]*\.(?:run|run_async|run_stdio_async|"
    rb"run_sse_async|run_streamable_http_async|run_http_async|launch|worker_main)\s*\(",
    re.MULTILINE,
)
OLD_SPAN = re.compile(rb"span\w*(?:\(\))?\s*\.set_attributes?\(", re.IGNORECASE)
MB = 1024 * 1024

ADVERSARIAL: dict[str, tuple[Callable[[], object], object]] = {
    "environ ${": (lambda: is_reference("'${A:-" * (MB // 6)), False),
    "environ {{": (lambda: is_reference("{{" * (MB // 2)), False),
    "line_scan key": (lambda: line_scan._key_line("a: x" + " " * MB + "y")[3][-1], "y"),
    "line_scan list": (lambda: line_scan._list_line("- A=x" + " " * MB + "y")[3][-1], "y"),
    "__main__": (lambda: mit._MAIN_SERVES.search(b"__main__" * (MB // 8)), None),
    "import as": (lambda: mit._builds_or_serves(b"import " * (MB // 7)), False),
    "span words": (lambda: pii._SPAN_RECEIVER.search(b"span" * (MB // 4)), None),
    "span then literal": (lambda: pii._SPAN_THEN_LITERAL.search(b"(span, x" * (MB // 8)), None),
    "defined serve": (lambda: mit._builds_or_serves(b"def serve(" * (MB // 10)), False),
    "many aliases": (
        lambda: mit._builds_or_serves(b"import a" + b" as Response" * (MB // 12)),
        False,
    ),
    "import lists": (lambda: scan_imports(b"import(" * (MB // 7), None, False), []),
    "from clauses": (lambda: scan_imports(b"from a " * (MB // 7), None, False), []),
    "one long line": (lambda: len(scan_imports(b"import a" + b",a" * (MB // 2), None, False)), 1),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_input_is_linear(name: str) -> None:
    run, expected = ADVERSARIAL[name]
    started = time.perf_counter()
    assert run() == expected
    assert time.perf_counter() - started < 5  # the former regexes: 6 s to 181 s on 1/4 of this


VALUES = ["${A}", "${A", "x ${A:-b} y", "$(cmd)", "$(", "$VAR", "$1", "{{ .Values.x }}",
          "{{ a\n}}", "<TOKEN>", "<token>", "plain", "", "sk-lf-1", "$", "${A$}", "a}${"]  # fmt: skip


@pytest.mark.parametrize("value", VALUES)
def test_is_reference_answers_as_before(value: str) -> None:
    assert is_reference(value) == bool(OLD_REFERENCE.search(value))


LINES = ["a: b", "a:", "a:x", "  - name: X", "a:  b  ", "a: b\r", "a: b \r", "'a': b", 'a: "x # y"',
         "a: b\r\r", "- A=b", "- 'A=b'", "- \"A=b\" ", "- A=", "- 'A=b", "- A=b \r", "a : b",
         "-a: b", "a: \t", "a:\r"]  # fmt: skip


@pytest.mark.parametrize("line", LINES)
def test_line_scan_heads_answer_as_before(line: str) -> None:
    old = OLD_KEY.match(line)
    new = line_scan._key_line(line)
    assert (old is None) == (new is None)
    if old is not None and new is not None:
        assert (old["lead"], old["name"], old.start("name"), old["value"]) == new[:4]
        if old["value"]:
            assert old.start("value") == new[4]
    old_list = OLD_LIST.match(line)
    new_list = line_scan._list_line(line)
    assert (old_list is None) == (new_list is None)
    if old_list is not None and new_list is not None:
        assert (old_list["name"], old_list["value"], old_list.start("value")) == (
            new_list[0], new_list[3], new_list[4],
        )  # fmt: skip


SOURCES = [b'if __name__ == "__main__":\n    app.run()\n', b"def main():\n    mcp.run_async ()\n",
           b"app.run()\nif __name__ == '__main__': pass\n", b"__main__ x.launch(", b"nothing",
           b"async def main():\n    await mcp.run_async()\n",
           b'"""Example:\n\n    async def main():\n        await agent.run(x)\n"""\n']  # fmt: skip


@pytest.mark.parametrize("source", SOURCES)
def test_main_serves_answers_as_before(source: bytes) -> None:
    assert bool(mit._MAIN_SERVES.search(source)) == bool(OLD_MAIN.search(source))


SPANS = [b"span.set_attribute(", b"current_span.set_attributes(", b"get_current_span().set_attribute(",
         b"SPAN .set_attribute(", b"spanish.set_attribute(", b"myspan2 . set_attribute(",
         b"sp.set_attribute(", b"span_set_attribute(", b"x = span"]  # fmt: skip


@pytest.mark.parametrize("source", SPANS)
def test_span_receiver_answers_as_before(source: bytes) -> None:
    assert bool(pii._SPAN_RECEIVER.search(source)) == bool(OLD_SPAN.search(source))


def test_the_hostile_env_file_in_a_real_run(tmp_path: Path) -> None:
    """The 1 MB `.env` of `'${A:-` (94 s before) beside the canaries."""
    hostile = "LANGFUSE_SECRET_KEY=sk-lf-0a1b2c3d4e5f\nA='" + "${A:-" * (MB // 6) + "\n"
    root = make_repo(tmp_path / "repo", {".env": hostile})
    run = check(root)
    assert_sound(run, seconds=30, rss_mb=300)
    assert_canaries_checked(run)
    assert any(" ST401 " in line for line in run.lines_for(".env")), run.output
