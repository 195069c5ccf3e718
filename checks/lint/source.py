"""Reading a file the way Python would, and saying precisely why when it cannot be read.

Hostile inputs (binary files, unknown encodings, symlink loops, FIFOs, unreadable or huge files)
become a reason string for ST900, never an exception.
"""

from __future__ import annotations

import codecs
import functools
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path

_UNKNOWN = re.compile(r"unknown encoding(?: for [^:]*)?: (\S+)")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# Where `str.splitlines` ends a line and CPython does not.
_NOT_NEWLINES = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def split_lines(text: str) -> list[str]:
    """``text``'s lines with their endings, numbered as CPython numbers them (and ``ast``
    positions): a line ends at ``\\n``, ``\\r\\n`` or ``\\r`` only. ``str.splitlines`` also
    ends one at a form feed, ``\\v``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028`` and
    ``\\u2029``: after a form feed every line would be off by one (a ``# noqa`` applied to
    the next line, a column read from the wrong line)."""
    if _NOT_NEWLINES.search(text) is None:
        return text.splitlines(keepends=True)
    return _LINE.findall(text)


def line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts (as :func:`split_lines` counts lines)."""
    starts = [0]
    for line in split_lines(text):
        if line.endswith(("\n", "\r")):  # only the last line may have no ending
            starts.append(starts[-1] + len(line))
    return starts


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    data: bytes
    text: str
    encoding: str  # as declared (BOM -> "utf-8-sig")


@dataclass(frozen=True, slots=True)
class Unreadable:
    path: Path
    reason: str
    line: int = 1
    col: int = 1


def python_encoding(data: bytes) -> str:
    """The encoding CPython reads ``data`` with: ``tokenize.detect_encoding``'s rules (a BOM; a
    PEP 263 cookie on line 1, or on line 2 only when line 1 is a comment or blank), so a cookie
    after a line of code is ignored here exactly as CPython ignores it."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        unknown = _UNKNOWN.search(str(exc))
        return unknown.group(1) if unknown else "utf-8"  # decode() reports what is wrong
    return "utf-8-sig" if encoding == "utf-8-sig" else encoding


# ASCII bytes that some codecs read as something else: escape sequences (unicode_escape,
# raw_unicode_escape), shifts (utf-7's "+...-", hz's "~{", ISO-2022's ESC), a BOM-less wide
# encoding's lone byte. Text in a rewritable encoding decodes and encodes each of them to itself.
_ASCII_PROBE = bytes(range(128)) + b"\\u0041\\x41\\N{DASH}\\101 +AGE- ~{x~} \x1b$B\x1b(B"


@functools.lru_cache(maxsize=64)
def rewrite_problem(encoding: str) -> str | None:
    """Why a file in ``encoding`` must not be rewritten by a fix (None: it may be).

    Allowed are the ASCII-compatible text codecs: every ASCII byte sequence decodes to the same
    characters and encodes back to the same bytes (utf-8, utf-8-sig, latin-1, cp1252, ascii,
    shift_jis, ...). Refused are transforming codecs (``unicode_escape`` reads ``\\n`` as a
    newline and would write the file back as one line), shifting ones (utf-7, hz, ISO-2022),
    wide ones (utf-16/32) and non-text codecs (rot13, base64). Each rewrite also checks that
    the file's own bytes round-trip (:func:`round_trips`)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return f"unknown encoding {encoding!r}"
    if not getattr(info, "_is_text_encoding", True):
        return f"{encoding!r} is not a text encoding"
    base = "utf-8" if info.name == "utf-8-sig" else info.name  # the BOM is not ASCII
    try:
        ok = (
            _ASCII_PROBE.decode(base) == _ASCII_PROBE.decode("ascii")
            and _ASCII_PROBE.decode("ascii").encode(base) == _ASCII_PROBE
        )
    except (UnicodeError, LookupError, ValueError, TypeError):
        ok = False
    if not ok:
        return (
            f"its encoding {encoding!r} is not ASCII-compatible (it transforms or shifts ASCII "
            "text), so a rewrite could change what the file means"
        )
    return None


def round_trips(data: bytes, encoding: str) -> bool:
    """Whether decoding ``data`` and encoding the text again gives exactly ``data``."""
    try:
        return data.decode(encoding).encode(encoding) == data
    except (UnicodeError, LookupError):
        return False


_CHUNK = 1 << 16


def read_bytes(path: Path | str, max_size: int) -> bytes | Unreadable:
    """A regular file's bytes, at most ``max_size``. One non-blocking ``open`` and an
    ``fstat`` of what it opened (a FIFO named like a module cannot hang the read, and the
    checks are of the file read, not of a path looked up twice); a ``str`` path costs no
    ``Path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        try:  # a socket cannot be opened at all: say what it is
            if not stat.S_ISREG(os.stat(path).st_mode):
                return Unreadable(Path(path), "not a regular file")
        except OSError:
            pass
        return Unreadable(Path(path), f"cannot read file: {exc.strerror or exc}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Unreadable(Path(path), "not a regular file")
        if info.st_size > max_size:
            return too_large(Path(path), info.st_size, max_size)  # type: ignore[return-value]
        # Read to the end (a file that grew since the fstat is read whole, as `read()` would).
        chunks = [os.read(fd, info.st_size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, _CHUNK))
        return chunks[0] if len(chunks) == 2 else b"".join(chunks)
    except OSError as exc:
        return Unreadable(Path(path), f"cannot read file: {exc.strerror or exc}")
    finally:
        os.close(fd)


def too_large(path: Path, size: int, max_size: int) -> Unreadable | None:
    """``max-file-size``, for files and for buffers (stdin, an editor) alike."""
    if size > max_size:
        return Unreadable(
            path, f"file is {size} bytes, larger than max-file-size ({max_size} bytes)"
        )
    return None


def decode(path: Path, data: bytes, *, python: bool) -> Source | Unreadable:
    if b"\0" in data:
        return Unreadable(path, "binary file (contains NUL bytes)")
    encoding = (
        python_encoding(data)
        if python
        else ("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    )
    try:
        text = data.decode(encoding)
    except LookupError:
        return Unreadable(path, f"unknown source encoding {encoding!r}")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Unreadable(
            path,
            f"not valid {encoding} (byte 0x{data[exc.start]:02x}); declare the encoding "
            "with a coding comment or save the file as UTF-8",
            line=line,
            col=col,
        )
    return Source(path=path, data=data, text=text, encoding=encoding)


def read_source(path: Path, max_size: int, *, python: bool = True) -> Source | Unreadable:
    data = read_bytes(path, max_size)
    if isinstance(data, Unreadable):
        return data
    return decode(path, data, python=python)
