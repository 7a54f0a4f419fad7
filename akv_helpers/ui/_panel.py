"""Machinery every panel shares: status line, log, errors, profile and text."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

import ipywidgets as widgets

from akv_helpers import connection as connections
from akv_helpers.errors import InvalidInputError, KitError, NotConfiguredError
from akv_helpers.profile import IdentityRef, Profile, load_profile
from akv_helpers.simulator_client import simulator_replaced
from akv_helpers.steps import step_place

from ._render import error_html, status_line
from ._render_check import WIDGETS_FALLBACK_TEXT, text_mode
from ._text import html_to_text

__all__ = ["Panel", "bool_argument", "choice_argument", "text_argument"]

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

    Before each action the panel reloads the saved profile (`refresh`), so a
    panel built before another panel or notebook saved the profile acts on the
    current one. In text mode (see `text_mode`), an action called from code
    prints the panel as text (`text`) when it ends, and displaying the panel
    shows that text and the calls listed by `_text_help`.

    The methods that perform an action from code (``connect``, ``check``,
    ``run`` and so on) check the type of each argument first, with
    `text_argument`, `bool_argument` and `choice_argument`, and raise
    `InvalidInputError` before they change or send anything. They put the
    values given into the boxes after that reload, so a value given in the call
    wins over the saved profile. The action then checks the boxes' content as a
    click does, and shows an invalid value in the status line before any
    request.

    Parameters
    ----------
    title
        Heading shown above the controls.
    """

    # One log handler per panel class: building the panel again (re-running a
    # notebook cell) replaces the previous one instead of repeating every line.
    _handlers: ClassVar[dict[str, _OutputHandler]] = {}
    # The text-mode call of each button label, so that "press Grant" in a
    # status line reads "run grant_panel.grant()" as text.
    _BUTTON_CALLS: ClassVar[dict[str, str]] = {}
    # Whether an action stops when the saved profile cannot be read. A panel
    # that writes the profile itself, as the start panel does, sets it false.
    _ACTS_ON_PROFILE: ClassVar[bool] = True

    def __init__(self, title: str) -> None:
        self._w_title = widgets.HTML(f"<h3>{title}</h3>")
        self._w_status = widgets.HTML("")
        self._w_log = widgets.Output(layout=widgets.Layout(max_height="12em"))
        self._install_log_handler()
        self._profile = self._load_profile()
        # The panel's connection, built from the profile on first use unless a
        # subclass is given one; only a connection of its own is replaced.
        self._connection: connections.Connection | None = None
        self._own_connection = True
        # The profile before the last `refresh`, which `_profile_loaded` compares
        # with `_profile` to tell a value the user typed from a stale one.
        self._previous_profile = self._profile
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
            self._control_widgets: list[widgets.Widget] = list(self._controls())
            # A panel may place the status line among its controls, right under
            # its buttons; otherwise it goes below them.
            status = [] if self._w_status in self._control_widgets else [self._w_status]
            container = widgets.VBox(
                [self._w_title, *self._control_widgets, *status, log_box]
            )
            self._container: widgets.VBox = container
        return container

    def display(self) -> None:
        """Display the panel in the current notebook output."""
        from IPython import display as ipython_display

        show: Callable[..., object] = ipython_display.display
        show(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        plain = self._plain_text()
        if text_mode():
            return {"text/plain": plain}
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs)
        # A front end without a widget manager shows this text instead.
        advice = "`render_check()` from akv_helpers.ui tells why."
        if self._text_help():
            advice = (
                "Until then, run `set_text_mode(True)` from akv_helpers.ui and use "
                f"the calls listed below. {advice}"
            )
        bundle["text/plain"] = (
            f"{type(self).__name__}: this panel needs Jupyter widgets. "
            f"{WIDGETS_FALLBACK_TEXT} {advice}\n\n{plain}"
        )
        return bundle

    def _controls(self) -> Sequence[widgets.Widget]:
        raise NotImplementedError

    # Text --------------------------------------------------------------------

    def text(self) -> str:
        """Return the panel as plain text: title, status and result fields.

        Returns
        -------
        str
            Paragraphs separated by blank lines; HTML is converted by
            `html_to_text`, and copy buttons are left out.
        """
        parts = [html_to_text(self._w_title.value), html_to_text(self._w_status.value)]
        # Consecutive one-line fields ("Tenant ID: …") stay together.
        fields: list[str] = []
        for widget in self._text_widgets():
            for paragraph, is_field in _widget_text(widget):
                if is_field:
                    fields.append(paragraph)
                    continue
                parts.append("\n".join(fields))
                fields = []
                parts.append(paragraph)
        parts.append("\n".join(fields))
        return self._calls_for_buttons("\n\n".join(part for part in parts if part))

    def _calls_for_buttons(self, text: str) -> str:
        """Replace "press <button>" in `text` by the call that does the same."""
        for label, call in self._BUTTON_CALLS.items():
            text = text.replace(f"Press {label}", f"Run {call}")
            text = text.replace(f"press {label}", f"run {call}")
        return text

    def _text_widgets(self) -> Sequence[widgets.Widget]:
        """Return the widgets `text` shows below the status; by default the controls."""
        _ = self.widget  # builds the container, which keeps the controls
        return [item for item in self._control_widgets if item is not self._w_status]

    def _text_help(self) -> list[str]:
        """Return the calls that perform this panel's actions in text mode."""
        return []

    def _plain_text(self) -> str:
        lines = self._text_help()
        if not lines:
            return self.text()
        calls = "\n".join(f"    {line}" for line in lines)
        return f"{self.text()}\n\nCalls of this panel in text mode:\n{calls}"

    # Profile -----------------------------------------------------------------

    def _load_profile(self) -> Profile:
        # Whether the saved file read at the last load; when it did not,
        # `_profile` is a stale or empty stand-in.
        self._profile_readable = False
        try:
            profile = load_profile()
        except KitError as error:
            self._w_status.value = error_html(error)
            return Profile()
        self._profile_readable = True
        return profile

    def refresh(self) -> None:
        """Reload the saved profile and update the fields shown from it.

        A profile that cannot be read is reported in the status line, and the
        panel keeps the profile it had.
        """
        self._reload_profile()

    def _reload_profile(self) -> bool:
        """Reload the saved profile, as `refresh` does; return whether it loaded.

        A simulator-mode connection of the panel's own is dropped when its
        simulator has stopped or restarted since, so that the next action
        connects to the running one instead of failing with 401.
        """
        try:
            profile = load_profile()
        except KitError as error:
            self._profile_readable = False
            self._show(error_html(error))
            return False
        self._profile_readable = True
        self._previous_profile = self._profile
        self._profile = profile
        self._forget_replaced_simulator()
        self._profile_loaded()
        return True

    def _forget_replaced_simulator(self) -> None:
        connection = self._connection
        if not self._own_connection or connection is None:
            return
        endpoint = connection.simulator
        if endpoint is not None and simulator_replaced(endpoint):
            logger.info(
                "The simulator with pid %d has stopped; the next action connects "
                "again.",
                endpoint.pid,
            )
            self._connection = None

    def _profile_loaded(self) -> None:
        """Update the panel after `refresh` has loaded `_profile` (default: no-op).

        `_previous_profile` is the profile before the reload: a field whose
        value still equals the old profile's value (or is empty) was not typed
        by the user and can take the new value, which `_update_field` does.
        """

    def _update_field(
        self, widget: widgets.ValueWidget, old: str | None, new: str | None
    ) -> None:
        """Set `widget` to `new` unless the user typed a value other than `old`."""
        current = widget.value or ""
        if current in ("", old or "") and current != (new or ""):
            widget.value = new or ""

    def _require(self, value: str | None, field_name: str, step: str) -> str:
        """Return `value`, or raise `NotConfiguredError` naming `step` when empty.

        `step` is the step that fills the field in, such as "the sign-in" or
        ``step_place("start")``.
        """
        if not value:
            raise NotConfiguredError(
                f"The session profile has no {field_name}.",
                f"Complete {step} first, or set it with `akv-onboard profile set`.",
            )
        return value

    def _require_identity(self) -> IdentityRef:
        identity = self._profile.identity
        if identity is None:
            raise NotConfiguredError(
                "The session profile names no data-plane identity.",
                f"Choose the identity in {step_place('identity')} first, or set it "
                "with `akv-onboard profile set`.",
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
        *,
        set_inputs: Callable[[], object] | None = None,
    ) -> bool:
        """Run `run` as the panel's only running action, with `buttons` disabled.

        The saved profile is reloaded first (`refresh`), then `set_inputs`
        puts the values given in a method call into the boxes, so that they win
        over the profile. When the call did not come from a widget click and
        text mode is on, the panel is printed as text (`text`) afterwards.

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
                # An action on a stale copy of a profile that no longer reads
                # would overwrite the file the person is about to repair.
                loaded = self._reload_profile()
                if loaded or not self._ACTS_ON_PROFILE:
                    if set_inputs is not None:
                        set_inputs()
                    self._run_action(name, run)
        finally:
            with self._action_lock:
                self._running_action = None
                if sent is not None:
                    self._last_action = (sent, time.monotonic() - started)
        if text_mode() and _parent_message_type() != "comm_msg":
            print(self.text())
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


# Arguments of the text-mode methods ------------------------------------------


def _value_and_type(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def text_argument(
    value: object, name: str, expected: str, *, path: bool = False
) -> str | None:
    """Check a text argument of a text-mode method and strip surrounding spaces.

    Parameters
    ----------
    value
        The argument as given; ``None`` means "keep the box as it is".
    name
        The parameter's name, for the message.
    expected
        What the text is, such as ``"a secret identifier"``.
    path
        Whether an ``os.PathLike`` such as a ``pathlib.Path`` is accepted too.

    Returns
    -------
    str or None
        The text without surrounding whitespace, or ``None``.

    Raises
    ------
    InvalidInputError
        If `value` is neither ``None`` nor a string (nor a path, with `path`).
    """
    if value is None:
        return None
    if path and isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return value.strip()
    raise InvalidInputError(
        f"The argument {name}={_value_and_type(value)} is invalid: {name} must "
        f"be text, {expected}.",
        f'Pass {name} as a string in quotes, such as {name}="...".',
        value=repr(value),
        expected=f"a string: {expected}",
    )


def bool_argument(value: object, name: str) -> bool:
    """Check a yes-or-no argument of a text-mode method.

    Only ``True`` and ``False`` are accepted: a string such as ``"no"`` is
    rejected, because Python would read it as true.

    Raises
    ------
    InvalidInputError
        If `value` is not a ``bool``.
    """
    if isinstance(value, bool):
        return value
    raise InvalidInputError(
        f"The argument {name}={_value_and_type(value)} is invalid: {name} must "
        "be True or False.",
        f"Pass {name}=True or {name}=False, without quotes.",
        value=repr(value),
        expected="True or False",
    )


def choice_argument(value: object, name: str, choices: Sequence[str]) -> str | None:
    """Check an argument that names one of `choices`, ignoring case and spaces.

    Returns
    -------
    str or None
        The matching choice as `choices` spells it, or ``None`` for ``None``.

    Raises
    ------
    InvalidInputError
        If `value` is not ``None`` and matches none of `choices`.
    """
    if value is None:
        return None
    if isinstance(value, str):
        folded = value.strip().casefold()
        for choice in choices:
            if choice.casefold() == folded:
                return choice
    listed = " or ".join(f'{name}="{choice}"' for choice in choices)
    expected = ", ".join(repr(choice) for choice in choices)
    raise InvalidInputError(
        f"The argument {name}={_value_and_type(value)} is invalid: expected one of "
        f"{expected} (case does not matter).",
        f"Pass {listed}.",
        value=repr(value),
        expected=f"one of {expected}",
    )


def _parent_header() -> dict[str, Any]:
    """Return the header of the kernel message being handled, or an empty dict.

    Outside a kernel there is none.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return {}
    parent = kernel.get_parent()
    if not isinstance(parent, dict):
        return {}
    header = parent.get("header", {})
    return header if isinstance(header, dict) else {}


def _parent_message_type() -> str | None:
    """Return the type of the kernel message being handled, such as ``comm_msg``."""
    message_type = _parent_header().get("msg_type")
    return message_type if isinstance(message_type, str) else None


def _message_sent_at() -> datetime | None:
    """Return when the front end sent the widget message being handled, or None.

    The time is the ``date`` of the message header, stamped by the front end
    (Jupyter messaging protocol); outside a kernel there is none.
    """
    header = _parent_header()
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


_SELECTIONS = (
    widgets.Dropdown,
    widgets.ToggleButtons,
    widgets.RadioButtons,
    widgets.Select,
)


def _widget_text(widget: widgets.Widget) -> list[tuple[str, bool]]:
    """Return the text of a shown widget and its shown children.

    Each item is a paragraph and whether it is a one-line "description: value"
    field of an input widget.
    """
    layout = getattr(widget, "layout", None)
    if layout is not None and layout.display == "none":
        return []
    if isinstance(widget, widgets.Box):
        return [item for child in widget.children for item in _widget_text(child)]
    if isinstance(widget, (widgets.HTML, widgets.HTMLMath)):
        text = html_to_text(widget.value)
        return [(text, False)] if text else []
    if isinstance(widget, widgets.Label):
        return [(widget.value, False)] if widget.value else []
    if isinstance(widget, (widgets.Button, widgets.Password, widgets.Output)):
        return []
    description = getattr(widget, "description", "")
    if not description or not isinstance(widget, widgets.ValueWidget):
        return []
    return [(f"{description}: {_value_text(widget)}", True)]


def _value_text(widget: widgets.ValueWidget) -> str:
    if isinstance(widget, widgets.Checkbox):
        return "yes" if widget.value else "no"
    if isinstance(widget, _SELECTIONS):
        label = widget.label
        return str(label) if label is not None else "(none)"
    value = widget.value
    return "(none)" if value in (None, "") else str(value)
