"""HTML fragments shared by the panels: tables, status lines, errors, copy buttons.

Every function escapes the text it is given, so a value typed into a widget cannot
inject markup. Status lines carry a word ("OK", "Failed", …) as well as a colour, so
they read the same to someone who cannot tell the colours apart. A copy button
carries its value in a ``data-copy`` attribute, never inside the script of its
``onclick`` handler, so a value cannot become code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from akv_helpers.errors import MAX_DISPLAYED_CHARACTERS, KitError, displayable

__all__ = [
    "HtmlCell",
    "Level",
    "code_block",
    "command_block",
    "copy_button",
    "definition_list",
    "error_html",
    "fix_html",
    "id_html",
    "prose_html",
    "status_cell",
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


# A span in backticks, as messages write commands: `akv-onboard grant …`.
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def prose_html(text: str) -> str:
    """Escape a message and show its backtick spans as code, without the backticks.

    Parameters
    ----------
    text
        Plain text, possibly with commands in backticks.

    Returns
    -------
    str
        HTML text; every character of `text` is escaped first.
    """
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))


def status_line(
    level: Level, text: str, detail: str = "", detail_html: str = ""
) -> str:
    """Render one status line: a bold label word, the text, an optional detail.

    Parameters
    ----------
    level
        Kind of status; it sets the label word and its colour.
    text
        Main sentence, plain text.
    detail
        Second sentence in a smaller font, plain text. Empty for none.
    detail_html
        Second part as HTML that the caller built from escaped text, such as
        `fix_html` returns, used when `detail` is empty.

    Returns
    -------
    str
        An HTML ``div``.
    """
    label = _LABELS[level]
    colour = _COLOURS[level]
    parts = [
        f'<div class="akv-status akv-{level}">',
        f'<b style="color:{colour}">{label}:</b> {prose_html(text)}',
    ]
    if detail:
        parts.append(f'<div style="font-size:90%">{prose_html(detail)}</div>')
    elif detail_html:
        parts.append(f'<div style="font-size:90%">{detail_html}</div>')
    parts.append("</div>")
    return "".join(parts)


@dataclass(frozen=True)
class HtmlCell:
    """A table cell that is already HTML, so `table_html` inserts it unescaped.

    Build one only from the kit's own fragments, such as `status_cell`, never
    from a value a person typed or Azure returned.
    """

    html: str


def status_cell(level: Level, word: str) -> HtmlCell:
    """Render a status word for a table cell, bold and in the level's colour.

    Parameters
    ----------
    level
        Kind of status; it sets the colour.
    word
        Word shown, such as "OK" or "missing"; it carries the meaning without
        the colour.

    Returns
    -------
    HtmlCell
        A bold, coloured ``b`` element.
    """
    colour = _COLOURS[level]
    return HtmlCell(f'<b style="color:{colour}">{html.escape(word)}</b>')


def fix_html(text: str) -> str:
    """Render a fix as paragraphs, lists and command blocks with copy buttons.

    Blank lines separate the parts. Lines under a label such as ``Azure CLI:``
    or ``Terraform:`` become one block with its own Copy button, as in the
    administrator hand-off of a denied grant. A line on its own after a
    paragraph that ends in a colon becomes such a block too. A command quoted
    in backticks inside a sentence gets a Copy button beside it.

    Parameters
    ----------
    text
        Plain text of a fix, as a kit error or a doctor finding carries it.

    Returns
    -------
    str
        HTML; every character of `text` is escaped.
    """
    # The report module splits fixes the same way for the Markdown report.
    from akv_helpers.diagnose.report import text_blocks

    parts = []
    introduced = False
    for block in text_blocks(text):
        # A one-line paragraph after one that ends in a colon, such as "List
        # the locks with:", is the command it introduces, unless it is a
        # sentence or a label such as "Azure CLI:".
        alone = block.kind == "prose" and len(block.lines) == 1
        command = alone and introduced and not block.lines[0].endswith((".", ":"))
        introduced = block.kind == "prose" and block.lines[-1].endswith(":")
        if block.kind == "code" or command:
            parts.append(command_block("\n".join(block.lines), "command"))
        elif block.kind == "list":
            items = "".join(
                f"<li>{_prose_with_copy(line.removeprefix('- '))}</li>"
                for line in block.lines
            )
            parts.append(f'<ul style="margin:2px 0">{items}</ul>')
        else:
            parts.append(f"<div>{_prose_with_copy(' '.join(block.lines))}</div>")
    return "".join(parts)


_PLACEHOLDER = re.compile(r"<[^<>]+>")


def _prose_with_copy(text: str) -> str:
    """Escape a sentence; its backtick commands that run as pasted get Copy."""

    def code_span(match: re.Match[str]) -> str:
        span = match.group(1)
        escaped = html.escape(span)
        # A one-word span is a name, and a span with a <placeholder> cannot
        # run as pasted, so neither gets a button.
        if not any(character.isspace() for character in span) or _PLACEHOLDER.search(
            span
        ):
            return f"<code>{escaped}</code>"
        # Padding, not a space, keeps the text mode sentence "`cmd`." intact.
        button = copy_button(span, "command")
        return f'<code>{escaped}</code><span style="padding-left:4px">{button}</span>'

    pieces = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        pieces.append(html.escape(text[position : match.start()]))
        pieces.append(code_span(match))
        position = match.end()
    pieces.append(html.escape(text[position:]))
    return "".join(pieces)


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
        fix = fix_html(f"What to do: {error.fix}") if error.fix else ""
        return status_line("error", error.message, detail_html=fix)
    return status_line(
        "error",
        f"Unexpected error {type(error).__name__}.",
        "What to do: open the log below for details, then report it with the "
        "steps that led to it.",
    )


def table_html(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    copy_columns: Iterable[int] = (),
) -> str:
    """Render rows as an HTML table with a header row.

    Parameters
    ----------
    headers
        Column titles.
    rows
        Cells of each row; each cell is converted with ``str`` and escaped,
        except an `HtmlCell`, which is inserted as it is. ``None`` is shown as
        an empty cell.
    copy_columns
        Indexes of the columns whose non-empty cells get a copy button beside
        the value. None by default.

    Returns
    -------
    str
        An HTML ``table``.
    """
    # Words wrap between words; only the long IDs, in `_cell_text`, wrap at any
    # character, so that the table fits the panel without splitting words.
    cell_style = (
        'style="text-align:left;vertical-align:top;padding:2px 8px;'
        'border:1px solid #d0d7de;overflow-wrap:break-word"'
    )
    copied = set(copy_columns)
    head = "".join(f"<th {cell_style}>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            if isinstance(cell, HtmlCell):
                cells.append(f"<td {cell_style}>{cell.html}</td>")
                continue
            copied_cell = index in copied and cell is not None and bool(str(cell))
            cell_html = _cell_text(cell, whole=copied_cell)
            if copied_cell:
                what = headers[index] if index < len(headers) else "value"
                cell_html += " " + copy_button(str(cell), what)
            cells.append(f"<td {cell_style}>{cell_html}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<table class="akv-table" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _cell_text(cell: object, whole: bool = False) -> str:
    """Escape a cell. With `whole`, a long value stays uncut, as its button has it."""
    if cell is None:
        return ""
    text = str(cell)
    limit = max(len(text), MAX_DISPLAYED_CHARACTERS) if whole else None
    if limit is None:
        escaped = html.escape(displayable(text))
    else:
        escaped = html.escape(displayable(text, limit))
    if _is_long_token(text):
        return _breakable(escaped)
    return escaped


# A value without spaces of at least this length, such as a resource ID or a
# GUID, may break inside the value. Shorter words keep their letters together.
_LONG_TOKEN_LENGTH = 24

# Browsers find no line break in a GUID, because a hyphen before a digit is no
# break opportunity. With break-all a line could end inside a group of digits,
# and "0000" above "0001" reads as two values. So a <wbr> after each "/", "-"
# and "." lets a line end there, and overflow-wrap:anywhere still breaks a run
# too long for its cell. html.escape adds none of these three characters.
_SEPARATOR = re.compile(r"([/\-.])")


def _is_long_token(text: str) -> bool:
    return len(text) >= _LONG_TOKEN_LENGTH and not any(c.isspace() for c in text)


def _breakable(escaped: str) -> str:
    """Return escaped text that may wrap after its separators, in a ``span``."""
    marked = _SEPARATOR.sub(r"\1<wbr>", escaped)
    return f'<span style="overflow-wrap:anywhere">{marked}</span>'


def definition_list(
    items: Iterable[tuple[str, object]], copy: Iterable[str] = ()
) -> str:
    """Render label and value pairs as a two-column table without a header.

    Parameters
    ----------
    items
        ``(label, value)`` pairs; values are converted with ``str`` and escaped,
        and ``None`` is shown as "(none)".
    copy
        Labels whose value gets a copy button beside it (a value of ``None``
        gets none). None by default.

    Returns
    -------
    str
        An HTML ``table``.
    """
    copied = set(copy)
    rows = []
    for label, value in items:
        copied_value = label in copied and value is not None and bool(str(value))
        value_html = (
            "(none)" if value is None else _cell_text(value, whole=copied_value)
        )
        button = ""
        if copied_value:
            button = " " + copy_button(str(value), label)
        rows.append(
            '<tr><th style="text-align:left;vertical-align:top;padding:2px 8px;'
            f'white-space:nowrap">{html.escape(label)}'
            f'</th><td style="padding:2px 8px"><code>{value_html}</code>{button}'
            "</td></tr>"
        )
    return f'<table class="akv-fields">{"".join(rows)}</table>'


# Long command lines wrap inside the block instead of widening the panel, and the
# block looks the same in JupyterLab and in Voilà, whose styles differ.
_PRE_STYLE = (
    "font-family:var(--jp-code-font-family,monospace);font-size:90%;"
    "line-height:1.4;white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;"
    "border:1px solid #d0d7de;border-radius:4px;padding:4px 8px;margin:2px 0"
)


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
    return f'<pre class="akv-code" style="{_PRE_STYLE}">{html.escape(text)}</pre>'


def command_block(text: str, what: str = "command") -> str:
    """Render a command or a file as a preformatted block with a copy button.

    Parameters
    ----------
    text
        Command lines or file contents; the button copies them unchanged.
    what
        What the text is, for the button's tooltip ("Copy the <what>").

    Returns
    -------
    str
        An HTML ``div`` holding a ``pre`` element and a ``button``.
    """
    return f'<div class="akv-command">{code_block(text)}{copy_button(text, what)}</div>'


def id_html(value: str, what: str) -> str:
    """Render an ID as code followed by a copy button.

    Parameters
    ----------
    value
        The ID, shown escaped and copied unchanged.
    what
        What the ID is, for the button's tooltip ("Copy the <what>").

    Returns
    -------
    str
        An HTML ``code`` element and a ``button``.
    """
    return f"<code>{_cell_text(value, whole=True)}</code> {copy_button(value, what)}"


# The handler reads the value from the button's data-copy attribute, so the
# script is the same for every value. The Clipboard API needs a secure context
# (HTTPS or localhost); elsewhere, or when it rejects, a hidden textarea and
# execCommand("copy") copy the value. The script uses only single quotes because
# it sits inside a double-quoted attribute, escaped.
_COPY_SCRIPT = (
    "(function(b){"
    "var v=b.dataset.copy;"
    "function done(){b.textContent='Copied';"
    "setTimeout(function(){b.textContent='Copy';},2000);}"
    "function fallback(){"
    "var a=document.createElement('textarea');"
    "a.value=v;a.setAttribute('readonly','');"
    "a.style.position='fixed';a.style.top='0';a.style.opacity='0';"
    "document.body.appendChild(a);a.select();"
    "try{if(document.execCommand('copy')){done();}}"
    "finally{document.body.removeChild(a);}}"
    "if(navigator.clipboard&&window.isSecureContext){"
    "navigator.clipboard.writeText(v).then(done,fallback);}"
    "else{fallback();}"
    "})(this)"
)
_COPY_SCRIPT_ATTRIBUTE = html.escape(_COPY_SCRIPT, quote=True)


def copy_button(value: str, what: str) -> str:
    """Render a button that copies `value` to the clipboard with one click.

    The button shows "Copied" for two seconds after a copy. Never pass a secret
    value: it would sit in the page.

    Parameters
    ----------
    value
        Text to copy, stored escaped in the ``data-copy`` attribute.
    what
        What the value is, for the tooltip ("Copy the <what>").

    Returns
    -------
    str
        An HTML ``button`` of class ``akv-copy``.
    """
    return (
        f'<button type="button" class="akv-copy" '
        f'data-copy="{html.escape(value, quote=True)}" '
        f'title="Copy the {html.escape(what, quote=True)}" '
        f'onclick="{_COPY_SCRIPT_ATTRIBUTE}">Copy</button>'
    )
