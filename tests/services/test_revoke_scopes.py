"""Revoke recognises the kit's own assignment at the secret's and the vault's scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers._verify_revoke import (
    kit_assignment_id,
    kit_scope_kind,
    plan_at_scope,
    plan_for_saved_assignment,
)
from akv_helpers.assignments import GrantPlan, grant, plan_grant, revoke
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.profile import IdentityRef, Profile
from akv_helpers.vaults import VaultInfo, find_vault

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000012"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
FOREIGN_REASON = "the kit did not create it"


@pytest.fixture
def vault(fresh_sim: SimulatorEndpoint, connection: Connection) -> VaultInfo:
    return find_vault(connection, "kv-demo")


@pytest.fixture
def secret_plan(vault: VaultInfo) -> GrantPlan:
    return plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL)


@pytest.fixture
def vault_plan(vault: VaultInfo) -> GrantPlan:
    return plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL, scope="vault")


def assignments_at(sim: SimulatorEndpoint, scope: str) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == scope.lower()
    ]


def assign_as_operator(connection: Connection, scope: str, principal: str) -> str:
    """Create a Key Vault Secrets User assignment under a random name."""
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=(
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{SECRETS_USER}"
        ),
        principal_id=principal,
        principal_type="ServicePrincipal",
    )
    created = connection.authorization().role_assignments.create(
        scope, str(uuid.uuid4()), parameters
    )
    return str(created.id)


def saved_profile(
    assignment_id: str | None, by_kit: bool = True, principal: str | None = PRINCIPAL
) -> Profile:
    identity = None
    if principal is not None:
        identity = IdentityRef(
            name="userflyterole",
            resource_group="rg-union-dp",
            resource_id=(
                f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
            ),
            client_id=CLIENT,
            principal_id=principal,
        )
    return Profile(
        mode="simulator",
        identity=identity,
        assignment_id=assignment_id,
        assignment_created_by_kit=by_kit,
    )


# --- the kit's assignment at the other scope -----------------------------------------


def test_secret_revoke_names_kit_vault_grant(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    secret_plan: GrantPlan,
    vault_plan: GrantPlan,
) -> None:
    assert grant(connection, vault_plan).status == "granted"

    result = revoke(connection, secret_plan)

    assert not result.deleted
    assert FOREIGN_REASON not in result.message
    message = result.message
    assert "The kit's role assignment at the secret's scope does not exist" in message
    assert f"is at the vault's scope instead ({vault_plan.assignment_id})" in message
    assert "it is the kit's assignment at the vault's scope" in result.message
    assert [kit_scope_kind(item, secret_plan) for item in result.kept] == ["vault"]
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1


def test_vault_revoke_names_kit_secret_grant(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    secret_plan: GrantPlan,
    vault_plan: GrantPlan,
) -> None:
    grant(connection, secret_plan)
    grant(connection, vault_plan)

    result = revoke(connection, vault_plan)

    assert result.deleted
    assert result.assignment_id == vault_plan.assignment_id
    assert FOREIGN_REASON not in result.message
    assert secret_plan.assignment_id in result.message
    assert "it is the kit's assignment at the secret's scope" in result.message
    assert [kit_scope_kind(item, vault_plan) for item in result.kept] == ["secret"]
    assert assignments_at(fresh_sim, VAULT_SCOPE) == []
    assert len(assignments_at(fresh_sim, SECRET_SCOPE)) == 1


def test_other_name_at_vault_stays_foreign(
    fresh_sim: SimulatorEndpoint, connection: Connection, secret_plan: GrantPlan
) -> None:
    foreign = assign_as_operator(connection, VAULT_SCOPE, PRINCIPAL)

    result = revoke(connection, secret_plan)

    assert not result.deleted
    assert [item.assignment_id for item in result.kept] == [foreign]
    assert [kit_scope_kind(item, secret_plan) for item in result.kept] == [None]
    assert FOREIGN_REASON in result.message
    assert "does not exist; nothing was deleted" in result.message
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1


def test_other_principal_grant_not_kit(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    vault: VaultInfo,
    vault_plan: GrantPlan,
) -> None:
    other = plan_grant(SUBSCRIPTION, vault, "db-pass", OTHER_PRINCIPAL, scope="vault")
    grant(connection, other)

    result = revoke(connection, vault_plan)

    assert not result.deleted
    assert [item.assignment_id for item in result.kept] == [other.assignment_id]
    assert [kit_scope_kind(item, vault_plan) for item in result.kept] == [None]
    assert f"it is for another principal ({OTHER_PRINCIPAL})" in result.message
    assert "The kit has no role assignment left" in result.message
    assert len(assignments_at(fresh_sim, VAULT_SCOPE)) == 1


@pytest.mark.parametrize("scope_kind", ["secret", "vault"])
def test_revoke_again_nothing_left(
    connection: Connection,
    secret_plan: GrantPlan,
    vault_plan: GrantPlan,
    scope_kind: str,
) -> None:
    grant(connection, vault_plan)
    assert revoke(connection, vault_plan).deleted

    again = revoke(connection, vault_plan if scope_kind == "vault" else secret_plan)

    assert not again.deleted
    assert again.kept == []
    assert "does not exist; nothing was deleted" in again.message
    assert "The kit has no role assignment left" in again.message


# --- plans and saved assignments -----------------------------------------------------


def test_plan_at_scope_equals_plan_grant(
    secret_plan: GrantPlan, vault_plan: GrantPlan
) -> None:
    assert plan_at_scope(secret_plan, "vault") == vault_plan
    assert plan_at_scope(vault_plan, "secret") == secret_plan
    assert plan_at_scope(secret_plan, "secret") is secret_plan


def test_kit_assignment_id_each_scope(
    secret_plan: GrantPlan, vault_plan: GrantPlan
) -> None:
    for plan in (secret_plan, vault_plan):
        assert kit_assignment_id(plan, "secret") == secret_plan.assignment_id
        assert kit_assignment_id(plan, "vault") == vault_plan.assignment_id


@pytest.mark.parametrize(
    ("saved", "by_kit", "principal", "expected"),
    [
        ("vault", True, PRINCIPAL, "vault"),
        ("vault-upper", True, PRINCIPAL, "vault"),
        ("vault", False, PRINCIPAL, "secret"),
        ("vault", True, OTHER_PRINCIPAL, "secret"),
        ("vault", True, None, "secret"),
        ("secret", True, PRINCIPAL, "secret"),
        (None, False, PRINCIPAL, "secret"),
    ],
    ids=[
        "kit-vault",
        "kit-vault-other-case",
        "not-by-kit",
        "other-identity",
        "no-identity",
        "kit-secret",
        "nothing-saved",
    ],
)
def test_saved_assignment_chooses_scope(
    secret_plan: GrantPlan,
    vault_plan: GrantPlan,
    saved: str | None,
    by_kit: bool,
    principal: str | None,
    expected: str,
) -> None:
    saved_ids = {
        "vault": vault_plan.assignment_id,
        "vault-upper": vault_plan.assignment_id.upper(),
        "secret": secret_plan.assignment_id,
        None: None,
    }
    profile = saved_profile(saved_ids[saved], by_kit, principal)

    chosen = plan_for_saved_assignment(secret_plan, profile)

    assert chosen == (vault_plan if expected == "vault" else secret_plan)
