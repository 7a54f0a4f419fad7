"""The grant panel's Revoke finds the kit's assignment at either scope."""

from __future__ import annotations

import dataclasses

import pytest
from panel_support import PRINCIPAL, SECRET, copied_values, identity

from akv_helpers.assignments import GrantPlan, grant, plan_grant
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.ui import _render_check
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.grant import GrantPanel
from akv_helpers.vaults import find_vault

FOREIGN_REASON = "the kit did not create it"


@pytest.fixture
def text_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)


def save_base_profile(connection: Connection, **fields: object) -> None:
    profile = Profile(
        mode="simulator",
        subscription_id=connection.subscription_id,
        identity=identity(),
        secret_identifier=SECRET,
    )
    save_profile(dataclasses.replace(profile, **fields))


def kit_plan(connection: Connection, scope: str) -> GrantPlan:
    vault = find_vault(connection, "kv-demo")
    return plan_grant(
        connection.subscription_id or "",
        vault,
        "db-pass",
        PRINCIPAL,
        scope=scope,  # type: ignore[arg-type]
    )


def assignment_names(sim: SimulatorEndpoint) -> list[str]:
    return sorted(item["name"] for item in sim.state()["role_assignments"])


def status_text(panel: GrantPanel) -> str:
    return html_to_text(panel._w_status.value)


@pytest.mark.usefixtures("text_mode_on")
def test_new_panel_revokes_saved_vault_grant(
    fresh_sim: SimulatorEndpoint,
    fast_connection: Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_base_profile(fast_connection, secret_identifier=None)
    vault_plan = kit_plan(fast_connection, "vault")
    panel = GrantPanel(fast_connection)
    panel._w_scope.value = "vault"
    panel.grant(SECRET)
    panel.grant(SECRET)
    assert load_profile().assignment_id == vault_plan.assignment_id
    before = len(assignment_names(fresh_sim))
    capsys.readouterr()

    # A new panel, as after a kernel restart, shows "This secret only".
    GrantPanel(fast_connection).revoke()

    revoked = capsys.readouterr().out
    assert "OK: Revoked: the kit's role assignment on the whole vault" in revoked
    assert "The saved profile records this assignment" in revoked
    assert FOREIGN_REASON not in revoked
    assert len(assignment_names(fresh_sim)) == before - 1
    assert vault_plan.assignment_name not in assignment_names(fresh_sim)
    assert load_profile().assignment_id is None

    again = GrantPanel(fast_connection)
    again.revoke()

    repeated = capsys.readouterr().out
    assert "Nothing removed" in repeated
    assert "The kit has no role assignment left" in repeated
    assert copied_values(again._w_status.value) == []


def test_secret_choice_names_vault_grant(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    # The vault-wide assignment was made elsewhere, so the profile does not
    # record it.
    save_base_profile(fast_connection)
    vault_plan = kit_plan(fast_connection, "vault")
    secret_plan = kit_plan(fast_connection, "secret")
    grant(fast_connection, vault_plan)
    panel = GrantPanel(fast_connection)

    panel._w_revoke.click()

    status = status_text(panel)
    copied = copied_values(panel._w_status.value)
    assert status.startswith("Warning: Nothing removed"), status
    assert FOREIGN_REASON not in status
    assert 'choose "The whole vault" under Scope and press Revoke' in status
    assert f"akv-onboard revoke {SECRET} --scope vault" in status
    assert copied == [vault_plan.assignment_id, vault_plan.scope]
    assert secret_plan.assignment_id not in copied
    assert vault_plan.assignment_name in assignment_names(fresh_sim)

    panel._w_scope.value = "vault"
    panel._w_revoke.click()

    assert status_text(panel).startswith("OK: Revoked:"), status_text(panel)
    assert vault_plan.assignment_name not in assignment_names(fresh_sim)


def test_vault_choice_names_secret_grant(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    save_base_profile(fast_connection)
    secret_plan = kit_plan(fast_connection, "secret")
    granting = GrantPanel(fast_connection)
    granting._w_grant.click()
    assert load_profile().assignment_id == secret_plan.assignment_id
    panel = GrantPanel(fast_connection)
    panel._w_scope.value = "vault"

    panel._w_revoke.click()

    status = status_text(panel)
    assert status.startswith("Warning: Nothing removed"), status
    assert FOREIGN_REASON not in status
    assert 'choose "This secret only" under Scope and press Revoke' in status
    assert copied_values(panel._w_status.value) == [
        secret_plan.assignment_id,
        secret_plan.scope,
    ]
    assert secret_plan.assignment_name in assignment_names(fresh_sim)
    assert load_profile().assignment_id == secret_plan.assignment_id


def test_secret_choice_keeps_secret_grant_first(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    # Both scopes hold a kit assignment and the profile records the secret's,
    # so Revoke removes that one and names the vault's.
    save_base_profile(fast_connection)
    vault_plan = kit_plan(fast_connection, "vault")
    secret_plan = kit_plan(fast_connection, "secret")
    grant(fast_connection, vault_plan)
    panel = GrantPanel(fast_connection)
    panel._w_grant.click()

    panel._w_revoke.click()

    status = status_text(panel)
    assert status.startswith("OK: Revoked:"), status
    assert FOREIGN_REASON not in status
    assert vault_plan.assignment_id in status
    assert 'choose "The whole vault" under Scope and press Revoke' in status
    assert secret_plan.assignment_name not in assignment_names(fresh_sim)
    assert vault_plan.assignment_name in assignment_names(fresh_sim)
    assert load_profile().assignment_id is None
