"""Plain-text rendering of the HTML fragments the panels show.

`html_to_text` turns the kit's own fragments (status lines, tables, definition
lists, code blocks, lists) into text that reads well in a terminal, a log or a
front end that cannot render widgets. It is not a general HTML renderer: it
handles the handful of elements that `_render` and the panels write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["SCREEN_ONLY_CLASS", "html_to_text"]

# Elements that start a new line. Every other element is rendered inline.
_BLOCKS = frozenset(
    {
        "div",
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "li",
        "pre",
        "dl",
        "dt",
        "dd",
        "tr",
        "details",
        "summary",
        "section",
        "blockquote",
    }
)
# Elements with no end tag.
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "col"})
# Elements whose content is never shown as text.
_HIDDEN = frozenset({"script", "style", "template", "head"})

_PRE_INDENT = "    "
_LIST_INDENT = "  "
_COLUMN_GAP = "  "
# A table wider than this is shown as one "header: value" block per row.
_MAX_TABLE_WIDTH = 100


# Elements of this class are left out of the text, such as "(show them)" on a
# folded block, which text mode shows unfolded.
SCREEN_ONLY_CLASS = "akv-screen-only"


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _TreeBuilder(HTMLParser):
    """Parser that builds a small element tree, closing unclosed tags leniently."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("root", {})
        self._stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {key: value or "" for key, value in attrs})
        self._stack[-1].children.append(element)
        if tag not in _VOID:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack[-1].children.append(
            _Element(tag, {key: value or "" for key, value in attrs})
        )

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].children.append(data)


def html_to_text(html: str) -> str:
    """Convert an HTML fragment of the kit to plain text.

    Block elements start new lines. Tables become aligned columns, or one block
    of ``header: value`` lines per row when the columns would be wider than 100
    characters. Definition lists (``table.akv-fields`` and ``dl``) become
    ``label: value`` lines. Preformatted blocks are kept verbatim and indented
    by four spaces, list items start with ``- ``, copy buttons are dropped and
    character references are unescaped.

    Parameters
    ----------
    html
        The fragment, as a panel's HTML widget contains it.

    Returns
    -------
    str
        The text, without leading or trailing blank lines.

    Examples
    --------
    >>> html_to_text('<div><b>OK:</b> Granted &amp; verified.</div>')
    'OK: Granted & verified.'
    >>> print(html_to_text("<ul><li>one</li><li>two</li></ul>"))
    - one
    - two
    """
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    lines = _block_lines(builder.root)
    return "\n".join(_squeeze_blank_lines(lines))


def _block_lines(element: _Element) -> list[str]:
    """Render the children of `element` as lines, inline runs joined."""
    lines: list[str] = []
    run: list[str] = []

    def flush() -> None:
        text = _collapse("".join(run))
        run.clear()
        if text:
            lines.append(text)

    for child in element.children:
        if isinstance(child, str):
            run.append(child)
        elif _is_dropped(child):
            continue
        elif child.tag in ("br", "hr"):
            flush()
        elif child.tag in _BLOCKS:
            flush()
            lines.extend(_element_lines(child))
        else:
            run.append(_inline_text(child))
    flush()
    return lines


def _element_lines(element: _Element) -> list[str]:
    tag = element.tag
    if tag == "pre":
        return ["", *_pre_lines(element), ""]
    if tag == "table":
        if "akv-fields" in element.classes:
            return _definition_lines(_table_rows(element))
        return ["", *_table_lines(element), ""]
    if tag == "dl":
        return _dl_lines(element)
    if tag in ("ul", "ol"):
        return _list_lines(element)
    return _block_lines(element)


def _is_dropped(element: _Element) -> bool:
    if element.tag in _HIDDEN or SCREEN_ONLY_CLASS in element.classes:
        return True
    return element.tag == "button" and "akv-copy" in element.classes


def _inline_text(element: _Element) -> str:
    """Return the text of `element` and its descendants on one line."""
    if _is_dropped(element):
        return ""
    if element.tag in ("br", "hr"):
        return " "
    parts = []
    for child in element.children:
        parts.append(child if isinstance(child, str) else _inline_text(child))
    text = "".join(parts)
    # Block children inside an inline context (a div in a table cell) still
    # need a word break.
    return f" {text} " if element.tag in _BLOCKS else text


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _pre_lines(element: _Element) -> list[str]:
    text = _raw_text(element).strip("\n")
    return [f"{_PRE_INDENT}{line}".rstrip() for line in text.split("\n")]


def _raw_text(element: _Element) -> str:
    parts = []
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        elif not _is_dropped(child):
            parts.append(_raw_text(child))
    return "".join(parts)


def _descendants(element: _Element, tags: frozenset[str]) -> list[_Element]:
    """Return the elements named `tags` below `element`, not inside nested tables."""
    found: list[_Element] = []
    for child in element.children:
        if isinstance(child, str):
            continue
        if child.tag in tags:
            found.append(child)
        elif child.tag != "table":
            found.extend(_descendants(child, tags))
    return found


def _table_rows(table: _Element) -> list[tuple[bool, list[str]]]:
    """Return each row of `table` as (is a header row, cell texts)."""
    rows = []
    for row in _descendants(table, frozenset({"tr"})):
        cells = _descendants(row, frozenset({"th", "td"}))
        texts = [_collapse(_inline_text(cell)) for cell in cells]
        header = bool(cells) and all(cell.tag == "th" for cell in cells)
        rows.append((header, texts))
    return rows


def _table_lines(table: _Element) -> list[str]:
    rows = _table_rows(table)
    if not rows:
        return []
    count = max(len(cells) for _, cells in rows)
    widths = [0] * count
    for _, cells in rows:
        for index, cell in enumerate(cells):
            widths[index] = max(widths[index], len(cell))
    width = sum(widths) + len(_COLUMN_GAP) * (count - 1)
    if width > _MAX_TABLE_WIDTH and rows[0][0]:
        return _record_lines(rows)
    lines = []
    for header, cells in rows:
        padded = [cell.ljust(widths[index]) for index, cell in enumerate(cells)]
        lines.append(_COLUMN_GAP.join(padded).rstrip())
        if header:
            lines.append(_COLUMN_GAP.join("-" * width for width in widths))
    return lines


def _record_lines(rows: list[tuple[bool, list[str]]]) -> list[str]:
    """Render a wide table as blocks of "header: value" lines, one per row."""
    headers = rows[0][1]
    lines: list[str] = []
    for _, cells in rows[1:]:
        if lines:
            lines.append("")
        for index, cell in enumerate(cells):
            label = headers[index] if index < len(headers) else ""
            if cell:
                lines.append(f"{label}: {cell}" if label else cell)
    return lines


def _definition_lines(rows: list[tuple[bool, list[str]]]) -> list[str]:
    lines = []
    for _, cells in rows:
        if not cells:
            continue
        label, *values = cells
        value = " ".join(value for value in values if value)
        lines.append(f"{label}: {value}" if value else f"{label}:")
    return lines


def _dl_lines(element: _Element) -> list[str]:
    lines: list[str] = []
    label: str | None = None
    for child in _descendants(element, frozenset({"dt", "dd"})):
        text = _collapse(_inline_text(child))
        if child.tag == "dt":
            if label is not None:
                lines.append(f"{label}:")
            label = text
        else:
            lines.append(f"{label}: {text}" if label is not None else text)
            label = None
    if label is not None:
        lines.append(f"{label}:")
    return lines


def _list_lines(element: _Element) -> list[str]:
    lines = []
    for item in _descendants(element, frozenset({"li"})):
        item_lines = _block_lines(item) or [""]
        first, *rest = item_lines
        lines.append(f"- {first}".rstrip())
        lines.extend(f"{_LIST_INDENT}{line}" if line else "" for line in rest)
    return lines


def _squeeze_blank_lines(lines: list[str]) -> list[str]:
    squeezed: list[str] = []
    for line in lines:
        if not line and (not squeezed or not squeezed[-1]):
            continue
        squeezed.append(line)
    while squeezed and not squeezed[-1]:
        squeezed.pop()
    return squeezed
