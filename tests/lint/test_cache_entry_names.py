"""Cache entry names survive a save and a load, whatever bytes a file name holds.

A name is read without ``json.loads`` when it is plain ASCII between quotes; every other name
(non-ASCII, quotes, backslashes, tabs, newlines — all escaped by ``json.dumps``) goes through
the JSON decoder. A real cache file on disk, written and read back by :class:`Cache`."""

from __future__ import annotations

from pathlib import Path

import pytest

from somatrace.checks.lint.cache import Cache

NAMES = [
    "pkg/plain.py",
    "pkg/ünïcode.py",
    'pkg/quote"d.py',
    "pkg/back\\slash.py",
    "pkg/tab\there.py",
    "pkg/new\nline.py",
    "pkg/日本.py",
    "",
]


def test_every_name_round_trips(tmp_path: Path) -> None:
    cache = Cache.load(tmp_path, "names")
    for number, name in enumerate(NAMES):
        cache.store(name, (number, number * 10, number * 100), f"{number:032x}", {"n": number})
    cache.save()
    again = Cache.load(tmp_path, "names")
    assert sorted(again.entries) == sorted(NAMES)
    for number, name in enumerate(NAMES):
        found = again.lookup(name, (number, number * 10, number * 100))
        assert found is not None and found["n"] == number, name


@pytest.mark.parametrize(
    "bad_name",
    [b'"unterminated', b"unquoted", b'"in"side"', b"42", b'"\xff.py"'],
)
def test_a_corrupt_name_empties_the_cache(tmp_path: Path, bad_name: bytes) -> None:
    cache = Cache.load(tmp_path, "names")
    cache.store("pkg/good.py", (1, 2, 3), "0" * 32, {"n": 1})
    cache.save()
    assert cache.path is not None
    body = cache.path.read_bytes()
    assert b'"pkg/good.py"\t' in body
    cache.path.write_bytes(body.replace(b'"pkg/good.py"', bad_name))
    assert Cache.load(tmp_path, "names").entries == {}
