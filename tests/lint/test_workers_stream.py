"""Work handed to the pool while the caller is still finding it (the engine's discovery): the
workers start before the stream closes, results keep the order of submission, the rest goes
out heaviest first on close, a small stream uses one worker, and a crash costs one item."""

from __future__ import annotations

import itertools
import os
import time

import pytest

from somatrace.checks.lint.workers import WorkerPool

_SEQUENCE = itertools.count()  # per process: the order in which a worker ran its items


def _run(number: int) -> tuple[int, int, int]:
    if number == 13:
        os._exit(3)  # a crash in native code looks like this to the parent
    return number, os.getpid(), next(_SEQUENCE)


def _failed(number: int, reason: str) -> tuple[int, int, int]:
    return -number, 0, -1


def test_workers_start_while_the_stream_is_open_and_results_keep_submission_order() -> None:
    pool = WorkerPool(_run, _failed, 2, chunk_weight=4)
    with pool.stream(threshold=8) as stream:
        for number in range(20, 60):
            stream.submit(number, 1)
        deadline = time.monotonic() + 30
        while not stream.results and time.monotonic() < deadline:
            stream.pump()
            time.sleep(0.01)
        answered_while_open = len(stream.results)
        results = stream.close()
    assert answered_while_open > 0
    assert [number for number, _, _ in results] == list(range(20, 60))
    assert pool.failures == 0


def test_the_rest_goes_out_heaviest_first_on_close() -> None:
    pool = WorkerPool(_run, _failed, 1, chunk_weight=10**9)
    weights = [3, 50, 7, 50, 1, 20]
    with pool.stream(biggest_first=True) as stream:
        for number, weight in enumerate(weights, start=100):
            stream.submit(number, weight)
        results = stream.close()
    assert [number for number, _, _ in results] == list(range(100, 106))
    ran = [number for number, _, _ in sorted(results, key=lambda r: r[2])]
    # heaviest first; equal weights keep their submission order
    assert ran == [101, 103, 105, 102, 100, 104]


def test_a_stream_below_its_threshold_uses_one_worker() -> None:
    pool = WorkerPool(_run, _failed, 2, chunk_size=1)
    with pool.stream(threshold=48) as stream:
        for number in range(20, 30):
            stream.submit(number)
            stream.pump()  # below the threshold: no worker starts yet
        assert stream.workers == []
        results = stream.close()
    assert len({pid for _, pid, _ in results}) == 1
    assert os.getpid() not in {pid for _, pid, _ in results}


def test_a_crash_while_the_stream_is_open_fails_its_item_alone() -> None:
    pool = WorkerPool(_run, _failed, 2, chunk_weight=4)
    with pool.stream(threshold=1) as stream:
        for number in range(40):
            stream.submit(number, 1)
            stream.pump()
        results = stream.close()
    assert [number for number, _, _ in results] == [-13 if n == 13 else n for n in range(40)]
    assert pool.failures == 1


def test_nothing_is_submitted_after_close() -> None:
    pool = WorkerPool(_run, _failed, 0)
    with pool.stream() as stream:
        stream.submit(1)
        assert [r[0] for r in stream.close()] == [1]
        with pytest.raises(ValueError, match="closed"):
            stream.submit(2)


def test_each_result_is_seen_as_it_comes_in_while_the_stream_is_open() -> None:
    seen: list[int] = []
    pool = WorkerPool(_run, _failed, 2, chunk_weight=4)
    with pool.stream(threshold=1, on_result=lambda result: seen.append(result[0])) as stream:
        for number in range(20, 40):
            stream.submit(number, 1)
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            stream.pump()
            time.sleep(0.01)
        seen_while_open = list(seen)
        stream.close()
    assert seen_while_open and set(seen_while_open) <= set(range(20, 40))
    assert sorted(seen) == list(range(20, 40))  # every result once, failures aside
