"""Per-project result cache: an unchanged tree re-checks in the time it takes to ``stat`` it.

One file per (tool version and code, effective settings) under
``<config root>/.somatrace_cache/``: a JSON header line (format marker, version, the last
project join), then one line per file, ``"<path>"\t<size>,<mtime_ns>,<inode>\t<digest>\t<JSON
result>``. A result is decoded only when it is looked up, and a line never looked up is written
back byte for byte, so a run that reads five entries does not pay for seven thousand.
An entry is keyed by the file's path relative to the config root (so results do not depend on
the directory the check runs from) and validated by ``(size, mtime_ns, inode)``; when those
changed but the content hash did not (a ``touch``, a checkout), the entry is still reused.
Besides per-file results the cache keeps *facets* of modules the project join read on demand,
and the last project join itself, keyed by every candidate's stat data and validated by the stat
data of every other file it read.

JSON, never pickle: a cache file committed to an untrusted repository must not be able to run
code. A module's facets (its model for the project join: most of the file's bytes) are stored
as JSON text inside the JSON and decoded only when the join asks for them: a warm run whose
join is reused never builds them (on 6,860 real files, 1.84 s of decoding became 0.13 s).
The cache directory ignores itself in git and is tagged per the Cache Directory Tagging spec.

The cache never reaches outside the project through a link. ``.somatrace_cache`` must be a real
folder inside the config root (not a symlink, not below one): otherwise the run goes on without
a cache and says why once (:attr:`Cache.refused`). Every file in it is opened relative to the
folder's descriptor with ``O_NOFOLLOW``, markers are created with ``O_EXCL``, and pruning
removes only regular files that this module wrote: named ``<20 hex digits>.json`` and starting
with :data:`FORMAT_MARKER` (or the format before it).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.boundary import inside
from somatrace.checks.lint.version import VERSION

CACHE_DIR = ".somatrace_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# somatrace cache; safe to delete\n"
_JOIN = "\0join"
MAX_CACHE_FILES = 8  # one per (version, settings) in use; older ones are dropped
# Every result file starts with these bytes; pruning deletes nothing else.
FORMAT_MARKER = b'{"format":"somatrace-cache",'
_RESULT_NAME = re.compile(r"[0-9a-f]{20}\.json")
_LEGACY_MARKER = b'{"version":'  # result files of releases before the marker
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

StatKey = tuple[int, int, int]

# Result keys kept as JSON text in the file: "facets" (a file's facets by name) and "facet"
# (one facet the join fetched), stored under these names.
_LAZY_FACETS = "facets_json"
_LAZY_FACET = "facet_json"
# The file: a header line (marker, version, the last project join), then one line per entry.
_LAYOUT = 2


class LazyFacets(Mapping[str, Any]):
    """A file's facets as read from the cache: decoded on first access."""

    __slots__ = ("_data", "raw")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            data = json.loads(self.raw)
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __contains__(self, key: object) -> bool:
        return key in self._decoded()


# How a result with no findings and no deferred questions starts as written (the engine's
# results begin with these two keys): most files of a tree, answered without decoding.
_QUIET_PREFIX = b'{"findings":[],"deferred":[],'
_QUIET_KEYS = ("findings", "deferred")
_NO_FACETS_TAIL = b',"' + _LAZY_FACETS.encode() + b'":"{}"}'


class QuietResult(Mapping[str, Any]):
    """A cached result known, from its first bytes, to hold no findings and no deferred
    questions: a warm run asks only for those, so the rest (the file's import scan, its
    facets) is decoded only if the project join reads it."""

    __slots__ = ("_entry",)

    def __init__(self, entry: Entry) -> None:
        self._entry = entry

    def __getitem__(self, key: str) -> Any:
        if key in _QUIET_KEYS:
            return []
        return self._entry.result[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry.result)

    def __len__(self) -> int:
        return len(self._entry.result)

    def __contains__(self, key: object) -> bool:
        return key in _QUIET_KEYS or key in self._entry.result

    # Read off the bytes, without decoding: `"key":` occurs unescaped in a result's JSON only
    # as a key of the top-level object (a quote inside a JSON string, also inside the
    # facets' JSON text, is escaped), and the facets are written last (`_to_file`).

    def has_key(self, key: str) -> bool:
        return b'"' + key.encode() + b'":' in self._raw

    def is_true(self, key: str) -> bool:
        """``result[key] is True`` (for a key whose value is a JSON boolean)."""
        return b'"' + key.encode() + b'":true' in self._raw

    def has_facets(self) -> bool:
        return not self._raw.endswith(_NO_FACETS_TAIL)

    @property
    def _raw(self) -> bytes:
        return self._entry._raw or b""


def holds(result: Mapping[str, Any], key: str) -> bool:
    """Whether a result (this run's, or a cached :class:`QuietResult`, read off its bytes) has
    ``key``."""
    return result.has_key(key) if isinstance(result, QuietResult) else key in result


def is_true(result: Mapping[str, Any], key: str) -> bool:
    """``result[key] is True``, a cached :class:`QuietResult`'s read off its bytes."""
    if isinstance(result, QuietResult):
        return result.is_true(key)
    return result.get(key) is True


def _materialised(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with a join-fetched facet decoded (it is read only by the join)."""
    raw = result.pop("_facet_raw", None)
    if raw is not None:
        try:
            result["facet"] = json.loads(raw)
        except ValueError:
            result["facet"] = None
    return result


def _to_file(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` as written: its facets as JSON text (kept as read when never decoded)."""
    out = dict(result)
    facets = out.pop("facets", None)
    if isinstance(facets, LazyFacets) and facets._data is None:
        out[_LAZY_FACETS] = facets.raw
    elif facets is not None:
        out[_LAZY_FACETS] = json.dumps(dict(facets), separators=(",", ":"))
    if "facet" in out:
        out[_LAZY_FACET] = json.dumps(out.pop("facet"), separators=(",", ":"))
    return out


def _from_file(result: dict[str, Any]) -> dict[str, Any]:
    """A result as read: its facets decoded on first access, a join-fetched facet when the
    entry is looked up (only the join looks those up)."""
    raw = result.pop(_LAZY_FACETS, None)
    if isinstance(raw, str):
        result["facets"] = LazyFacets(raw)
    raw = result.pop(_LAZY_FACET, None)
    if isinstance(raw, str):
        result["_facet_raw"] = raw
    return result


# Every package whose code decides a file's result; an edit anywhere in them (also in an
# editable install, also in a sub-package) makes cached results stale.
_FINGERPRINTED_PACKAGES = ("somatrace", "somatrace.rules", "somatrace.checks", "somatrace.fixers")


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def implementation_fingerprint() -> str:
    """Changes whenever any module of the tool changes, recursively."""
    parts: list[str] = []
    seen: set[str] = set()
    for name in _FINGERPRINTED_PACKAGES:
        spec = importlib.util.find_spec(name)
        for directory in (spec.submodule_search_locations or []) if spec else []:
            for folder, dirs, files in os.walk(directory):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for file in sorted(files):
                    path = os.path.join(folder, file)
                    if not file.endswith(".py") or path in seen:
                        continue
                    seen.add(path)
                    st = os.stat(path)
                    parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


_FINGERPRINT: str | None = None


def _fingerprint() -> str:
    global _FINGERPRINT
    if _FINGERPRINT is None:
        _FINGERPRINT = implementation_fingerprint()
    return _FINGERPRINT


def cache_dir_problem(directory: Path, root: Path) -> str | None:
    """Why ``directory`` must not be used as the cache folder of ``root`` (None: it may)."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return f"cannot use the cache folder {directory}: {exc.strerror or exc}"
    if st is not None and stat.S_ISLNK(st.st_mode):
        return f"the cache folder {directory} is a symlink; it is not followed"
    if st is not None and not stat.S_ISDIR(st.st_mode):
        return f"the cache folder {directory} is not a folder"
    if not inside(directory if st is not None else directory.parent, root):
        return f"the cache folder {directory} is not inside the project {root}"
    return None


def _open_dir(directory: Path) -> int:
    """A descriptor of ``directory`` itself, never of what a link there points to."""
    return os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)


def _read(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{name} is not a regular file")
        return fh.read()


def _ours(dir_fd: int, name: str) -> bool:
    """Whether ``name`` is a result file this module wrote (name, regular file, marker)."""
    if not _RESULT_NAME.fullmatch(name):
        return False
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        head = fh.read(len(FORMAT_MARKER))
        return head.startswith(FORMAT_MARKER) or head.startswith(_LEGACY_MARKER)


def _prune(dir_fd: int, keep: str) -> None:
    """Keep the cache folder small: the newest few result files, always the one just written.
    Only files this module wrote are candidates; anything else in the folder is left alone."""
    found: list[tuple[int, str]] = []
    for name in os.listdir(dir_fd):
        if name == keep or not _ours(dir_fd, name):
            continue
        with contextlib.suppress(OSError):
            found.append((os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mtime_ns, name))
    found.sort(reverse=True)
    for _, stale in found[MAX_CACHE_FILES - 1 :]:
        with contextlib.suppress(OSError):
            os.unlink(stale, dir_fd=dir_fd)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Entry:
    """One file's cached result. Read from the cache file, the result stays the bytes of its
    line until it is looked up, and an entry never looked up is written back as it was read:
    a run that touches five files pays for five results, not for every file's."""

    __slots__ = ("_line", "_line_key", "_raw", "_result", "digest", "stat")

    def __init__(
        self,
        stat: StatKey,
        digest: str,
        result: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        line: bytes | None = None,
    ) -> None:
        self.stat = stat
        self.digest = digest
        self._result = result
        self._raw = raw  # the result's JSON, as read
        self._line = line  # the whole line, as read (while stat and digest are unchanged)
        self._line_key = (stat, digest)

    @property
    def result(self) -> dict[str, Any]:
        if self._result is None:
            try:
                decoded = json.loads(self._raw or b"{}")
            except ValueError:
                decoded = {}
            self._result = _materialised(_from_file(decoded) if isinstance(decoded, dict) else {})
        return self._result

    def looked_up(self) -> Mapping[str, Any]:
        """The result for the engine: a :class:`QuietResult` when its bytes say it is quiet."""
        if self._result is None and self._raw is not None and self._raw.startswith(_QUIET_PREFIX):
            return QuietResult(self)
        return self.result

    def line(self, name: str) -> bytes:
        if self._line is not None and self._line_key == (self.stat, self.digest):
            return self._line
        head = f"{json.dumps(name)}\t{self.stat[0]},{self.stat[1]},{self.stat[2]}\t{self.digest}\t"
        if self._raw is not None:
            body = self._raw
        else:
            body = json.dumps(_to_file(self.result), separators=(",", ":")).encode()
        return head.encode("utf-8") + body


def _entries(lines: list[bytes]) -> dict[str, Entry]:
    """The entry lines of a cache file: ``"<name>"\t<size>,<mtime_ns>,<inode>\t<digest>\t<json>``
    (a JSON string holds no raw tab or newline)."""
    out: dict[str, Entry] = {}
    for line in lines:
        if not line:
            continue
        name, stat_text, digest, raw = line.split(b"\t", 3)
        size, mtime, inode = (int(part) for part in stat_text.split(b","))
        # json.dumps escapes every non-ASCII character, quote and control character with a
        # backslash: a quoted name without one is its bytes between the quotes
        inner = name[1:-1]
        plain = (
            name[:1] == b'"' == name[-1:]
            and len(name) > 1
            and not (b"\\" in inner or b'"' in inner)
        )
        key = inner.decode("ascii") if plain else json.loads(name)
        if not isinstance(key, str):
            raise ValueError("a cache entry's name is not a string")
        out[key] = Entry((size, mtime, inode), digest.decode("ascii"), raw=raw, line=line)
    return out


@dataclass
class Cache:
    path: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    join: dict[str, Any] | None = None
    dirty: bool = False
    refused: str | None = None  # why the project's cache folder is not used (said once)
    root: Path | None = None

    @classmethod
    def load(cls, root: Path, settings_key: str, enabled: bool = True) -> Cache:
        if not enabled:
            return cls(path=None)
        key = hashlib.sha256(f"{VERSION}:{_fingerprint()}:{settings_key}".encode()).hexdigest()
        directory = root / CACHE_DIR
        problem = cache_dir_problem(directory, root)
        if problem is not None:
            return cls(path=None, refused=f"{problem}; checking without a cache")
        path = directory / f"{key[:20]}.json"
        cache = cls(path=path, root=root)
        try:
            dir_fd = _open_dir(directory)
        except OSError:
            return cache  # not there yet: written at the end of the run
        try:
            body = _read(dir_fd, path.name)
            if not body.startswith(FORMAT_MARKER):
                return cache
            lines = body.split(b"\n")
            header = json.loads(b"{" + lines[0][len(FORMAT_MARKER) :])
        except (OSError, ValueError):
            return cache
        finally:
            os.close(dir_fd)
        if not isinstance(header, dict) or header.get("version") != VERSION:
            return cache
        if header.get("layout") != _LAYOUT:
            return cache
        try:
            cache.entries = _entries(lines[1:])
        except (TypeError, ValueError):
            cache.entries.clear()
            return cache
        join = header.get("join")
        cache.join = join if isinstance(join, dict) else None
        return cache

    def lookup(self, name: str, key: StatKey) -> Mapping[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.stat == key:
            return entry.looked_up()
        return None

    def lookup_digest(self, name: str, key: StatKey, digest: str) -> Mapping[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.digest == digest:
            if entry.stat != key:
                entry.stat = key
                self.dirty = True
            return entry.looked_up()
        return None

    def store(self, name: str, key: StatKey, digest: str, result: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.entries[name] = Entry(tuple(key), digest, result)  # type: ignore[arg-type]
        self.dirty = True

    def lookup_join(self, key: str) -> list[dict[str, Any]] | None:
        """The findings of the last project join, if it saw exactly these files."""
        join = self.join
        if join is None or join.get("key") != key:
            return None
        for path, expected in join.get("used", {}).items():
            try:
                st = os.stat(path)
            except OSError:
                st = None
            now = None if st is None else list(stat_key(st))
            if now != expected:
                return None
        return join.get("findings")

    def store_join(
        self, key: str, findings: list[dict[str, Any]], used: dict[str, StatKey | None]
    ) -> None:
        if self.path is None:
            return
        self.join = {
            "key": key,
            "findings": findings,
            "used": {p: list(s) if s is not None else None for p, s in used.items()},
        }
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        directory = self.path.parent
        root = self.root or directory.parent
        dir_fd: int | None = None
        tmp: str | None = None
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory)  # never through a link: mkdir does not follow one
            if cache_dir_problem(directory, root) is not None:
                return  # it changed under us: write nothing there
            dir_fd = _open_dir(directory)
            for name, body in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _TAG)):
                with contextlib.suppress(FileExistsError):
                    fd = os.open(
                        name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd
                    )
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        fh.write(body)
            header = json.dumps(
                {"version": VERSION, "layout": _LAYOUT, "join": self.join}, separators=(",", ":")
            )
            assert header.startswith("{")
            data = b"\n".join(
                [
                    FORMAT_MARKER + header[1:].encode("utf-8"),
                    *(entry.line(name) for name, entry in self.entries.items()),
                ]
            )
            tmp = f".tmp-{secrets.token_hex(8)}.json"
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            tmp = None
            self.dirty = False  # on disk now: a later run of the same process saves only news
            _prune(dir_fd, keep=self.path.name)
        except OSError:
            # A read-only checkout must still be checkable; the cache is an optimisation.
            if tmp is not None and dir_fd is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
        finally:
            if dir_fd is not None:
                os.close(dir_fd)
