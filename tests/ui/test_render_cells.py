"""How table and field cells show long IDs and status words."""

from __future__ import annotations

from html.parser import HTMLParser

from akv_helpers.ui._render import (
    definition_list,
    fix_html,
    status_cell,
    table_html,
)
from akv_helpers.ui._text import html_to_text

GUID = "bbbbbbbb-0000-4000-8000-000000000002"
SCOPE = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/"
    "rg-union-dp/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)


class _Tags(HTMLParser):
    """Collect the names of the start tags and the text of a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(fragment: str) -> _Tags:
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return parser


def test_guid_breaks_only_at_hyphens() -> None:
    fragment = table_html(("principal ID",), [(GUID,)])

    assert "bbbbbbbb-<wbr>0000-<wbr>4000-<wbr>8000-<wbr>000000000002" in fragment
    assert "break-all" not in fragment
    assert _parse(fragment).text.endswith(GUID)


def test_scope_breaks_at_slashes() -> None:
    fragment = definition_list([("scope", SCOPE)], copy=["scope"])

    assert "/<wbr>resourceGroups/<wbr>rg-<wbr>union-<wbr>dp/<wbr>" in fragment
    assert SCOPE in _parse(fragment).text
    assert SCOPE in html_to_text(fragment)


def test_short_value_has_no_break_marks() -> None:
    fragment = table_html(("name",), [("kv-demo",)])

    assert "<wbr>" not in fragment


def test_hostile_long_value_stays_text() -> None:
    hostile = "<script>alert(1)</script>/" + "a" * 40
    parsed = _parse(table_html(("ID",), [(hostile,)]))

    assert "script" not in parsed.tags
    assert set(parsed.tags) == {
        "table",
        "thead",
        "tr",
        "th",
        "tbody",
        "td",
        "span",
        "wbr",
    }
    assert parsed.text.endswith(hostile)


def test_status_cell_word_and_colour() -> None:
    fragment = table_html(
        ("package", "status"),
        [
            ("flytekit", status_cell("ok", "OK")),
            ("voila", status_cell("error", "missing")),
        ],
    )

    assert '<b style="color:#1a7f37">OK</b>' in fragment
    assert '<b style="color:#cf222e">missing</b>' in fragment
    assert "missing" in html_to_text(fragment)


def test_status_cell_escapes_word() -> None:
    cell = status_cell("warning", "<i>late</i>")

    assert "<i>" not in cell.html
    assert "&lt;i&gt;late&lt;/i&gt;" in cell.html


def test_plain_cell_with_markup_is_escaped() -> None:
    fragment = table_html(("status",), [("<b>OK</b>",)])

    assert "&lt;b&gt;OK&lt;/b&gt;" in fragment


def test_fix_command_after_colon_gets_block() -> None:
    fix = "A lock blocks it. List the locks with:\n\naz lock list --resource-group rg"
    fragment = fix_html(fix)

    assert fragment.count('<pre class="akv-code"') == 1
    assert 'data-copy="az lock list --resource-group rg"' in fragment


def test_fix_sentence_after_colon_stays_prose() -> None:
    fix = "Do one of these:\n\nGrant the role again."
    fragment = fix_html(fix)

    assert "<pre" not in fragment
    assert "akv-copy" not in fragment


def test_fix_label_after_colon_stays_prose() -> None:
    fix = "Ask an administrator to run:\n\nAzure CLI:\naz role assignment create"
    fragment = fix_html(fix)

    assert fragment.count('<pre class="akv-code"') == 1
    assert 'data-copy="az role assignment create"' in fragment
    assert 'data-copy="Azure CLI:"' not in fragment
