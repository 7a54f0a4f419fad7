"""Render check of notebook 00 and the kernel's text mode.

The check proves that the front end runs a widget manager that talks back to the
kernel. It creates two hidden integer widgets and a front-end directional link
(``jsdlink``) from the first to the second. The widget manager's link model
copies the source value into the target when it is created and saves it, which
sends a ``comm_msg`` update to the kernel. A front end without a widget manager
never creates the models, so no update arrives.

The kernel handles comm messages between cells, so during "Run All" the answer
can only arrive once the queued cells have run. The check therefore waits for
the kernel to be idle (no cell running, judged from IPython's ``pre_run_cell``
and ``post_run_cell`` events) for `idle_seconds` before it concludes that no
answer is coming.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import ipywidgets as widgets

from ._render import status_line

__all__ = [
    "TEXT_MODE_VARIABLE",
    "WIDGETS_FALLBACK_TEXT",
    "RenderCheck",
    "render_check",
    "set_text_mode",
    "text_mode",
]

TEXT_MODE_VARIABLE = "AKV_ONBOARD_TEXT_MODE"

ANSWERED_TEXT = "Widgets render and answer the kernel."
LATE_ANSWER_TEXT = (
    "Widgets render and answer the kernel: the answer came after the check had "
    "given up waiting."
)

# Plain text a front end shows in place of a widget it cannot render.
WIDGETS_FALLBACK_TEXT = (
    "Widgets do not render: the front end shows this text instead of a "
    "widget. Install ipywidgets and jupyterlab_widgets into the environment "
    "that runs JupyterLab (`pip install -r requirements.txt`), reload the "
    "page, and check that this notebook's kernel is the kit's environment."
)

# The calls of each step in text mode, by the variable names the notebooks use.
TEXT_MODE_CALLS = (
    "start_panel.connect()",
    'start_panel.save(subscription_id="…", resource_group="…")',
    "identity_panel.find(whole_subscription=False)",
    'identity_panel.use("<identity name>")',
    'grant_panel.check("https://<vault>.vault.azure.net/secrets/<name>")',
    "grant_panel.grant()",
    "grant_panel.revoke()",
    "task_panel.generate(pinned=False)",
    "task_panel.run()",
    "troubleshoot_panel.run()",
)

_POLL_SECONDS = 0.2

# Set by `set_text_mode` or by a render check that got no answer; None until then.
_text_mode_setting: bool | None = None

# The render check that switched text mode on because it got no answer, so that
# its late answer may switch it off again. None once `set_text_mode` was called.
_text_mode_switched_by: RenderCheck | None = None


def text_mode() -> bool:
    """Tell whether the panels of this kernel show themselves as text.

    Returns
    -------
    bool
        The value last set by `set_text_mode` or by a render check that got no
        answer; before either, whether ``AKV_ONBOARD_TEXT_MODE`` is ``1``.
    """
    if _text_mode_setting is not None:
        return _text_mode_setting
    return os.environ.get(TEXT_MODE_VARIABLE, "") == "1"


def set_text_mode(on: bool) -> None:
    """Switch text mode on or off for this kernel.

    Parameters
    ----------
    on
        True to make every panel print itself as text after an action called
        from code, and display as text only.
    """
    global _text_mode_setting, _text_mode_switched_by
    _text_mode_setting = on
    _text_mode_switched_by = None


def _switch_text_mode_on(check: RenderCheck) -> None:
    """Switch text mode on for `check`, noting the check if it was off before."""
    global _text_mode_setting, _text_mode_switched_by
    was_on = text_mode()
    _text_mode_setting = True
    if not was_on:
        _text_mode_switched_by = check


def render_check(idle_seconds: float = 3.0) -> RenderCheck:
    """Return a widget line that checks whether the front end answers the kernel.

    Display the result (make it the last expression of a cell). When the front
    end answers, the line reads "OK: widgets render and answer the kernel.".
    When the kernel has been idle for `idle_seconds` without an answer, the
    check prints why and how to fix it into the cell's output, and switches
    this kernel to text mode (`text_mode`). An answer that comes later still
    counts: the check then switches text mode off again, unless
    `set_text_mode` or ``AKV_ONBOARD_TEXT_MODE`` turned it on, and prints into
    the same cell that widgets answered after all.

    Parameters
    ----------
    idle_seconds
        How long the kernel must be idle, with no answer, before the check
        concludes that the front end has no widget manager. Default 3 seconds.

    Returns
    -------
    RenderCheck
        The displayable check. Its `answered` property returns the outcome.
    """
    return RenderCheck(idle_seconds)


class RenderCheck:
    """Widget line whose front-end link must copy a value back to the kernel.

    Parameters
    ----------
    idle_seconds
        Idle time of the kernel after which a missing answer counts as none.
    """

    def __init__(self, idle_seconds: float = 3.0) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._outcome: bool | None = None
        token = secrets.randbelow(2**30) + 1
        self._w_status = widgets.HTML(
            status_line("working", "Checking that widgets render and answer…")
        )
        hidden = widgets.Layout(display="none")
        self._w_source = widgets.IntText(value=token, layout=hidden)
        self._w_target = widgets.IntText(value=0, layout=widgets.Layout(display="none"))
        self._w_target.observe(self._on_target_change, names="value")
        self._link = widgets.jsdlink(
            (self._w_source, "value"), (self._w_target, "value")
        )
        self.widget = widgets.VBox([self._w_status, self._w_source, self._w_target])
        self._watch: _IdleWatch | None = None
        # Header of the cell that displayed the check, whose output gets the
        # check's messages.
        self._cell_parent: dict[str, Any] = {}

    @property
    def answered(self) -> bool | None:
        """Outcome: True once the front end answered, False while none came.

        None until either. An answer after the idle timeout turns False into
        True.
        """
        with self._lock:
            return self._outcome

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        self.start()
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"{WIDGETS_FALLBACK_TEXT} The render check prints the versions it "
            "found and the fix below once the kernel is idle."
        )
        return bundle

    def start(self) -> None:
        """Start waiting for the answer. Displaying the check calls this."""
        with self._lock:
            if self._watch is not None or self._outcome is not None:
                return
            self._cell_parent = _stdout_parent()
            self._watch = _IdleWatch(
                self.idle_seconds, self._on_idle, self._cell_parent
            )
        self._watch.start()

    def _on_target_change(self, change: dict[str, Any]) -> None:
        if change["new"] != self._w_source.value:
            return
        with self._lock:
            if self._outcome is True:
                return
            late = self._outcome is False
            self._outcome = True
        if self._watch is not None:
            self._watch.stop()
        if late:
            self._on_late_answer()
            return
        if os.environ.get(TEXT_MODE_VARIABLE, "") != "1":
            set_text_mode(False)
        self._w_status.value = status_line("ok", ANSWERED_TEXT)

    def _on_late_answer(self) -> None:
        # A slow front end (a remote hub loading the widget manager for the
        # first time) answers after the idle timeout has switched text mode on.
        if _text_mode_switched_by is self:
            set_text_mode(False)
        self._w_status.value = status_line("ok", LATE_ANSWER_TEXT)
        with _printing_into(self._cell_parent):
            print(late_answer_text(text_mode()))
            sys.stdout.flush()

    def _on_idle(self) -> None:
        with self._lock:
            if self._outcome is not None:
                return
            self._outcome = False
            # Inside the lock, so an answer that arrives after the timeout sees
            # text mode switched on by this check and switches it off again.
            _switch_text_mode_on(self)
        self._w_status.value = status_line(
            "warning",
            "The front end did not answer the render check: this kernel is in "
            "text mode.",
        )
        print(no_answer_text(self.idle_seconds))


def no_answer_text(idle_seconds: float) -> str:
    """Return the message of a render check that got no answer.

    Parameters
    ----------
    idle_seconds
        Idle time the check waited, named in the message.

    Returns
    -------
    str
        Why, the fix and the calls that work in text mode, as plain text.
    """
    ipywidgets_version = _version("ipywidgets") or "(not installed)"
    lab_widgets_version = _version("jupyterlab_widgets")
    if lab_widgets_version is None:
        lab_widgets = "jupyterlab_widgets is not installed in the kernel's environment"
    else:
        lab_widgets = (
            f"jupyterlab_widgets {lab_widgets_version} is installed in the kernel's "
            "environment"
        )
    major = (
        ipywidgets_version.split(".", 1)[0] if ipywidgets_version[0].isdigit() else "8"
    )
    matching = "3" if major == "8" else "1"
    lines = [
        "Warning: widgets do not work in this front end. The kernel waited "
        f"{idle_seconds:g} s while idle and the front end did not answer the "
        "render check.",
        "",
        "Why: the front end has no widget manager for this kernel, or one that "
        "does not match the kernel's ipywidgets. The kernel "
        f"({sys.executable}) runs ipywidgets {ipywidgets_version}, "
        f"and {lab_widgets}. The JupyterLab server may run from another "
        "environment, and its jupyterlab_widgets is the one that counts.",
        "",
        "Fix: in the environment that runs JupyterLab, install jupyterlab_widgets "
        f"{matching}.x (it matches ipywidgets {major}), for example "
        f"`pip install jupyterlab_widgets=={lab_widgets_version or matching + '.*'}`; "
        "check that `jupyter labextension list` shows "
        "@jupyter-widgets/jupyterlab-manager as enabled and OK; restart JupyterLab, "
        "reload the page and run this notebook again.",
        "",
        "Meanwhile this kernel continues in text mode: every panel prints itself "
        "as text, and these calls perform the steps (each panel also lists its "
        "own calls when displayed):",
    ]
    lines.extend(f"    {call}" for call in _text_mode_calls())
    return "\n".join(lines)


def late_answer_text(still_text_mode: bool) -> str:
    """Return the message of a render check whose answer came after the timeout.

    Parameters
    ----------
    still_text_mode
        Whether the kernel stays in text mode, because `set_text_mode` or
        ``AKV_ONBOARD_TEXT_MODE`` turned it on rather than the check.

    Returns
    -------
    str
        The message, as plain text.
    """
    first = (
        "OK: widgets answered the render check after all. The front end was "
        "slow to load its widget manager, and the kernel had already switched "
        "to text mode."
    )
    if still_text_mode:
        rest = (
            "Text mode stays on because set_text_mode(True) or "
            f"{TEXT_MODE_VARIABLE}=1 turned it on. Run "
            "`from akv_helpers.ui import set_text_mode; set_text_mode(False)` to "
            "display the panels as widgets."
        )
    else:
        rest = (
            "This kernel is out of text mode again, and the panels display as "
            "widgets. Run the cell of a panel that printed itself as text again "
            "to get its widgets."
        )
    return f"{first} {rest}"


def _text_mode_calls() -> list[str]:
    return list(TEXT_MODE_CALLS)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class _IdleWatch:
    """Thread that calls `on_idle` once the kernel has been idle `seconds`.

    Idle means no cell is running. Cells are counted with IPython's
    ``pre_run_cell`` and ``post_run_cell`` events. Outside IPython the kernel
    counts as idle from the start.
    """

    def __init__(
        self, seconds: float, on_idle: Any, cell_parent: dict[str, Any]
    ) -> None:
        self._seconds = seconds
        self._on_idle = on_idle
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._shell = _shell()
        self._stdout_parent = cell_parent
        # The cell that displays the check is running when the watch starts.
        self._running = 1 if self._shell is not None and self._in_cell() else 0
        self._idle_since = time.monotonic()
        self._thread = threading.Thread(
            target=self._wait, name="akv-render-check", daemon=True
        )

    def _in_cell(self) -> bool:
        return bool(self._stdout_parent)

    def start(self) -> None:
        if self._shell is not None:
            self._shell.events.register("pre_run_cell", self._pre_run_cell)
            self._shell.events.register("post_run_cell", self._post_run_cell)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _pre_run_cell(self, *_: object) -> None:
        with self._lock:
            self._running += 1

    def _post_run_cell(self, *_: object) -> None:
        with self._lock:
            self._running = max(0, self._running - 1)
            self._idle_since = time.monotonic()

    def _idle_for(self) -> float:
        with self._lock:
            if self._running:
                return 0.0
            return time.monotonic() - self._idle_since

    def _wait(self) -> None:
        try:
            while not self._stopped.wait(_POLL_SECONDS):
                if self._idle_for() >= self._seconds:
                    self._report()
                    return
        finally:
            self._unregister()

    def _report(self) -> None:
        with _printing_into(self._stdout_parent):
            self._on_idle()
            sys.stdout.flush()

    def _unregister(self) -> None:
        if self._shell is None:
            return
        for event, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                self._shell.events.unregister(event, callback)


@contextlib.contextmanager
def _printing_into(cell_parent: dict[str, Any]) -> Iterator[None]:
    """Send what `print` writes to the output of the cell with `cell_parent`.

    Without this, output from a thread or from a comm message handler goes to
    whichever message the kernel handles at the time, not to the check's cell.
    Outside ipykernel, or with an empty header, nothing changes.
    """
    stdout: Any = sys.stdout
    set_parent = getattr(stdout, "set_thread_parent", None)
    token = set_parent(cell_parent) if set_parent and cell_parent else None
    try:
        yield
    finally:
        if token is not None:
            stdout.reset_thread_parent(token)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _stdout_parent() -> dict[str, Any]:
    """Return the header of the cell whose output `sys.stdout` writes to now."""
    header = getattr(sys.stdout, "parent_header", None)
    return dict(header) if isinstance(header, dict) else {}
