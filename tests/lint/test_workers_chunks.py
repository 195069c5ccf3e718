"""How the worker pool cuts its work into chunks: by count, or by the weights the caller gives
(a file's size), never losing an item or its place, and a crash costs only its own item."""

from __future__ import annotations

import os

import pytest

from somatrace.checks.lint.workers import MAX_CHUNK, WorkerPool


def _square(number: int) -> int:
    if number == 13:
        os._exit(3)  # a crash in native code looks like this to the parent
    return number * number


def _failed(number: int, reason: str) -> int:
    return -number


def test_chunks_by_count_without_weights() -> None:
    pool = WorkerPool(_square, _failed, 2, chunk_size=8)
    items = list(range(20, 60))
    assert pool.map(items) == [n * n for n in items]
    assert pool.chunks == 5


def test_chunks_by_weight_group_small_items_and_send_big_ones_alone() -> None:
    pool = WorkerPool(_square, _failed, 2, chunk_weight=100)
    items = list(range(20, 40))
    # ten items at 100 each go alone; ten at 10 each make one chunk of 100
    weights = [100] * 10 + [10] * 10
    assert pool.map(items, weights) == [n * n for n in items]
    assert pool.chunks == 11


def test_a_weighted_chunk_holds_at_most_max_chunk_items() -> None:
    pool = WorkerPool(_square, _failed, 2, chunk_weight=10**9)
    items = list(range(20, 20 + 3 * MAX_CHUNK))
    assert pool.map(items, [1] * len(items)) == [n * n for n in items]
    assert pool.chunks == 3


def test_a_crash_in_a_weighted_chunk_fails_its_item_alone() -> None:
    pool = WorkerPool(_square, _failed, 2, chunk_weight=10**9)
    items = list(range(30))
    results = pool.map(items, [1] * len(items))
    assert results == [-13 if n == 13 else n * n for n in items]
    assert pool.failures == 1


def test_weights_must_match_the_items() -> None:
    pool = WorkerPool(_square, _failed, 2, chunk_weight=100)
    with pytest.raises(ValueError, match="one weight per item"):
        pool.map([1, 2, 3], [1, 2])
