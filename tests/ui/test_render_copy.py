"""Copy buttons, ID and command blocks, and the copy options of tables."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from akv_helpers.ui._render import (
    command_block,
    copy_button,
    definition_list,
    id_html,
    table_html,
)

HOSTILE = "\"'><b>x</b></button><script>alert(1)</script>&amp; end"


class _Elements(HTMLParser):
    """Collect every start tag with its decoded attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(fragment: str) -> _Elements:
    parser = _Elements()
    # A <wbr> only lets a line end there: the browser shows no text for it.
    parser.feed(fragment.replace("<wbr>", ""))
    parser.close()
    return parser


def _buttons(fragment: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in _parse(fragment).tags if tag == "button"]


def test_copy_button_keeps_hostile_value_in_attribute() -> None:
    fragment = copy_button(HOSTILE, "principal ID")
    parsed = _parse(fragment)

    assert [tag for tag, _ in parsed.tags] == ["button"]
    (attrs,) = _buttons(fragment)
    assert attrs["data-copy"] == HOSTILE
    assert attrs["type"] == "button"
    assert attrs["class"] == "akv-copy"
    assert attrs["title"] == "Copy the principal ID"
    assert "".join(parsed.text) == "Copy"


def test_copy_button_script_never_contains_value() -> None:
    (attrs,) = _buttons(copy_button("value-that-must-stay-data", "ID"))
    script = attrs["onclick"] or ""

    assert "value-that-must-stay-data" not in script
    assert "this.dataset.copy" in script or "b.dataset.copy" in script
    assert "navigator.clipboard.writeText" in script
    assert "execCommand('copy')" in script
    assert "'Copied'" in script
    assert "2000" in script


def test_copy_button_script_same_for_every_value() -> None:
    first = _buttons(copy_button("a", "ID"))[0]["onclick"]
    second = _buttons(copy_button(HOSTILE, "ID"))[0]["onclick"]

    assert first == second


def test_copy_button_escapes_hostile_what() -> None:
    fragment = copy_button("v", HOSTILE)

    assert [tag for tag, _ in _parse(fragment).tags] == ["button"]
    assert _buttons(fragment)[0]["title"] == f"Copy the {HOSTILE}"


def test_id_html_shows_code_and_button() -> None:
    fragment = id_html(HOSTILE, "assignment ID")
    parsed = _parse(fragment)

    assert [tag for tag, _ in parsed.tags] == ["code", "button"]
    assert parsed.text[0] == HOSTILE
    assert _buttons(fragment)[0]["data-copy"] == HOSTILE


def test_command_block_copies_text_unchanged() -> None:
    text = 'az role assignment create \\\n  --scope "/subscriptions/<x>"\n'
    fragment = command_block(text, "Terraform file")
    parsed = _parse(fragment)

    assert [tag for tag, _ in parsed.tags] == ["div", "pre", "button"]
    assert parsed.text[0] == text
    (attrs,) = _buttons(fragment)
    assert attrs["data-copy"] == text
    assert attrs["title"] == "Copy the Terraform file"


def test_command_block_default_what() -> None:
    assert _buttons(command_block("az login"))[0]["title"] == "Copy the command"


def test_definition_list_copies_listed_labels() -> None:
    fragment = definition_list(
        [("scope", "/subscriptions/s"), ("role", "Key Vault Secrets User")],
        copy=["scope"],
    )
    buttons = _buttons(fragment)

    assert len(buttons) == 1
    assert buttons[0]["data-copy"] == "/subscriptions/s"
    assert buttons[0]["title"] == "Copy the scope"


def test_definition_list_no_button_for_missing_value() -> None:
    fragment = definition_list([("principal ID", None)], copy=["principal ID"])

    assert _buttons(fragment) == []
    assert "(none)" in fragment


def test_definition_list_hostile_value_stays_inert() -> None:
    fragment = definition_list([("ID", HOSTILE)], copy=["ID"])
    tags = [tag for tag, _ in _parse(fragment).tags]

    assert "script" not in tags
    assert "b" not in tags
    assert tags.count("button") == 1
    assert _buttons(fragment)[0]["data-copy"] == HOSTILE


def test_definition_list_without_copy_has_no_buttons() -> None:
    assert _buttons(definition_list([("ID", "x")])) == []


@pytest.mark.parametrize(
    ("columns", "expected"),
    [((), []), ((1,), ["id-1", "id-2"]), ((0, 1), ["a", "id-1", "b", "id-2"])],
    ids=["none", "one-column", "two-columns"],
)
def test_table_html_copy_columns(columns: tuple[int, ...], expected: list[str]) -> None:
    fragment = table_html(
        ("name", "principal ID"), [("a", "id-1"), ("b", "id-2")], copy_columns=columns
    )

    assert [button["data-copy"] for button in _buttons(fragment)] == expected


def test_table_html_copy_skips_empty_cells() -> None:
    fragment = table_html(("name", "ID"), [("a", None), ("b", "")], copy_columns=[1])

    assert _buttons(fragment) == []


def test_table_html_copy_title_names_column() -> None:
    fragment = table_html(("name", "client ID"), [("a", HOSTILE)], copy_columns=[1])
    (button,) = _buttons(fragment)
    tags = [tag for tag, _ in _parse(fragment).tags]

    assert button["title"] == "Copy the client ID"
    assert button["data-copy"] == HOSTILE
    assert "script" not in tags


def test_copied_value_shown_uncut() -> None:
    long_id = "/subscriptions/" + "a" * 300
    with_copy = definition_list([("assignment ID", long_id)], copy=["assignment ID"])
    without_copy = definition_list([("assignment ID", long_id)])

    assert _parse(with_copy).text[1] == long_id
    assert long_id not in without_copy
    assert "…" in without_copy


def test_table_copied_cell_shown_uncut() -> None:
    long_id = "/subscriptions/" + "b" * 300
    fragment = table_html(("ID",), [(long_id,)], copy_columns=[0])

    assert long_id in [part.strip() for part in _parse(fragment).text]
