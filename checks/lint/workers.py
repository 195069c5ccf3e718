"""A pool of forked worker processes that one bad file cannot take down.

Work goes to the workers in small chunks: ``chunk_size`` items each, or, when the caller gives
each item a weight (a file's size), as many items as make up ``chunk_weight`` (at most
``MAX_CHUNK``). A worker idles from sending one chunk's answers until the next chunk arrives;
on llm-stack's 6,860 files, in chunks of 8, that was 0.10-0.16 s of each worker's 3.1 s, most
of it on the thousands of small files at the end that are screened out in microseconds each.

Before each item a worker writes the item's number and its start time into shared memory, so
the parent always knows what a worker is doing: when a worker dies (a crash in native code, the
kernel's OOM killer) or runs past the per-item time budget, the parent kills it, turns that one
item into ``on_failure(item, reason)``, starts a fresh worker and hands it the rest of the
chunk. Results come back in the order of the items.

``workers=0`` runs everything in this process (no isolation, no budget): for tests of the
functions themselves and for callers that already run in a sandbox.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import RawArray
from typing import Any, Generic, TypeVar

from somatrace.checks.lint.bounds import NESTED_TOO_DEEPLY

T = TypeVar("T")
R = TypeVar("R")

_IDLE = -1
_POLL_SECONDS = 0.05
MAX_CHUNK = 64  # items in one chunk, at most: a crash or a timeout re-queues the rest of it


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for one item: wall-clock seconds, and bytes of address space per worker."""

    seconds: float = 60.0
    memory_bytes: int = 0  # 0: no limit


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """No automatic cyclic garbage collection while a run builds its results.

    A run allocates millions of long-lived objects (every file's result, the join's facets)
    and CPython's collector traverses them again at every full collection: on 6,860 real files
    that was 1.4 s of the parent's 3.8 s project join. What a run leaves in cycles is collected
    after it, when the collector is back on (a command line exits; the editor server collects
    on its next threshold). Nested uses keep the outer setting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Worker:
    def __init__(
        self,
        slot: int,
        function: Callable[[Any], Any],
        current: Any,
        started: Any,
        limits: Limits,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.slot = slot
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve, args=(child, function, slot, current, started, limits), daemon=True
        )
        self.process.start()
        child.close()
        self.chunk: list[int] = []  # item numbers handed to this worker, not yet answered

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def _serve(
    conn: multiprocessing.connection.Connection,
    function: Callable[[Any], Any],
    slot: int,
    current: Any,
    started: Any,
    limits: Limits,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # The heap inherited from the parent is never garbage here: frozen, the collector skips it
    # (and leaves its copy-on-write pages shared). Each item's cycles are collected right after
    # it, from the young generation alone: a full collection in the middle of building a syntax
    # tree (the automatic ones) traversed every node again and cost a third of parse time.
    gc.freeze()
    gc.disable()
    if limits.memory_bytes:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        results = []
        for number, item in message:
            started[slot] = time.monotonic()
            current[slot] = number
            try:
                results.append((number, True, function(item)))
            except MemoryError:
                results.append((number, False, "ran out of memory analysing this file"))
            except RecursionError:
                results.append((number, False, NESTED_TOO_DEEPLY))
            current[slot] = _IDLE
            gc.collect(0)
        try:
            conn.send(results)
        except (OSError, ValueError):
            return


class WorkerPool(Generic[T, R]):
    def __init__(
        self,
        function: Callable[[T], R],
        on_failure: Callable[[T, str], R],
        workers: int,
        limits: Limits | None = None,
        chunk_size: int = 8,
        chunk_weight: int = 0,
    ) -> None:
        self.function = function
        self.on_failure = on_failure
        self.workers = workers
        self.limits = limits or Limits()
        self.chunk_size = max(1, chunk_size)
        self.chunk_weight = chunk_weight
        self.failures = 0
        self.chunks = 0  # chunks handed out (a replaced worker's re-queued rest counts again)
        self._weights: Sequence[int] | None = None

    def map(self, items: Sequence[T], weights: Sequence[int] | None = None) -> list[R]:
        """Each item's result, in order. With ``weights`` (one per item) and a
        ``chunk_weight``, chunks are cut by weight instead of by count."""
        if weights is not None and len(weights) != len(items):
            raise ValueError("one weight per item")
        if not items:
            return []
        if self.workers <= 0:
            return [self._inline(item) for item in items]
        self._weights = weights if self.chunk_weight > 0 else None
        return self._parallel(items)

    def _inline(self, item: T) -> R:
        try:
            return self.function(item)
        except MemoryError:
            return self.on_failure(item, "ran out of memory analysing this file")
        except RecursionError:
            return self.on_failure(item, NESTED_TOO_DEEPLY)

    def _parallel(self, items: Sequence[T]) -> list[R]:
        count = min(self.workers, len(items))
        current = RawArray("q", [_IDLE] * count)
        started = RawArray("d", [0.0] * count)
        results: dict[int, R] = {}
        pending = list(range(len(items) - 1, -1, -1))  # a stack: pop() gives the next item
        workers = [_Worker(i, self.function, current, started, self.limits) for i in range(count)]
        try:
            for worker in workers:
                self._feed(worker, items, pending)
            while len(results) < len(items):
                busy = [w for w in workers if w.chunk]
                if not busy:
                    break
                ready = multiprocessing.connection.wait(
                    [w.conn for w in busy], timeout=_POLL_SECONDS
                )
                for worker in busy:
                    if worker.conn in ready:
                        try:
                            answers = worker.conn.recv()
                        except (EOFError, OSError):
                            answers = None
                        if answers is None:
                            self._replace(
                                workers,
                                worker,
                                items,
                                results,
                                pending,
                                current,
                                started,
                                "the analyser crashed on this file",
                            )
                            continue
                        for number, ok, value in answers:
                            results[number] = value if ok else self.on_failure(items[number], value)
                        worker.chunk.clear()
                        self._feed(worker, items, pending)
                    elif not worker.process.is_alive():
                        self._replace(
                            workers,
                            worker,
                            items,
                            results,
                            pending,
                            current,
                            started,
                            "the analyser crashed on this file",
                        )
                    elif (
                        current[worker.slot] != _IDLE
                        and time.monotonic() - started[worker.slot] > self.limits.seconds
                    ):
                        self._replace(
                            workers,
                            worker,
                            items,
                            results,
                            pending,
                            current,
                            started,
                            f"took longer than {self.limits.seconds:g} s to analyse "
                            "(raise `timeout-per-file` to allow more)",
                        )
        finally:
            for worker in workers:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
            for worker in workers:
                worker.process.join(timeout=2)
                worker.kill()
        return [results[i] for i in range(len(items))]

    def _feed(self, worker: _Worker, items: Sequence[T], pending: list[int]) -> None:
        # Without weights each item weighs one and a chunk holds ``chunk_size`` of them.
        weights = self._weights
        limit = self.chunk_size if weights is None else self.chunk_weight
        chunk: list[int] = []
        weight = 0
        while pending and weight < limit and len(chunk) < MAX_CHUNK:
            chunk.append(pending.pop())
            weight += 1 if weights is None else max(1, weights[chunk[-1]])
        if not chunk:
            return
        worker.chunk = chunk
        self.chunks += 1
        worker.conn.send([(number, items[number]) for number in chunk])

    def _replace(
        self,
        workers: list[_Worker],
        worker: _Worker,
        items: Sequence[T],
        results: dict[int, R],
        pending: list[int],
        current: Any,
        started: Any,
        reason: str,
    ) -> None:
        culprit = current[worker.slot]
        worker.kill()
        self.failures += 1
        if culprit == _IDLE or culprit not in worker.chunk:
            culprit = worker.chunk[0]
        results[culprit] = self.on_failure(items[culprit], reason)
        # The rest of the chunk goes back to the front of the queue.
        for number in reversed(worker.chunk):
            if number != culprit and number not in results:
                pending.append(number)
        current[worker.slot] = _IDLE
        fresh = _Worker(worker.slot, self.function, current, started, self.limits)
        workers[workers.index(worker)] = fresh
        self._feed(fresh, items, pending)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
