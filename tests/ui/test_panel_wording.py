"""Panel wording: text-mode calls for buttons, code spans, scenario choice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_support import identity

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import Finding, Status
from akv_helpers.errors import InvalidInputError
from akv_helpers.profile import Profile, save_profile
from akv_helpers.ui import set_text_mode
from akv_helpers.ui._render import prose_html, status_line
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.grant import GrantPanel
from akv_helpers.ui.identity import IdentityPanel
from akv_helpers.ui.start import StartPanel
from akv_helpers.ui.troubleshoot import findings_html


@pytest.fixture
def text_mode() -> Iterator[None]:
    set_text_mode(True)
    yield None
    set_text_mode(False)


def test_prose_code_spans() -> None:
    rendered = prose_html("Run `akv-onboard grant <id>` & retry.")

    assert rendered == "Run <code>akv-onboard grant &lt;id&gt;</code> &amp; retry."
    assert "`" not in html_to_text(status_line("info", "Run `x` now."))


def test_prose_escapes_before_code() -> None:
    rendered = prose_html("`</code><script>alert(1)</script>`")

    assert "<script>" not in rendered
    assert rendered.startswith("<code>&lt;/code&gt;&lt;script&gt;")


@pytest.mark.usefixtures("text_mode")
def test_text_names_call_not_button(
    fast_connection: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(Profile(mode="simulator", identity=identity()))
    panel = IdentityPanel(fast_connection)

    text = panel.text()

    assert "identity_panel.find()" in text
    assert "press Find identities" not in text
    assert "The saved profile uses the identity userflyterole" in text


def test_grant_without_identifier_says_what_to_paste(
    fast_connection: Connection, profile_home: Path
) -> None:
    save_profile(Profile(mode="simulator", identity=identity()))
    panel = GrantPanel(fast_connection)
    panel._w_secret.value = ""

    panel._on_grant_click(panel._w_grant)

    status = html_to_text(panel._w_status.value)
    assert "No secret identifier is given." in status
    assert "into the Secret box" in status
    assert "this box" not in status


def test_apply_scenario_resets_first(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    panel = StartPanel()
    panel._on_sign_in_click(panel._w_sign_in)
    panel._w_scenario.value = "grant-vault-scope"
    panel._on_apply_scenario_click(panel._w_apply_scenario)
    panel._w_scenario.value = "grant-reader-role"

    panel._on_apply_scenario_click(panel._w_apply_scenario)

    assert fresh_sim.state()["scenarios"] == ["grant-reader-role"]
    assert "Reset the simulator and applied" in html_to_text(panel._w_status.value)


def test_scenario_options_show_descriptions(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    panel = StartPanel()

    panel._on_sign_in_click(panel._w_sign_in)

    labels = [label for label, _ in panel._w_scenario.options]
    descriptions = fresh_sim.scenarios()
    assert f"secret-disabled: {descriptions['secret-disabled']}" in labels
    assert panel._w_scenario.value == "secret-disabled"


@pytest.mark.usefixtures("text_mode")
def test_text_apply_scenario_and_reset(
    fresh_sim: SimulatorEndpoint,
    profile_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    panel = StartPanel()

    panel.apply_scenario(" Secret-Disabled ")

    assert fresh_sim.state()["scenarios"] == ["secret-disabled"]
    assert "applied the scenario secret-disabled" in capsys.readouterr().out
    panel.reset()
    assert fresh_sim.state()["scenarios"] == []
    assert "start_panel.apply_scenario(" in panel._plain_text()


def test_text_apply_unknown_scenario_changes_nothing(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    panel = StartPanel()

    with pytest.raises(InvalidInputError) as caught:
        panel.apply_scenario("no-such-scenario")

    assert "'no-such-scenario'" in caught.value.message
    assert fresh_sim.state()["scenarios"] == ["secret-disabled"]


def test_fix_quotes_command_once() -> None:
    finding = Finding(
        id="vault.permission-model",
        title="Vault permission model",
        status=Status.FAILED,
        observed="access policies",
        expected="RBAC",
        fix="Enable it: `az keyvault update --enable-rbac-authorization true`.",
        commands=("az keyvault update --enable-rbac-authorization true",),
    )

    text = html_to_text(findings_html([finding]))

    assert text.count("az keyvault update") == 1
    assert "Enable it: the command below." in text
