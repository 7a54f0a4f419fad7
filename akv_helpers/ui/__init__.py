"""Jupyter widget panels, one per onboarding step.

Each panel reads the saved session profile when it is built and again before each
action, so a notebook keeps working after a kernel restart. Display a panel by
making it the last expression of a cell, or with ``panel.display()``;
``panel.widget`` is its container.

`render_check` tells whether the front end runs Jupyter widgets. Where it does not,
the kernel switches to text mode (`text_mode`): each panel then displays as text,
and its public methods (``start_panel.connect()``, ``grant_panel.grant(…)``, …)
perform the same actions as its buttons and print the result.

This package imports ipywidgets; ``import akv_helpers`` does not import it.
"""

from __future__ import annotations

from ._render_check import RenderCheck, render_check, set_text_mode, text_mode
from .grant import GrantPanel
from .identity import IdentityPanel
from .start import StartPanel, check_environment, environment_report, widgets_check
from .task import TaskPanel
from .troubleshoot import TroubleshootPanel, doctor_text

__all__ = [
    "GrantPanel",
    "IdentityPanel",
    "RenderCheck",
    "StartPanel",
    "TaskPanel",
    "TroubleshootPanel",
    "check_environment",
    "doctor_text",
    "environment_report",
    "render_check",
    "set_text_mode",
    "text_mode",
    "widgets_check",
]
