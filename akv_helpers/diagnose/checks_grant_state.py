"""Checks of the state of the grant: orphaned, propagating, principal, name.

They warn about assignments whose principal no longer exists, wait (bounded) for
a young grant to take effect, tell a still-replicating identity from an ID of
the wrong kind, and find the kit's deterministic assignment name taken by
another grant. Like `checks_grant`, they only read.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, cast

from azure.core.exceptions import ResourceNotFoundError

from akv_helpers._text_checks import count_noun
from akv_helpers.connection import azure_errors
from akv_helpers.diagnose.checks_grant import (
    covering_assignments,
    describe_scope,
    grant_plan_for,
    identity_created_at,
    role_label,
)
from akv_helpers.diagnose.facts import AssignmentRecord
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.diagnose.shared_facts import assignment_record
from akv_helpers.grant_plan import YOUNG_IDENTITY_SECONDS, GrantPlan
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS, wait_for_access

__all__: list[str] = []


@check("grant.orphaned", needs=("scope_assignments",), title="Orphaned grants")
def check_orphaned(context: CheckContext) -> Finding:
    """Warn about assignments on the secret whose principal no longer exists."""
    listed = context.scope_assignments
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
            f"{count_noun(len(listed), 'assignment')} on the "
            f"secret's path, none orphaned {checked}.",
            "Every assignment names a principal that exists.",
        )
    text = "; ".join(
        f"{role_label(item)} for principal {item.principal_id} at "
        f"{describe_scope(item.scope)}"
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


def _plan_for_wait(context: CheckContext, young: list[AssignmentRecord]) -> GrantPlan:
    """Return the kit's plan, or one naming an equivalent young assignment.

    `wait_for_access` reads the age of the plan's assignment by its name. An
    assignment of the same role to the same principal on the same scope, made
    under another name (by the portal or Terraform), propagates the same way.
    """
    plan = grant_plan_for(context)
    names = {item.name.lower() for item in young}
    if plan.assignment_name.lower() in names:
        return plan
    for item in young:
        same = (
            item.role_guid == plan.role_guid
            and item.principal_id == plan.principal_id
            and item.scope.rstrip("/").lower() == plan.scope.lower()
        )
        if same:
            return dataclasses.replace(
                plan, assignment_name=item.name, assignment_id=item.assignment_id
            )
    return plan


def _age_seconds(created: datetime | None) -> float | None:
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - created).total_seconds()


@check("grant.propagating", needs=("assignments",), title="Grant propagation")
def check_propagating(context: CheckContext) -> Finding:
    """Warn while a grant younger than the propagation window is not in effect."""
    covering = covering_assignments(context)
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
    plan = _plan_for_wait(context, young)
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
    if waited.status == "denied":
        # Denied for a reason other than propagation, such as a disabled secret:
        # waiting does not help, and the finding of that cause has the fix.
        return context.finding(
            Status.NOT_APPLICABLE,
            f"The grant is young, but the read is denied for another reason: "
            f"{waited.message}",
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


def _own_assignments(context: CheckContext) -> list[AssignmentRecord]:
    outcome = context.outcome("assignments")
    if not outcome.available:
        return []
    principal_id = context.principal.principal_id
    records = cast("list[AssignmentRecord]", outcome.value)
    return [item for item in records if item.principal_id == principal_id]


@check(
    "grant.principal-not-found", needs=("principal",), title="Principal in directory"
)
def check_principal_not_found(context: CheckContext) -> Finding:
    """Tell a principal Azure knows from a replicating one or an unknown ID.

    The evidence that the principal exists is a role assignment Azure accepted
    for it, or its entry in the directory (simulator mode). An identity's own
    principal ID is never of the wrong kind; a young one may still replicate.
    """
    principal = context.principal
    expected = "The principal is known to the directory."
    evidence = {"principal ID": principal.principal_id}
    own = _own_assignments(context)
    if own:
        evidence["assignment ID"] = own[0].assignment_id
        return context.finding(
            Status.OK,
            f"Azure accepted a role assignment for principal "
            f"{principal.principal_id} ({own[0].assignment_id}), so the principal "
            "exists.",
            expected,
            evidence=evidence,
        )
    outcome = context.outcome("directory")
    directory = cast("dict[str, dict[str, Any]]", outcome.value or {})
    entry = directory.get(principal.principal_id)
    replicating = entry is not None and (
        bool(entry.get("replication_lag")) or entry.get("replicated") is False
    )
    if entry is not None and not replicating:
        return context.finding(
            Status.OK,
            f"The directory knows principal {principal.principal_id} "
            f"({entry.get('type', 'unknown type')}).",
            expected,
            evidence=evidence,
        )
    candidate = principal.candidate
    if candidate is None:
        return _unknown_principal(context, outcome.available, outcome.reason)

    age = _age_seconds(identity_created_at(context.signed_in, candidate.resource_id))
    if age is not None:
        evidence["identity age (s)"] = str(round(age))
    young = age is not None and age < YOUNG_IDENTITY_SECONDS
    if not young and not replicating:
        return context.finding(
            Status.OK,
            f"{principal.principal_id} is the principal ID of {candidate.name}, "
            f"created {_age_words(age)}; directory replication takes minutes.",
            expected,
            evidence=evidence,
        )
    return context.finding(
        Status.WARNING,
        f"{principal.principal_id} is the principal ID of {candidate.name}, created "
        f"{_age_words(age)}, and the directory has not replicated it yet, so a "
        "grant without principalType would fail with PrincipalNotFound.",
        expected,
        "Grant with the kit: it sends principalType ServicePrincipal, which Azure "
        "accepts before replication ends, and retries PrincipalNotFound with "
        "backoff for an identity younger than an hour.",
        evidence=evidence,
    )


def _age_words(age: float | None) -> str:
    if age is None:
        return "at an unknown time"
    if age < 3600:
        return f"{round(age)} s ago"
    return f"{round(age / 86400, 1)} days ago"


def _unknown_principal(context: CheckContext, checked: bool, reason: str) -> Finding:
    principal_id = context.principal.principal_id
    expected = "The principal is known to the directory."
    if not checked:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not check: {principal_id} matches no identity the kit can see, "
            f"and {reason}.",
            expected,
            f"Look it up: `az ad sp show --id {principal_id}`.",
            commands=(f"az ad sp show --id {principal_id}",),
        )
    return context.finding(
        Status.FAILED,
        f"{principal_id} matches no identity the kit can see and no object in the "
        "directory, so Azure would answer PrincipalNotFound and a grant to it would "
        "reach nobody.",
        expected,
        "Copy the principal ID (object ID) from the identity's overview page, or "
        "leave the identity empty to let the doctor find it.",
        evidence={"principal ID": principal_id},
        commands=(
            'az identity list --query "[].{name:name, principalId:principalId, '
            'clientId:clientId}" --output table',
        ),
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
    record = assignment_record(existing)
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
        f"The kit's assignment name {plan.assignment_name} holds "
        f"{role_label(record)} for principal {record.principal_id}, not "
        f"{plan.role_name} for {plan.principal_id}; Azure would answer "
        "RoleAssignmentUpdateNotPermitted.",
        "The kit's name is free or holds the kit's own grant.",
        "Delete the stale assignment (command below) if nothing needs it, then "
        "grant again.",
        evidence={"assignment ID": record.assignment_id, "role": record.role_guid},
        commands=(f"az role assignment delete --ids {record.assignment_id}",),
    )
