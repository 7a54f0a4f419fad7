"""Machinery every panel shares: status line, log output and error handling."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

import ipywidgets as widgets

from akv_helpers.errors import KitError, NotConfiguredError
from akv_helpers.profile import IdentityRef, Profile, load_profile

from ._render import error_html, status_line

__all__ = ["Panel"]

_KIT_LOGGER = "akv_helpers"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger(__name__)


class _OutputHandler(logging.Handler):
    """Logging handler that appends each record to an ``Output`` widget."""

    def __init__(self, output: widgets.Output) -> None:
        super().__init__(level=logging.INFO)
        self.output = output
        self.setFormatter(logging.Formatter(_LOG_FORMAT, datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.output.append_stdout(self.format(record) + "\n")
        except Exception:  # a log line must never break a callback
            self.handleError(record)


class Panel:
    """Base of the step panels.

    A subclass creates its widgets in ``__init__`` and lists them in `_controls`.
    The base adds the status line `_w_status` and the log output `_w_log` below
    them. Callbacks run their action through `_action`, which runs one action
    at a time per panel: a click that arrives while an action runs is ignored,
    so a double-click sends one request. It disables the given buttons while
    the action runs and renders any exception into `_w_status`, because
    ipywidgets would swallow it.

    Parameters
    ----------
    title
        Heading shown above the controls.
    """

    # One log handler per panel class: building the panel again (re-running a
    # notebook cell) replaces the previous one instead of repeating every line.
    _handlers: ClassVar[dict[str, _OutputHandler]] = {}

    def __init__(self, title: str) -> None:
        self._w_title = widgets.HTML(f"<h3>{title}</h3>")
        self._w_status = widgets.HTML("")
        self._w_log = widgets.Output(layout=widgets.Layout(max_height="12em"))
        self._install_log_handler()
        self._profile = self._load_profile()
        # The name of the running action; read and set under the lock, so two
        # clicks delivered on two threads cannot both start an action.
        self._action_lock = threading.Lock()
        self._running_action: str | None = None
        # When the front end sent the click that started the last action, by the
        # front end's clock, and how long that action ran, by the kernel's clock.
        self._last_action: tuple[datetime, float] | None = None

    # Display -----------------------------------------------------------------

    @property
    def widget(self) -> widgets.VBox:
        """Container widget holding the whole panel."""
        container = getattr(self, "_container", None)
        if container is None:
            log_box = widgets.Accordion(children=[self._w_log], titles=("Log",))
            container = widgets.VBox(
                [self._w_title, *self._controls(), self._w_status, log_box]
            )
            self._container: widgets.VBox = container
        return container

    def display(self) -> None:
        """Display the panel in the current notebook output."""
        from IPython import display as ipython_display

        show: Callable[..., object] = ipython_display.display
        show(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"{type(self).__name__}: this panel needs Jupyter widgets, but the "
            "front end shows it as text. Install the kit's notebook extras "
            "(ipywidgets and jupyterlab_widgets) into the environment that runs "
            "JupyterLab, then reload the page."
        )
        return bundle

    def _controls(self) -> Sequence[widgets.Widget]:
        raise NotImplementedError

    # Profile -----------------------------------------------------------------

    def _load_profile(self) -> Profile:
        try:
            return load_profile()
        except KitError as error:
            self._w_status.value = error_html(error)
            return Profile()

    def _require(self, value: str | None, field_name: str, step: str) -> str:
        if not value:
            raise NotConfiguredError(
                f"The session profile has no {field_name}.",
                f"Run {step} first, or set it with `akv-onboard profile set`.",
            )
        return value

    def _require_identity(self) -> IdentityRef:
        identity = self._profile.identity
        if identity is None:
            raise NotConfiguredError(
                "The session profile names no data-plane identity.",
                "Run 01-find-identity first, or set it with `akv-onboard profile set`.",
            )
        return identity

    # Actions -----------------------------------------------------------------

    def _show(self, html_text: str) -> None:
        self._w_status.value = html_text

    def _working(self, text: str) -> None:
        self._w_status.value = status_line("working", text)

    @contextmanager
    def _busy(self, buttons: Sequence[widgets.Button]) -> Iterator[None]:
        for button in buttons:
            button.disabled = True
        try:
            yield
        finally:
            for button in buttons:
                button.disabled = not self._button_usable(button)

    def _button_usable(self, button: widgets.Button) -> bool:
        """Tell whether `button` may be pressed once no action runs."""
        return True

    def _action(
        self,
        name: str,
        buttons: Sequence[widgets.Button],
        run: Callable[[], object],
    ) -> bool:
        """Run `run` as the panel's only running action, with `buttons` disabled.

        Returns
        -------
        bool
            False when another action of this panel was still running, so the
            click was ignored and `run` was not called.
        """
        # ipykernel handles comm messages one at a time, so a second click that
        # the front end sent while this action ran arrives after it ends. The
        # click's own send time tells the two apart.
        sent = _message_sent_at()
        with self._action_lock:
            running = self._running_action
            repeat = _sent_during(sent, self._last_action)
            if running is None and not repeat:
                self._running_action = name
        if running is not None or repeat:
            logger.debug("Ignored a click for %s sent while an action ran", name)
            return False
        started = time.monotonic()
        try:
            with self._busy(buttons):
                self._run_action(name, run)
        finally:
            with self._action_lock:
                self._running_action = None
                if sent is not None:
                    self._last_action = (sent, time.monotonic() - started)
        return True

    def _run_action(self, name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except KitError as error:
            logger.warning("%s failed: %s", name, error.message)
            self._show(error_html(error))
        except Exception as error:  # ipywidgets would only log it
            logger.error("%s failed with %s", name, type(error).__name__)
            logger.debug("%s failed", name, exc_info=True)
            self._show(error_html(error))

    @property
    def busy(self) -> bool:
        """Whether an action of this panel is running."""
        with self._action_lock:
            return self._running_action is not None

    def _install_log_handler(self) -> None:
        kit_logger = logging.getLogger(_KIT_LOGGER)
        if kit_logger.level == logging.NOTSET:
            kit_logger.setLevel(logging.INFO)
        key = type(self).__name__
        previous = Panel._handlers.pop(key, None)
        if previous is not None:
            kit_logger.removeHandler(previous)
        handler = _OutputHandler(self._w_log)
        kit_logger.addHandler(handler)
        Panel._handlers[key] = handler


def _message_sent_at() -> datetime | None:
    """Return when the front end sent the message being handled, or None.

    The time is the ``date`` of the message header, stamped by the front end
    (Jupyter messaging protocol); outside a kernel there is none.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    parent = kernel.get_parent()
    if not isinstance(parent, dict):
        return None
    header = parent.get("header", {})
    # Only a click from the front end counts; code run in a cell shares the
    # cell's header, and its clicks are deliberate.
    if header.get("msg_type") != "comm_msg":
        return None
    date = header.get("date")
    if isinstance(date, str):
        try:
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return None
    return date if isinstance(date, datetime) else None


def _sent_during(sent: datetime | None, last: tuple[datetime, float] | None) -> bool:
    """Tell whether a click sent at `sent` was sent while the last action ran.

    Only differences of front-end times are compared with kernel durations, so
    a clock offset between browser and kernel does not matter.
    """
    if sent is None or last is None:
        return False
    started, duration = last
    try:
        elapsed = (sent - started).total_seconds()
    except TypeError:  # one time has a time zone and the other has none
        return False
    return 0 <= elapsed < duration
