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

# What ``\w`` matches in a bytes pattern.
WORD_BYTES = frozenset((string.ascii_letters + string.digits + "_").encode())
_UPPER = frozenset(string.ascii_uppercase.encode())


def _starts_word(data: bytes, at: int) -> bool:
    return at == 0 or data[at - 1] not in WORD_BYTES


def has_word(data: bytes, word: bytes) -> bool:
    """``re.search(rb"\\b" + word + rb"\\b", data)`` for a ``word`` of word bytes."""
    size = len(word)
    at = data.find(word)
    while at != -1:
        end = at + size
        if _starts_word(data, at) and (end == len(data) or data[end] not in WORD_BYTES):
            return True
        at = data.find(word, at + 1)
    return False


def word_then(data: bytes, word: bytes, tail: re.Pattern[bytes]) -> bool:
    """``re.search(rb"\\b" + word + tail.pattern, data)`` for a ``word`` starting with a word
    byte: ``word`` at the start of a word, and ``tail`` matching right after it."""
    size = len(word)
    at = data.find(word)
    while at != -1:
        if _starts_word(data, at) and tail.match(data, at + size) is not None:
            return True
        at = data.find(word, at + 1)
    return False


def capitalised_word_ending(data: bytes, suffix: bytes, tail: re.Pattern[bytes]) -> bool:
    """``re.search(rb"\\b[A-Z]\\w*" + suffix + tail.pattern, data)`` for a ``suffix`` of word
    bytes and a ``tail`` that cannot start with a word byte: a word that starts with a capital,
    has at least one byte before ``suffix``, ends with it, and is followed by ``tail``."""
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
