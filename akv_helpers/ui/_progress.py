"""A progress line for long waits: a bar, a worded label and the elapsed seconds."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable

import ipywidgets as widgets

__all__ = ["ProgressLine"]


class ProgressLine:
    """Progress bar and label shown while a panel waits, hidden when idle.

    With a total, the bar fills with the steps done and the label counts them.
    Without one, the bar is hidden and the label shows the seconds since
    `start`, refreshed by a daemon timer thread every `interval` seconds while
    the line runs, because the kernel is busy with the action and would not
    redraw otherwise. Every method may be called from any thread.

    Parameters
    ----------
    interval
        Seconds between two refreshes of the elapsed time; 1 by default.
    clock
        Monotonic clock in seconds; `time.monotonic` by default.
    """

    def __init__(
        self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._bar = widgets.IntProgress(
            value=0, min=0, max=1, layout=widgets.Layout(width="16em")
        )
        self._label = widgets.HTML("")
        self.widget = widgets.HBox(
            [self._bar, self._label], layout=widgets.Layout(display="none")
        )
        # Guards every field below and the widget values, so a refresh of the
        # timer cannot interleave with an update from the action.
        self._lock = threading.RLock()
        self._text = ""
        self._total: int | None = None
        self._done = 0
        self._started: float | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the line was started and not finished yet."""
        with self._lock:
            return self._started is not None

    @property
    def label(self) -> str:
        """The label's current text, without markup."""
        with self._lock:
            return self._label_text() if self._started is not None else ""

    def start(self, text: str, total: int | None = None) -> None:
        """Show the line with `text`, starting a running line again.

        Parameters
        ----------
        text
            What is being waited for, plain text.
        total
            Number of steps, or ``None`` when it is not known; then the label
            shows the elapsed seconds.
        """
        self.finish()
        with self._lock:
            self._text = text
            self._total = total if total is None else max(total, 0)
            self._done = 0
            self._started = self._clock()
            self._bar.max = max(self._total or 0, 1)
            self._bar.value = 0
            self._bar.layout.display = "none" if total is None else None
            self._render()
            self.widget.layout.display = None
            self._stop = threading.Event()
            self._timer = threading.Thread(
                target=self._tick,
                args=(self._stop,),
                name="akv-progress-timer",
                daemon=True,
            )
            self._timer.start()

    def update(self, text: str, done: int | None = None) -> None:
        """Change the label's text and, with a total, the steps done.

        An update of a line that is not running is ignored, so a late callback
        after `finish` leaves the hidden line as it is.

        Parameters
        ----------
        text
            New label text, plain text.
        done
            Steps done so far; ``None`` keeps the previous count.
        """
        with self._lock:
            if self._started is None:
                return
            self._text = text
            if done is not None:
                self._done = max(done, 0)
                if self._total is not None:
                    self._bar.value = min(self._done, self._bar.max)
            self._render()

    def finish(self) -> None:
        """Stop the timer, wait for its thread to end and hide the line."""
        with self._lock:
            self._started = None
            self._stop.set()
            timer, self._timer = self._timer, None
            self.widget.layout.display = "none"
            self._label.value = ""
        # Joined outside the lock, because the timer takes it to refresh.
        if timer is not None and timer is not threading.current_thread():
            timer.join()

    def elapsed(self) -> float:
        """Return the seconds since `start`, or 0 when the line is idle."""
        with self._lock:
            if self._started is None:
                return 0.0
            return self._clock() - self._started

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            with self._lock:
                if stop.is_set():
                    return
                self._render()

    def _label_text(self) -> str:
        seconds = int(self.elapsed())
        # The elapsed time goes in brackets, apart from any time in the text
        # itself, such as "next read in 2.0 s".
        if self._total is None:
            return f"{self._text} ({seconds} s elapsed)"
        return f"{self._text}: {self._done} of {self._total} done ({seconds} s elapsed)"

    def _render(self) -> None:
        self._label.value = (
            '<span class="akv-progress"><b style="color:#6e7781">Working:</b> '
            f"{html.escape(self._label_text())}</span>"
        )
