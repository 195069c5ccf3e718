"""What counts as the project referring to a library helper (ST101): code, import strings and
deployment files do; docstrings, plain strings, comments, ``__all__`` and a bare re-export do
not. Real files on disk, read by :func:`referring_files`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from somatrace.checks.analysis.references import (
    MAX_BYTES,
    code_refers_to,
    folders_under,
    referring_files,
)
from somatrace.checks.lint.project import ModuleIndex


@pytest.mark.parametrize(
    ("source", "refers"),
    [
        ("launch(tool)\n", True),
        ("import toolkit.demo\ntoolkit.demo.launch(tool)\n", True),
        ("from toolkit.demo import launch as go\ngo(tool)\n", True),
        ("uvicorn.run('toolkit.demo:launch', factory=True)\n", True),
        ("HANDLERS = [launch]\n", True),
        ('"""Call launch(tool) to serve it."""\n', False),
        ("__all__ = ['launch']\n", False),
        ("# launch(tool) serves it\nx = 1\n", False),
        ("from toolkit.demo import launch\n", False),
        ("CODE = 'launch(tool)'\n", False),
        ("def launcher(): ...\nrelaunch = 1\n", False),
    ],
)
def test_code_refers_to(source: str, refers: bool) -> None:
    assert code_refers_to(ast.parse(source), "launch") is refers


def test_one_pass_finds_code_and_deployment_references(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    files = {
        "pkg/demo.py": "def launch(tool):\n    ...\ndef build(agent):\n    ...\n",
        "pkg/docs.py": '"""launch(tool) and build(agent) in a docstring."""\n',
        "pkg/cli.py": "from pkg.demo import build\n\nAPP = build(agent=None)\n",
        "pkg/broken.py": "def launch(:\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "Procfile").write_text("web: gunicorn 'pkg.demo:serve(\"prod\")'\n")
    python = sorted(str(tmp_path / name) for name in files)
    found, read, _ = referring_files(
        python,
        folders_under(ModuleIndex(python).dirs, str(tmp_path)),
        {"launch", "build", "serve", "absent"},
    )
    assert found["build"] == {str(tmp_path / "pkg/cli.py")}
    # a file CPython cannot parse cannot be ruled out: it counts
    assert found["launch"] == {str(tmp_path / "pkg/broken.py")}
    assert found["serve"] == {str(tmp_path / "Procfile")}
    assert found["absent"] == set()
    assert str(tmp_path / "Procfile") in read and len(read) == 5


def test_the_pass_reads_regular_files_only_and_never_blocks(tmp_path: Path) -> None:
    """A FIFO named like a module (no writer: opening it to read would block) and a file over
    the size bound are not read; a link to a regular file is."""
    import os

    (tmp_path / "real.py").write_text("launch(tool)\n")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    (tmp_path / "huge.py").write_bytes(b"launch(tool)\n" + b"#" * MAX_BYTES)
    python = sorted(str(tmp_path / n) for n in ("real.py", "pipe.py", "link.py", "huge.py"))
    found, read, _ = referring_files(python, [], {"launch"})
    assert sorted(read) == [str(tmp_path / "link.py"), str(tmp_path / "real.py")]
    assert found["launch"] == {str(tmp_path / "link.py"), str(tmp_path / "real.py")}
