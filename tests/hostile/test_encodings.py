"""`# coding: unicode_escape` (and other codecs that transform or shift ASCII) made `fix` write
the file back as one line. Such files are now refused with a clear message and left byte for
byte; ASCII-compatible codecs whose bytes round-trip (utf-8, utf-8-sig, latin-1, cp1252, ...)
are still fixed, and written back in their own encoding."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from somatrace.checks.lint.source import rewrite_problem, round_trips
from tests.hostile.repo_b import HostileRepo

ODD = "services/odd/app/main.py"
APP_LINES = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def _unicode_escape_app() -> bytes:
    # The whole app on one physical line: unicode_escape turns "\n" into line breaks.
    return b"# coding: unicode_escape\n" + APP_LINES.encode().replace(b"\n", b"\\n")


def _raw_unicode_escape_app() -> bytes:
    return b"# coding: raw_unicode_escape\n# caf\\u00e9\n" + APP_LINES.encode()


def _utf7_app() -> bytes:
    return b"# coding: utf-7\n# +AOk-\n" + APP_LINES.encode()


@pytest.mark.parametrize(
    ("codec", "data"),
    [
        ("unicode_escape", _unicode_escape_app()),
        ("raw_unicode_escape", _raw_unicode_escape_app()),
        ("utf-7", _utf7_app()),
    ],
    ids=["unicode_escape", "raw_unicode_escape", "utf-7"],
)
def test_transforming_codecs_are_never_rewritten(tmp_path: Path, codec: str, data: bytes) -> None:
    repo = HostileRepo.build(tmp_path)
    (repo.root / ODD).parent.mkdir(parents=True)
    (repo.root / ODD).write_bytes(data)
    repo.commit()
    repo.outside.arm()
    findings = repo.findings(".")
    assert any(f["path"] == ODD and f["code"] == "ST101" for f in findings), findings
    done = repo.run("fix", ".")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{ODD}: not fixed: its encoding {codec!r} is not ASCII-compatible" in done.stderr
    assert (repo.root / ODD).read_bytes() == data
    assert f"{ODD}:4:7: ST101" in done.stdout or f"{ODD}:5:7: ST101" in done.stdout
    assert f"[not fixed: its encoding {codec!r} is not ASCII-compatible" in done.stdout
    repo.assert_canary_fixed()
    repo.outside.assert_untouched()
    diff = repo.run("fix", "--diff", ODD)
    assert diff.returncode == 0 and diff.stdout == "", diff.stdout + diff.stderr


@pytest.mark.parametrize(
    ("cookie", "codec", "comment"),
    [
        ("", "utf-8", "# café ☕\n"),
        ("", "utf-8-sig", "# café\n"),
        ("# -*- coding: latin-1 -*-\n", "latin-1", "# café\n"),
        ("# coding: cp1252\n", "cp1252", "# café \u2013 €\n"),
    ],
)
def test_round_tripping_codecs_are_fixed_in_their_own_encoding(
    tmp_path: Path, cookie: str, codec: str, comment: str
) -> None:
    repo = HostileRepo.build(tmp_path)
    text = cookie + comment + APP_LINES
    path = repo.root / ODD
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode(codec))
    repo.commit()
    done = repo.run("fix", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) == (codec == "utf-8-sig")
    fixed = data.decode(codec)
    assert fixed.startswith(cookie + comment) and 'init_tracing("odd")' in fixed
    assert fixed.count("\n") == text.count("\n") + 2  # the import and the call, nothing merged
    repo.assert_canary_fixed()


def test_the_allow_list_is_principled() -> None:
    """ASCII-compatible text codecs pass; transforming, shifting, wide and non-text codecs do
    not - decided by probing each codec, not by a list of names."""
    for ok in ("utf-8", "utf-8-sig", "latin-1", "cp1252", "ascii", "shift_jis", "koi8_r"):
        assert rewrite_problem(ok) is None, ok
    for bad in ("unicode_escape", "raw_unicode_escape", "utf-7", "utf-16", "utf-32", "hz",
                "iso2022_jp", "cp037", "idna", "rot13", "base64", "no-such-codec"):  # fmt: skip
        assert rewrite_problem(bad) is not None, bad
    assert round_trips("café".encode("latin-1"), "latin-1")
    assert not round_trips(b"\x81", "cp1252")  # undefined in cp1252: cannot be written back
