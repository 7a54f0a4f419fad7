"""Repeated and concurrent grants leave one assignment; revoke keeps the others."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from click.testing import CliRunner, Result
from support import visible_text

from akv_helpers.assignments import onboard_secret
from akv_helpers.cli import main
from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.profile import IdentityRef, Profile, save_profile
from akv_helpers.simulator_client import SimulatorCredential

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000012"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
REPEATS = 10
HOLD_SECONDS = 20.0


@pytest.fixture(autouse=True)
def no_profile(kit_home: Path) -> Iterator[None]:
    """Start and end every test without a profile file."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
    (kit_home / "profile.json").unlink(missing_ok=True)


def assignments_at(sim: SimulatorEndpoint, scope: str) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == scope.lower()
    ]


def assignment_puts(sim: SimulatorEndpoint) -> list[int]:
    return [
        entry["status"]
        for entry in sim.requests()
        if entry["method"] == "PUT" and "/roleassignments/" in entry["path"].lower()
    ]


def run_cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def save_identity_profile(connection: Connection) -> None:
    save_profile(
        Profile(
            mode="simulator",
            subscription_id=connection.subscription_id,
            identity=IdentityRef(
                name="userflyterole",
                resource_group="rg-union-dp",
                resource_id=(
                    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/"
                    "providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                    "userflyterole"
                ),
                client_id=CLIENT,
                principal_id=PRINCIPAL,
            ),
        )
    )


def status_text(panel: Any) -> str:
    return visible_text(panel._w_status.value)


def assign_as_operator(
    connection: Connection, scope: str, role: str, principal: str
) -> str:
    """Create an assignment through the SDK under a random name, as the operator."""
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=(
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{role}"
        ),
        principal_id=principal,
        principal_type="ServicePrincipal",
    )
    created = connection.authorization().role_assignments.create(
        scope, str(uuid.uuid4()), parameters
    )
    return str(created.id)


# --- ten runs of each entry point -------------------------------------------------


def test_cli_grant_ten_times(fresh_sim: SimulatorEndpoint) -> None:
    outputs = [
        run_cli("grant", SECRET, "--principal-id", PRINCIPAL) for _ in range(REPEATS)
    ]

    for result in outputs:
        assert result.exit_code == 0, result.output
    first = re.search(r"^granted: (\S+)$", outputs[0].stdout, re.MULTILINE)
    assert first is not None, outputs[0].stdout
    assignment_id = first.group(1)
    for result in outputs[1:]:
        assert f"\nalready granted: {assignment_id}\n" in result.stdout
        assert "\ngranted:" not in result.stdout
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1
    assert assignment_puts(fresh_sim) == [201] + [200] * (REPEATS - 1)


def test_onboard_secret_ten_times(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    results = [onboard_secret(connection, SECRET, PRINCIPAL) for _ in range(REPEATS)]

    assert results[0].grant.status == "granted"
    assignment_id = results[0].grant.assignment_id
    assert assignment_id is not None
    for result in results[1:]:
        assert result.grant.status == "already granted"
        assert result.grant.assignment_id == assignment_id
        assert result.grant.created_by_kit
        assert result.verification.granted
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1


def test_grant_panel_ten_clicks(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    from akv_helpers.ui.grant import GrantPanel

    save_identity_profile(connection)
    panel = GrantPanel(connection)
    panel._w_secret.value = SECRET
    statuses = []
    saved_ids = []
    for _ in range(REPEATS):
        panel._w_grant.click()
        statuses.append(status_text(panel))
        saved_ids.append(panel._profile.assignment_id)

    assert statuses[0].startswith("OK: Granted"), statuses[0]
    found = re.search(r"assignment ID (\S+)", statuses[0])
    assert found is not None
    assignment_id = found.group(1)
    for status in statuses[1:]:
        assert status.startswith("OK: Already granted"), status
        assert f"assignment ID {assignment_id}" in status
    assert saved_ids[0] is not None
    assert saved_ids[0].startswith(SECRET_SCOPE + "/providers/")
    assert saved_ids == [saved_ids[0]] * REPEATS
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1
    assert assignment_puts(fresh_sim) == [201] + [200] * (REPEATS - 1)


# --- a double-click -----------------------------------------------------------------


class GatedCredential:
    """The operator's credential, which can hold token requests at a gate.

    While `armed`, each token request waits until `release` is set, so a test
    can keep an action inside its first Azure request.
    """

    def __init__(self, inner: SimulatorCredential) -> None:
        self.inner = inner
        self.armed = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def _wait(self) -> None:
        if self.armed.is_set():
            self.entered.set()
            assert self.release.wait(HOLD_SECONDS), "the gate was never released"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self._wait()
        return self.inner.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self._wait()
        return self.inner.get_token_info(*scopes, options=options)


def test_double_click_sends_one_put(fresh_sim: SimulatorEndpoint) -> None:
    from akv_helpers.ui.grant import GrantPanel

    gate = GatedCredential(
        SimulatorCredential(fresh_sim, fresh_sim.operator_principal_id)
    )
    credential: TokenCredential = gate
    connection = connect(Profile(mode="simulator"), credential=credential)
    save_identity_profile(connection)
    panel = GrantPanel(connection)
    panel._w_secret.value = SECRET
    panel._w_check.click()
    assert "Review the plan" in status_text(panel)
    fresh_sim.clear_requests()

    # The front end delivers a click as a custom message to the button. The
    # first click's grant then waits in the authorization client's first token
    # request, so the PUT is not sent yet.
    gate.armed.set()
    click = {"event": "click"}
    first = threading.Thread(
        target=panel._w_grant._handle_button_msg, args=(None, click, [])
    )
    first.start()
    assert gate.entered.wait(HOLD_SECONDS)
    assert panel.busy
    assert panel._w_grant.disabled
    assert panel._w_revoke.disabled

    second = threading.Thread(
        target=panel._w_grant._handle_button_msg, args=(None, click, [])
    )
    second.start()
    second.join(HOLD_SECONDS)
    assert not second.is_alive(), "the second click waited for the first"

    gate.armed.clear()
    gate.release.set()
    first.join(HOLD_SECONDS)
    assert not first.is_alive()

    assert assignment_puts(fresh_sim) == [201]
    assert status_text(panel).startswith("OK: Granted")
    assert not panel.busy
    assert [button.disabled for button in panel._buttons()] == [False] * 3
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1

    # A click after the action ended is not ignored.
    panel._w_grant.click()
    assert assignment_puts(fresh_sim) == [201, 200]
    assert status_text(panel).startswith("OK: Already granted")


def test_failed_action_reenables_buttons(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    from akv_helpers.ui.grant import GrantPanel

    save_identity_profile(connection)
    panel = GrantPanel(connection)
    panel._w_secret.value = "https://kv-legacy.vault.azure.net/secrets/api-key"
    panel._w_grant.click()

    assert "access polic" in status_text(panel)
    assert not panel.busy
    assert [button.disabled for button in panel._buttons()] == [False] * 3
    panel._w_secret.value = SECRET
    panel._w_grant.click()
    assert status_text(panel).startswith("OK: Granted")


# --- two processes ------------------------------------------------------------------


def test_two_processes_one_assignment(
    fresh_sim: SimulatorEndpoint, kit_home: Path
) -> None:
    command = Path(sys.executable).with_name("akv-onboard")
    assert command.exists(), f"{command} is not installed"
    environment = dict(os.environ, AKV_ONBOARD_HOME=str(kit_home))
    arguments = [str(command), "grant", SECRET, "--principal-id", PRINCIPAL]
    processes = [
        subprocess.Popen(
            arguments,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stdout + stderr
    found = [
        re.findall(r"^(granted|already granted): (\S+)$", stdout, re.MULTILINE)
        for stdout, _ in outputs
    ]
    assert [len(lines) for lines in found] == [1, 1], outputs
    (first_status, first_id), (second_status, second_id) = found[0][0], found[1][0]
    assert "granted" in (first_status, second_status)
    assert first_id == second_id
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1
    assert sorted(assignment_puts(fresh_sim)) == [200, 201]


# --- revoke -------------------------------------------------------------------------


def test_revoke_leaves_others_cli(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    granted = run_cli("grant", SECRET, "--principal-id", PRINCIPAL)
    assert granted.exit_code == 0, granted.output
    other_principal = assign_as_operator(
        connection, SECRET_SCOPE, SECRETS_USER, OTHER_PRINCIPAL
    )
    other_role = assign_as_operator(
        connection, SECRET_SCOPE, SECRETS_OFFICER, PRINCIPAL
    )

    revoked = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL)

    assert revoked.exit_code == 0, revoked.output
    output = revoked.stdout
    assert "Deleted the kit's role assignment." in output
    assert other_principal in output
    assert f"another principal ({OTHER_PRINCIPAL})" in output
    assert other_role in output
    assert "another role (Key Vault Secrets Officer)" in output
    assert "can still read the secret" in output
    remaining = {item["name"] for item in assignments_at(fresh_sim, SECRET_SCOPE)}
    assert remaining == {
        other_principal.rsplit("/", 1)[-1],
        other_role.rsplit("/", 1)[-1],
    }

    # The same principal, role and scope under a name the kit did not choose.
    same_triple = assign_as_operator(connection, SECRET_SCOPE, SECRETS_USER, PRINCIPAL)
    fresh_sim.clear_requests()
    again = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL)

    assert again.exit_code == 0, again.output
    assert "does not exist; nothing was deleted" in again.stdout
    assert same_triple in again.stdout
    assert "same principal, role and scope under another name" in again.stdout
    deletes = [entry for entry in fresh_sim.requests() if entry["method"] == "DELETE"]
    assert deletes == []
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 3


def test_revoke_keeps_operator_assignment_unnamed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    onboard_secret(connection, SECRET, PRINCIPAL)
    before = len(fresh_sim.state()["role_assignments"])

    revoked = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL)

    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == "Deleted the kit's role assignment."
    assert fresh_sim.operator_principal_id not in revoked.stdout
    assert len(fresh_sim.state()["role_assignments"]) == before - 1


def test_concurrent_puts_one_assignment(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    from akv_helpers.assignments import grant, plan_grant
    from akv_helpers.vaults import find_vault

    plan = plan_grant(
        SUBSCRIPTION, find_vault(connection, "kv-demo"), "db-pass", PRINCIPAL
    )
    workers = 8
    connections = [connect(Profile(mode="simulator")) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        barrier.wait(HOLD_SECONDS)
        results[index] = grant(connections[index], plan)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HOLD_SECONDS)

    statuses = sorted(result.status for result in results)
    assert statuses == ["already granted"] * (workers - 1) + ["granted"]
    assert {result.assignment_id for result in results} == {plan.assignment_id}
    assert sorted(assignment_puts(fresh_sim)) == [200] * (workers - 1) + [201]
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1


@pytest.mark.parametrize("principal", ["' or principalId ne '", "not-a-guid", ""])
def test_revoke_bad_principal_sends_nothing(
    fresh_sim: SimulatorEndpoint, connection: Connection, principal: str
) -> None:
    import dataclasses

    from akv_helpers.assignments import plan_grant, revoke
    from akv_helpers.errors import InvalidIdError
    from akv_helpers.vaults import find_vault

    plan = plan_grant(
        SUBSCRIPTION, find_vault(connection, "kv-demo"), "db-pass", PRINCIPAL
    )
    fresh_sim.clear_requests()

    with pytest.raises(InvalidIdError):
        revoke(connection, dataclasses.replace(plan, principal_id=principal))
    sent = [e for e in fresh_sim.requests() if not e["path"].startswith("/_simulator")]
    assert sent == []
