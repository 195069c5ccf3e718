"""Every screen word of a file found in one pass over its bytes.

The rules' screens (:meth:`somatrace.checks.lint.rule.Rule.applies_to`) are written as plain
substring tests, ``b"start_span" in source``. On a tree that is ~30 searches of every file
(``bytes.__contains__`` at ~1.4 GB/s: 1.35 s of CPU on 78 MB of LLM-stack code). Here the
words the screens ask for are compiled once per process into one Hyperscan literal database
(``hs_compile_lit_multi``: every word, each reported at most once per file); one scan of a
file answers all of them (0.10 s on the same 78 MB), and the screens see a
:class:`ScreenedBytes`: the file's bytes, whose ``in`` answers a known word from the scan's
set and any other needle as ``bytes`` does.

Nothing about a screen changes but its speed: the answers are ``bytes.__contains__``'s. The
words are harvested from the rules' screens themselves (:func:`harvest`: the bytes constants
of ``applies_to`` and of the helpers and collections it reads); a word the harvest missed (a
configured name, ``name.encode()``) is answered by ``bytes`` the first time and joins the
database before the next file. ``source.lower()`` gives a view whose ``in`` is answered by
the same scan (a caseless match of a lowercase word is a match in the ASCII-lowercased
bytes, which is what ``bytes.lower`` makes). Without Hyperscan (it ships wheels for x86-64),
or for the first files of a process (compiling costs more than a handful of searches), the
screens get the plain bytes.
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Callable, Iterable
from typing import Any

# A process compiles the database once it has screened this many bytes on the plain bytes:
# compiling the rules' ~180 words costs ~5 ms (Hyperscan is already imported with pathspec),
# and ~30 plain searches cost ~20 us per KiB screened, so it pays from ~250 KiB on. Bytes, not
# files: the engine hands out the biggest files first, and a count of files let the first 48
# of them (a tenth of the stdlib's bytes) through the slow way: 0.25 -> 0.43 s of screening.
WARMUP_BYTES = 256 * 1024
# Shorter words are left to `bytes`: a one- or two-byte literal makes nearly every position of
# a file a candidate for the scan (on the stdlib, b" " and b"\n" made it 15x slower), while
# `bytes.find` answers them at the first space or newline.
MIN_WORD_BYTES = 3
# A process recompiles for words it learns at most this many times. The words a screen learns
# are configured names (a handful); a screen that asked for words read from each file (ST101's
# aliases did) would otherwise recompile before every file. Past the cap, new words are answered
# by `bytes`, which is what they would cost without the scan.
MAX_COMPILES = 32


class ScreenedBytes(bytes):
    """A file's bytes whose substring test answers the screen words from one scan."""

    _words: frozenset[bytes]  # the known words the scan found
    _known: frozenset[bytes]  # the words the database held when this file was scanned
    _lowered_words: frozenset[bytes]
    _known_lowered: frozenset[bytes]
    _vocabulary: Vocabulary

    def __contains__(self, needle: object) -> bool:
        if type(needle) is bytes:
            if needle in self._known:
                return needle in self._words
            self._vocabulary.learn(needle)
        return bytes.__contains__(self, needle)  # type: ignore[operator]

    def lower(self) -> bytes:
        view = LoweredBytes(bytes.lower(self))
        view._words = self._lowered_words
        view._known = self._known_lowered
        view._vocabulary = self._vocabulary
        return view


class LoweredBytes(bytes):
    """``ScreenedBytes.lower()``: the ASCII-lowercased bytes, answered by the same scan."""

    _words: frozenset[bytes]
    _known: frozenset[bytes]
    _vocabulary: Vocabulary

    def __contains__(self, needle: object) -> bool:
        if type(needle) is bytes:
            if needle in self._known:
                return needle in self._words
            self._vocabulary.learn_lowered(needle)
        return bytes.__contains__(self, needle)  # type: ignore[operator]


def _is_lowercase(word: bytes) -> bool:
    return word == word.lower()


class Vocabulary:
    """The words one process screens for, and their compiled database."""

    def __init__(self, warmup: int = WARMUP_BYTES) -> None:
        self.warmup = warmup  # bytes screened on the plain bytes before compiling
        self.words: frozenset[bytes] = frozenset()
        self.lowered: frozenset[bytes] = frozenset()
        self._pending: set[bytes] = set()
        self._pending_lowered: set[bytes] = set()
        self._database: Any = None
        self._scratch: Any = None
        self._ids: list[tuple[bytes, bool]] = []
        self._pid = -1
        self._screened = 0
        self.compiles = 0

    def add(self, words: Iterable[bytes]) -> None:
        for word in words:
            self.learn(word)
            if _is_lowercase(word):
                self.learn_lowered(word)

    def learn(self, word: bytes) -> None:
        if len(word) >= MIN_WORD_BYTES and word not in self.words:
            self._pending.add(word)

    def learn_lowered(self, word: bytes) -> None:
        # An uppercase ASCII letter is never in lowercased bytes: `bytes` answers that.
        if len(word) >= MIN_WORD_BYTES and word not in self.lowered and _is_lowercase(word):
            self._pending_lowered.add(word)

    def view(self, data: bytes) -> bytes:
        """``data`` as the screens should see it: a :class:`ScreenedBytes` when the database
        pays for itself, else ``data`` itself."""
        if self._screened < self.warmup or not _backend_available():
            self._screened += len(data)
            return data
        learnt = (self._pending or self._pending_lowered) and self.compiles < MAX_COMPILES
        if learnt or self._pid != os.getpid():
            self._compile()
        found: set[tuple[bytes, bool]] = set()
        ids = self._ids

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            found.add(ids[index])

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
        view = ScreenedBytes(data)
        view._words = frozenset(word for word, caseless in found if not caseless)
        view._lowered_words = frozenset(word for word, caseless in found if caseless)
        view._known = self.words
        view._known_lowered = self.lowered
        view._vocabulary = self
        return view

    def _compile(self) -> None:
        import hyperscan

        self.words = self.words | self._pending
        self.lowered = self.lowered | self._pending_lowered
        self._pending.clear()
        self._pending_lowered.clear()
        self._ids = [(w, False) for w in sorted(self.words)] + [
            (w, True) for w in sorted(self.lowered)
        ]
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(
            expressions=[word for word, _ in self._ids],
            ids=list(range(len(self._ids))),
            flags=[
                hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
                for _, caseless in self._ids
            ],
            literal=True,
        )
        self._database = database
        self._scratch = hyperscan.Scratch(database)
        self._pid = os.getpid()
        self.compiles += 1


_AVAILABLE: bool | None = None


def _backend_available() -> bool:
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            import hyperscan  # noqa: F401
        except ImportError:  # no wheel for this machine: the screens search the bytes
            _AVAILABLE = False
        else:
            _AVAILABLE = True
    return _AVAILABLE


def harvest(objects: Iterable[Any]) -> set[bytes]:
    """The bytes literals the screens of ``objects`` (rule classes, functions) may test:
    class attributes that are collections of bytes, and the bytes constants of ``applies_to``
    and of every function and collection of bytes its code reads from its module, followed
    through the functions it calls. A superset is harmless (a word no screen asks for costs
    the scan nothing measurable); a word it misses is learnt on first use."""
    words: set[bytes] = set()
    seen: set[int] = set()

    def collection(value: object) -> None:
        if isinstance(value, (tuple, list, frozenset, set)) or type(value) is dict:
            words.update(v for v in value if type(v) is bytes and v)

    def code(obj: types.CodeType, namespace: dict[str, Any]) -> None:
        for const in obj.co_consts:
            if type(const) is bytes and const:
                words.add(const)
            elif isinstance(const, types.CodeType):
                code(const, namespace)
            else:
                collection(const)
        for name in obj.co_names:
            if name in namespace:
                follow(namespace[name])

    def follow(value: object) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if inspect.isfunction(value):
            code(value.__code__, value.__globals__)
        elif inspect.isclass(value):
            for klass in value.__mro__:
                for attr in vars(klass).values():
                    collection(attr)
            applies: Callable[..., Any] | None = getattr(value, "applies_to", None)
            if applies is not None:
                follow(getattr(applies, "__func__", applies))
        else:
            collection(value)

    for obj in objects:
        follow(obj)
    return words


# One per process: the rules' words are added by the engine; workers inherit it.
VOCABULARY = Vocabulary()
