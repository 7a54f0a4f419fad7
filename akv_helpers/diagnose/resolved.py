"""The IDs a doctor run resolved, and the changes the kit made earlier.

Both are read from the facts the checks fetched and from the session profile,
so writing them up sends no request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from akv_helpers.roles import BUILTIN_ROLES, SECRETS_USER_ROLE_ID

if TYPE_CHECKING:
    from akv_helpers.diagnose.facts import FactSource
    from akv_helpers.profile import Profile

__all__ = ["kit_changes", "resolved_ids"]


def resolved_ids(run: FactSource) -> dict[str, str]:
    """Return the IDs the run resolved, from the facts the checks fetched."""
    resolved: dict[str, str] = {}

    def value(name: str) -> Any:
        outcome = run.fetched(name)
        return outcome.value if outcome is not None and outcome.available else None

    connection = value("connection")
    if connection is not None:
        resolved["subscription ID"] = str(connection.subscription_id)
        if connection.tenant_id:
            resolved["tenant ID"] = str(connection.tenant_id)
    identifier = value("identifier")
    if identifier is not None:
        resolved["secret URI"] = identifier.uri
    principal = value("principal")
    if principal is not None:
        resolved["principal ID"] = principal.principal_id
        if principal.candidate is not None:
            resolved["identity"] = principal.candidate.resource_id
            resolved["client ID"] = principal.candidate.client_id
    vault = value("vault")
    if vault is not None:
        resolved["vault resource ID"] = vault.resource_id
        resolved["permission model"] = vault.permission_model
        if vault.vault_uri:
            resolved["vault URI"] = vault.vault_uri
        if identifier is not None:
            resolved["secret scope"] = vault.secret_scope(identifier.name)
    secret = value("secret")
    if secret is not None and secret.current_version:
        resolved["current version"] = secret.current_version
    return resolved


_ASSIGNMENTS_SEGMENT = "/providers/microsoft.authorization/roleassignments/"


def kit_changes(run: FactSource) -> list[dict[str, Any]]:
    """Return the role assignment the session profile records, with commands.

    The role is read from the listed assignments when they include it, else
    it is the one the kit grants, Key Vault Secrets User.
    """
    outcome = run.outcome("profile")
    if not outcome.available or not outcome.value.assignment_id:
        return []
    profile = cast("Profile", outcome.value)
    assignment_id = str(profile.assignment_id)
    cut = assignment_id.lower().rfind(_ASSIGNMENTS_SEGMENT)
    scope = assignment_id[:cut] if cut > 0 else ""
    role_guid = SECRETS_USER_ROLE_ID
    listed = run.fetched("assignments")
    if listed is not None and listed.available:
        for record in listed.value:
            if record.assignment_id.lower() == assignment_id.lower():
                role_guid = record.role_guid
    role = BUILTIN_ROLES.get(role_guid)
    principal = profile.identity.principal_id if profile.identity else ""

    commands = [f"az role assignment list --scope {scope} --assignee {principal}"]
    if principal and scope:
        commands.insert(
            0,
            "az role assignment create "
            f"--name {assignment_id[assignment_id.rfind('/') + 1 :]} "
            f"--assignee-object-id {principal} "
            "--assignee-principal-type ServicePrincipal "
            f"--role {role_guid} --scope {scope}",
        )
    if profile.assignment_created_by_kit:
        commands.append(f"az role assignment delete --ids {assignment_id}")
    return [
        {
            "kind": "role assignment",
            "assignment_id": assignment_id,
            "created_by_kit": profile.assignment_created_by_kit,
            "scope": scope,
            "principal_id": principal,
            "role": role.name if role else role_guid,
            "role_definition_guid": role_guid,
            "commands": commands,
        }
    ]
