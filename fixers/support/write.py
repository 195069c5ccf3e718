"""Writing a fixed file back: atomically, byte-faithfully, and never over someone else's edit.

- The new bytes go to a temporary file in the same folder (same filesystem), are flushed and
  fsynced, get the original's permission bits (and owner, where allowed), and replace the
  original with one ``os.replace``: a reader sees the old file or the new one, never half.
- The text is encoded with the file's own encoding (a UTF-8 BOM stays, a PEP 263 cookie's
  encoding is used); line endings and the trailing newline are the fixed text's, which LibCST
  keeps as they were (new lines use the file's own newline).
- If the file's bytes or identity changed since it was read (an editor saved it meanwhile),
  nothing is written and :class:`ChangedOnDisk` says so.
- A symlinked file is written through the link (the link stays a link) only when the link's
  target is inside the project: nothing outside the project root is ever written
  (:class:`Refused`). The temporary file is created and renamed relative to a descriptor of
  the real folder (``O_EXCL | O_NOFOLLOW``), so a link planted meanwhile is never followed.
- A read-only file (no write permission for us; for root: no write bit at all) is refused
  unless ``force`` (``--force``), as editors and Ruff do; a forced write keeps the mode.
- A file whose encoding is not ASCII-compatible (``unicode_escape``, utf-7, utf-16, ...) or
  whose bytes do not round-trip through it is refused: the rewrite could change its meaning.
- Temporary files a killed write left behind (``.<name>.<8 chars>.somatrace-tmp``) are removed
  by the next fix in that folder once they are :data:`STALE_TEMP_SECONDS` old - only regular
  files of ours (exact pattern, owned by us), never links.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from somatrace.checks.lint.boundary import inside
from somatrace.checks.lint.source import rewrite_problem, round_trips

TEMP_SUFFIX = ".somatrace-tmp"
# The exact shape of our temporary files: "." + the file's name + "." + 8 random characters
# (tempfile's alphabet, so files left by earlier releases match too) + the suffix.
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
STALE_TEMP_SECONDS = 10 * 60  # older than any write can take: the writer was killed
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class ChangedOnDisk(Exception):
    """The file is not what was read any more; it was left alone."""


class Refused(Exception):
    """The file must not be written (outside the project, read-only, unsafe encoding)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A file as read: its real path, bytes and identity."""

    path: Path  # symlinks resolved
    data: bytes
    size: int
    mtime_ns: int
    inode: int
    mode: int
    uid: int
    gid: int

    @classmethod
    def take(cls, path: Path) -> Snapshot:
        """Read ``path`` (links resolved); ``OSError`` for anything but a regular file (a FIFO
        planted under the name must not block the run)."""
        real = Path(os.path.realpath(path))
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise OSError(f"{real} is not a regular file")
            data = fh.read()
        return cls(
            path=real,
            data=data,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            inode=st.st_ino,
            mode=st.st_mode,
            uid=st.st_uid,
            gid=st.st_gid,
        )

    def unchanged(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        if (st.st_size, st.st_mtime_ns, st.st_ino) != (self.size, self.mtime_ns, self.inode):
            return False
        try:
            with open(self.path, "rb") as fh:
                return fh.read() == self.data
        except OSError:
            return False


def encode_text(text: str, encoding: str, original: bytes | None = None) -> bytes:
    """``text`` in the file's encoding (``utf-8-sig`` writes the BOM back); :class:`Refused`
    when the encoding may not be rewritten, when ``original`` (the file's bytes as read) does
    not round-trip through it, or when the new text does not."""
    problem = rewrite_problem(encoding)
    if problem is not None:
        raise Refused(problem)
    if original is not None and not round_trips(original, encoding):
        raise Refused(
            f"its bytes do not survive a decode and encode as {encoding!r}, "
            "so a rewrite would change more than the fix"
        )
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise Refused(f"the fixed text cannot be written as {encoding!r}: {exc}") from exc
    if data.decode(encoding) != text:
        raise Refused(f"the fixed text does not round-trip through {encoding!r}")
    return data


def is_read_only(snapshot: Snapshot) -> bool:
    """No write permission for this process; for root (who may write anything): no write bit
    at all, i.e. the owner marked the file read-only (``chmod 444``)."""
    mode = stat.S_IMODE(snapshot.mode)
    if not mode & 0o222:
        return True
    euid = os.geteuid()
    if euid == 0:
        return False
    if euid == snapshot.uid:
        return not mode & stat.S_IWUSR
    if snapshot.gid in {os.getegid(), *os.getgroups()}:
        return not mode & stat.S_IWGRP
    return not mode & stat.S_IWOTH


def check_writable(snapshot: Snapshot, root: Path | str, *, force: bool = False) -> None:
    """:class:`Refused` unless ``snapshot`` may be written: inside ``root`` (every link
    resolved), a regular file, and not read-only (unless ``force``)."""
    if not inside(snapshot.path, root):
        raise Refused(f"its real location {snapshot.path} is outside the project {root}")
    if not stat.S_ISREG(snapshot.mode):
        raise Refused("not a regular file")
    if is_read_only(snapshot) and not force:
        raise Refused("the file is read-only (run with --force to fix it anyway)")


def remove_stale_temps(
    directory: Path | str, *, older_than: float = STALE_TEMP_SECONDS
) -> list[str]:
    """Remove the temporary files a killed write left in ``directory``: names of exactly our
    pattern, regular files (never links), owned by us, at least ``older_than`` seconds old.
    Returns the names removed; anything else is left alone."""
    removed: list[str] = []
    try:
        dir_fd = os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError:
        return removed
    try:
        now = time.time()
        for name in os.listdir(dir_fd):
            if not TEMP_NAME.fullmatch(name):
                continue
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            if now - st.st_mtime < older_than:
                continue  # maybe a write in progress right now
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
                removed.append(name)
    finally:
        os.close(dir_fd)
    return removed


def _temp_name(name: str) -> str:
    tail = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(8))
    return f".{name}.{tail}{TEMP_SUFFIX}"


def write_atomic(snapshot: Snapshot, data: bytes, *, root: Path | str, force: bool = False) -> None:
    """Replace ``snapshot.path`` with ``data`` unless it changed since the snapshot, it really
    lies outside the project ``root``, or it is read-only (unless ``force``)."""
    check_writable(snapshot, root, force=force)
    if not snapshot.unchanged():
        raise ChangedOnDisk(f"{snapshot.path} changed on disk since it was read; not written")
    directory = snapshot.path.parent
    dir_fd = os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    try:
        _replace_in(dir_fd, snapshot, data, root)
    finally:
        os.close(dir_fd)


def _replace_in(dir_fd: int, snapshot: Snapshot, data: bytes, root: Path | str) -> None:
    directory = snapshot.path.parent
    opened = os.fstat(dir_fd)
    now = os.stat(directory)
    if (opened.st_dev, opened.st_ino) != (now.st_dev, now.st_ino) or not inside(directory, root):
        raise ChangedOnDisk(f"{directory} was moved or replaced while fixing; not written")
    for _ in range(16):
        tmp = _temp_name(snapshot.path.name)
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=dir_fd
            )
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"cannot create a temporary file in {directory}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), stat.S_IMODE(snapshot.mode))
            with contextlib.suppress(PermissionError):
                if (os.fstat(fh.fileno()).st_uid, os.fstat(fh.fileno()).st_gid) != (
                    snapshot.uid,
                    snapshot.gid,
                ):
                    os.fchown(fh.fileno(), snapshot.uid, snapshot.gid)
        # Last look right before the swap: the window left is the rename itself.
        if not snapshot.unchanged():
            raise ChangedOnDisk(f"{snapshot.path} changed on disk while fixing; not written")
        os.replace(tmp, snapshot.path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)
