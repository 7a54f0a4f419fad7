"""The plan of a role assignment that lets one principal read one secret.

A plan is computed without any request: the role is checked against the built-in
roles, and the assignment gets the kit's deterministic name.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from akv_helpers.errors import InvalidIdError, InvalidInputError
from akv_helpers.identifiers import (
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
    "SCOPE_KINDS",
    "SECRET_WRITE_ACTIONS",
    "SECRET_WRITE_DATA_ACTIONS",
    "YOUNG_IDENTITY_SECONDS",
    "GrantPlan",
    "ScopeKind",
    "check_role",
    "plan_grant",
    "resolve_role",
    "secret_write_permissions",
    "shell_join",
]

ScopeKind = Literal["secret", "vault"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("secret", "vault")

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
# The control-plane action of the ARM secrets "create or update" operation, which
# sets a secret's value through Azure Resource Manager instead of the data plane.
SECRET_WRITE_ACTIONS = ("Microsoft.KeyVault/vaults/secrets/write",)


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
        Scope of the assignment: the secret's, or the vault's when
        `scope_kind` is ``"vault"``.
    vault_scope
        Scope of the vault, where `verify` lists assignments.
    secret_scope
        Scope of the secret the plan is for, whatever the assignment's scope.
    scope_kind
        ``"secret"`` or ``"vault"``.
    assignment_name
        The kit's deterministic assignment name.
    assignment_id
        Full ARM ID the assignment will have.
    az_command
        The equivalent Azure CLI command.
    principal_created_at
        When the identity was created (its ``systemData.createdAt``), or
        ``None`` when unknown.
    write_permissions
        The role's permissions that change or delete secrets; empty for a role
        that only reads.
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
    secret_scope: str = ""
    scope_kind: ScopeKind = "secret"
    write_permissions: tuple[str, ...] = ()

    @property
    def widens_scope(self) -> bool:
        """Whether the assignment covers more than the one secret."""
        return self.scope_kind == "vault"

    def widening_warning(self) -> str | None:
        """Describe what a vault-wide assignment grants beyond the secret.

        Returns ``None`` for an assignment on the secret alone.
        """
        if not self.widens_scope:
            return None
        vault = self.vault_scope.rsplit("/", 1)[-1]
        secret = self.secret_scope.rsplit("/", 1)[-1]
        return (
            f"The scope is the whole vault {vault}, not only the secret {secret}: "
            f"{self.role_name} then applies to every secret in {vault}, current "
            "and future, including secrets created after this grant. Choose the "
            "secret scope unless the task needs them all."
        )

    def principal_age_seconds(self, now: datetime | None = None) -> float | None:
        """Return the identity's age in seconds, or ``None`` when unknown."""
        if self.principal_created_at is None:
            return None
        created = self.principal_created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return ((now or datetime.now(timezone.utc)) - created).total_seconds()

    def principal_is_young(self, now: datetime | None = None) -> bool | None:
        """Tell whether the identity is younger than `YOUNG_IDENTITY_SECONDS`.

        Returns ``None`` when its creation time is unknown.
        """
        age = self.principal_age_seconds(now)
        return None if age is None else age < YOUNG_IDENTITY_SECONDS

    @property
    def verify_command(self) -> str:
        """The Azure CLI command that lists the principal's assignments there.

        ``az role assignment list`` takes an object ID as ``--assignee``. With
        ``--scope`` it lists the assignments at that scope, and with
        ``--include-inherited`` also those above it, but never those below it, so
        the command lists at the plan's own scope.
        """
        return shell_join(
            "az",
            "role",
            "assignment",
            "list",
            "--assignee",
            self.principal_id,
            "--scope",
            self.scope,
            "--include-inherited",
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
        # grant_templates renders a GrantPlan, so it is imported here.
        from akv_helpers.grant_templates import bicep_grant, terraform_grant

        terraform = terraform_grant(self).rstrip("\n")
        bicep = bicep_grant(self).rstrip("\n")
        return (
            f"Azure CLI:\n{self.az_command}\n\n"
            f"REST API:\nPUT https://management.azure.com{self.assignment_id}"
            f"?api-version=2022-04-01\n{self.rest_body()}\n\n"
            f"Terraform:\n{terraform}\n\nBicep:\n{bicep}\n\n"
            f"Verify:\n{self.verify_command}"
        )

    def admin_revoke_instructions(self) -> str:
        """Return what an administrator needs to delete the kit's assignment."""
        delete = shell_join(
            "az", "role", "assignment", "delete", "--ids", self.assignment_id
        )
        return (
            f"Azure CLI:\n{delete}\n\n"
            f"REST API:\nDELETE https://management.azure.com{self.assignment_id}"
            "?api-version=2022-04-01\n\n"
            f"Verify:\n{self.verify_command}"
        )


def shell_join(*words: str) -> str:
    """Join command words into one POSIX shell line, quoting where needed."""
    return " ".join(shlex.quote(word) for word in words)


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


def resolve_role(role: str) -> RoleDefinition:
    """Find a built-in role by its GUID, role definition ID or display name.

    The display name is matched case-insensitively against the built-in roles
    only, so a custom role of the same name is never chosen by accident.

    Raises
    ------
    InvalidIdError
        If `role` is neither a built-in role's name nor a built-in role's GUID.
    """
    by_name = {item.name.lower(): item for item in BUILTIN_ROLES.values()}
    named = by_name.get(" ".join(role.split()).lower())
    if named is not None:
        return named
    try:
        return _role(role)
    except InvalidIdError as error:
        if any(character.isspace() for character in role.strip()) or not any(
            character.isdigit() for character in role
        ):
            names = ", ".join(repr(item.name) for item in BUILTIN_ROLES.values())
            raise InvalidIdError(
                f"The role {role.strip()!r} is neither the name nor the GUID of a "
                "built-in role the kit can check.",
                f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}), or one of "
                f"these names: {names}.",
                value=role,
                expected="a built-in role's name or GUID",
            ) from error
        raise


def secret_write_permissions(role: RoleDefinition) -> tuple[str, ...]:
    """Return the permissions of `role` that change or delete secrets.

    Both the data actions of the Key Vault data plane and the ARM action that
    sets a secret's value through Azure Resource Manager count, after the
    role's notActions and notDataActions are taken away.
    """
    data = [a for a in SECRET_WRITE_DATA_ACTIONS if role_allows(role, a, data=True)]
    control = [a for a in SECRET_WRITE_ACTIONS if role_allows(role, a, data=False)]
    return tuple(data + control)


def check_role(
    role: RoleDefinition,
    *,
    allow_write_roles: bool = False,
    override: str = "allow_write_roles=True",
) -> tuple[str, ...]:
    """Reject a role that cannot read secret values, or that can also write them.

    Parameters
    ----------
    role
        The built-in role to assign.
    allow_write_roles
        Whether a role that can change or delete secrets is accepted.
    override
        How the caller names the override in the message, such as the
        ``--allow-write-role`` option of the command line.

    Returns
    -------
    tuple of str
        The role's permissions that change or delete secrets, when accepted.

    Raises
    ------
    InvalidInputError
        If the role cannot read secret values (no override), or it can change
        or delete secrets and `allow_write_roles` is false.
    """
    writes = secret_write_permissions(role)
    least = f"Key Vault Secrets User ({SECRETS_USER_ROLE_ID})"
    if not role_allows(role, GET_SECRET_DATA_ACTION, data=True):
        also = f" It can also change secrets ({', '.join(writes)})." if writes else ""
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) cannot read secret values: its "
            f"data actions do not include {GET_SECRET_DATA_ACTION}, so assigning "
            f"it would not let the task read the secret.{also}",
            f"Use {least}, the role that reads secret values and nothing more.",
            value=role.id,
            expected="a role whose data actions include getSecret",
        )
    if writes and not allow_write_roles:
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) can also change or delete secrets "
            f"({', '.join(writes)}), which a task that reads one secret does not "
            "need.",
            f"Use {least}, or, if the task really writes secrets, confirm the role "
            f"with {override}.",
            value=role.id,
            expected="a role that only reads secrets",
        )
    return writes


def plan_grant(
    subscription_id: str,
    vault: VaultInfo,
    secret_name: str,
    principal_id: str,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
    scope: ScopeKind = "secret",
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
    scope
        ``"secret"`` (the default) assigns the role on the secret alone;
        ``"vault"`` assigns it on the vault, which covers every secret in it,
        current and future (see `GrantPlan.widening_warning`).
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
        or it can write secrets and `allow_write_roles` is false, or `scope` is
        neither ``"secret"`` nor ``"vault"``.
    """
    subscription = validate_guid(subscription_id, "subscription ID")
    principal = validate_guid(principal_id, "principal ID")
    definition = _role(role)
    writes = check_role(definition, allow_write_roles=allow_write_roles)
    if scope not in SCOPE_KINDS:
        raise InvalidInputError(
            f"The scope {scope!r} is not a scope the kit grants at.",
            "Use 'secret' (the default) or 'vault'.",
            value=str(scope),
            expected="'secret' or 'vault'",
        )

    name = validate_secret_name(secret_name)
    secret_scope = vault.secret_scope(name)
    target = vault.scope if scope == "vault" else secret_scope
    assignment_name = role_assignment_name(target, definition.id, principal)
    assignment_id = (
        f"{target}/providers/Microsoft.Authorization/roleAssignments/{assignment_name}"
    )
    # --name gives the assignment the kit's own name, so that the command and
    # the kit make the same assignment and either can run first.
    az_command = shell_join(
        "az",
        "role",
        "assignment",
        "create",
        "--name",
        assignment_name,
        "--assignee-object-id",
        principal,
        "--assignee-principal-type",
        PRINCIPAL_TYPE,
        "--role",
        definition.id,
        "--scope",
        target,
    )
    return GrantPlan(
        role_name=definition.name,
        role_guid=definition.id,
        role_definition_id=role_definition_id(definition.id, subscription),
        principal_id=principal,
        principal_type=PRINCIPAL_TYPE,
        scope=target,
        vault_scope=vault.scope,
        assignment_name=assignment_name,
        assignment_id=assignment_id,
        az_command=az_command,
        principal_created_at=principal_created_at,
        secret_scope=secret_scope,
        scope_kind=scope,
        write_permissions=writes,
    )
