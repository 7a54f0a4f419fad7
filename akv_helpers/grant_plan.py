"""The plan of a role assignment that lets one principal read one secret.

A plan is computed without any request: the role is checked against the built-in
roles, and the assignment gets the kit's deterministic name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from akv_helpers.errors import InvalidIdError, InvalidInputError
from akv_helpers.identifiers import (
    parse_secret_scope,
    role_assignment_name,
    validate_guid,
    validate_secret_name,
)
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    SECRETS_USER_ROLE_ID,
    RoleDefinition,
    role_allows,
    role_definition_id,
    role_guid_from_definition_id,
)
from akv_helpers.vaults import VaultInfo

__all__ = [
    "PRINCIPAL_TYPE",
    "SECRET_WRITE_DATA_ACTIONS",
    "YOUNG_IDENTITY_SECONDS",
    "GrantPlan",
    "plan_grant",
]

PRINCIPAL_TYPE: Literal["ServicePrincipal"] = "ServicePrincipal"
# An identity created less than an hour ago may still be replicating in the
# directory, so PrincipalNotFound for it is worth retrying. Replication usually
# takes seconds to minutes; the hour is a generous bound, not a documented figure.
YOUNG_IDENTITY_SECONDS = 3600.0

# Secret data actions that change or remove a secret, from the Key Vault RBAC
# permission reference. A role with any of them grants more than a read.
SECRET_WRITE_DATA_ACTIONS = (
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    "Microsoft.KeyVault/vaults/secrets/update/action",
    "Microsoft.KeyVault/vaults/secrets/delete",
    "Microsoft.KeyVault/vaults/secrets/purge/action",
    "Microsoft.KeyVault/vaults/secrets/restore/action",
    "Microsoft.KeyVault/vaults/secrets/recover/action",
    "Microsoft.KeyVault/vaults/secrets/backup/action",
)


@dataclass(frozen=True)
class GrantPlan:
    """A role assignment the kit would create, computed without any request.

    Attributes
    ----------
    role_name, role_guid
        The role, such as Key Vault Secrets User ``4633458b-…``.
    role_definition_id
        Subscription-level role definition ID.
    principal_id
        Principal ID (object ID) of the identity.
    principal_type
        Always ``"ServicePrincipal"``.
    scope
        Secret scope of the assignment.
    vault_scope
        Scope of the vault, where `verify` lists assignments.
    assignment_name
        The kit's deterministic assignment name.
    assignment_id
        Full ARM ID the assignment will have.
    az_command
        The equivalent Azure CLI command.
    principal_created_at
        When the identity was created (its ``systemData.createdAt``), or
        ``None`` when unknown.
    """

    role_name: str
    role_guid: str
    role_definition_id: str
    principal_id: str
    principal_type: Literal["ServicePrincipal"]
    scope: str
    vault_scope: str
    assignment_name: str
    assignment_id: str
    az_command: str
    principal_created_at: datetime | None = None

    def principal_age_seconds(self, now: datetime | None = None) -> float | None:
        """Return the identity's age in seconds, or ``None`` when unknown."""
        if self.principal_created_at is None:
            return None
        created = self.principal_created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return ((now or datetime.now(timezone.utc)) - created).total_seconds()

    def principal_is_young(self, now: datetime | None = None) -> bool | None:
        """Whether the identity is younger than `YOUNG_IDENTITY_SECONDS`.

        Returns ``None`` when its creation time is unknown.
        """
        age = self.principal_age_seconds(now)
        return None if age is None else age < YOUNG_IDENTITY_SECONDS

    @property
    def verify_command(self) -> str:
        """The Azure CLI command that lists the principal's assignments there."""
        return (
            f"az role assignment list --assignee {self.principal_id} "
            f"--scope {self.scope} --include-inherited"
        )

    def rest_body(self) -> str:
        """Return the JSON body of the PUT, as an administrator would send it."""
        properties = {
            "roleDefinitionId": self.role_definition_id,
            "principalId": self.principal_id,
            "principalType": self.principal_type,
        }
        return json.dumps({"properties": properties}, indent=2)

    def admin_instructions(self) -> str:
        """Return what an administrator needs to create the assignment."""
        terraform = (
            'resource "azurerm_role_assignment" "secret_read" {\n'
            f'  name                 = "{self.assignment_name}"\n'
            f'  scope                = "{self.scope}"\n'
            f'  role_definition_id   = "{self.role_definition_id}"\n'
            f'  principal_id         = "{self.principal_id}"\n'
            '  principal_type       = "ServicePrincipal"\n'
            "}"
        )
        parts = parse_secret_scope(self.scope)
        bicep = (
            "resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' "
            f"existing = {{\n  name: '{parts.vault_name}/{parts.secret_name}'\n}}\n\n"
            "resource secretRead 'Microsoft.Authorization/roleAssignments@2022-04-01'"
            " = {\n"
            f"  name: '{self.assignment_name}'\n"
            "  scope: secret\n"
            "  properties: {\n"
            f"    roleDefinitionId: '{self.role_definition_id}'\n"
            f"    principalId: '{self.principal_id}'\n"
            "    principalType: 'ServicePrincipal'\n"
            "  }\n"
            "}"
        )
        return (
            f"Azure CLI:\n{self.az_command}\n\n"
            f"REST: PUT https://management.azure.com{self.assignment_id}"
            f"?api-version=2022-04-01\n{self.rest_body()}\n\n"
            f"Terraform:\n{terraform}\n\nBicep:\n{bicep}\n\n"
            f"Verify:\n{self.verify_command}"
        )

    def admin_revoke_instructions(self) -> str:
        """Return what an administrator needs to delete the kit's assignment."""
        return (
            f"Azure CLI:\naz role assignment delete --ids {self.assignment_id}\n\n"
            f"REST: DELETE https://management.azure.com{self.assignment_id}"
            "?api-version=2022-04-01\n\n"
            f"Verify:\n{self.verify_command}"
        )


def _role(role: str) -> RoleDefinition:
    by_name = {item.name.lower(): item for item in BUILTIN_ROLES.values()}
    named = by_name.get(role.strip().lower())
    if named is not None:
        # Display names are not unique across custom roles, so only suggest.
        raise InvalidIdError(
            f"The role is given by its name {role.strip()!r}; the kit takes roles "
            "by GUID.",
            f"Use {named.id}.",
            value=role,
            expected="a built-in role definition GUID",
        )
    guid = validate_guid(role_guid_from_definition_id(role), "role definition ID")
    definition = BUILTIN_ROLES.get(guid)
    if definition is None:
        known = ", ".join(f"{item.name} ({item.id})" for item in BUILTIN_ROLES.values())
        raise InvalidIdError(
            f"The role {guid} is not a built-in role the kit can check.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}) or one of: {known}.",
            value=role,
            expected="a built-in role definition GUID",
        )
    return definition


def _check_role(role: RoleDefinition, allow_write_roles: bool) -> None:
    if not role_allows(role, GET_SECRET_DATA_ACTION, data=True):
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) cannot read secret values, so "
            "assigning it would not let the task read the secret.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}).",
            value=role.id,
            expected="a role whose data actions include getSecret",
        )
    writes = [a for a in SECRET_WRITE_DATA_ACTIONS if role_allows(role, a, data=True)]
    if writes and not allow_write_roles:
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) can also change or delete secrets "
            f"({', '.join(writes)}), which a task that reads one secret does not need.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}), or pass "
            "allow_write_roles=True if the task really writes secrets.",
            value=role.id,
            expected="a role that only reads secrets",
        )


def plan_grant(
    subscription_id: str,
    vault: VaultInfo,
    secret_name: str,
    principal_id: str,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
    principal_created_at: datetime | None = None,
) -> GrantPlan:
    """Compute the role assignment for one secret, without sending a request.

    Parameters
    ----------
    subscription_id
        Subscription of the vault.
    vault
        The vault, from `find_vault`.
    secret_name
        Secret name, such as ``db-pass``.
    principal_id
        Principal ID (object ID) of the identity, not its client ID.
    role
        Role definition GUID or ID; defaults to Key Vault Secrets User.
    allow_write_roles
        Whether a role that can change or delete secrets is accepted.
    principal_created_at
        When the identity was created, from the identity lookup's
        ``systemData.createdAt``; it decides whether `grant` retries
        ``PrincipalNotFound``.

    Returns
    -------
    GrantPlan
        Scope, role, deterministic name and the equivalent az command.

    Raises
    ------
    InvalidInputError
        If an ID or name is invalid, the role is unknown or cannot read secrets,
        or it can write secrets and `allow_write_roles` is false.
    """
    subscription = validate_guid(subscription_id, "subscription ID")
    principal = validate_guid(principal_id, "principal ID")
    definition = _role(role)
    _check_role(definition, allow_write_roles)

    name = validate_secret_name(secret_name)
    scope = vault.secret_scope(name)
    assignment_name = role_assignment_name(scope, definition.id, principal)
    assignment_id = (
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment_name}"
    )
    az_command = (
        f"az role assignment create --assignee-object-id {principal} "
        f"--assignee-principal-type {PRINCIPAL_TYPE} --role {definition.id} "
        f"--scope {scope}"
    )
    return GrantPlan(
        role_name=definition.name,
        role_guid=definition.id,
        role_definition_id=role_definition_id(definition.id, subscription),
        principal_id=principal,
        principal_type=PRINCIPAL_TYPE,
        scope=scope,
        vault_scope=vault.scope,
        assignment_name=assignment_name,
        assignment_id=assignment_id,
        az_command=az_command,
        principal_created_at=principal_created_at,
    )
