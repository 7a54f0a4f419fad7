"""The whole walk-through in one widget: a tab per step, as the Voilà app shows it."""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as widgets

from akv_helpers.errors import KitError
from akv_helpers.profile import load_profile
from akv_helpers.steps import TAB_TITLES, set_front_end, step_place

from ._panel import Panel
from ._render import error_html
from ._render_check import text_mode
from .grant import GrantPanel
from .identity import IdentityPanel
from .start import StartPanel
from .task import TaskPanel
from .troubleshoot import TroubleshootPanel

__all__ = ["TAB_TITLES", "Walkthrough"]

logger = logging.getLogger(__name__)

_MODE_TEXT = {
    "simulator": (
        "Simulator mode: every step runs against the kit's built-in Azure "
        "simulator on this machine, and nothing in Azure changes."
    ),
    "azure": (
        "Azure mode: the steps read and change role assignments in the "
        "subscription of the saved profile."
    ),
}


class Walkthrough:
    """The five panels of the walk-through as the tabs of one ``Tab`` widget.

    Selecting a tab calls that panel's `Panel.refresh`, so a profile saved on
    another tab (or in another notebook) shows there at once. A header above
    the tabs names the mode the panels run in, from the saved profile.

    Building it switches this process to the app's places
    (``set_front_end("app")``), so the messages of every panel and service
    built from then on send the reader to a tab, such as "the 2 · Grant tab",
    not to a notebook.

    Attributes
    ----------
    panels
        The StartPanel, IdentityPanel, GrantPanel, TaskPanel and
        TroubleshootPanel, in tab order.
    tab
        The ``Tab`` widget; its titles are `TAB_TITLES`.
    widget
        The container of the header and `tab`.
    """

    def __init__(self) -> None:
        # Before the panels, whose first messages may name another step.
        set_front_end("app")
        self.panels: tuple[Panel, ...] = (
            StartPanel(),
            IdentityPanel(),
            GrantPanel(),
            TaskPanel(),
            TroubleshootPanel(),
        )
        self._w_header = widgets.HTML("")
        self.tab = widgets.Tab(
            children=[panel.widget for panel in self.panels], titles=TAB_TITLES
        )
        self.tab.observe(self._on_tab_selected_index, names="selected_index")
        self.widget = widgets.VBox([self._w_header, self.tab])
        self._show_mode()

    @property
    def selected_panel(self) -> Panel | None:
        """The panel of the selected tab, or ``None`` when none is selected."""
        index = self.tab.selected_index
        return None if index is None else self.panels[index]

    def select(self, index: int) -> Panel:
        """Select the tab at `index`, as a click on its title does.

        Returns
        -------
        Panel
            The panel of that tab, refreshed from the saved profile.
        """
        if self.tab.selected_index == index:
            self._refresh(index)
        else:
            self.tab.selected_index = index
        return self.panels[index]

    def _on_tab_selected_index(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if index is not None:
            self._refresh(int(index))

    def _refresh(self, index: int) -> None:
        # Exceptions raised in a widget callback are lost, so show them here.
        try:
            self._show_mode()
            self.panels[index].refresh()
        except Exception as error:
            logger.exception("Refreshing the tab %r failed", TAB_TITLES[index])
            self._w_header.value = error_html(error)

    def _mode(self) -> str | None:
        try:
            return load_profile().mode
        except KitError:
            return None

    def _show_mode(self) -> None:
        mode = self._mode()
        if mode is None:
            text = (
                f"The saved profile cannot be read; {step_place('start')} says "
                "why and saves a new one."
            )
        else:
            text = _MODE_TEXT.get(mode, f"Mode: {mode}.")
        self._w_header.value = (
            f'<div class="akv-mode akv-mode-{html.escape(mode or "unknown")}">'
            f"{html.escape(text)}</div>"
        )

    def text(self) -> str:
        """Return the header and each tab's title and panel text, as plain text."""
        mode = self._mode()
        header = _MODE_TEXT.get(mode or "", "The saved profile cannot be read.")
        parts = [f"Key Vault onboarding kit. {header}"]
        for title, panel in zip(TAB_TITLES, self.panels, strict=True):
            parts.append(f"[{title}]\n{panel.text()}")
        return "\n\n".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if text_mode():
            return {"text/plain": self.text()}
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.text()
        return bundle
