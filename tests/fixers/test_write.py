"""Every rewrite keeps the file's bytes faithful (encoding, BOM, CRLF, trailing newline, mode),
is atomic, and never overwrites a file that changed on disk since it was read."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import pytest

from somatrace.fixers.support.write import ChangedOnDisk, Snapshot, encode_text, write_atomic
from tests.fixers.support import codes, fix, make_project

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
APP_FIXED = (
    "from fastapi import FastAPI\n"
    "from somatrace.tracing import init_tracing\n\n"
    'init_tracing("chat")\n'
    "app = FastAPI()\n"
)
TARGET = "services/chat/app/main.py"


def project_with(root: Path, data: bytes, mode: int = 0o644) -> Path:
    make_project(root, {}, select=["ST101"])
    path = root / TARGET
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    path = project_with(tmp_path, APP.replace("\n", "\r\n").encode())
    fix(tmp_path)
    data = path.read_bytes()
    assert data == APP_FIXED.replace("\n", "\r\n").encode()
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_bom_file_keeps_its_bom(tmp_path: Path) -> None:
    path = project_with(tmp_path, codecs.BOM_UTF8 + APP.encode())
    assert "ST101" in codes(tmp_path)
    fix(tmp_path)
    assert path.read_bytes() == codecs.BOM_UTF8 + APP_FIXED.encode()
    assert codes(tmp_path) == []


def test_no_trailing_newline_stays_without(tmp_path: Path) -> None:
    path = project_with(tmp_path, APP.rstrip("\n").encode())
    fix(tmp_path)
    assert path.read_bytes() == APP_FIXED.rstrip("\n").encode()


def test_latin1_cookie_file_is_written_in_latin1(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\n# café\n" + APP
    path = project_with(tmp_path, text.encode("latin-1"))
    fix(tmp_path)
    data = path.read_bytes()
    assert data.decode("latin-1") == "# -*- coding: latin-1 -*-\n# café\n" + APP_FIXED
    assert "é".encode("latin-1") in data and "é".encode() not in data


def test_file_mode_is_kept_and_no_temp_file_is_left(tmp_path: Path) -> None:
    path = project_with(tmp_path, APP.encode(), mode=0o750)
    fix(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert path.read_bytes() == APP_FIXED.encode()
    assert [p.name for p in path.parent.iterdir()] == ["main.py"]


def test_symlinked_file_is_written_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "app_impl.py"
    real.parent.mkdir()
    real.write_text(APP, encoding="utf-8")
    make_project(tmp_path, {}, select=["ST101"])
    link = tmp_path / TARGET
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    snapshot = Snapshot.take(link)
    write_atomic(snapshot, b"x = 1\n", root=tmp_path)
    assert link.is_symlink() and real.read_bytes() == b"x = 1\n"


def test_changed_on_disk_between_read_and_write_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "main.py"
    path.write_text(APP, encoding="utf-8")
    snapshot = Snapshot.take(path)
    # Someone saves the file after it was read (same size, different bytes).
    path.write_text(APP.replace("app", "apq"), encoding="utf-8")
    with pytest.raises(ChangedOnDisk):
        write_atomic(snapshot, encode_text(APP_FIXED, "utf-8"), root=tmp_path)
    assert path.read_text(encoding="utf-8") == APP.replace("app", "apq")
    assert [p.name for p in tmp_path.iterdir()] == ["main.py"]


def test_replaced_file_with_same_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "main.py"
    path.write_text(APP, encoding="utf-8")
    snapshot = Snapshot.take(path)
    other = tmp_path / "other.py"
    other.write_text(APP, encoding="utf-8")
    os.replace(other, path)  # same content, but another file (inode) now
    with pytest.raises(ChangedOnDisk):
        write_atomic(snapshot, b"y = 2\n", root=tmp_path)
    assert path.read_text(encoding="utf-8") == APP


def test_rewrite_is_a_rename(tmp_path: Path) -> None:
    path = tmp_path / "main.py"
    path.write_text(APP, encoding="utf-8")
    before = path.stat().st_ino
    with open(path, "rb") as handle:  # a reader that opened the old file sees it whole
        write_atomic(Snapshot.take(path), APP_FIXED.encode(), root=tmp_path)
        assert handle.read() == APP.encode()
    assert path.stat().st_ino != before
    assert path.read_bytes() == APP_FIXED.encode()


def test_parse_error_files_are_never_touched(tmp_path: Path) -> None:
    broken = "from fastapi import FastAPI\n\napp = FastAPI(\n"
    make_project(tmp_path, {TARGET: broken, "services/ok/app/main.py": APP}, select=["ST"])
    before = (tmp_path / TARGET).read_bytes()
    report = fix(tmp_path)
    assert (tmp_path / TARGET).read_bytes() == before
    assert "ST900" in [f.code for f in report.remaining()]
    assert 'init_tracing("ok")' in (tmp_path / "services/ok/app/main.py").read_text()


def test_crlf_bom_file_with_every_python_fixer(tmp_path: Path) -> None:
    text = (
        "import os\n"
        "from opentelemetry import trace\n"
        "from traceloop.sdk import Traceloop\n\n"
        'os.environ["TRACE_CONTENT"] = "true"\n'
        "Traceloop.init(\n"
        '    app_name="billing",\n'
        "    disable_batch=True,\n"
        ")\n"
        "tracer = trace.get_tracer(__name__)\n\n\n"
        "def run():\n"
        '    with tracer.start_as_current_span("x"):\n'
        "        pass\n"
    )
    expected = (
        "import os\n"
        "from opentelemetry import trace\n"
        "from somatrace.tags import span_tags\n"
        "from somatrace.tracing import init_tracing\n\n"
        'os.environ["TRACE_CONTENT"] = "false"\n'
        "init_tracing(\n"
        '    "billing",\n'
        "    disable_batch=True,\n"
        ")\n"
        "tracer = trace.get_tracer(__name__)\n\n\n"
        "def run():\n"
        '    with tracer.start_as_current_span("x", attributes=span_tags()):\n'
        "        pass\n"
    )
    make_project(tmp_path, {}, select=["ST102", "ST201", "ST301"])
    path = tmp_path / "services/billing/app/boot.py"
    path.parent.mkdir(parents=True)
    path.write_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode())
    report = fix(tmp_path)
    assert report.fixed_count == 3 and report.remaining() == []
    assert path.read_bytes() == codecs.BOM_UTF8 + expected.replace("\n", "\r\n").encode()
