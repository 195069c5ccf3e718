"""Word-level screens on a file's bytes at substring-search speed.

A screen asks "could this rule report anything here?" of every file of a tree, so it must cost
little more than reading the file. A regex such as ``\\b(?:uvicorn|gunicorn)\\b`` is tried at
every position of the file (CPython's engine finds no literal prefix in an alternation), which
on real LLM-stack code was half a millisecond a file per pattern. The functions here find the
literal with ``bytes.find`` (memmem) and then check, at each occurrence only, what the regex
would: a word boundary before it with the meaning of a bytes regex's ``\\b`` (ASCII letters,
digits and ``_`` are word bytes), and a pattern that must match right after it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

# What ``\w`` matches in a bytes pattern.
WORD_BYTES = frozenset((string.ascii_letters + string.digits + "_").encode())
# Bytes that continue a Python identifier in UTF-8 source (from 0x80 up: parts of non-ASCII
# ones): a word in this sense is a whole identifier or keyword.
IDENTIFIER_BYTES = WORD_BYTES | frozenset(range(0x80, 0x100))
_UPPER = frozenset(string.ascii_uppercase.encode())
# The tail of a call: what follows ``name`` in ``name(`` / ``name (`` (for :func:`word_then`).
CALL_FOLLOWS = re.compile(rb"\s*\(")


def starts_word(data: bytes, at: int, word_bytes: frozenset[int] = WORD_BYTES) -> bool:
    return at == 0 or data[at - 1] not in word_bytes


def is_whole_word(data: bytes, at: int, size: int, word_bytes: frozenset[int] = WORD_BYTES) -> bool:
    """Whether ``data[at:at + size]`` is neither preceded nor followed by a word byte."""
    end = at + size
    return starts_word(data, at, word_bytes) and (end == len(data) or data[end] not in word_bytes)


def word_positions(
    data: bytes, word: bytes, word_bytes: frozenset[int] = WORD_BYTES
) -> Iterator[int]:
    """Every offset where ``word`` occurs as a whole word."""
    if word not in data:  # answered by the file's one scan when the screens see its view
        return
    size = len(word)
    at = data.find(word)
    while at != -1:
        if is_whole_word(data, at, size, word_bytes):
            yield at
        at = data.find(word, at + 1)


def has_word(data: bytes, word: bytes, word_bytes: frozenset[int] = WORD_BYTES) -> bool:
    """``re.search(rb"\\b" + word + rb"\\b", data)`` for a ``word`` of word bytes (with
    ``IDENTIFIER_BYTES``: ``word`` as a whole identifier)."""
    return next(word_positions(data, word, word_bytes), None) is not None


def word_then(data: bytes, word: bytes, tail: re.Pattern[bytes], start: int = 0) -> bool:
    """``re.search(rb"\\b" + word + tail.pattern, data)`` for a ``word`` starting with a word
    byte: ``word`` at the start of a word, and ``tail`` matching right after it (from
    ``start`` on: ``re.compile(...).search(data, start)``)."""
    if word not in data:
        return False
    return word_then_after(data, word, tail, start)


def word_then_after(data: bytes, word: bytes, tail: re.Pattern[bytes], start: int = 0) -> bool:
    """:func:`word_then` for a ``word`` read from ``data`` itself (an import's alias), so known
    to occur: no membership test first. On a screened view that test would add the file's own
    identifier to the scan's words, and every new one recompiles the scan's database before
    the next file (110 recompiles on llm-stack, a third of its screening time)."""
    size = len(word)
    at = data.find(word, start)
    while at != -1:
        if starts_word(data, at) and tail.match(data, at + size) is not None:
            return True
        at = data.find(word, at + 1)
    return False


def capitalised_word_ending(data: bytes, suffix: bytes, tail: re.Pattern[bytes]) -> bool:
    """``re.search(rb"\\b[A-Z]\\w*" + suffix + tail.pattern, data)`` for a ``suffix`` of word
    bytes and a ``tail`` that cannot start with a word byte: a word that starts with a capital,
    has at least one byte before ``suffix``, ends with it, and is followed by ``tail``."""
    if suffix not in data:
        return False
    size = len(suffix)
    at = data.find(suffix, 1)
    while at != -1:
        if tail.match(data, at + size) is not None:
            start = at
            while start > 0 and data[start - 1] in WORD_BYTES:
                start -= 1
            if start < at and data[start] in _UPPER:
                return True
        at = data.find(suffix, at + 1)
    return False
