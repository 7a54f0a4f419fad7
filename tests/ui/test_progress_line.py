"""The progress line: label, bar, elapsed-seconds timer and its thread."""

from __future__ import annotations

import threading
import time

from akv_helpers.ui._progress import ProgressLine

TIMER_NAME = "akv-progress-timer"


def timer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == TIMER_NAME]


class Clock:
    """A settable monotonic clock, so the label's seconds are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_hidden_when_idle() -> None:
    line = ProgressLine()

    assert line.widget.layout.display == "none"
    assert not line.running
    assert line.label == ""
    assert timer_threads() == []


def test_progress_elapsed_label_without_total() -> None:
    clock = Clock()
    line = ProgressLine(interval=60, clock=clock)
    line.start("Waiting for the grant")
    clock.now += 12.4
    line.update("Reading the secret (attempt 2)")

    assert line.widget.layout.display is None
    assert line._bar.layout.display == "none"
    assert line.label == "Reading the secret (attempt 2) (12 s elapsed)"
    assert 'class="akv-progress"' in line._label.value
    assert "Working:" in line._label.value
    line.finish()


def test_progress_counts_steps_with_total() -> None:
    clock = Clock()
    line = ProgressLine(interval=60, clock=clock)
    line.start("Running the checks", total=5)
    clock.now += 3
    line.update("Finding the vault", done=2)

    assert line._bar.layout.display is None
    assert line._bar.max == 5
    assert line._bar.value == 2
    assert line.label == "Finding the vault: 2 of 5 done (3 s elapsed)"
    line.update("Reading the secret")
    assert line._bar.value == 2
    line.update("Too many", done=9)
    assert line._bar.value == 5
    line.finish()


def test_progress_timer_refreshes_label() -> None:
    clock = Clock()
    line = ProgressLine(interval=0.02, clock=clock)
    line.start("Running the task")
    first = line._label.value
    clock.now += 7

    deadline = time.monotonic() + 5
    while line._label.value == first and time.monotonic() < deadline:
        time.sleep(0.01)

    assert "Running the task (7 s elapsed)" in line._label.value
    line.finish()


def test_progress_finish_stops_thread() -> None:
    line = ProgressLine(interval=0.01)
    line.start("Waiting")
    assert len(timer_threads()) == 1
    assert timer_threads()[0].daemon

    line.finish()

    assert timer_threads() == []
    assert line.widget.layout.display == "none"
    assert line._label.value == ""
    assert not line.running


def test_progress_restart_keeps_one_thread() -> None:
    line = ProgressLine(interval=0.01)
    line.start("First")
    line.start("Second", total=3)

    assert len(timer_threads()) == 1
    assert line.label.startswith("Second: 0 of 3 done")
    line.finish()
    line.finish()
    assert timer_threads() == []


def test_progress_update_after_finish_ignored() -> None:
    line = ProgressLine(interval=60)
    line.start("Waiting")
    line.finish()

    line.update("Late callback", done=1)

    assert line._label.value == ""
    assert line.widget.layout.display == "none"


def test_progress_label_escapes_text() -> None:
    line = ProgressLine(interval=60)
    line.start("<script>alert(1)</script>")

    assert "<script>" not in line._label.value
    assert "&lt;script&gt;" in line._label.value
    line.finish()


def test_progress_updates_from_many_threads() -> None:
    line = ProgressLine(interval=0.001)
    line.start("Running the checks", total=400)
    done = iter(range(1, 401))
    lock = threading.Lock()

    def report() -> None:
        for _ in range(100):
            with lock:
                count = next(done)
            line.update(f"Step {count}", done=count)

    workers = [threading.Thread(target=report) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)

    assert line._bar.value >= 397
    assert "of 400 done" in line.label
    line.finish()
    assert timer_threads() == []
