"""Named scenarios that turn the seeded world into failure cases for demos and tests.

A scenario changes the world it is applied to, usually a freshly seeded one, and a
reset removes it again. Applying a scenario twice leaves the same world as applying
it once, and several scenarios can be combined. The world's ``scenarios`` list
records the names applied since the last reset. Each scenario's docstring is its
description in ``GET /_simulator/scenarios``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..roles import READER_ROLE_ID, role_definition_id
from . import scenario_grants as grants
from .seed import (
    ACCESS_POLICY_VAULT,
    DATA_PLANE_RESOURCE_GROUP,
    DAY_SECONDS,
    IDENTITY_PRINCIPAL_ID,
    OPERATOR_PRINCIPAL_ID,
    RBAC_VAULT,
    SECRET_NAME,
    SEEDED_AGE_SECONDS,
    new_identity,
)
from .state import World

OTHER_TENANT_ID = "22222222-2222-4222-8222-222222222222"
RENAMED_IDENTITY_NAME = "orders-api"
STAGING_IDENTITY_NAME = "flyteuser-staging"
STAGING_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000031"
STAGING_PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000032"
# Values of a principal's "replication_lag": which role-assignment writes naming
# the principal fail with PrincipalNotFound while the directory replicates it.
LAG_ALL_WRITES = "all"
LAG_UNTYPED_WRITES = "without-service-principal"


class UnknownScenarioError(KeyError):
    """A scenario name that is neither a scenario nor an alias."""


def _demo_identity(world: World) -> dict[str, object] | None:
    for identity in world.data["identities"]:
        if identity["principal_id"].lower() == IDENTITY_PRINCIPAL_ID:
            found: dict[str, object] = identity
            return found
    return None


def _demo_secret_version(world: World) -> dict[str, object] | None:
    vault = world.vault(RBAC_VAULT)
    secret = world.secret(vault, SECRET_NAME) if vault else None
    return world.latest_version(secret) if secret else None


def _operator_reader(world: World) -> None:
    """Give the operator Reader instead of Owner, so role-assignment writes fail."""
    for assignment in world.role_assignments:
        if assignment["principal_id"] == OPERATOR_PRINCIPAL_ID and assignment.get(
            "seeded"
        ):
            assignment["role_definition_id"] = role_definition_id(
                READER_ROLE_ID, world.subscription_id
            )


def _operator_other_tenant(world: World) -> None:
    """Issue the operator's tokens from tenant 2222…, which ARM and Key Vault reject."""
    world.data["principals"][OPERATOR_PRINCIPAL_ID]["token_tenant_id"] = OTHER_TENANT_ID


def _no_identity(world: World) -> None:
    """Rename userflyterole to orders-api, so no identity matches Union's naming."""
    identity = _demo_identity(world)
    if identity is not None:
        identity["name"] = RENAMED_IDENTITY_NAME
        identity["tags"] = {}
    world.data["principals"][IDENTITY_PRINCIPAL_ID]["display_name"] = (
        RENAMED_IDENTITY_NAME
    )


def _several_identities(world: World) -> None:
    """Add a second matching identity, flyteuser-staging, in rg-union-dp."""
    if world.identity(DATA_PLANE_RESOURCE_GROUP, STAGING_IDENTITY_NAME) is None:
        world.data["identities"].append(
            new_identity(
                STAGING_IDENTITY_NAME,
                DATA_PLANE_RESOURCE_GROUP,
                STAGING_CLIENT_ID,
                STAGING_PRINCIPAL_ID,
                created=int(time.time()) - SEEDED_AGE_SECONDS,
            )
        )
    world.data["principals"][STAGING_PRINCIPAL_ID] = {
        "type": "ServicePrincipal",
        "display_name": STAGING_IDENTITY_NAME,
        "app_id": STAGING_CLIENT_ID,
        "replicated": True,
    }


def _set_identity_age(world: World, created: int, lag: str | None) -> None:
    identity = _demo_identity(world)
    if identity is not None:
        identity["created"] = created
    principal = world.data["principals"][IDENTITY_PRINCIPAL_ID]
    if lag is None:
        principal.pop("replication_lag", None)
    else:
        principal["replication_lag"] = lag


def _identity_young(world: World) -> None:
    """Make the identity new: writes without principalType ServicePrincipal fail."""
    # Azure skips the directory lookup when principalType is given, so only
    # writes without principalType ServicePrincipal fail while the new identity
    # replicates. The config's replication_attempts_remaining bounds the failures.
    _set_identity_age(world, int(time.time()), LAG_UNTYPED_WRITES)


def _identity_replicating(world: World) -> None:
    """Make the identity new and unreplicated: its next assignment writes all fail."""
    _set_identity_age(world, int(time.time()), LAG_ALL_WRITES)


def _identity_old_wrong_id(world: World) -> None:
    """Make the identity 30 days old, so PrincipalNotFound means a wrong kind of ID."""
    _set_identity_age(world, int(time.time()) - SEEDED_AGE_SECONDS, None)


def _identity_not_replicated(world: World) -> None:
    """Hide the identity from the directory until a write names its principalType."""
    world.data["principals"][IDENTITY_PRINCIPAL_ID]["replicated"] = False


def _secret_disabled(world: World) -> None:
    """Disable the current version of db-pass."""
    version = _demo_secret_version(world)
    if version is not None:
        version["enabled"] = False


def _secret_expired(world: World) -> None:
    """Expire the current version of db-pass a day ago (exp in the past)."""
    # NOTE: Key Vault still returns the value of an expired secret; the expiry
    # shows only in the attributes (exp) of the data plane and of ARM.
    version = _demo_secret_version(world)
    if version is not None:
        version["exp"] = int(time.time()) - DAY_SECONDS


def _secret_not_yet_valid(world: World) -> None:
    """Make the current version of db-pass valid only from tomorrow (nbf)."""
    version = _demo_secret_version(world)
    if version is not None:
        version["nbf"] = int(time.time()) + DAY_SECONDS


def _public_access_disabled(world: World) -> None:
    """Disable public network access to kv-demo (private link only)."""
    vault = world.vault(RBAC_VAULT)
    if vault is not None:
        vault["public_network_access"] = "Disabled"


def _firewall_deny(world: World) -> None:
    """Make kv-demo's firewall deny every client address."""
    vault = world.vault(RBAC_VAULT)
    if vault is not None:
        vault["network_acls"] = dict(
            vault["network_acls"], defaultAction="Deny", ipRules=[]
        )


def _firewall_allow_client(world: World) -> None:
    """Make kv-demo's firewall deny by default but allow 127.0.0.1."""
    vault = world.vault(RBAC_VAULT)
    if vault is not None:
        vault["network_acls"] = dict(
            vault["network_acls"],
            defaultAction="Deny",
            ipRules=[{"value": "127.0.0.1/32"}],
        )


def _demo_vault_access_policies(world: World) -> None:
    """Switch kv-demo to access policies, with one policy for the operator."""
    vault = world.vault(RBAC_VAULT)
    legacy = world.vault(ACCESS_POLICY_VAULT)
    if vault is not None and legacy is not None:
        vault["enable_rbac_authorization"] = False
        vault["access_policies"] = [dict(p) for p in legacy["access_policies"]]


SCENARIOS: dict[str, Callable[[World], None]] = {
    "healthy": grants.healthy,
    "no-identity": _no_identity,
    "several-identities": _several_identities,
    "identity-young": _identity_young,
    "identity-replicating": _identity_replicating,
    "identity-old-wrong-id": _identity_old_wrong_id,
    "identity-not-replicated": _identity_not_replicated,
    "secret-disabled": _secret_disabled,
    "secret-expired": _secret_expired,
    "secret-not-yet-valid": _secret_not_yet_valid,
    "demo-vault-access-policies": _demo_vault_access_policies,
    "firewall-deny": _firewall_deny,
    "firewall-allow-client": _firewall_allow_client,
    "public-access-disabled": _public_access_disabled,
    "grant-reader-role": grants.grant_reader_role,
    "grant-contributor-role": grants.grant_contributor_role,
    "grant-other-secret": grants.grant_other_secret,
    "grant-other-vault": grants.grant_other_vault,
    "grant-vault-scope": grants.grant_vault_scope,
    "grant-orphaned": grants.grant_orphaned,
    "grant-propagating": grants.grant_propagating,
    "grant-update-not-permitted": grants.grant_update_not_permitted,
    "operator-reader": _operator_reader,
    "operator-other-tenant": _operator_other_tenant,
}

ALIASES: dict[str, str] = {"access-policies": "demo-vault-access-policies"}


def resolve(names: Iterable[str]) -> list[str]:
    """Map scenario names and aliases to scenario names, keeping their order.

    Raises
    ------
    UnknownScenarioError
        If a name is neither a scenario nor an alias.
    """
    resolved = []
    for name in names:
        canonical = ALIASES.get(name, name)
        if canonical not in SCENARIOS:
            raise UnknownScenarioError(name)
        resolved.append(canonical)
    return resolved


def apply_scenarios(world: World, names: Iterable[str]) -> list[str]:
    """Apply scenarios in order and record them in the world's ``scenarios`` list.

    Nothing is applied when any name is unknown.

    Returns
    -------
    list of str
        The scenario names applied, with aliases resolved.

    Raises
    ------
    UnknownScenarioError
        If a name is neither a scenario nor an alias.
    """
    resolved = resolve(names)
    active = world.active_scenarios
    for name in resolved:
        SCENARIOS[name](world)
        if name not in active:
            active.append(name)
    return resolved


def describe() -> dict[str, str]:
    """Return each scenario's and alias's name with its one-line description."""
    descriptions = {
        name: (function.__doc__ or "").strip() for name, function in SCENARIOS.items()
    }
    for alias, target in ALIASES.items():
        descriptions[alias] = f"Same as {target}: {descriptions[target]}"
    return descriptions


__all__ = [
    "ALIASES",
    "OTHER_TENANT_ID",
    "SCENARIOS",
    "UnknownScenarioError",
    "apply_scenarios",
    "describe",
    "resolve",
]
