"""Jupyter widget panels, one per onboarding step.

Each panel reads the saved session profile when it is built, so a notebook keeps
working after a kernel restart. Display a panel by making it the last expression
of a cell, or with ``panel.display()``; ``panel.widget`` is its container.

This package imports ipywidgets; ``import akv_helpers`` does not import it.
"""

from __future__ import annotations

from .grant import GrantPanel
from .identity import IdentityPanel
from .start import StartPanel, check_environment, environment_report, widgets_check
from .task import TaskPanel
from .troubleshoot import TroubleshootPanel, doctor_text

__all__ = [
    "GrantPanel",
    "IdentityPanel",
    "StartPanel",
    "TaskPanel",
    "TroubleshootPanel",
    "check_environment",
    "doctor_text",
    "environment_report",
    "widgets_check",
]
