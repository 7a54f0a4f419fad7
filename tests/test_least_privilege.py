"""Only a read role on one secret is granted unless the caller widens it on purpose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support import visible_text

from akv_helpers.assignments import (
    grant,
    onboard_secret,
    plan_grant,
    revoke,
    verify,
)
from akv_helpers.cli import main
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.errors import InvalidIdError, InvalidInputError
from akv_helpers.grant_plan import check_role, resolve_role, secret_write_permissions
from akv_helpers.profile import IdentityRef, Profile, save_profile
from akv_helpers.roles import BUILTIN_ROLES
from akv_helpers.vaults import VaultInfo, find_vault

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
ALLOW_WRITE_LABEL = "Allow a role that can change or delete secrets"

# Each built-in role, and what the kit does with it: "read" is granted as is,
# "write" needs the override because the role can also change or delete
# secrets, "no read" is rejected even with the override.
ROLE_OUTCOMES = {
    "Key Vault Secrets User": "read",
    "Key Vault Secrets Officer": "write",
    "Key Vault Administrator": "write",
    "Key Vault Reader": "no read",
    "Key Vault Data Access Administrator": "no read",
    "Key Vault Contributor": "no read",
    "Owner": "no read",
    "Contributor": "no read",
    "Reader": "no read",
    "User Access Administrator": "no read",
    "Role Based Access Control Administrator": "no read",
}
# Roles that cannot read values but can set them through Azure Resource Manager.
ARM_WRITERS = ("Key Vault Contributor", "Owner", "Contributor")


def role_named(name: str) -> Any:
    (role,) = [item for item in BUILTIN_ROLES.values() if item.name == name]
    return role


@pytest.fixture(autouse=True)
def no_profile(kit_home: Path) -> Iterator[None]:
    """Start and end every test without a profile file."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture
def vault(fresh_sim: SimulatorEndpoint, connection: Connection) -> VaultInfo:
    found = find_vault(connection, "kv-demo")
    fresh_sim.clear_requests()
    return found


def assignments_at(sim: SimulatorEndpoint, scope: str) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == scope.lower()
    ]


def azure_requests(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [e for e in sim.requests() if not e["path"].startswith("/_simulator/")]


def run_cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def text_of(html_text: str) -> str:
    return visible_text(html_text)


# --- roles, judged from their definitions -----------------------------------------


def test_role_table_covers_builtin_roles() -> None:
    assert sorted(ROLE_OUTCOMES) == sorted(r.name for r in BUILTIN_ROLES.values())


@pytest.mark.parametrize("name", sorted(ROLE_OUTCOMES))
def test_role_outcome(name: str) -> None:
    role = role_named(name)
    outcome = ROLE_OUTCOMES[name]

    if outcome == "read":
        assert check_role(role) == ()
        return
    with pytest.raises(InvalidInputError) as caught:
        check_role(role, override="--allow-write-role")
    error = caught.value
    assert name in error.message
    assert role.id in error.message
    assert "Key Vault Secrets User" in error.fix
    if outcome == "write":
        assert "can also change or delete secrets" in error.message
        assert "--allow-write-role" in error.fix
        assert check_role(role, allow_write_roles=True) == secret_write_permissions(
            role
        )
    else:
        assert "cannot read secret values" in error.message
        assert "--allow-write-role" not in error.fix
        with pytest.raises(InvalidInputError, match="cannot read secret values"):
            check_role(role, allow_write_roles=True)


@pytest.mark.parametrize("name", ARM_WRITERS)
def test_arm_writers_named_as_writers(name: str) -> None:
    role = role_named(name)
    assert "Microsoft.KeyVault/vaults/secrets/write" in secret_write_permissions(role)
    with pytest.raises(InvalidInputError) as caught:
        check_role(role, allow_write_roles=True)
    assert "Microsoft.KeyVault/vaults/secrets/write" in caught.value.message


def test_officer_write_actions_listed() -> None:
    writes = secret_write_permissions(role_named("Key Vault Secrets Officer"))
    assert "Microsoft.KeyVault/vaults/secrets/setSecret/action" in writes
    assert "Microsoft.KeyVault/vaults/secrets/delete" in writes
    assert secret_write_permissions(role_named("Key Vault Secrets User")) == ()


@pytest.mark.parametrize(
    "text",
    [
        "Key Vault Secrets Officer",
        "key vault secrets officer",
        "  Key  Vault Secrets Officer ",
        SECRETS_OFFICER,
        SECRETS_OFFICER.upper(),
        f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_OFFICER}",
    ],
)
def test_resolve_role_forms(text: str) -> None:
    assert resolve_role(text).id == SECRETS_OFFICER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Secrets Reader", "neither the name nor the GUID"),
        ("11111111-2222-4333-8444-555555555555", "not a built-in role"),
        ("4633458b-17de-408a-b874", "4633458b-17de-408a-b874"),
    ],
)
def test_resolve_role_rejects(text: str, expected: str) -> None:
    with pytest.raises(InvalidIdError, match=expected):
        resolve_role(text)


# --- service ------------------------------------------------------------------------


def test_plan_default_role_and_scope(vault: VaultInfo) -> None:
    plan = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL)
    assert plan.role_guid == SECRETS_USER
    assert plan.scope == SECRET_SCOPE
    assert plan.scope_kind == "secret"
    assert plan.write_permissions == ()
    assert plan.widening_warning() is None


def test_plan_vault_scope_widens(vault: VaultInfo) -> None:
    secret_plan = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL)
    plan = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL, scope="vault")

    assert plan.scope == VAULT_SCOPE
    assert plan.secret_scope == SECRET_SCOPE
    assert plan.assignment_id.startswith(VAULT_SCOPE + "/providers/")
    assert plan.assignment_name != secret_plan.assignment_name
    assert plan.az_command.endswith(f"--scope {VAULT_SCOPE}")
    warning = plan.widening_warning()
    assert warning is not None
    assert "every secret in kv-demo, current and future" in warning
    assert "not only the secret db-pass" in warning
    instructions = plan.admin_instructions()
    assert f"--scope {VAULT_SCOPE}" in instructions
    assert "Microsoft.KeyVault/vaults@" in instructions


def test_plan_rejects_unknown_scope(vault: VaultInfo) -> None:
    with pytest.raises(InvalidInputError, match="'resourceGroup'"):
        plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL, scope="resourceGroup")  # type: ignore[arg-type]


def test_vault_grant_verify_revoke_follow_scope(
    fresh_sim: SimulatorEndpoint, connection: Connection, vault: VaultInfo
) -> None:
    secret_plan = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL)
    vault_plan = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL, scope="vault")

    assert grant(connection, secret_plan).status == "granted"
    assert not verify(connection, vault_plan).granted
    assert grant(connection, vault_plan).status == "granted"
    assert verify(connection, vault_plan).assignment_id == vault_plan.assignment_id
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1

    result = revoke(connection, vault_plan)

    assert result.deleted
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1
    assert secret_plan.assignment_id in result.message
    assert verify(connection, secret_plan).granted


def test_onboard_officer_needs_override(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(InvalidInputError, match="can also change or delete"):
        onboard_secret(connection, SECRET, PRINCIPAL, role=SECRETS_OFFICER)
    assert assignments_at(fresh_sim, SECRET_SCOPE) == []
    puts = [e for e in fresh_sim.requests() if e["method"] == "PUT"]
    assert puts == []

    result = onboard_secret(
        connection, SECRET, PRINCIPAL, role=SECRETS_OFFICER, allow_write_roles=True
    )
    assert result.grant.status == "granted"
    assert result.plan.write_permissions
    (assignment,) = assignments_at(fresh_sim, SECRET_SCOPE)
    assert assignment["role_definition_id"].endswith(SECRETS_OFFICER)


def test_onboard_vault_scope(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    result = onboard_secret(connection, SECRET, PRINCIPAL, scope="vault")
    assert result.plan.scope == VAULT_SCOPE
    assert result.verification.granted
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1
    assert assignments_at(fresh_sim, SECRET_SCOPE) == []


# --- command line -------------------------------------------------------------------


def test_cli_default_role_secrets_user(fresh_sim: SimulatorEndpoint) -> None:
    result = run_cli("grant", SECRET, "--principal-id", PRINCIPAL)
    assert result.exit_code == 0, result.output
    assert f"Role:        Key Vault Secrets User ({SECRETS_USER})" in result.stdout
    (assignment,) = assignments_at(fresh_sim, SECRET_SCOPE)
    assert assignment["role_definition_id"].endswith(SECRETS_USER)


@pytest.mark.parametrize(
    "role", ["Key Vault Secrets Officer", SECRETS_OFFICER, "Key Vault Administrator"]
)
def test_cli_write_role_rejected(fresh_sim: SimulatorEndpoint, role: str) -> None:
    result = run_cli("grant", SECRET, "--principal-id", PRINCIPAL, "--role", role)

    assert result.exit_code == 1
    assert "can also change or delete secrets" in result.stderr
    assert "--allow-write-role" in result.stderr
    assert resolve_role(role).name in result.stderr
    assert azure_requests(fresh_sim) == []


def test_cli_write_role_with_override(fresh_sim: SimulatorEndpoint) -> None:
    result = run_cli(
        "grant",
        SECRET,
        "--principal-id",
        PRINCIPAL,
        "--role",
        "Key Vault Secrets Officer",
        "--allow-write-role",
    )

    assert result.exit_code == 0, result.output
    assert "\ngranted: " in result.stdout
    assert "Warning: Key Vault Secrets Officer can also change" in result.stderr
    (assignment,) = assignments_at(fresh_sim, SECRET_SCOPE)
    assert assignment["role_definition_id"].endswith(SECRETS_OFFICER)

    revoked = run_cli(
        "revoke", SECRET, "--principal-id", PRINCIPAL, "--role", SECRETS_OFFICER
    )
    assert revoked.exit_code == 0, revoked.output
    assert "Deleted" in revoked.stdout
    assert assignments_at(fresh_sim, SECRET_SCOPE) == []


@pytest.mark.parametrize("role", ["Owner", "Contributor", "Key Vault Reader"])
def test_cli_role_without_read_rejected(
    fresh_sim: SimulatorEndpoint, role: str
) -> None:
    result = run_cli(
        "grant",
        SECRET,
        "--principal-id",
        PRINCIPAL,
        "--role",
        role,
        "--allow-write-role",
    )
    assert result.exit_code == 1
    assert f"The role '{role}'" in result.stderr
    assert "cannot read secret values" in result.stderr
    assert azure_requests(fresh_sim) == []


def test_cli_unknown_role_exit_2(fresh_sim: SimulatorEndpoint) -> None:
    result = run_cli("grant", SECRET, "--role", "Secrets Reader")
    assert result.exit_code == 2
    assert "'Secrets Reader'" in result.stderr
    assert "Key Vault Secrets User" in result.stderr
    assert azure_requests(fresh_sim) == []


def test_cli_vault_scope_warns_first(fresh_sim: SimulatorEndpoint) -> None:
    granted = run_cli("grant", SECRET, "--principal-id", PRINCIPAL, "--scope", "vault")
    assert granted.exit_code == 0, granted.output
    warning = "every secret in kv-demo, current and future"
    assert warning in granted.stderr
    assert f"Scope:       {VAULT_SCOPE} (vault)" in granted.stdout
    assert f"--scope {VAULT_SCOPE}\n" in granted.stdout
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1
    assert assignments_at(fresh_sim, SECRET_SCOPE) == []

    verified = run_cli(
        "verify", SECRET, "--principal-id", PRINCIPAL, "--scope", "vault"
    )
    assert verified.exit_code == 0, verified.output
    assert f"  Key Vault Secrets User at {VAULT_SCOPE}" in verified.stdout

    revoked_secret = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL)
    assert "does not exist; nothing was deleted" in revoked_secret.stdout
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1

    revoked = run_cli("revoke", SECRET, "--principal-id", PRINCIPAL, "--scope", "vault")
    assert revoked.exit_code == 0, revoked.output
    assert "Deleted the kit's role assignment." in revoked.stdout
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []

    after = run_cli("verify", SECRET, "--principal-id", PRINCIPAL, "--scope", "vault")
    assert after.exit_code == 1
    assert "--scope vault" in after.stderr


def test_cli_vault_scope_dry_run_json(fresh_sim: SimulatorEndpoint) -> None:
    result = run_cli(
        "grant",
        SECRET,
        "--principal-id",
        PRINCIPAL,
        "--scope",
        "vault",
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert plan["scope"] == VAULT_SCOPE
    assert plan["scope_kind"] == "vault"
    assert "current and future" in plan["widening"]
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []


# --- grant panel --------------------------------------------------------------------


@pytest.fixture
def panel(fresh_sim: SimulatorEndpoint, connection: Connection) -> Any:
    from akv_helpers.ui.grant import GrantPanel

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
    built = GrantPanel(connection)
    built._w_secret.value = SECRET
    fresh_sim.clear_requests()
    return built


def test_panel_defaults(panel: Any) -> None:
    assert panel._w_role.value == SECRETS_USER
    assert panel._w_role.options[0][1] == SECRETS_USER
    assert panel._w_allow_write.value is False
    assert panel._w_allow_write.description == ALLOW_WRITE_LABEL
    assert panel._w_scope.value == "secret"
    assert panel._w_scope_note.value == ""
    assert {value for _, value in panel._w_role.options} == set(BUILTIN_ROLES)


def test_panel_write_role_needs_checkbox(
    panel: Any, fresh_sim: SimulatorEndpoint
) -> None:
    panel._w_role.value = SECRETS_OFFICER
    panel._w_grant.click()

    status = text_of(panel._w_status.value)
    assert "Key Vault Secrets Officer" in status
    assert "can also change or delete secrets" in status
    assert f"confirm the role with the checkbox '{ALLOW_WRITE_LABEL}'" in status
    assert azure_requests(fresh_sim) == []

    panel._w_allow_write.value = True
    panel._w_grant.click()
    assert text_of(panel._w_status.value).startswith("OK: Granted")
    assert "can also change or delete secrets" in text_of(panel._w_plan.value)
    (assignment,) = assignments_at(fresh_sim, SECRET_SCOPE)
    assert assignment["role_definition_id"].endswith(SECRETS_OFFICER)


def test_panel_role_without_read_rejected(
    panel: Any, fresh_sim: SimulatorEndpoint
) -> None:
    panel._w_role.value = role_named("Owner").id
    panel._w_allow_write.value = True
    panel._w_check.click()

    status = text_of(panel._w_status.value)
    assert "'Owner'" in status
    assert "cannot read secret values" in status
    assert ALLOW_WRITE_LABEL not in status
    assert azure_requests(fresh_sim) == []


def test_panel_vault_scope_shown_before_grant(
    panel: Any, fresh_sim: SimulatorEndpoint
) -> None:
    panel._w_scope.value = "vault"
    assert "every secret in the vault" in text_of(panel._w_scope_note.value)

    panel._w_grant.click()

    assert "Nothing granted yet" in text_of(panel._w_status.value)
    plan = text_of(panel._w_plan.value)
    assert "every secret in kv-demo, current and future" in plan
    assert f"--scope {VAULT_SCOPE}" in plan
    assert "(the whole vault)" in plan
    assert [e for e in fresh_sim.requests() if e["method"] == "PUT"] == []

    panel._w_grant.click()
    assert text_of(panel._w_status.value).startswith("OK: Granted")
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1
    assert assignments_at(fresh_sim, SECRET_SCOPE) == []

    panel._w_revoke.click()
    assert "Revoked" in text_of(panel._w_status.value)
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []


def test_panel_choice_change_drops_plan(panel: Any) -> None:
    panel._w_check.click()
    assert panel._plan is not None
    assert panel._plan.scope == SECRET_SCOPE

    panel._w_scope.value = "vault"

    assert panel._plan is None
    assert panel._w_plan.value == ""
    panel._w_scope.value = "secret"
    assert panel._w_scope_note.value == ""
