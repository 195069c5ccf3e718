"""The worker pool's garbage collection: workers freeze the heap they inherit and collect each
item's cycles right after it; a run pauses the parent's automatic collector and restores it."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from somatrace.checks.lint.workers import WorkerPool, paused_collector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


_LAST: list[weakref.ref[_Node]] = []


def _item(number: int) -> dict[str, Any]:
    """Reports whether the previous item's cycle (in this worker) is gone, then makes one."""
    previous_alive = bool(_LAST) and _LAST[-1]() is not None
    node = _Node()
    _LAST.append(weakref.ref(node))
    del node
    return {
        "number": number,
        "enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "previous_alive": previous_alive,
        "had_previous": len(_LAST) > 1,
    }


def _failed(number: int, reason: str) -> dict[str, Any]:
    raise AssertionError(f"item {number} failed: {reason}")


def test_workers_collect_each_items_cycles_with_the_automatic_collector_off() -> None:
    pool = WorkerPool(_item, _failed, 2, chunk_size=8)
    results = pool.map(list(range(40)))
    assert [r["number"] for r in results] == list(range(40))
    assert not any(r["enabled"] for r in results)  # no automatic collection in a worker
    assert all(r["frozen"] > 0 for r in results)  # the inherited heap is frozen
    followers = [r for r in results if r["had_previous"]]
    assert followers  # some worker ran several items
    assert not any(r["previous_alive"] for r in followers)  # each item's cycle was collected


def test_a_run_pauses_the_collector_and_restores_it() -> None:
    assert gc.isenabled()
    with paused_collector():
        assert not gc.isenabled()
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause keeps the outer one
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_collector():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
