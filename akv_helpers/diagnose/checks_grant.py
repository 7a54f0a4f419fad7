"""Checks of the role assignment that lets the identity read the secret.

These checks judge where the principal's reading roles are: on the secret, above
it, on other resources, or missing, and whether the roles can read values at
all. `checks_grant_state` checks the state of the assignments and of the
directory. The checks only read: they list and get role assignments and never
create one. Roles are judged by their definition GUID with `akv_helpers.roles`.
"""

from __future__ import annotations

from datetime import datetime

from azure.mgmt.core.tools import parse_resource_id

from akv_helpers._text_checks import count_noun
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.diagnose.checks_vault import access_policy_for
from akv_helpers.diagnose.facts import AssignmentRecord
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.diagnose.shared_facts import assignment_record
from akv_helpers.grant_plan import GrantPlan, plan_grant, shell_join
from akv_helpers.identifiers import filter_value, scope_contains
from akv_helpers.roles import BUILTIN_ROLES, GET_SECRET_DATA_ACTION
from akv_helpers.steps import step_place

__all__ = [
    "covering_assignments",
    "create_commands",
    "describe_scope",
    "grant_plan_for",
    "identity_created_at",
    "principal_exists",
    "role_label",
]

_READ = GET_SECRET_DATA_ACTION


def _scope(context: CheckContext) -> str:
    return context.vault.secret_scope(context.identifier.name)


def grant_plan_for(context: CheckContext) -> GrantPlan:
    """Return the grant the kit would make for the run's secret and principal."""
    vault = context.vault
    connection = context.signed_in
    return plan_grant(
        vault.subscription_id or connection.subscription_id,
        vault,
        context.identifier.name,
        context.principal.principal_id,
    )


def _own(context: CheckContext) -> list[AssignmentRecord]:
    principal = context.principal.principal_id
    return [item for item in context.assignments if item.principal_id == principal]


def covering_assignments(context: CheckContext) -> list[AssignmentRecord]:
    """Return the principal's assignments that let it read the secret, nearest first."""
    scope = _scope(context)
    return sorted(
        (item for item in _own(context) if item.covers(scope)),
        key=lambda item: -len(item.scope),
    )


def principal_exists(context: CheckContext) -> bool | None:
    """Tell whether the principal exists, from evidence; ``None`` when unknown.

    It exists when it belongs to an identity found, is in the directory
    (simulator) or has a role assignment. It does not exist when the directory
    was read and lacks it, with no identity and no assignment.
    """
    principal = context.principal
    if principal.candidate is not None:
        return True
    assignments = context.outcome("assignments")
    if assignments.available and any(
        item.principal_id == principal.principal_id for item in assignments.value
    ):
        return True
    directory = context.outcome("directory")
    if not directory.available:
        return None
    return principal.principal_id in directory.value


def create_commands(context: CheckContext) -> tuple[str, ...]:
    """Return the command that grants the planned role, when the principal exists.

    For a principal that is not known to exist, the command that looks it up
    comes instead, because an assignment to nobody grants nothing.
    """
    if principal_exists(context):
        return (grant_plan_for(context).az_command,)
    return (f"az ad sp show --id {context.principal.principal_id}",)


def _grant_fix(context: CheckContext, fix: str) -> str:
    if principal_exists(context):
        return fix
    return (
        f"First check that principal {context.principal.principal_id} exists (the "
        "command below; see the principal findings), because a role assignment to "
        "a principal that does not exist grants nobody access. Then grant the role "
        f"in {step_place('grant')} or with `akv-onboard grant <secret identifier>`."
    )


def role_label(item: AssignmentRecord) -> str:
    """Return the role's built-in name, or its GUID for a role the kit does not know."""
    return item.role_name or f"role {item.role_guid}"


def describe_scope(scope: str) -> str:
    """Describe an ARM scope in words, such as ``"vault kv-demo"``."""
    parts = parse_resource_id(scope)
    if "child_name_1" in parts:
        return f"secret {parts['child_name_1']} in vault {parts['name']}"
    if "name" in parts:
        return f"vault {parts['name']}"
    if "resource_group" in parts:
        return f"resource group {parts['resource_group']}"
    return f"subscription {parts.get('subscription', scope)}"


@check("grant.missing", needs=("assignments",), title="Read grant")
def check_missing(context: CheckContext) -> Finding:
    """Fail when no assignment lets the principal read the secret."""
    covering = covering_assignments(context)
    scope = _scope(context)
    if covering:
        first = covering[0]
        return context.finding(
            Status.OK,
            f"{role_label(first)} at {describe_scope(first.scope)} lets principal "
            f"{first.principal_id} read the secret ({first.assignment_id}).",
            "An assignment of a role that can read secret values at the secret's "
            "scope or above.",
            evidence={"assignment ID": first.assignment_id, "scope": first.scope},
        )
    vault = context.vault
    principal_id = context.principal.principal_id
    if not vault.rbac_enabled and access_policy_for(vault, principal_id):
        return context.finding(
            Status.NOT_APPLICABLE,
            f"The vault {vault.name} uses access policies, where role assignments "
            "have no effect; its access policy lets the principal read (see the "
            "permission model finding).",
            "An assignment of a role that can read secret values at the secret's "
            "scope or above, on a vault that uses Azure RBAC.",
        )
    return context.finding(
        Status.FAILED,
        f"No role assignment at {describe_scope(scope)} or above lets principal "
        f"{principal_id} read secret values "
        f"({count_noun(len(_own(context)), 'assignment')} of the principal listed at "
        "the vault).",
        "Key Vault Secrets User on the secret, assigned to the identity's principal "
        "ID.",
        _grant_fix(
            context,
            f"Grant the role in {step_place('grant')}, with `akv-onboard grant "
            "<secret identifier>`, or with the command below.",
        ),
        evidence={"secret scope": scope, "principal ID": principal_id},
        commands=create_commands(context),
    )


def _why_cannot_read(item: AssignmentRecord) -> str:
    role = BUILTIN_ROLES.get(item.role_guid)
    if role is None:
        return "it is not a built-in role the kit can check"
    if not role.data_actions:
        return (
            "it has only control-plane actions (it manages the vault resource) and "
            "no data actions, and reading a value is the data action " + _READ
        )
    return (
        "its data actions ("
        + ", ".join(role.data_actions)
        + ") do not include "
        + _READ
    )


@check("grant.role-cannot-read", needs=("assignments",), title="Role of the grant")
def check_role_cannot_read(context: CheckContext) -> Finding:
    """Fail when the assignments on the secret's path have roles that cannot read."""
    scope = _scope(context)
    useless = [
        item
        for item in _own(context)
        if not item.grants_read and scope_contains(item.scope, scope)
    ]
    if not useless:
        return context.finding(
            Status.OK,
            "No assignment of the principal on the secret's path has a role that "
            "cannot read values.",
            "A role whose data actions include getSecret.",
        )
    names = "; ".join(
        f"{role_label(item)} ({item.role_guid}) at {describe_scope(item.scope)}: "
        f"{_why_cannot_read(item)}"
        for item in useless
    )
    evidence = {item.assignment_id: item.role_guid for item in useless}
    if covering_assignments(context):
        # Another assignment already reads the secret, so granting again would
        # change nothing; only removing the extra roles clears this warning.
        return context.finding(
            Status.WARNING,
            f"The principal can read the secret through another assignment, and "
            f"also has roles that cannot read secret values: {names}.",
            "Only roles the identity needs; Key Vault Secrets User is enough to "
            "read the secret.",
            "Nothing is needed for the task. Remove the extra role assignments "
            "(commands below) unless the identity needs them for something else.",
            evidence=evidence,
            commands=tuple(
                shell_join("az", "role", "assignment", "delete", "--ids", key)
                for key in evidence
            ),
        )
    return context.finding(
        Status.FAILED,
        f"The principal has roles that cannot read secret values: {names}.",
        "Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6), whose data "
        "actions include getSecret.",
        "Assign Key Vault Secrets User on the secret (command below); the other "
        "roles can stay if the identity needs them for something else.",
        evidence=evidence,
        commands=create_commands(context),
    )


def _principal_assignments_everywhere(
    connection: Connection, principal_id: str
) -> list[AssignmentRecord]:
    query = f"principalId eq '{filter_value(principal_id, 'principal ID')}'"
    scope = f"/subscriptions/{connection.subscription_id}"
    operations = connection.authorization().role_assignments
    with azure_errors("list the principal's role assignments in the subscription"):
        items = list(operations.list_for_scope(scope, filter=query))
    return [assignment_record(item) for item in items]


@check("grant.other-resource", needs=("assignments",), title="Resource of the grant")
def check_other_resource(context: CheckContext) -> Finding:
    """Fail when the principal can read another secret or vault but not this one."""
    scope = _scope(context)
    context.report_progress("Listing the principal's role assignments everywhere")
    everywhere = _principal_assignments_everywhere(
        context.signed_in, context.principal.principal_id
    )
    elsewhere = [
        item for item in everywhere if item.grants_read and not item.covers(scope)
    ]
    needed = describe_scope(scope)
    if not elsewhere:
        return context.finding(
            Status.OK,
            "The principal has no reading role on another secret or vault.",
            f"A reading role on {needed}.",
        )
    listed = "; ".join(
        f"{role_label(item)} on {describe_scope(item.scope)} ({item.assignment_id})"
        for item in elsewhere
    )
    if covering_assignments(context):
        return context.finding(
            Status.OK,
            f"The principal can read {needed}, and also: {listed}.",
            f"A reading role on {needed}.",
        )
    return context.finding(
        Status.FAILED,
        f"The principal can read other resources but not {needed}: {listed}.",
        f"A reading role on {needed}, the secret the task reads.",
        f"Grant the role on {needed} (command below); check that the secret "
        "identifier names the vault and secret you meant.",
        evidence={item.assignment_id: item.scope for item in elsewhere},
        commands=(grant_plan_for(context).az_command,),
    )


@check("grant.broader-scope", needs=("assignments",), title="Scope of the grant")
def check_broader_scope(context: CheckContext) -> Finding:
    """Warn when the read is granted above the secret, on more than it needs."""
    scope = _scope(context)
    covering = covering_assignments(context)
    if not covering:
        return context.finding(
            Status.NOT_APPLICABLE,
            "No assignment lets the principal read the secret.",
            "A reading role on the secret itself.",
        )
    broad = [
        item for item in covering if item.scope.rstrip("/").lower() != scope.lower()
    ]
    if not broad:
        return context.finding(
            Status.OK,
            f"The read is granted on the secret itself ({covering[0].assignment_id}).",
            "A reading role on the secret itself.",
        )
    widened = "; ".join(
        f"{role_label(item)} on {describe_scope(item.scope)} lets the identity read "
        f"every secret in that {describe_scope(item.scope).split()[0]} "
        f"({item.assignment_id})"
        for item in broad
    )
    return context.finding(
        Status.WARNING,
        f"It works, but wider than needed: {widened}.",
        "A reading role on the secret only, so the task reads nothing else.",
        "Grant Key Vault Secrets User on the secret, then delete the broader "
        "assignment if nothing else needs it: run the commands below in that "
        "order, so the task never loses access in between.",
        evidence={item.assignment_id: item.scope for item in broad},
        commands=(
            *(() if len(broad) < len(covering) else create_commands(context)),
            *(f"az role assignment delete --ids {i.assignment_id}" for i in broad),
        ),
    )


@check("grant.below-scope", needs=("assignments",), title="Grants on other secrets")
def check_below_scope(context: CheckContext) -> Finding:
    """Warn about the principal's assignments on other secrets of the vault."""
    scope = _scope(context)
    vault_scope = context.vault.scope
    below = [
        item
        for item in _own(context)
        if scope_contains(vault_scope, item.scope)
        and item.scope.rstrip("/").lower() != vault_scope.lower()
        and not scope_contains(item.scope, scope)
    ]
    if not below:
        return context.finding(
            Status.OK,
            "The principal has no assignment on other secrets of the vault.",
            "Assignments on the secret the task reads.",
        )
    listed = "; ".join(
        f"{role_label(item)} on {describe_scope(item.scope)}" for item in below
    )
    return context.finding(
        Status.WARNING,
        f"The principal has assignments on other secrets of the vault: {listed}.",
        f"A reading role on {describe_scope(scope)}.",
        "Check that the secret identifier names the secret you meant.",
        evidence={item.assignment_id: item.scope for item in below},
    )


def identity_created_at(connection: Connection, resource_id: str) -> datetime | None:
    """Return the ``systemData.createdAt`` of a user-assigned identity.

    Raises
    ------
    AzureRequestError
        If the identity cannot be read.
    """
    parts = parse_resource_id(resource_id)
    with azure_errors("read the managed identity"):
        identity = connection.msi().user_assigned_identities.get(
            parts["resource_group"], parts["name"]
        )
    system_data = getattr(identity, "system_data", None)
    created = getattr(system_data, "created_at", None)
    return created if isinstance(created, datetime) else None
