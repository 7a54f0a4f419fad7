"""Plain text of the HTML fragments the panels render."""

from __future__ import annotations

import pytest

from akv_helpers.errors import AuthenticationError, NotConfiguredError
from akv_helpers.ui._render import (
    code_block,
    command_block,
    copy_button,
    definition_list,
    error_html,
    id_html,
    status_line,
    table_html,
)
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.identity import PRINCIPAL_ID_EXPLANATION
from akv_helpers.ui.start import _sign_in_error_html

PRINCIPAL_ID = "22222222-3333-4444-5555-666666666666"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    ("level", "word"),
    [
        ("ok", "OK:"),
        ("info", "Note:"),
        ("working", "Working:"),
        ("warning", "Warning:"),
        ("error", "Failed:"),
    ],
)
def test_status_line_keeps_word(level, word):
    text = html_to_text(status_line(level, "Granted <read> & verified.", "Next step."))

    assert text.splitlines() == [f"{word} Granted <read> & verified.", "Next step."]


def test_error_keeps_message_and_fix():
    error = NotConfiguredError("The profile has no subscription ID.", "Run 00 first.")

    text = html_to_text(error_html(error))

    assert text.splitlines() == [
        "Failed: The profile has no subscription ID.",
        "What to do: Run 00 first.",
    ]


def test_definition_list_as_label_value():
    fragment = definition_list(
        [("principal ID", PRINCIPAL_ID), ("client ID", CLIENT_ID), ("version", None)],
        copy=("principal ID", "client ID"),
    )

    text = html_to_text(fragment)

    assert text.splitlines() == [
        f"principal ID: {PRINCIPAL_ID}",
        f"client ID: {CLIENT_ID}",
        "version: (none)",
    ]


def test_table_aligned_columns_without_buttons():
    fragment = table_html(
        ("name", "client ID", "tags"),
        [("userflyterole", CLIENT_ID, "team=union"), ("flyteuser-a", "b1", None)],
        copy_columns=(1,),
    )

    lines = html_to_text(fragment).splitlines()

    assert lines[0].split() == ["name", "client", "ID", "tags"]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == ["userflyterole", CLIENT_ID, "team=union"]
    assert lines[3].split() == ["flyteuser-a", "b1"]
    # Every row starts its second column at the same offset.
    offsets = {
        line.index(cell)
        for line, cell in zip(lines[2:], (CLIENT_ID, "b1"), strict=True)
    }
    assert offsets == {lines[0].index("client ID")}
    assert "Copy" not in "\n".join(lines)


def test_code_block_verbatim_indented():
    command = (
        "az role assignment create \\\n"
        '  --role "Key Vault Secrets User" \\\n'
        "  --assignee-principal-type ServicePrincipal"
    )

    for fragment in (code_block(command), command_block(command, "az command")):
        text = html_to_text(fragment)

        assert text.splitlines() == [f"    {line}" for line in command.splitlines()]


def test_id_html_drops_copy_button():
    text = html_to_text(f"<div>Principal ID: {id_html(PRINCIPAL_ID, 'ID')}</div>")

    assert text == f"Principal ID: {PRINCIPAL_ID}"


def test_copy_button_alone_is_empty():
    assert html_to_text(copy_button("a&b", "value")) == ""


def test_list_items_as_dashes():
    error = AuthenticationError(
        "No credential could sign in.\nAzure CLI: az is not installed.\n"
        "Managed identity: no endpoint <169.254.169.254>."
    )

    text = html_to_text(_sign_in_error_html(error))

    assert text.splitlines() == [
        "Failed: No credential could sign in.",
        "- Azure CLI: az is not installed.",
        "- Managed identity: no endpoint <169.254.169.254>.",
    ]


def test_nested_list_indented():
    text = html_to_text("<ul><li>outer<ul><li>inner</li></ul></li><li>next</li></ul>")

    assert text.splitlines() == ["- outer", "  - inner", "- next"]


def test_paragraph_whitespace_collapsed():
    text = html_to_text(PRINCIPAL_ID_EXPLANATION)

    assert "\n" not in text
    assert "The principal ID (also called object ID)" in text
    assert "  " not in text


def test_html_dl_as_label_value():
    text = html_to_text("<dl><dt>scope</dt><dd><code>/subscriptions/x</code></dd></dl>")

    assert text == "scope: /subscriptions/x"


def test_entities_unescaped_once():
    assert html_to_text("<b>a &amp;lt; b</b> &quot;c&quot; &#39;d&#39;") == (
        "a &lt; b \"c\" 'd'"
    )


def test_script_and_style_dropped():
    text = html_to_text("<style>b{color:red}</style><script>alert(1)</script>kept")

    assert text == "kept"


def test_blocks_separate_lines():
    fragment = (
        "<h3>Step 2</h3>"
        + status_line("ok", "Granted.")
        + "<p>after</p>"
        + code_block("x = 1")
        + "<div>end</div>"
    )

    assert html_to_text(fragment).splitlines() == [
        "Step 2",
        "OK: Granted.",
        "after",
        "",
        "    x = 1",
        "",
        "end",
    ]


def test_wide_table_as_records():
    observed = "The vault kv-demo uses access policies, " * 3
    fragment = table_html(
        ("status", "check", "observed", "fix"),
        [
            ("FAILED", "vault.permission-model", observed.strip(), "Switch to RBAC."),
            ("OK", "secret.disabled", "Enabled.", None),
        ],
    )

    lines = html_to_text(fragment).splitlines()

    assert lines == [
        "status: FAILED",
        "check: vault.permission-model",
        f"observed: {observed.strip()}",
        "fix: Switch to RBAC.",
        "",
        "status: OK",
        "check: secret.disabled",
        "observed: Enabled.",
    ]
