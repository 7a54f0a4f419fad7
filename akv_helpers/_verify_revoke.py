"""Verify read access to one secret, and revoke the kit's role assignment.

The grant uses the same listing of a principal's role assignments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shlex
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import HttpResponseError

from akv_helpers.assignment_results import AssignmentInfo, RevokeResult, VerifyResult
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.grant_errors import classify_revoke_error
from akv_helpers.grant_plan import SCOPE_KINDS, GrantPlan, ScopeKind, shell_join
from akv_helpers.identifiers import filter_value, role_assignment_name, scope_contains
from akv_helpers.profile import Profile
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    role_allows,
    role_guid_from_definition_id,
)

__all__ = [
    "assignment_info",
    "kit_assignment_id",
    "kit_assignments_elsewhere",
    "kit_scope_kind",
    "plan_at_scope",
    "plan_for_saved_assignment",
    "revoke",
    "verify",
]


logger = logging.getLogger(__name__)

_SCOPE_WORDS: dict[ScopeKind, str] = {
    "secret": "the secret's scope",
    "vault": "the vault's scope",
}


def assignment_info(item: Any) -> AssignmentInfo:
    """Convert a role assignment returned by the SDK into an `AssignmentInfo`."""
    guid = role_guid_from_definition_id(str(item.role_definition_id))
    role = BUILTIN_ROLES.get(guid)
    return AssignmentInfo(
        assignment_id=str(item.id),
        name=str(item.name),
        scope=str(item.scope),
        role_guid=guid,
        role_name=role.name if role else None,
        principal_id=str(item.principal_id).lower(),
        principal_type=item.principal_type,
        grants_read=bool(role and role_allows(role, GET_SECRET_DATA_ACTION, data=True)),
    )


def _query_assignments(
    connection: Connection, scope: str, principal_id: str
) -> list[AssignmentInfo]:
    # "principalId eq" returns assignments at, above and below the scope, so a
    # listing at the vault also returns grants on its secrets.
    query = f"principalId eq '{filter_value(principal_id, 'principal ID')}'"
    operations = connection.authorization().role_assignments
    items = list(operations.list_for_scope(scope, filter=query))
    return [assignment_info(item) for item in items]


def _list_principal_assignments(
    connection: Connection, scope: str, principal_id: str
) -> list[AssignmentInfo]:
    with azure_errors("list the role assignments"):
        return _query_assignments(connection, scope, principal_id)


@contextlib.contextmanager
def _revoke_errors(plan: GrantPlan, action: str) -> Iterator[None]:
    """Convert SDK errors of a revoke step; AuthorizationFailed gets a hand-off."""
    with azure_errors(action):
        try:
            yield
        except HttpResponseError as exc:
            raise classify_revoke_error(exc, plan, action) from exc


def verify(connection: Connection, plan: GrantPlan) -> VerifyResult:
    """Check, with one listing at the vault's scope, that the principal can read.

    Parameters
    ----------
    connection
        Signed-in connection.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    VerifyResult
        ``granted`` is true when an assignment at the secret's scope or above
        (vault, resource group, subscription) has a role whose data actions cover
        getSecret. Propagation to the data plane can still take minutes.
    """
    listed = _list_principal_assignments(
        connection, plan.vault_scope, plan.principal_id
    )
    covering = [
        dataclasses.replace(item, covers_secret=True)
        for item in listed
        if item.grants_read
        and item.principal_id == plan.principal_id
        and scope_contains(item.scope, plan.scope)
    ]
    # Narrowest scope first, and the kit's own assignment before others there.
    covering.sort(
        key=lambda item: (-len(item.scope), item.name != plan.assignment_name)
    )
    covered_ids = {item.assignment_id for item in covering}
    others = [item for item in listed if item.assignment_id not in covered_ids]
    chosen = covering[0].assignment_id if covering else None
    return VerifyResult(bool(covering), chosen, covering + others)


def revoke(connection: Connection, plan: GrantPlan) -> RevokeResult:
    """Delete the kit's role assignment for the plan, and nothing else.

    One listing at the plan's scope, without a filter, returns every
    assignment at, above and below it. The assignment is deleted only if it
    has the kit's deterministic name and matches the plan's principal, role and
    scope. Every other assignment at the plan's scope, whoever it is for, and
    every other assignment that lets the principal read the secret, is left in
    place, and the message names each one and the reason it was left. The
    listing also shows the kit's assignment for the same principal and role at
    the plan's other scope (the vault's for a secret-scope plan, the secret's
    for a vault-scope plan): the message names it as the kit's and says that a
    revoke at that scope removes it. `plan_at_scope` gives that plan.

    Parameters
    ----------
    connection
        Signed-in connection of an operator who may delete role assignments.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    RevokeResult
        Whether the kit's assignment was deleted, and what remains.

    Raises
    ------
    InvalidIdError
        If the plan's principal ID is not a GUID; nothing is sent.
    AccessDeniedError
        If the operator may not list or delete role assignments
        (``AuthorizationFailed``); the fix hands the deletion to an
        administrator.
    AzureRequestError
        If Azure rejects the listing or the deletion for another reason.
    """
    # The plan's principal is checked before any request, as for a listing
    # filtered by it.
    filter_value(plan.principal_id, "principal ID")
    with _revoke_errors(plan, "list the role assignments"):
        operations = connection.authorization().role_assignments
        listed = [
            assignment_info(item) for item in operations.list_for_scope(plan.scope)
        ]
    own = [item for item in listed if item.name.lower() == plan.assignment_name]
    matching = [item for item in own if _matches_plan(item, plan)]
    kept = [
        item for item in listed if item not in matching and _worth_naming(item, plan)
    ]

    deleted = False
    if matching:
        with _revoke_errors(plan, "delete the role assignment"):
            operations.delete(plan.scope, plan.assignment_name)
        deleted = True
        logger.info(
            "Deleted role assignment %s (%s for principal %s at %s)",
            plan.assignment_id,
            plan.role_name,
            plan.principal_id,
            plan.scope,
        )
    return RevokeResult(
        deleted, plan.assignment_id, kept, _revoke_message(deleted, own, kept, plan)
    )


def kit_assignment_id(plan: GrantPlan, scope_kind: ScopeKind) -> str:
    """Return the ARM ID of the kit's assignment for the plan at one scope.

    Parameters
    ----------
    plan
        The plan from `plan_grant`, at either scope.
    scope_kind
        ``"secret"`` for the secret's scope, ``"vault"`` for the vault's.

    Returns
    -------
    str
        The ID that `plan_grant` gives the assignment of the plan's role to
        the plan's principal at that scope, under the kit's derived name.
    """
    scope = _kind_scope(plan, scope_kind)
    name = role_assignment_name(scope, plan.role_guid, plan.principal_id)
    return _assignment_id(scope, name)


def kit_scope_kind(item: AssignmentInfo, plan: GrantPlan) -> ScopeKind | None:
    """Tell at which of the plan's two scopes `item` is the kit's own assignment.

    Parameters
    ----------
    item
        An assignment that `revoke` or `verify` listed.
    plan
        The plan from `plan_grant`, at either scope.

    Returns
    -------
    ScopeKind or None
        ``"secret"`` or ``"vault"`` when `item` assigns the plan's role to the
        plan's principal at that scope under the kit's derived name, and
        ``None`` for any other assignment.
    """
    if item.principal_id != plan.principal_id or item.role_guid != plan.role_guid:
        return None
    for scope_kind in SCOPE_KINDS:
        scope = _kind_scope(plan, scope_kind)
        name = role_assignment_name(scope, plan.role_guid, plan.principal_id)
        if _at_scope(item, scope) and item.name.lower() == name:
            return scope_kind
    return None


def kit_assignments_elsewhere(
    kept: list[AssignmentInfo], plan: GrantPlan
) -> list[tuple[ScopeKind, AssignmentInfo]]:
    """Return the kit's assignments for the plan at its other scope.

    Parameters
    ----------
    kept
        The assignments that `revoke` left, `RevokeResult.kept`.
    plan
        The plan that `revoke` was given.

    Returns
    -------
    list of (ScopeKind, AssignmentInfo)
        Each of the kit's assignments of the plan's role to the plan's
        principal at the scope other than the plan's, with that scope.
    """
    found = [(kit_scope_kind(item, plan), item) for item in kept]
    return [
        (kind, item)
        for kind, item in found
        if kind is not None and kind != plan.scope_kind
    ]


def plan_at_scope(plan: GrantPlan, scope_kind: ScopeKind) -> GrantPlan:
    """Return the plan for the same secret, role and principal at `scope_kind`.

    The result equals the plan that `plan_grant` returns with
    ``scope=scope_kind``, and no request is sent. A plan already at that scope
    is returned as it is.
    """
    if scope_kind == plan.scope_kind:
        return plan
    scope = _kind_scope(plan, scope_kind)
    name = role_assignment_name(scope, plan.role_guid, plan.principal_id)
    # plan_grant's own command, with the other scope and the name there.
    words = shlex.split(plan.az_command)
    replacements = {"--scope": scope, "--name": name}
    for index, word in enumerate(words[:-1]):
        if word in replacements:
            words[index + 1] = replacements[word]
    az_command = shell_join(*words)
    return dataclasses.replace(
        plan,
        scope=scope,
        scope_kind=scope_kind,
        assignment_name=name,
        assignment_id=_assignment_id(scope, name),
        az_command=az_command,
    )


def plan_for_saved_assignment(plan: GrantPlan, profile: Profile) -> GrantPlan:
    """Choose the scope of a revoke from the assignment that the profile records.

    A grant saves its assignment ID in the profile. When that is the kit's
    assignment at the vault's scope, for the profile's identity and the plan's
    role, this returns the vault-scope plan, so that a revoke removes what the
    grant made. Otherwise it returns `plan` unchanged.
    """
    identity = profile.identity
    saved = profile.assignment_id
    if not (profile.assignment_created_by_kit and saved and identity):
        return plan
    if identity.principal_id.lower() != plan.principal_id.lower():
        return plan
    if saved.lower() != kit_assignment_id(plan, "vault").lower():
        return plan
    return plan_at_scope(plan, "vault")


def _kind_scope(plan: GrantPlan, scope_kind: ScopeKind) -> str:
    if scope_kind == "vault":
        return plan.vault_scope
    return plan.secret_scope or plan.scope


def _assignment_id(scope: str, name: str) -> str:
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def _at_scope(item: AssignmentInfo, scope: str) -> bool:
    return item.scope.rstrip("/").lower() == scope.rstrip("/").lower()


def _worth_naming(item: AssignmentInfo, plan: GrantPlan) -> bool:
    """Tell whether revoke reports `item` as left in place.

    These are the assignments at the plan's scope, whoever they are for, the
    kit's assignment at the plan's other scope, and the principal's other
    assignments that let it read the secret. Assignments of other principals
    above the scope, such as the operator's own, are not.
    """
    if _at_scope(item, plan.scope) or kit_scope_kind(item, plan) is not None:
        return True
    reaches_secret = scope_contains(item.scope, plan.secret_scope or plan.scope)
    return (
        item.principal_id == plan.principal_id and item.grants_read and reaches_secret
    )


def _kept_reason(item: AssignmentInfo, plan: GrantPlan) -> str:
    """Say why revoke left `item`, which is not the kit's assignment for the plan."""
    if item.name.lower() == plan.assignment_name:
        return "it has the kit's name but another principal, role or scope"
    if item.principal_id != plan.principal_id:
        return f"it is for another principal ({item.principal_id})"
    if item.role_guid != plan.role_guid:
        return (
            f"it assigns another role ({item.role_name or item.role_guid}), and "
            f"the kit only removes {plan.role_name}"
        )
    kind = kit_scope_kind(item, plan)
    if kind is not None:
        return (
            f"it is the kit's assignment at {_SCOPE_WORDS[kind]}, and this revoke "
            f"is at {_SCOPE_WORDS[plan.scope_kind]}"
        )
    if _at_scope(item, plan.scope):
        return (
            "it has the same principal, role and scope under another name, so "
            "someone else created it"
        )
    return "it is at another scope and the kit did not create it"


def _matches_plan(item: AssignmentInfo, plan: GrantPlan) -> bool:
    return (
        item.principal_id == plan.principal_id
        and item.role_guid == plan.role_guid
        and _at_scope(item, plan.scope)
    )


def _revoke_summary(
    deleted: bool,
    own: list[AssignmentInfo],
    kept: list[AssignmentInfo],
    plan: GrantPlan,
) -> str:
    """Say what revoke deleted, and where the kit's assignment for the plan is."""
    elsewhere = kit_assignments_elsewhere(kept, plan)
    if deleted:
        summary = "Deleted the kit's role assignment."
    elif own:
        summary = (
            "An assignment has the kit's name but another principal, role or scope, "
            "so the kit left it."
        )
    elif elsewhere:
        summary = (
            f"The kit's role assignment at {_SCOPE_WORDS[plan.scope_kind]} does not "
            "exist; nothing was deleted."
        )
    else:
        summary = (
            "The kit's role assignment does not exist; nothing was deleted. The kit "
            "has no role assignment left for this principal and role on the secret "
            "or its vault."
        )
    for kind, item in elsewhere:
        where = _SCOPE_WORDS[kind]
        if deleted:
            found = f"remains at {where} ({item.assignment_id})"
        else:
            found = f"is at {where} instead ({item.assignment_id})"
        summary += (
            f" The kit's assignment for this principal and role {found}. A revoke "
            f"at {where} removes it."
        )
    return summary


def _revoke_message(
    deleted: bool,
    own: list[AssignmentInfo],
    kept: list[AssignmentInfo],
    plan: GrantPlan,
) -> str:
    first = _revoke_summary(deleted, own, kept, plan)
    if not kept:
        return first
    lines = [
        f"- {item.role_name or item.role_guid} for {item.principal_id} at "
        f"{item.scope} ({item.assignment_id}): left because "
        f"{_kept_reason(item, plan)}."
        for item in kept
    ]
    readers = [
        item
        for item in kept
        if item.principal_id == plan.principal_id
        and item.grants_read
        and scope_contains(item.scope, plan.secret_scope or plan.scope)
    ]
    tail = (
        " The principal can still read the secret through the assignments for it "
        "listed here."
        if readers
        else ""
    )
    return (
        f"{first} The kit removes only the assignment it made for this principal, "
        f"role and scope, so it left {len(kept)} other assignment(s):{tail}\n"
        + "\n".join(lines)
    )
