"""Checks of the role assignment that lets the identity read the secret.

The checks only read: they list and get role assignments and never create one.
Roles are judged by their definition GUID with `akv_helpers.roles`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.core.tools import parse_resource_id

from akv_helpers.connection import Connection, azure_errors
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import (
    AssignmentRecord,
    CheckContext,
    check,
)
from akv_helpers.grant_plan import YOUNG_IDENTITY_SECONDS, GrantPlan, plan_grant
from akv_helpers.identifiers import filter_value, scope_contains
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS, wait_for_access
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    role_allows,
    role_guid_from_definition_id,
)

__all__ = ["grant_plan_for", "identity_created_at"]

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


def _covering(context: CheckContext) -> list[AssignmentRecord]:
    scope = _scope(context)
    return sorted(
        (item for item in _own(context) if item.covers(scope)),
        key=lambda item: -len(item.scope),
    )


def _role(item: AssignmentRecord) -> str:
    return item.role_name or f"role {item.role_guid}"


def _where(scope: str) -> str:
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
    covering = _covering(context)
    scope = _scope(context)
    if covering:
        first = covering[0]
        return context.finding(
            Status.OK,
            f"{_role(first)} at {_where(first.scope)} lets principal "
            f"{first.principal_id} read the secret ({first.assignment_id}).",
            "An assignment of a role that can read secret values at the secret's "
            "scope or above.",
            evidence={"assignment ID": first.assignment_id, "scope": first.scope},
        )
    plan = grant_plan_for(context)
    return context.finding(
        Status.FAILED,
        f"No role assignment at {_where(scope)} or above lets principal "
        f"{plan.principal_id} read secret values ({len(_own(context))} "
        "assignments of the principal listed at the vault).",
        "Key Vault Secrets User on the secret, assigned to the identity's principal "
        "ID.",
        "Grant the role: notebook 02, `akv-onboard grant <secret identifier>`, or "
        "the command below.",
        evidence={"secret scope": scope, "principal ID": plan.principal_id},
        commands=(plan.az_command,),
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
        f"{_role(item)} ({item.role_guid}) at {_where(item.scope)}: "
        f"{_why_cannot_read(item)}"
        for item in useless
    )
    status = Status.WARNING if _covering(context) else Status.FAILED
    plan = grant_plan_for(context)
    return context.finding(
        status,
        f"The principal has roles that cannot read secret values: {names}.",
        "Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6), whose data "
        "actions include getSecret.",
        "Assign Key Vault Secrets User on the secret (command below); the other "
        "roles can stay if the identity needs them for something else.",
        evidence={item.assignment_id: item.role_guid for item in useless},
        commands=(plan.az_command,),
    )


def _principal_assignments_everywhere(
    connection: Connection, principal_id: str
) -> list[AssignmentRecord]:
    query = f"principalId eq '{filter_value(principal_id, 'principal ID')}'"
    scope = f"/subscriptions/{connection.subscription_id}"
    operations = connection.authorization().role_assignments
    with azure_errors("list the principal's role assignments in the subscription"):
        items = list(operations.list_for_scope(scope, filter=query))
    return [_record(item) for item in items]


def _record(item: Any) -> AssignmentRecord:
    guid = role_guid_from_definition_id(str(item.role_definition_id))
    role = BUILTIN_ROLES.get(guid)
    return AssignmentRecord(
        assignment_id=str(item.id),
        name=str(item.name),
        scope=str(item.scope),
        role_guid=guid,
        role_name=role.name if role else None,
        principal_id=str(item.principal_id).lower(),
        principal_type=str(item.principal_type) if item.principal_type else None,
        grants_read=bool(role and role_allows(role, GET_SECRET_DATA_ACTION, data=True)),
        created_on=item.created_on,
    )


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
    needed = _where(scope)
    if not elsewhere:
        return context.finding(
            Status.OK,
            "The principal has no reading role on another secret or vault.",
            f"A reading role on {needed}.",
        )
    listed = "; ".join(
        f"{_role(item)} on {_where(item.scope)} ({item.assignment_id})"
        for item in elsewhere
    )
    if _covering(context):
        return context.finding(
            Status.OK,
            f"The principal can read {needed}, and also: {listed}.",
            f"A reading role on {needed}.",
        )
    plan = grant_plan_for(context)
    return context.finding(
        Status.FAILED,
        f"The principal can read other resources but not {needed}: {listed}.",
        f"A reading role on {needed}, the secret the task reads.",
        f"Grant the role on {needed} (command below); check that the secret "
        "identifier names the vault and secret you meant.",
        evidence={item.assignment_id: item.scope for item in elsewhere},
        commands=(plan.az_command,),
    )


@check("grant.broader-scope", needs=("assignments",), title="Scope of the grant")
def check_broader_scope(context: CheckContext) -> Finding:
    """Warn when the read is granted above the secret, on more than it needs."""
    scope = _scope(context)
    covering = _covering(context)
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
        f"{_role(item)} on {_where(item.scope)} lets the identity read every secret "
        f"in that {_where(item.scope).split()[0]} ({item.assignment_id})"
        for item in broad
    )
    return context.finding(
        Status.WARNING,
        f"It works, but wider than needed: {widened}.",
        "A reading role on the secret only, so the task reads nothing else.",
        "Grant Key Vault Secrets User on the secret and delete the broader "
        "assignment if nothing else needs it.",
        evidence={item.assignment_id: item.scope for item in broad},
        commands=tuple(
            f"az role assignment delete --ids {i.assignment_id}" for i in broad
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
    listed = "; ".join(f"{_role(item)} on {_where(item.scope)}" for item in below)
    return context.finding(
        Status.WARNING,
        f"The principal has assignments on other secrets of the vault: {listed}.",
        f"A reading role on {_where(scope)}.",
        "Check that the secret identifier names the secret you meant.",
        evidence={item.assignment_id: item.scope for item in below},
    )


def _secret_scope_assignments(context: CheckContext) -> list[AssignmentRecord]:
    operations = context.signed_in.authorization().role_assignments
    with azure_errors("list the role assignments on the secret"):
        items = list(operations.list_for_scope(_scope(context), filter="atScope()"))
    return [_record(item) for item in items]


@check("grant.orphaned", needs=("vault", "identifier"), title="Orphaned grants")
def check_orphaned(context: CheckContext) -> Finding:
    """Warn about assignments on the secret whose principal no longer exists."""
    context.report_progress("Listing every role assignment on the secret")
    listed = _secret_scope_assignments(context)
    directory_outcome = context.outcome("directory")
    directory = directory_outcome.value if directory_outcome.available else None
    orphaned = [
        item
        for item in listed
        if (item.principal_type or "").lower() == "unknown"
        or (directory is not None and item.principal_id not in directory)
    ]
    if not orphaned:
        checked = "and the directory" if directory is not None else "(principal types)"
        return context.finding(
            Status.OK,
            f"{len(listed)} assignments on the secret's path, none orphaned {checked}.",
            "Every assignment names a principal that exists.",
        )
    text = "; ".join(
        f"{_role(item)} for principal {item.principal_id} at {_where(item.scope)}"
        for item in orphaned
    )
    return context.finding(
        Status.WARNING,
        f"Assignments whose principal no longer exists: {text}.",
        "Every assignment names a principal that exists.",
        "Delete them; they grant nothing, but they make the access list harder to "
        "read.",
        evidence={item.assignment_id: item.principal_id for item in orphaned},
        commands=tuple(
            f"az role assignment delete --ids {i.assignment_id}" for i in orphaned
        ),
    )


def _age_seconds(created: datetime | None) -> float | None:
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - created).total_seconds()


@check("grant.propagating", needs=("assignments",), title="Grant propagation")
def check_propagating(context: CheckContext) -> Finding:
    """Warn while a grant younger than the propagation window is not in effect."""
    covering = _covering(context)
    if not covering:
        return context.finding(
            Status.NOT_APPLICABLE,
            "No assignment lets the principal read the secret.",
            "A grant that has taken effect.",
        )
    young = [
        item
        for item in covering
        if (age := _age_seconds(item.created_on)) is not None
        and age < PROPAGATION_WINDOW_SECONDS
    ]
    if not young:
        return context.finding(
            Status.OK,
            f"The grant {covering[0].assignment_id} is older than Azure's "
            f"{int(PROPAGATION_WINDOW_SECONDS // 60)}-minute propagation window.",
            "A grant that has taken effect.",
        )
    plan = grant_plan_for(context)
    waited = wait_for_access(
        context.signed_in,
        plan,
        timeout=context.wait_for_propagation,
        progress=context.report_progress,
        vault_url=context.vault.vault_uri,
        first_delay=min(1.0, max(context.wait_for_propagation / 4, 0.1)),
    )
    evidence = {"assignment ID": young[0].assignment_id}
    if waited.assignment_age_seconds is not None:
        evidence["assignment age (s)"] = str(round(waited.assignment_age_seconds))
    if waited.readable:
        return context.finding(
            Status.OK,
            f"The grant is {round(_age_seconds(young[0].created_on) or 0)} s old and "
            f"has taken effect: {waited.message}",
            "A grant that has taken effect.",
            evidence=evidence,
        )
    return context.finding(
        Status.WARNING,
        f"Waiting for the grant to take effect: {waited.message}",
        "A grant that has taken effect; Azure documents up to 10 minutes.",
        "Wait a few minutes and run the doctor again (or pass a longer wait); do "
        "not create another assignment.",
        evidence=evidence,
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


@check(
    "grant.principal-not-found", needs=("principal",), title="Principal in directory"
)
def check_principal_not_found(context: CheckContext) -> Finding:
    """Tell a still-replicating young identity from an ID of the wrong kind."""
    principal = context.principal
    outcome = context.outcome("directory")
    if not outcome.available:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not check: {outcome.reason}.",
            "The principal is known to the directory.",
            outcome.fix,
        )
    entry = outcome.value.get(principal.principal_id)
    created = None
    if principal.candidate is not None:
        created = identity_created_at(
            context.signed_in, principal.candidate.resource_id
        )
    age = _age_seconds(created)
    young = age is not None and age < YOUNG_IDENTITY_SECONDS
    evidence = {"principal ID": principal.principal_id}
    if age is not None:
        evidence["identity age (s)"] = str(round(age))
    replicating = entry is not None and (
        entry.get("replication_lag") or entry.get("replicated") is False
    )
    if entry is not None and not replicating:
        return context.finding(
            Status.OK,
            f"The directory knows principal {principal.principal_id} "
            f"({entry.get('type', 'unknown type')}).",
            "The principal is known to the directory.",
            evidence=evidence,
        )
    if young or (replicating and age is None):
        return context.finding(
            Status.WARNING,
            f"The identity was created {round(age or 0)} s ago and the directory "
            "has not replicated it yet, so Azure would answer PrincipalNotFound.",
            "The principal is known to the directory.",
            "Grant with the kit: it sends principalType ServicePrincipal and retries "
            "PrincipalNotFound with backoff for an identity younger than an hour.",
            evidence=evidence,
        )
    return context.finding(
        Status.FAILED,
        f"The directory has no principal {principal.principal_id}, and the identity "
        "is not new, so PrincipalNotFound is not a replication delay.",
        "The principal ID (object ID) of the identity.",
        "The ID is probably of the wrong kind: use the principal ID (object ID), not "
        "the client ID (application ID); the identity lookup shows both.",
        evidence=evidence,
    )


@check(
    "grant.update-not-permitted",
    needs=("vault", "identifier", "principal"),
    title="The kit's assignment name",
)
def check_update_not_permitted(context: CheckContext) -> Finding:
    """Fail when the kit's deterministic assignment name is taken by another grant."""
    plan = grant_plan_for(context)
    operations = context.signed_in.authorization().role_assignments
    with azure_errors("read the kit's role assignment"):
        try:
            existing = operations.get(plan.scope, plan.assignment_name)
        except ResourceNotFoundError:
            existing = None
    if existing is None:
        return context.finding(
            Status.OK,
            f"No assignment has the kit's name {plan.assignment_name} yet.",
            "The kit's name is free or holds the kit's own grant.",
        )
    record = _record(existing)
    same = (
        record.role_guid == plan.role_guid
        and record.principal_id == plan.principal_id
        and record.scope.rstrip("/").lower() == plan.scope.lower()
    )
    if same:
        return context.finding(
            Status.OK,
            f"The kit's assignment {record.assignment_id} holds the kit's grant.",
            "The kit's name is free or holds the kit's own grant.",
            evidence={"assignment ID": record.assignment_id},
        )
    return context.finding(
        Status.FAILED,
        f"The kit's assignment name {plan.assignment_name} holds {_role(record)} for "
        f"principal {record.principal_id}, not {plan.role_name} for "
        f"{plan.principal_id}; Azure would answer RoleAssignmentUpdateNotPermitted.",
        "The kit's name is free or holds the kit's own grant.",
        "Delete the stale assignment (command below) if nothing needs it, then "
        "grant again.",
        evidence={"assignment ID": record.assignment_id, "role": record.role_guid},
        commands=(f"az role assignment delete --ids {record.assignment_id}",),
    )
