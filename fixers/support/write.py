"""Writing a fixed file back: atomically, byte-faithfully, and never over someone else's edit.

- The new bytes go to a temporary file in the same folder (same filesystem), are flushed and
  fsynced, get the original's permission bits (and owner, where allowed), and replace the
  original with one ``os.replace``: a reader sees the old file or the new one, never half.
- The text is encoded with the file's own encoding (a UTF-8 BOM stays, a PEP 263 cookie's
  encoding is used); line endings and the trailing newline are the fixed text's, which LibCST
  keeps as they were (new lines use the file's own newline).
- If the file's bytes or identity changed since it was read (an editor saved it meanwhile),
  nothing is written and :class:`ChangedOnDisk` says so.
- A symlinked file is written through the link (the link stays a link).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path


class ChangedOnDisk(Exception):
    """The file is not what was read any more; it was left alone."""


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
        real = Path(os.path.realpath(path))
        with open(real, "rb") as fh:
            st = os.fstat(fh.fileno())
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


def encode_text(text: str, encoding: str) -> bytes:
    """``text`` in the file's encoding (``utf-8-sig`` writes the BOM back)."""
    return text.encode(encoding)


def write_atomic(snapshot: Snapshot, data: bytes) -> None:
    """Replace ``snapshot.path`` with ``data`` unless it changed since the snapshot."""
    if not snapshot.unchanged():
        raise ChangedOnDisk(f"{snapshot.path} changed on disk since it was read; not written")
    directory = snapshot.path.parent
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{snapshot.path.name}.", suffix=".somatrace-tmp", dir=directory
    )
    tmp = Path(tmp_name)
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
        os.replace(tmp, snapshot.path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
