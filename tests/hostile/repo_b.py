"""A real git repository with hostile content beside ordinary "canary" services, a sentinel
folder outside it, and the real command line run as a subprocess.

Every hostile test of part B builds one :class:`HostileRepo`, plants its hostile content, runs
``somatrace`` and then proves three things: the canaries were still handled (the run did its
ordinary work), the sentinel folder outside the repository was neither written nor read (its
bytes, modes and mtimes are unchanged, and no file's atime moved: see :meth:`Sentinel.assert_untouched`),
and no planted secret and no ``Traceback`` reached stdout, stderr or a report file.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

# A FastAPI entrypoint that never initialises tracing: ST101 reports it and `fix` inserts the call.
UNTRACED_APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
TRACED_APP = (
    "from fastapi import FastAPI\n"
    "from somatrace.tracing import init_tracing\n\n"
    'init_tracing("traced")\n'
    "app = FastAPI()\n"
)
# The canaries: one to fix, one already compliant.
CANARY = "services/canary/app/main.py"
TRACED = "services/traced/app/main.py"
CANARY_FIXED = 'init_tracing("canary")'

_OLD_ATIME = 1_000_000_000  # 2001: older than any mtime, so with relatime any read moves it


@dataclass(frozen=True)
class FileState:
    data: bytes | None  # None for links and folders
    mode: int
    mtime_ns: int
    atime_ns: int
    link: str | None


class Sentinel:
    """A folder outside the repository whose every byte, mode, mtime and atime is recorded.

    Each file's atime is set far in the past (before its mtime): on a ``relatime`` or
    ``strictatime`` file system, reading the file then moves its atime. :meth:`reads_visible`
    checks once that this file system does so; when it does not (``noatime``), the read
    check is skipped and only writes are proved.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._before: dict[str, FileState] | None = None

    def write(self, files: Mapping[str, str | bytes]) -> None:
        for rel, body in files.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(body, bytes):
                target.write_bytes(body)
            else:
                target.write_text(body, encoding="utf-8")

    def arm(self) -> None:
        """Make reads visible and record the state to compare against."""
        for path in self._files():
            if not path.is_symlink() and path.is_file():
                st = path.stat()
                os.utime(path, ns=(_OLD_ATIME * 10**9, st.st_mtime_ns))
        self._before = self.state()

    def _files(self) -> list[Path]:
        return sorted(self.root.rglob("*"))

    def state(self) -> dict[str, FileState]:
        out: dict[str, FileState] = {}
        for path in self._files():
            st = os.lstat(path)
            link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
            data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            # read_bytes above moved the atime: record the atime from before it
            out[path.relative_to(self.root).as_posix()] = FileState(
                data, st.st_mode, st.st_mtime_ns, st.st_atime_ns, link
            )
            if data is not None:
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return out

    @staticmethod
    def reads_visible(scratch: Path) -> bool:
        probe = scratch / "atime-probe"
        probe.write_text("x", encoding="utf-8")
        os.utime(probe, ns=(_OLD_ATIME * 10**9, probe.stat().st_mtime_ns))
        probe.read_bytes()
        moved = probe.stat().st_atime_ns != _OLD_ATIME * 10**9
        probe.unlink()
        return moved

    def assert_untouched(self) -> None:
        assert self._before is not None, "arm() the sentinel before running"
        after = self.state()
        assert sorted(after) == sorted(self._before), (
            f"files appeared or vanished outside the repository: "
            f"{sorted(set(after) ^ set(self._before))}"
        )
        check_reads = self.reads_visible(self.root.parent)
        for rel, old in self._before.items():
            new = after[rel]
            assert new.data == old.data, f"{rel} outside the repository was rewritten"
            assert (new.mode, new.mtime_ns, new.link) == (old.mode, old.mtime_ns, old.link), (
                f"{rel} outside the repository was modified"
            )
            if check_reads and old.data is not None:
                assert new.atime_ns == old.atime_ns, f"{rel} outside the repository was read"


@dataclass
class HostileRepo:
    root: Path
    outside: Sentinel
    secrets: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        tmp_path: Path,
        files: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> HostileRepo:
        root = tmp_path / "repo"
        root.mkdir()
        init_repo(root)
        write_pyproject(root, {"select": ["ST"], **dict(settings or {})})
        write_files(root, {CANARY: UNTRACED_APP, TRACED: TRACED_APP, **dict(files or {})})
        return cls(root=root, outside=Sentinel(tmp_path / "outside"))

    def link(self, rel: str, target: Path | str) -> Path:
        """A symlink at ``rel`` in the repository (parents created) to ``target``."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        return path

    def commit(self) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "hostile content")

    def run(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, cwd=cwd or self.root, env={"NO_COLOR": "1", **dict(env or {})})
        self.assert_clean(done)
        return done

    def assert_clean(self, done: subprocess.CompletedProcess[str]) -> None:
        """No traceback, no planted secret, whatever the command printed."""
        both = done.stdout + done.stderr
        assert "Traceback" not in both, both
        assert "internal error" not in both, both
        for secret in self.secrets:
            assert secret not in both, f"secret {secret!r} printed:\n{both}"

    def assert_no_secret_in(self, paths: Iterable[Path]) -> None:
        for path in paths:
            text = path.read_text(encoding="utf-8", errors="replace")
            for secret in self.secrets:
                assert secret not in text, f"secret {secret!r} written to {path}"

    def findings(self, *args: str) -> list[dict[str, Any]]:
        """``check --output-format json`` (no cache, so every run reads the tree)."""
        done = self.run("check", "--no-cache", "--output-format", "json", *args)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return list(json.loads(done.stdout))

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def assert_canary_fixed(self) -> None:
        text = self.read(CANARY)
        assert CANARY_FIXED in text, text
        ast.parse(text)
        assert self.read(TRACED) == TRACED_APP

    def assert_canary_reported(self, findings: list[dict[str, Any]]) -> None:
        assert any(f["path"] == CANARY and f["code"] == "ST101" for f in findings), findings
        assert not any(f["path"] == TRACED for f in findings), findings


def age(path: Path, seconds: float) -> None:
    """Make ``path`` (not what a link points to) look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
