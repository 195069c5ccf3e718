"""Per-project result cache: an unchanged tree re-checks in the time it takes to ``stat`` it.

One JSON file per (tool version and code, effective settings) under
``<config root>/.somatrace_cache/``. An entry is keyed by the file's path relative to the config
root (so results do not depend on the directory the check runs from) and validated by
``(size, mtime_ns, inode)``; when those changed but the content hash did not (a ``touch``, a
checkout), the entry is still reused. Besides per-file results the cache keeps *facets* of
modules the project join read on demand, and the last project join itself, keyed by every
candidate's stat data and validated by the stat data of every other file it read.

JSON, never pickle: a cache file committed to an untrusted repository must not be able to run
code. The cache directory ignores itself in git and is tagged per the Cache Directory Tagging
spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.version import VERSION

CACHE_DIR = ".somatrace_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# somatrace cache; safe to delete\n"
_JOIN = "\0join"
MAX_CACHE_FILES = 8  # one per (version, settings) in use; older ones are dropped

StatKey = tuple[int, int, int]

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


def _prune(directory: Path, keep: Path) -> None:
    """Keep the cache folder small: the newest few result files, always the one just written."""
    files = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in [p for p in files if p != keep][MAX_CACHE_FILES - 1 :]:
        with contextlib.suppress(OSError):
            stale.unlink()


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Entry:
    stat: StatKey
    digest: str
    result: dict[str, Any]


@dataclass
class Cache:
    path: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    join: dict[str, Any] | None = None
    dirty: bool = False

    @classmethod
    def load(cls, root: Path, settings_key: str, enabled: bool = True) -> Cache:
        if not enabled:
            return cls(path=None)
        key = hashlib.sha256(f"{VERSION}:{_fingerprint()}:{settings_key}".encode()).hexdigest()
        path = root / CACHE_DIR / f"{key[:20]}.json"
        cache = cls(path=path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if not isinstance(raw, dict) or raw.get("version") != VERSION:
            return cache
        try:
            for name, (st, digest, result) in raw.get("files", {}).items():
                cache.entries[name] = Entry(tuple(st), digest, result)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            cache.entries.clear()
            return cache
        join = raw.get("join")
        cache.join = join if isinstance(join, dict) else None
        return cache

    def lookup(self, name: str, key: StatKey) -> dict[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.stat == key:
            return entry.result
        return None

    def lookup_digest(self, name: str, key: StatKey, digest: str) -> dict[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.digest == digest:
            if entry.stat != key:
                entry.stat = key
                self.dirty = True
            return entry.result
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
        tmp: str | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, body in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _TAG)):
                marker = directory / name
                if not marker.exists():
                    marker.write_text(body, encoding="utf-8")
            payload = {
                "version": VERSION,
                "files": {n: [list(e.stat), e.digest, e.result] for n, e in self.entries.items()},
                "join": self.join,
            }
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
            tmp = None
            _prune(directory, keep=self.path)
        except OSError:
            # A read-only checkout must still be checkable; the cache is an optimisation.
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
