"""HTML fragments shared by the panels: tables, status lines and errors.

Every function escapes the text it is given, so a value typed into a widget cannot
inject markup. Status lines carry a word ("OK", "Failed", …) as well as a colour, so
they read the same to someone who cannot tell the colours apart.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Literal

from akv_helpers.errors import KitError, displayable

__all__ = [
    "Level",
    "code_block",
    "definition_list",
    "error_html",
    "status_line",
    "table_html",
]

Level = Literal["ok", "info", "working", "warning", "error"]

_LABELS: dict[str, str] = {
    "ok": "OK",
    "info": "Note",
    "working": "Working",
    "warning": "Warning",
    "error": "Failed",
}

_COLOURS: dict[str, str] = {
    "ok": "#1a7f37",
    "info": "#0969da",
    "working": "#6e7781",
    "warning": "#9a6700",
    "error": "#cf222e",
}


def status_line(level: Level, text: str, detail: str = "") -> str:
    """Render one status line: a bold label word, the text, an optional detail.

    Parameters
    ----------
    level
        Kind of status; it sets the label word and its colour.
    text
        Main sentence, plain text.
    detail
        Second sentence in a smaller font, plain text. Empty for none.

    Returns
    -------
    str
        An HTML ``div``.
    """
    label = _LABELS[level]
    colour = _COLOURS[level]
    parts = [
        f'<div class="akv-status akv-{level}">',
        f'<b style="color:{colour}">{label}:</b> {html.escape(text)}',
    ]
    if detail:
        parts.append(f'<div style="font-size:90%">{html.escape(detail)}</div>')
    parts.append("</div>")
    return "".join(parts)


def error_html(error: BaseException) -> str:
    """Render an error as a "Failed" status line with its fix.

    A kit error shows its `message` and `fix`. Any other exception shows its type
    only, because its text may repeat a value that should not be displayed (a
    pasted secret, a token in a URL).

    Parameters
    ----------
    error
        The exception a callback caught.

    Returns
    -------
    str
        An HTML ``div``.
    """
    if isinstance(error, KitError):
        fix = f"What to do: {error.fix}" if error.fix else ""
        return status_line("error", error.message, fix)
    return status_line(
        "error",
        f"Unexpected error {type(error).__name__}.",
        "What to do: open the log below for details, then report it with the "
        "steps that led to it.",
    )


def table_html(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Render rows as an HTML table with a header row.

    Parameters
    ----------
    headers
        Column titles.
    rows
        Cells of each row; each cell is converted with ``str`` and escaped.
        ``None`` is shown as an empty cell.

    Returns
    -------
    str
        An HTML ``table``.
    """
    cell_style = 'style="text-align:left;padding:2px 8px;border:1px solid #d0d7de"'
    head = "".join(f"<th {cell_style}>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f"<td {cell_style}>{_cell_text(cell)}</td>" for cell in row)
        body.append(f"<tr>{cells}</tr>")
    return (
        '<table class="akv-table" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    return html.escape(displayable(str(cell)))


def definition_list(items: Iterable[tuple[str, object]]) -> str:
    """Render label and value pairs as a two-column table without a header.

    Parameters
    ----------
    items
        ``(label, value)`` pairs; values are converted with ``str`` and escaped,
        and ``None`` is shown as "(none)".

    Returns
    -------
    str
        An HTML ``table``.
    """
    rows = []
    for label, value in items:
        value_html = "(none)" if value is None else _cell_text(value)
        rows.append(
            f'<tr><th style="text-align:left;padding:2px 8px">{html.escape(label)}'
            f'</th><td style="padding:2px 8px"><code>{value_html}</code></td></tr>'
        )
    return f'<table class="akv-fields">{"".join(rows)}</table>'


def code_block(text: str) -> str:
    """Render text as a preformatted block, escaped.

    Parameters
    ----------
    text
        Code or a command line.

    Returns
    -------
    str
        An HTML ``pre`` element.
    """
    return f'<pre class="akv-code">{html.escape(text)}</pre>'
