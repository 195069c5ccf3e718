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

Work can also be handed over while the caller is still finding it (:class:`Stream`): the engine
submits each file as discovery finds it, and the workers analyse while discovery walks on. One
worker fewer than the cores runs until the stream closes: this process holds the other core.

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
from collections import deque
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
        self.limits = limits or Limits()  # read on every check: a caller may raise it
        self.chunk_size = max(1, chunk_size)
        self.chunk_weight = chunk_weight
        self.failures = 0
        self.chunks = 0  # chunks handed out (a replaced worker's re-queued rest counts again)

    def map(self, items: Sequence[T], weights: Sequence[int] | None = None) -> list[R]:
        """Each item's result, in order. With ``weights`` (one per item) and a
        ``chunk_weight``, chunks are cut by weight instead of by count."""
        if weights is not None and len(weights) != len(items):
            raise ValueError("one weight per item")
        with self.stream() as stream:
            for number, item in enumerate(items):
                stream.submit(item, 1 if weights is None else weights[number])
            return stream.close()

    def stream(
        self,
        *,
        biggest_first: bool = False,
        threshold: int = 0,
        on_result: Callable[[R], None] | None = None,
    ) -> Stream[T, R]:
        """Items handed over while the caller still produces them (see :class:`Stream`)."""
        return Stream(self, biggest_first=biggest_first, threshold=threshold, on_result=on_result)

    def _inline(self, item: T) -> R:
        try:
            return self.function(item)
        except MemoryError:
            return self.on_failure(item, "ran out of memory analysing this file")
        except RecursionError:
            return self.on_failure(item, NESTED_TOO_DEEPLY)


class Stream(Generic[T, R]):
    """Work handed to a pool's workers while the caller is still finding it (discovery walks
    the tree while the workers analyse what it found so far): :meth:`submit` each item with its
    weight, :meth:`pump` now and then (it takes finished chunks and hands out new ones without
    waiting), :meth:`close` for every result, in submission order.

    While the stream is open a worker gets a chunk only once a full one is waiting, so chunks
    keep the size :class:`WorkerPool` cuts them to. On ``close`` the rest goes out, heaviest
    first with ``biggest_first`` (no worker is left with one large file at the end). The
    workers start once ``threshold`` items are in, or on ``close``; a stream that ends with
    fewer than ``threshold`` items uses one worker (a second fork costs more than it saves).
    ``workers=0`` runs every item in this process on ``close``. ``on_result`` sees each result
    a worker sends as it comes in (not the failures', nor those run in this process), so the
    caller can change course while work is still out. Used as a context manager, the workers
    are stopped however the caller's block ends."""

    def __init__(
        self,
        pool: WorkerPool[T, R],
        *,
        biggest_first: bool,
        threshold: int,
        on_result: Callable[[R], None] | None = None,
    ) -> None:
        self.pool = pool
        self.on_result = on_result
        self.items: list[T] = []
        self.weights: list[int] = []
        self.results: dict[int, R] = {}
        self.workers: list[_Worker] = []
        self.biggest_first = biggest_first
        self.threshold = threshold
        self.closed = False
        self._pending: deque[int] = deque()
        self._pending_weight = 0
        self._current: Any = None
        self._started: Any = None

    def __enter__(self) -> Stream[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def submit(self, item: T, weight: int = 1) -> None:
        if self.closed:
            raise ValueError("the stream is closed")
        number = len(self.items)
        self.items.append(item)
        self.weights.append(max(1, weight) if self.pool.chunk_weight > 0 else 1)
        self._pending.append(number)
        self._pending_weight += self.weights[number]

    def pump(self) -> None:
        """Take what the workers finished and hand out what is waiting, without waiting."""
        if self.pool.workers <= 0:
            return
        if not self.workers:
            if len(self.items) < max(1, self.threshold):
                return
            # This process is busy finding the work: one core fewer until then.
            self._start(self.pool.workers, max(1, self.pool.workers - 1))
        self._service(0)

    def close(self) -> list[R]:
        """Every item's result, in the order submitted; the workers are stopped."""
        self.closed = True
        try:
            if self.pool.workers <= 0:
                return [self.pool._inline(self.items[n]) for n in range(len(self.items))]
            if not self.items:
                return []
            if self.biggest_first:
                weights = self.weights
                self._pending = deque(sorted(self._pending, key=lambda n: -weights[n]))
            if not self.workers:
                count = min(self.pool.workers, len(self.items))
                count = count if len(self.items) >= self.threshold else min(count, 1)
                self._start(count, count)
            else:  # the cores this process held while the work was found
                want = min(self.pool.workers, len(self.workers) + len(self._pending))
                self.workers += [self._fork(slot) for slot in range(len(self.workers), want)]
            while len(self.results) < len(self.items):
                if not self._service(_POLL_SECONDS):
                    break
            return [self.results[n] for n in range(len(self.items))]
        finally:
            self._stop()

    # -- the workers --------------------------------------------------------------------------

    def _start(self, slots: int, count: int) -> None:
        """Shared slots for ``slots`` workers, and the first ``count`` of them forked."""
        self._current = RawArray("q", [_IDLE] * slots)
        self._started = RawArray("d", [0.0] * slots)
        self.workers = [self._fork(slot) for slot in range(count)]

    def _fork(self, slot: int) -> _Worker:
        return _Worker(slot, self.pool.function, self._current, self._started, self.pool.limits)

    def _stop(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(timeout=2)
            worker.kill()
        self.workers = []

    def _service(self, timeout: float) -> bool:
        """Hand out chunks to idle workers, then take the answers that are in (waiting up to
        ``timeout`` for one) and check on the busy workers; False when none is busy."""
        for worker in self.workers:
            if not worker.chunk:
                self._feed(worker)
        busy = [w for w in self.workers if w.chunk]
        if not busy:
            return False
        ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=timeout)
        limit = self.pool.limits.seconds
        for worker in busy:
            if worker.conn in ready:
                try:
                    answers = worker.conn.recv()
                except (EOFError, OSError):
                    answers = None
                if answers is None:
                    self._replace(worker, "the analyser crashed on this file")
                    continue
                for number, ok, value in answers:
                    if ok:
                        self.results[number] = value
                        if self.on_result is not None:
                            self.on_result(value)
                    else:
                        self.results[number] = self.pool.on_failure(self.items[number], value)
                worker.chunk.clear()
                self._feed(worker)
            elif not worker.process.is_alive():
                self._replace(worker, "the analyser crashed on this file")
            elif (
                self._current[worker.slot] != _IDLE
                and time.monotonic() - self._started[worker.slot] > limit
            ):
                self._replace(
                    worker,
                    f"took longer than {limit:g} s to analyse "
                    "(raise `timeout-per-file` to allow more)",
                )
        return True

    def _feed(self, worker: _Worker) -> None:
        # Without weights each item weighs one and a chunk holds ``chunk_size`` of them.
        pool = self.pool
        limit = pool.chunk_size if pool.chunk_weight <= 0 else pool.chunk_weight
        pending = self._pending
        if not pending:
            return
        if not self.closed and self._pending_weight < limit and len(pending) < MAX_CHUNK:
            return  # more is coming: wait for a full chunk
        chunk: list[int] = []
        weight = 0
        while pending and weight < limit and len(chunk) < MAX_CHUNK:
            chunk.append(pending.popleft())
            weight += self.weights[chunk[-1]]
        self._pending_weight -= weight
        worker.chunk = chunk
        pool.chunks += 1
        worker.conn.send([(number, self.items[number]) for number in chunk])

    def _replace(self, worker: _Worker, reason: str) -> None:
        culprit = self._current[worker.slot]
        worker.kill()
        self.pool.failures += 1
        if culprit == _IDLE or culprit not in worker.chunk:
            culprit = worker.chunk[0]
        self.results[culprit] = self.pool.on_failure(self.items[culprit], reason)
        # The rest of the chunk goes back to the front of the queue.
        for number in reversed(worker.chunk):
            if number != culprit and number not in self.results:
                self._pending.appendleft(number)
                self._pending_weight += self.weights[number]
        self._current[worker.slot] = _IDLE
        fresh = self._fork(worker.slot)
        self.workers[self.workers.index(worker)] = fresh
        self._feed(fresh)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
