"""`akv-onboard revoke` finds the kit's assignment at the secret's or vault's scope."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from support import run_cli

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.profile import load_profile

pytestmark = pytest.mark.usefixtures("no_profile")

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
FOREIGN_REASON = "the kit did not create it"


def assignments_at(sim: SimulatorEndpoint, scope: str) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == scope.lower()
    ]


def only_assignment_id(sim: SimulatorEndpoint, scope: str) -> str:
    (item,) = assignments_at(sim, scope)
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{item['name']}"


def suggested_command(output: str) -> list[str]:
    """Return the `akv-onboard revoke …` command that the output suggests."""
    (line,) = [line for line in output.splitlines() if "`akv-onboard revoke" in line]
    return shlex.split(line.split("`")[1])


def find_identity_and_grant(*options: str) -> None:
    found = run_cli("find-identity")
    assert found.exit_code == 0, found.output
    granted = run_cli("grant", SECRET, *options)
    assert granted.exit_code == 0, granted.output


def test_revoke_takes_saved_vault_grant(fresh_sim: SimulatorEndpoint) -> None:
    find_identity_and_grant("--scope", "vault")
    vault_id = only_assignment_id(fresh_sim, VAULT_SCOPE)
    assert load_profile().assignment_id == vault_id

    revoked = run_cli("revoke", SECRET)

    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == "Deleted the kit's role assignment."
    assert "profile records the kit's assignment on the whole vault" in revoked.stderr
    assert "--scope secret" in revoked.stderr
    assert FOREIGN_REASON not in revoked.output
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []
    assert load_profile().assignment_id is None
    assert load_profile().assignment_created_by_kit is False

    again = run_cli("revoke", SECRET)

    assert again.exit_code == 0, again.output
    assert "does not exist; nothing was deleted" in again.stdout
    assert "The kit has no role assignment left" in again.stdout
    assert again.stderr == ""


def test_secret_scope_names_vault_grant(fresh_sim: SimulatorEndpoint) -> None:
    find_identity_and_grant("--scope", "vault")
    vault_id = only_assignment_id(fresh_sim, VAULT_SCOPE)

    revoked = run_cli("revoke", SECRET, "--scope", "secret")

    assert revoked.exit_code == 0, revoked.output
    assert "does not exist; nothing was deleted" in revoked.stdout
    assert f"is at the vault's scope instead ({vault_id})" in revoked.stdout
    assert FOREIGN_REASON not in revoked.output
    assert suggested_command(revoked.stdout) == [
        "akv-onboard",
        "revoke",
        SECRET,
        "--scope",
        "vault",
    ]
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1
    assert load_profile().assignment_id == vault_id

    followed = run_cli(*suggested_command(revoked.stdout)[1:])

    assert followed.exit_code == 0, followed.output
    assert followed.stdout.strip() == "Deleted the kit's role assignment."
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []


def test_typed_principal_names_vault_grant(fresh_sim: SimulatorEndpoint) -> None:
    # Without a saved identity, the profile's assignment does not move the revoke.
    granted = run_cli("grant", SECRET, "--principal-id", PRINCIPAL, "--scope", "vault")
    assert granted.exit_code == 0, granted.output

    revoked = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL)

    assert revoked.exit_code == 0, revoked.output
    assert FOREIGN_REASON not in revoked.output
    assert suggested_command(revoked.stdout) == [
        "akv-onboard",
        "revoke",
        SECRET,
        "--scope",
        "vault",
        "--principal-id",
        PRINCIPAL,
    ]
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1


def test_vault_scope_names_secret_grant(fresh_sim: SimulatorEndpoint) -> None:
    find_identity_and_grant()
    secret_id = only_assignment_id(fresh_sim, SECRET_SCOPE)

    revoked = run_cli("revoke", SECRET, "--scope", "vault")

    assert revoked.exit_code == 0, revoked.output
    output = revoked.stdout
    assert "The kit's role assignment at the vault's scope does not exist" in output
    assert f"is at the secret's scope instead ({secret_id})" in revoked.stdout
    assert FOREIGN_REASON not in revoked.output
    assert suggested_command(revoked.stdout)[-2:] == ["--scope", "secret"]
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1
