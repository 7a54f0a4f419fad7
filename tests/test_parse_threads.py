"""Task code parsed from several threads at once, as the doctor's checks do.

On CPython 3.11 the AST builder keeps its recursion depth in state shared by
every thread. When one thread pauses in the middle of building a tree and a
second thread starts building its own, the first one's `ast.parse` raises
"SystemError: AST constructor recursion depth mismatch". A garbage collection
inside the builder is where such a pause happens in practice: it can run
finalizers, and a finalizer's Python code can switch threads.

The test makes that interleaving happen on purpose. A `gc.callbacks` hook runs
at every collection; inside `ast.parse` it pauses the first thread until the
second has also started building, then lets the first one finish.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from akv_helpers._task_code import parse_python

SOURCE = (Path(__file__).parents[1] / "akv_helpers" / "_task_analysis.py").read_text(
    encoding="utf-8"
)
# Collections inside ast.parse before a thread pauses. A few come from the
# parser itself; by the tenth the tree is being built.
PAUSE_AT = 10
# How long the first thread waits for the second one. With the lock the
# second thread cannot start, so the wait runs out and the parse goes on.
WAIT_SECONDS = 1.0


@pytest.fixture
def collect_often() -> Iterator[None]:
    """Run a garbage collection at almost every allocation, for the test."""
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class _Interleave:
    """Hold the first parse mid-build until the second parse has begun."""

    def __init__(self) -> None:
        self.first_paused = threading.Event()
        self.second_paused = threading.Event()
        self.first_done = threading.Event()
        self.first: threading.Thread | None = None
        self.collections: dict[threading.Thread, int] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "start":
            return
        caller = sys._getframe(1)
        if caller.f_code is not ast.parse.__code__:
            return
        thread = threading.current_thread()
        count = self.collections.get(thread, 0) + 1
        self.collections[thread] = count
        if count != PAUSE_AT:
            return
        if thread is self.first:
            self.first_paused.set()
            self.second_paused.wait(WAIT_SECONDS)
        else:
            self.second_paused.set()
            self.first_done.wait(WAIT_SECONDS)


def test_two_threads_parse_at_once(collect_often: None) -> None:
    interleave = _Interleave()
    errors: list[BaseException] = []

    def parse(done: threading.Event | None = None) -> None:
        try:
            parse_python(SOURCE)
        except BaseException as error:  # the failure the test looks for
            errors.append(error)
        finally:
            if done is not None:
                done.set()

    first = threading.Thread(target=parse, args=(interleave.first_done,))
    second = threading.Thread(target=parse)
    interleave.first = first
    gc.callbacks.append(interleave)
    try:
        first.start()
        assert interleave.first_paused.wait(10), "the first parse never paused"
        second.start()
        first.join(10)
        second.join(10)
    finally:
        gc.callbacks.remove(interleave)

    assert not first.is_alive()
    assert not second.is_alive()
    assert errors == []
