"""Places of the walk-through's steps, in the notebooks or in the Voilà app.

A message that sends the reader to another step names that step's place with
`step_place`, called when the message is built. The place depends on the front
end that runs the panels in this process. The notebooks are the default
("notebook 02-grant-access"). The app's ``Walkthrough`` switches the process to
its tabs ("the 2 · Grant tab") when it is built, so every message built later in
its kernel, by a panel or by a service, names the tabs. The command line never
switches, so its messages name the notebooks.

This module is pure: it imports neither ipywidgets nor the Azure SDK.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

__all__ = [
    "NOTEBOOK_NAMES",
    "STEPS",
    "TAB_TITLES",
    "FrontEnd",
    "Step",
    "front_end",
    "set_front_end",
    "step_place",
]

Step = Literal["start", "identity", "grant", "task", "troubleshoot"]
FrontEnd = Literal["notebooks", "app"]

STEPS: tuple[Step, ...] = get_args(Step)

# File names of the notebooks in notebooks/, without ".ipynb".
NOTEBOOK_NAMES: dict[Step, str] = {
    "start": "00-start-here",
    "identity": "01-find-identity",
    "grant": "02-grant-access",
    "task": "03-run-test-task",
    "troubleshoot": "04-troubleshoot",
}

# Titles of the app's tabs, one per step in the order of STEPS.
TAB_TITLES = ("0 · Start", "1 · Identity", "2 · Grant", "3 · Test task", "Troubleshoot")

_front_end: FrontEnd = "notebooks"


def set_front_end(name: FrontEnd) -> None:
    """Make the messages built from now on in this process name `name`'s places.

    Parameters
    ----------
    name
        ``"notebooks"`` (the default when nothing is set) or ``"app"``.

    Raises
    ------
    ValueError
        If `name` is neither.
    """
    global _front_end
    _front_end = _check_front_end(name)


def front_end() -> FrontEnd:
    """Return the front end whose places messages name, by default ``"notebooks"``."""
    return _front_end


def step_place(step: Step, front: FrontEnd | None = None) -> str:
    """Name where `step` is done, as a noun phrase for a message.

    Parameters
    ----------
    step
        One of `STEPS`.
    front
        The front end to name the place in. ``None`` (the default) uses the
        process-wide one that `set_front_end` sets.

    Raises
    ------
    ValueError
        If `step` or `front` is unknown.

    Examples
    --------
    >>> step_place("grant", "notebooks")
    'notebook 02-grant-access'
    >>> step_place("grant", "app")
    'the 2 · Grant tab'
    """
    if step not in STEPS:
        raise ValueError(f"Unknown step {step!r}, expected one of {STEPS}.")
    front = _front_end if front is None else _check_front_end(front)
    if front == "app":
        return f"the {TAB_TITLES[STEPS.index(step)]} tab"
    return f"notebook {NOTEBOOK_NAMES[step]}"


def _check_front_end(name: str) -> FrontEnd:
    if name in get_args(FrontEnd):
        return cast(FrontEnd, name)
    raise ValueError(
        f"Unknown front end {name!r}, expected one of {get_args(FrontEnd)}."
    )
