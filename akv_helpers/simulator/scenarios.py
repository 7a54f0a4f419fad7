"""Named scenarios that turn the seeded world into failure cases for demos."""

from __future__ import annotations

from collections.abc import Callable

from ..roles import READER_ROLE_ID, role_definition_id
from .seed import (
    ACCESS_POLICY_VAULT,
    IDENTITY_PRINCIPAL_ID,
    OPERATOR_PRINCIPAL_ID,
    RBAC_VAULT,
    SECRET_NAME,
)
from .state import World


def _operator_reader(world: World) -> None:
    """Give the operator Reader instead of Owner, so role-assignment writes fail."""
    for assignment in world.role_assignments:
        if assignment["principal_id"] == OPERATOR_PRINCIPAL_ID and assignment.get(
            "seeded"
        ):
            assignment["role_definition_id"] = role_definition_id(
                READER_ROLE_ID, world.subscription_id
            )


def _secret_disabled(world: World) -> None:
    """Disable the current version of db-pass."""
    vault = world.vault(RBAC_VAULT)
    secret = world.secret(vault, SECRET_NAME) if vault else None
    if secret is not None:
        world.latest_version(secret)["enabled"] = False


def _identity_not_replicated(world: World) -> None:
    """Mark the identity as not yet replicated in the directory."""
    world.data["principals"][IDENTITY_PRINCIPAL_ID]["replicated"] = False


def _public_access_disabled(world: World) -> None:
    """Disable public network access on kv-demo."""
    vault = world.vault(RBAC_VAULT)
    if vault is not None:
        vault["public_network_access"] = "Disabled"


def _firewall_deny(world: World) -> None:
    """Make kv-demo's firewall deny every address."""
    vault = world.vault(RBAC_VAULT)
    if vault is not None:
        vault["network_acls"] = dict(
            vault["network_acls"], defaultAction="Deny", ipRules=[]
        )


def _demo_vault_access_policies(world: World) -> None:
    """Switch kv-demo to access policies, with one policy for the operator."""
    vault = world.vault(RBAC_VAULT)
    legacy = world.vault(ACCESS_POLICY_VAULT)
    if vault is not None and legacy is not None:
        vault["enable_rbac_authorization"] = False
        vault["access_policies"] = [dict(p) for p in legacy["access_policies"]]


SCENARIOS: dict[str, Callable[[World], None]] = {
    "operator-reader": _operator_reader,
    "secret-disabled": _secret_disabled,
    "identity-not-replicated": _identity_not_replicated,
    "public-access-disabled": _public_access_disabled,
    "firewall-deny": _firewall_deny,
    "demo-vault-access-policies": _demo_vault_access_policies,
}


def describe() -> dict[str, str]:
    """Return each scenario's name with its one-line description."""
    return {
        name: (function.__doc__ or "").strip() for name, function in SCENARIOS.items()
    }
