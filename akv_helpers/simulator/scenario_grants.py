"""Scenarios that give the demo identity role assignments of the wrong kind.

Each scenario adds assignments under fixed names, so applying it twice leaves the
same world as applying it once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..identifiers import role_assignment_name
from ..roles import (
    KEY_VAULT_CONTRIBUTOR_ROLE_ID,
    KEY_VAULT_READER_ROLE_ID,
    SECRETS_USER_ROLE_ID,
    role_definition_id,
)
from .seed import (
    DATA_PLANE_RESOURCE_GROUP,
    DAY_SECONDS,
    IDENTITY_PRINCIPAL_ID,
    OPERATOR_PRINCIPAL_ID,
    RBAC_VAULT,
    SECRET_NAME,
    new_vault,
    new_version,
)
from .state import World

Json = dict[str, Any]

OTHER_SECRET_NAME = "api-token"  # noqa: S105 (a secret name, not a value)
SECOND_RBAC_VAULT = "kv-demo-2"
SECOND_VAULT_VERSION = "5e884898da28047151d0e56f8dc62927"
# A principal that was deleted from the directory after it was granted a role.
ORPHANED_PRINCIPAL_ID = "eeeeeeee-0000-4000-8000-000000000005"
# Azure documents up to 10 minutes for a role assignment to take effect.
PROPAGATION_WINDOW_SECONDS = 600.0
# Names of assignments that someone other than the kit created.
_SCENARIO_NAMESPACE = uuid.UUID("0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f")


def vault_scope(world: World, vault_name: str) -> str:
    """Build the ARM scope of a vault in the data-plane resource group."""
    return (
        f"/subscriptions/{world.subscription_id}/resourceGroups/"
        f"{DATA_PLANE_RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/{vault_name}"
    )


def secret_scope(world: World, vault_name: str, secret_name: str) -> str:
    """Build the ARM scope of one secret, the scope the kit grants on."""
    return f"{vault_scope(world, vault_name)}/secrets/{secret_name}"


def kit_assignment_name(scope: str, role_guid: str, principal_id: str) -> str:
    """Return the kit's assignment name for a scope, role and principal."""
    return role_assignment_name(scope, role_guid, principal_id)


def put_assignment(
    world: World,
    scope: str,
    role_guid: str,
    principal_id: str,
    *,
    name: str | None = None,
    created_at: float | None = None,
) -> Json:
    """Add a role assignment to the world, replacing one with the same name.

    Parameters
    ----------
    world : World
        The simulated tenant.
    scope, role_guid, principal_id : str
        What the assignment grants, to whom and where.
    name : str or None
        The assignment name; None derives a fixed name that differs from the kit's.
    created_at : float or None
        Creation time (Unix time); None means a day ago, long enough to have
        propagated.

    Returns
    -------
    dict
        The stored assignment.
    """
    if name is None:
        triple = f"{scope}|{role_guid}|{principal_id}".lower()
        name = str(uuid.uuid5(_SCENARIO_NAMESPACE, triple))
    created = time.time() - DAY_SECONDS if created_at is None else created_at
    assignment: Json = {
        "name": name.lower(),
        "scope": scope,
        "role_definition_id": role_definition_id(role_guid, world.subscription_id),
        "principal_id": principal_id.lower(),
        "principal_type": "ServicePrincipal",
        "description": None,
        "condition": None,
        "condition_version": None,
        "created_at": created,
        "updated_at": created,
        "created_by": OPERATOR_PRINCIPAL_ID,
        "seeded": False,
    }
    world.role_assignments[:] = [
        a for a in world.role_assignments if a["name"].lower() != name.lower()
    ]
    world.role_assignments.append(assignment)
    return assignment


def put_kit_grant(world: World, *, created_at: float | None = None) -> Json:
    """Add the grant the kit makes: Secrets User on db-pass, under the kit's name."""
    scope = secret_scope(world, RBAC_VAULT, SECRET_NAME)
    name = kit_assignment_name(scope, SECRETS_USER_ROLE_ID, IDENTITY_PRINCIPAL_ID)
    return put_assignment(
        world,
        scope,
        SECRETS_USER_ROLE_ID,
        IDENTITY_PRINCIPAL_ID,
        name=name,
        created_at=created_at,
    )


def healthy(world: World) -> None:
    """Add the kit's grant (Secrets User on db-pass), so the identity reads db-pass."""
    put_kit_grant(world)


def grant_reader_role(world: World) -> None:
    """Give the identity Key Vault Reader on db-pass, a role that cannot read values."""
    scope = secret_scope(world, RBAC_VAULT, SECRET_NAME)
    put_assignment(world, scope, KEY_VAULT_READER_ROLE_ID, IDENTITY_PRINCIPAL_ID)


def grant_contributor_role(world: World) -> None:
    """Give the identity Key Vault Contributor on kv-demo, which cannot read values."""
    scope = vault_scope(world, RBAC_VAULT)
    put_assignment(world, scope, KEY_VAULT_CONTRIBUTOR_ROLE_ID, IDENTITY_PRINCIPAL_ID)


def grant_other_secret(world: World) -> None:
    """Give the identity Secrets User on kv-demo's api-token only, not on db-pass."""
    scope = secret_scope(world, RBAC_VAULT, OTHER_SECRET_NAME)
    put_assignment(world, scope, SECRETS_USER_ROLE_ID, IDENTITY_PRINCIPAL_ID)


def grant_other_vault(world: World) -> None:
    """Add vault kv-demo-2 and give the identity Secrets User on its db-pass only."""
    if world.vault(SECOND_RBAC_VAULT) is None:
        now = int(time.time())
        vault = new_vault(
            SECOND_RBAC_VAULT,
            DATA_PLANE_RESOURCE_GROUP,
            rbac=True,
            created=now - 30 * DAY_SECONDS,
        )
        vault["secrets"] = [
            {
                "name": SECRET_NAME,
                "content_type": "text/plain",
                "tags": {},
                "versions": [new_version(SECOND_VAULT_VERSION, now - 5 * DAY_SECONDS)],
            }
        ]
        world.data["vaults"].append(vault)
    scope = secret_scope(world, SECOND_RBAC_VAULT, SECRET_NAME)
    put_assignment(world, scope, SECRETS_USER_ROLE_ID, IDENTITY_PRINCIPAL_ID)


def grant_vault_scope(world: World) -> None:
    """Give the identity Secrets User on all of kv-demo, which works but is broader."""
    scope = vault_scope(world, RBAC_VAULT)
    put_assignment(world, scope, SECRETS_USER_ROLE_ID, IDENTITY_PRINCIPAL_ID)


def grant_orphaned(world: World) -> None:
    """Grant Secrets User on db-pass to a principal that is gone from the directory."""
    scope = secret_scope(world, RBAC_VAULT, SECRET_NAME)
    put_assignment(world, scope, SECRETS_USER_ROLE_ID, ORPHANED_PRINCIPAL_ID)
    world.data["principals"].pop(ORPHANED_PRINCIPAL_ID, None)


def grant_propagating(world: World) -> None:
    """Add the kit's grant just now and deny the identity's reads for 600 s."""
    put_kit_grant(world, created_at=time.time())
    world.config["propagation_seconds"] = PROPAGATION_WINDOW_SECONDS


def grant_update_not_permitted(world: World) -> None:
    """Take the kit's assignment name on db-pass with a Key Vault Reader grant."""
    scope = secret_scope(world, RBAC_VAULT, SECRET_NAME)
    name = kit_assignment_name(scope, SECRETS_USER_ROLE_ID, IDENTITY_PRINCIPAL_ID)
    put_assignment(
        world, scope, KEY_VAULT_READER_ROLE_ID, IDENTITY_PRINCIPAL_ID, name=name
    )
