"""Per-project result cache, so an unchanged tree re-checks in the time it takes to ``stat`` it.

One JSON file per (tool version, effective settings) under ``<config root>/.somatrace_cache/``.
An entry is keyed by the file's path and validated by ``(size, mtime_ns)``; when those changed
but the content hash did not (a ``touch``, a checkout), the entry is still reused. The cache
directory ignores itself in git and is tagged per the Cache Directory Tagging spec.
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


# Every package whose code decides a file's result; an edit anywhere in them (also in an
# editable install, also in a sub-package) makes cached results stale.
_FINGERPRINTED_PACKAGES = ("somatrace", "somatrace.rules", "somatrace.checks", "somatrace.fixers")


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


MAX_CACHE_FILES = 8  # one per (version, settings) in use; older ones are dropped


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
    size: int
    mtime_ns: int
    digest: str
    result: dict[str, Any]


@dataclass
class Cache:
    path: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def load(cls, root: Path, settings_key: str, enabled: bool = True) -> Cache:
        if not enabled:
            return cls(path=None)
        fingerprint = implementation_fingerprint()
        key = hashlib.sha256(f"{VERSION}:{fingerprint}:{settings_key}".encode()).hexdigest()[:20]
        path = root / CACHE_DIR / f"{key}.json"
        cache = cls(path=path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if raw.get("version") != VERSION:
            return cache
        for name, e in raw.get("files", {}).items():
            cache.entries[name] = Entry(e["size"], e["mtime_ns"], e["digest"], e["result"])
        return cache

    def lookup_stat(self, name: str, st: os.stat_result) -> dict[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns:
            return entry.result
        return None

    def lookup_digest(self, name: str, st: os.stat_result, digest: str) -> dict[str, Any] | None:
        entry = self.entries.get(name)
        if entry is not None and entry.digest == digest:
            if entry.mtime_ns != st.st_mtime_ns or entry.size != st.st_size:
                entry.mtime_ns, entry.size = st.st_mtime_ns, st.st_size
                self.dirty = True
            return entry.result
        return None

    def store(self, name: str, st: os.stat_result, digest: str, result: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.entries[name] = Entry(st.st_size, st.st_mtime_ns, digest, result)
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, body in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _TAG)):
                marker = directory / name
                if not marker.exists():
                    marker.write_text(body, encoding="utf-8")
            payload = {
                "version": VERSION,
                "files": {
                    n: {
                        "size": e.size,
                        "mtime_ns": e.mtime_ns,
                        "digest": e.digest,
                        "result": e.result,
                    }
                    for n, e in self.entries.items()
                },
            }
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
            _prune(directory, keep=self.path)
        except OSError:
            # A read-only checkout must still be checkable; the cache is an optimisation.
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
