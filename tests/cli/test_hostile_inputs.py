"""Hostile inputs become ST900 findings or correct results, never a traceback, and every other
file is still checked."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from somatrace.checks.api import CheckSettings, check_paths
from tests.helpers import write_pyproject

DIRECT = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="x")\n'


def findings_for(root: Path) -> dict[str, list[tuple[str, int, int, str]]]:
    by_file: dict[str, list[tuple[str, int, int, str]]] = {}
    for f in check_paths([root], CheckSettings(use_cache=False)):
        by_file.setdefault(Path(f.path).name, []).append((f.code, f.line, f.col, f.message))
    return by_file


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_pyproject(tmp_path, {})
    (tmp_path / "control.py").write_text(DIRECT, encoding="utf-8")
    return tmp_path


def test_binary_file_named_py(root: Path) -> None:
    (root / "blob.py").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00Traceloop\x00\xff\xfe")
    found = findings_for(root)
    assert found["blob.py"][0][0] == "ST900"
    assert "binary file" in found["blob.py"][0][3]
    assert found["control.py"][0][0] == "ST102"


def test_latin1_without_and_with_coding_cookie(root: Path) -> None:
    body = 'from traceloop.sdk import Traceloop\nname = "Jos\xe9"\nTraceloop.init(app_name=name)\n'
    (root / "undeclared.py").write_bytes(body.encode("latin-1"))
    (root / "declared.py").write_bytes(("# -*- coding: latin-1 -*-\n" + body).encode("latin-1"))
    found = findings_for(root)
    code, line, _col, message = found["undeclared.py"][0]
    assert (code, line) == ("ST900", 2) and "not valid utf-8" in message
    assert found["declared.py"] == [(found["declared.py"][0][0], 4, 1, found["declared.py"][0][3])]
    assert found["declared.py"][0][0] == "ST102"


def test_bom_and_crlf_give_correct_positions(root: Path) -> None:
    (root / "bom.py").write_bytes(b"\xef\xbb\xbf" + DIRECT.encode())
    (root / "crlf.py").write_bytes(("# comment\n" + DIRECT).replace("\n", "\r\n").encode())
    found = findings_for(root)
    assert [(c, li, co) for c, li, co, _ in found["bom.py"]] == [("ST102", 2, 1)]
    assert [(c, li, co) for c, li, co, _ in found["crlf.py"]] == [("ST102", 3, 1)]


def test_file_larger_than_the_limit(root: Path) -> None:
    big = root / "huge.py"
    line = "x = 1  # padding padding padding padding padding padding padding padding\n"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("from traceloop.sdk import Traceloop\n")
        fh.write(line * (10 * 1024 * 1024 // len(line) + 10))
        fh.write('Traceloop.init(app_name="x")\n')
    assert big.stat().st_size > 10 * 1024 * 1024
    found = findings_for(root)
    assert found["huge.py"][0][0] == "ST900" and "max-file-size" in found["huge.py"][0][3]
    assert found["control.py"][0][0] == "ST102"


def test_symlink_loop_and_dangling_link(root: Path) -> None:
    os.symlink(root / "loop_b.py", root / "loop_a.py")
    os.symlink(root / "loop_a.py", root / "loop_b.py")
    os.symlink(root / "missing-target.py", root / "dangling.py")
    found = findings_for(root)
    assert found["loop_a.py"][0][0] == "ST900"
    assert "symbolic links" in found["loop_a.py"][0][3]
    assert "No such file" in found["dangling.py"][0][3]
    # Named explicitly on the command line, a loop is also a finding, not a crash.
    explicit = check_paths([root / "loop_a.py"], CheckSettings(use_cache=False))
    assert [f.code for f in explicit] == ["ST900"]


def test_fifo_is_not_read(root: Path) -> None:
    os.mkfifo(root / "pipe.py")
    found = findings_for(root)  # reading a FIFO would block forever
    assert "not a regular file" in found["pipe.py"][0][3]


def test_unreadable_file(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    secret = root / "secret.py"
    secret.write_text(DIRECT, encoding="utf-8")
    secret.chmod(0)
    if os.geteuid() != 0:
        found = findings_for(root)
        assert "Permission denied" in found["secret.py"][0][3]
        return
    # Root reads anything: drop to an unprivileged user in a forked child (no exec, so the
    # interpreter under /root stays usable) and run the real engine there.
    import pwd

    nobody = pwd.getpwnam("nobody")
    for parent in [root, *root.parents]:
        parent.chmod(parent.stat().st_mode | 0o005)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            lines = [
                f"{Path(f.path).name}:{f.line}:{f.col}: {f.code} {f.message}"
                for f in check_paths([root], CheckSettings(use_cache=False, jobs=1))
            ]
            os.write(write_end, "\n".join(lines).encode())
        except BaseException as exc:  # report, never let the child run the test session
            os.write(write_end, f"child failed: {exc!r}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        report = fh.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    assert (
        "secret.py:1:1: ST900 cannot check this file: cannot read file: Permission denied" in report
    )
    assert "control.py:2:1: ST102" in report


def test_python_312_syntax(root: Path) -> None:
    (root / "modern.py").write_text(
        "from traceloop.sdk import Traceloop\n"
        "type Pair[T] = tuple[T, T]\n"
        "def first[T](p: Pair[T]) -> T:\n"
        "    return p[0]\n"
        'name = f"{\'a\' + "b"}"\n'
        "Traceloop.init(app_name=name)\n",
        encoding="utf-8",
    )
    found = findings_for(root)
    # The gate parses with the running CPython's own grammar: on 3.11 the `type` statement is a
    # syntax error, reported where CPython places it; on 3.12+ the call is found.
    if sys.version_info >= (3, 12):
        assert [c for c, *_ in found["modern.py"]] == ["ST102"]
    else:
        assert found["modern.py"] == [("ST900", 2, 6, "cannot parse this file: invalid syntax")]
    assert found["control.py"][0][0] == "ST102"


def test_syntax_error_is_located(root: Path) -> None:
    # A file a rule applies to (it calls Traceloop.init), so it is parsed.
    (root / "broken.py").write_text(
        "from traceloop.sdk import Traceloop\nif True\n    Traceloop.init(app_name='x')\n"
    )
    found = findings_for(root)
    assert found["broken.py"][0][:3] == ("ST900", 2, 8)
    assert found["control.py"][0][0] == "ST102"


def test_deeply_nested_expression(root: Path) -> None:
    (root / "deep.py").write_text(
        "from traceloop.sdk import Traceloop\nx = " + "(" * 200 + "1" + ")" * 200 + "\n"
    )
    found = findings_for(root)
    assert found.get("deep.py", [("ok",)])[0][0] in ("ok", "ST900")


def test_a_rule_crashing_on_one_file_is_reported_and_the_run_goes_on(root: Path) -> None:
    """A real rule class whose visitor raises: the engine turns it into ST900 for that file."""
    from somatrace.checks.lint.config import Config
    from somatrace.checks.lint.engine import analyse_python, make_context
    from somatrace.checks.lint.module import Module
    from somatrace.checks.lint.rule import PythonRule
    from somatrace.checks.lint.source import Source, read_source

    class Exploding(PythonRule):
        CODE = "ST999"
        NAME = "exploding"

        def check(self, module: Module) -> None:
            raise ValueError("boom")

    path = root / "control.py"
    source = read_source(path, 1 << 20)
    assert isinstance(source, Source)
    ctx = make_context(path, "control.py", Config(root=root))
    result = analyse_python(source, ctx, [Exploding], report_errors=True)
    (finding,) = result["findings"]
    assert finding["code"] == "ST900"
    assert "internal error in ST999 (ValueError: boom)" in finding["message"]
