"""The grant panel against the simulator: wait for access, tables, commands."""

from __future__ import annotations

import time

import pytest
from panel_support import PRINCIPAL, SECRET, copied_values, identity, timer_threads

from akv_helpers import grant_templates
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.profile import Profile, save_profile
from akv_helpers.propagation import AccessWait
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.grant import (
    ACCESS_WAIT_SECONDS,
    SHOW_AS_OPTIONS,
    GrantPanel,
    _access_html,
)


def text(fragment: str) -> str:
    return html_to_text(fragment)


def make_panel(
    connection: Connection, access_timeout: float = ACCESS_WAIT_SECONDS
) -> GrantPanel:
    save_profile(
        Profile(
            mode="simulator",
            subscription_id=connection.subscription_id,
            identity=identity(),
        )
    )
    panel = GrantPanel(connection, access_timeout=access_timeout)
    panel._w_secret.value = SECRET
    return panel


def test_grant_waits_until_readable(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)

    panel._w_grant.click()

    status = text(panel._w_status.value)
    assert status.startswith("OK: Granted:"), status
    assert "access: readable after" in status
    assert "result: granted" in status
    assert (
        status.rstrip().splitlines()[-1].startswith("OK: Readable as the identity")
    ), status
    assert "az role assignment list --assignee " + PRINCIPAL in status
    assert panel._progress.widget.layout.display == "none"
    assert timer_threads() == []


def test_grant_copy_buttons(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)

    panel._w_grant.click()

    plan = panel._plan
    assert plan is not None
    copied = copied_values(panel._w_status.value)
    assert plan.assignment_id in copied
    assert plan.scope in copied
    assert PRINCIPAL in copied
    assert grant_templates.az_verify_command(plan) in copied


def test_grant_twice_already_granted(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)
    panel._w_grant.click()

    panel._w_grant.click()

    status = text(panel._w_status.value)
    assert status.startswith("OK: Already granted:"), status
    assert "result: already granted" in status
    assert "Readable as the identity" in status


def test_grant_progress_shows_attempts(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    fresh_sim.configure(propagation_seconds=1.0)
    panel = make_panel(fast_connection)
    labels: list[str] = []
    panel._progress._label.observe(
        lambda change: labels.append(text(change["new"])), names="value"
    )
    shown: list[str | None] = []
    panel._progress.widget.layout.observe(
        lambda change: shown.append(change["new"]), names="display"
    )

    panel._w_grant.click()

    status = text(panel._w_status.value)
    assert "Readable as the identity" in status, status
    assert any("(attempt 1)" in label for label in labels), labels
    assert any("(attempt 2)" in label for label in labels), labels
    assert any(label.endswith(" s elapsed)") for label in labels), labels
    assert all(label.startswith("Working:") for label in labels if label)
    assert shown == [None, "none"]
    assert timer_threads() == []


def test_grant_long_propagation_bounded(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    # The kit's grant was made just now, and reads are denied for 600 s.
    fresh_sim.apply_scenario("grant-propagating")
    panel = make_panel(fast_connection, access_timeout=1.5)
    started = time.monotonic()

    panel._w_grant.click()

    elapsed = time.monotonic() - started
    status = text(panel._w_status.value)
    assert elapsed < 15, elapsed
    assert status.startswith("OK: Already granted:"), status
    assert "Warning: Not readable yet" in status, status
    assert "Press Grant again to check" in status
    assert "access: timed out after" in status
    assert timer_threads() == []


def test_grant_default_wait_documented() -> None:
    assert GrantPanel.__init__.__defaults__ == (None, ACCESS_WAIT_SECONDS)
    assert "ACCESS_WAIT_SECONDS" in (GrantPanel.__doc__ or "")
    assert ACCESS_WAIT_SECONDS < 600


def test_grant_azure_mode_not_checked(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    panel = make_panel(fast_connection)
    panel._w_check.click()
    # Without the simulator, wait_for_access takes Azure mode: it may read the
    # assignment but cannot act as the identity.
    fast_connection.simulator, saved = None, fast_connection.simulator
    try:
        panel._w_grant.click()
    finally:
        fast_connection.simulator = saved

    status = text(panel._w_status.value)
    assert status.startswith("OK: Granted:"), status
    last = status.rstrip().splitlines()
    assert any(line.startswith("Note: Access not checked:") for line in last)
    assert "up to 10 minutes" in status
    assert "access: not checked" in status


def test_access_html_worded_statuses() -> None:
    unknown = AccessWait("unknown", "Azure documents up to 10 minutes.")
    denied = AccessWait("denied", "The read was denied (Forbidden).", attempts=1)

    assert text(_access_html(unknown)).startswith("Note: Access not checked:")
    assert text(_access_html(denied)).startswith("Failed: Not readable:")


def test_grant_verify_failure_keeps_grant(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    panel = make_panel(fast_connection)
    fresh_sim.inject_fault("role_assignments.list", "503", count=50)

    panel._w_grant.click()

    status = text(panel._w_status.value)
    assert status.startswith("OK: Granted:"), status
    assert "verified: not checked: listing the assignments failed" in status
    assert "Readable as the identity" in status


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("Azure CLI", "az role assignment create"),
        ("Terraform", 'resource "azurerm_role_assignment"'),
        ("Bicep", "Microsoft.Authorization/roleAssignments@2022-04-01"),
    ],
    ids=["az", "terraform", "bicep"],
)
def test_show_as_switches_template(
    fast_connection: Connection, option: str, expected: str
) -> None:
    panel = make_panel(fast_connection)
    assert panel._w_show_as.layout.display == "none"
    panel._w_check.click()
    assert panel._w_show_as.layout.display is None
    assert panel._w_show_as.description == "Show as"
    assert panel._w_show_as.options == SHOW_AS_OPTIONS

    panel._w_show_as.value = option

    plan = panel._plan
    assert plan is not None
    shown = text(panel._w_plan.value)
    assert expected in shown
    assert "principal type: ServicePrincipal" in shown
    copied = copied_values(panel._w_plan.value)
    renderings = {
        "Azure CLI": [grant_templates.az_grant_command(plan)],
        "Terraform": [grant_templates.terraform_grant(plan)],
        "Bicep": [
            grant_templates.bicep_grant(plan),
            grant_templates.bicep_deploy_command(plan),
        ],
    }
    assert copied == [PRINCIPAL, plan.scope, *renderings[option]]


def test_plan_copy_buttons_and_az_default(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)

    panel._w_check.click()

    plan = panel._plan
    assert plan is not None
    assert copied_values(panel._w_plan.value) == [
        PRINCIPAL,
        plan.scope,
        grant_templates.az_grant_command(plan),
    ]
    assert panel._w_show_as.value == "Azure CLI"
    assert text(panel._w_plan.value).startswith("Plan (this secret only)")
    assert "az role assignment create" in text(panel._w_plan.value)


def test_plan_dropped_hides_show_as(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)
    panel._w_check.click()

    panel._w_scope.value = "vault"

    assert panel._plan is None
    assert panel._w_plan.value == ""
    assert panel._w_show_as.layout.display == "none"


def test_revoke_shows_delete_command(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)
    panel._w_grant.click()
    plan = panel._plan
    assert plan is not None

    panel._w_revoke.click()

    status = text(panel._w_status.value)
    command = grant_templates.az_revoke_command(plan.assignment_id)
    assert status.startswith("OK: Revoked:"), status
    assert f"az role assignment delete --ids {plan.assignment_id}" in status
    assert command in copied_values(panel._w_status.value)
    assert plan.assignment_id in copied_values(panel._w_status.value)


def grant_on_vault(panel: GrantPanel) -> None:
    panel._w_scope.value = "vault"
    # The first press shows the vault-wide plan, the second grants.
    panel._w_grant.click()
    panel._w_grant.click()


def test_vault_grant_readable(fast_connection: Connection) -> None:
    panel = make_panel(fast_connection)

    grant_on_vault(panel)

    status = text(panel._w_status.value)
    assert status.startswith("OK: Granted:"), status
    assert "Plan (the whole vault)" not in status
    assert (
        status.rstrip().splitlines()[-1].startswith("OK: Readable as the identity")
    ), status


def test_vault_grant_propagating_is_warning(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    fresh_sim.configure(propagation_seconds=600)
    panel = make_panel(fast_connection)

    grant_on_vault(panel)

    status = text(panel._w_status.value)
    assert status.startswith("OK: Granted:"), status
    assert "Warning: Not readable yet: the grant has not taken effect" in status
    assert "Failed:" not in status


def test_denied_grant_hands_off_blocks(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    # The operator has only Reader, so Azure denies the role assignment write.
    fresh_sim.apply_scenario("operator-reader")
    panel = make_panel(fast_connection)

    panel._w_grant.click()

    plan = panel._plan
    assert plan is not None
    status = panel._w_status.value
    assert "AuthorizationFailed" in text(status)
    copied = copied_values(status)
    assert plan.az_command in copied
    assert grant_templates.terraform_grant(plan).rstrip("\n") in copied
    assert grant_templates.bicep_grant(plan).rstrip("\n") in copied
    assert plan.verify_command in copied
    rest = [value for value in copied if value.startswith("PUT https://")]
    assert len(rest) == 1
    assert plan.rest_body() in rest[0]
    # Each snippet keeps its lines, so a pasted Terraform block is not one comment.
    assert status.count('<pre class="akv-code"') == 5
    assert "\n    az role assignment create --name " in text(status)
