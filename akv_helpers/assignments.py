"""Grant, verify and revoke read access to one secret with an Azure role assignment.

The kit names its assignment with `akv_helpers.identifiers.role_assignment_name`,
a UUIDv5 over scope, role and principal, so a repeated grant is the same PUT and
Azure returns 200 instead of creating a duplicate. Azure errors are classified by
``error.code``; the message text is only shown, never matched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers.assignment_results import (
    AssignmentInfo,
    GrantResult,
    OnboardingResult,
    RevokeResult,
    VerifyResult,
)
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.errors import AzureRequestError, InvalidInputError
from akv_helpers.grant_errors import (
    GRANTING_ROLE_IDS,
    classify_grant_error,
    classify_revoke_error,
)
from akv_helpers.grant_plan import (
    PRINCIPAL_TYPE,
    SECRET_WRITE_DATA_ACTIONS,
    GrantPlan,
    ScopeKind,
    plan_grant,
)
from akv_helpers.identifiers import (
    SecretIdentifier,
    filter_value,
    parse_secret_identifier,
    scope_contains,
    validate_guid,
)
from akv_helpers.retry_policies import RETRY_PRINCIPAL_NOT_FOUND
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    SECRETS_USER_ROLE_ID,
    role_allows,
    role_guid_from_definition_id,
)
from akv_helpers.vaults import (
    find_vault,
    get_secret_info,
    grant_notes,
    require_rbac,
)

__all__ = [
    "GRANTING_ROLE_IDS",
    "PRINCIPAL_TYPE",
    "SECRET_WRITE_DATA_ACTIONS",
    "AssignmentInfo",
    "GrantPlan",
    "GrantResult",
    "OnboardingResult",
    "RevokeResult",
    "VerifyResult",
    "classify_grant_error",
    "grant",
    "onboard_secret",
    "plan_grant",
    "revoke",
    "verify",
]

logger = logging.getLogger(__name__)


def _status_and_body(pipeline_response: Any, deserialized: Any, _: Any) -> Any:
    return pipeline_response.http_response.status_code, deserialized


def _create(connection: Connection, plan: GrantPlan) -> tuple[int, Any] | None:
    """Send the PUT; return its status and body, or None for RoleAssignmentExists."""
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=plan.role_definition_id,
        principal_id=plan.principal_id,
        principal_type=PRINCIPAL_TYPE,
    )
    operations = connection.authorization().role_assignments
    # Only a young identity can be missing from the directory because it is
    # still replicating; for an older one PrincipalNotFound means a wrong ID.
    retry = {RETRY_PRINCIPAL_NOT_FOUND: True} if plan.principal_is_young() else {}
    with azure_errors("create the role assignment"):
        try:
            created: tuple[int, Any] = operations.create(
                plan.scope,
                plan.assignment_name,
                parameters,
                cls=_status_and_body,
                **retry,
            )
        except HttpResponseError as exc:
            outcome = classify_grant_error(exc, plan)
            if isinstance(outcome, GrantResult):
                return None
            raise outcome from exc
    return created


def _existing_assignment(connection: Connection, plan: GrantPlan) -> GrantResult:
    """Find, by listing, the assignment that Azure reported as existing.

    ``RoleAssignmentExists`` means an assignment with the plan's scope, role and
    principal exists under another name. The ID comes from the listing, never
    from the error message.
    """
    try:
        listed = _list_principal_assignments(connection, plan.scope, plan.principal_id)
    except AzureRequestError as error:
        logger.warning(
            "Azure reports an existing assignment at %s, but listing it failed: %s",
            plan.scope,
            error.message,
        )
        return GrantResult("already granted", None, created_by_kit=False)
    same = [item for item in listed if _matches_plan(item, plan)]
    if not same:
        logger.warning(
            "Azure reports an existing assignment at %s, but the listing of "
            "principal %s returned none with role %s there",
            plan.scope,
            plan.principal_id,
            plan.role_guid,
        )
        return GrantResult("already granted", None, created_by_kit=False)
    found = same[0]
    own = found.name.lower() == plan.assignment_name
    logger.debug("The existing assignment is %s", found.assignment_id)
    return GrantResult("already granted", found.assignment_id, created_by_kit=own)


def grant(connection: Connection, plan: GrantPlan) -> GrantResult:
    """Create the planned role assignment with one PUT.

    Parameters
    ----------
    connection
        Signed-in connection of an operator who may write role assignments.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    GrantResult
        ``"granted"`` for a new assignment (201), ``"already granted"`` when the
        kit's assignment exists (200) or Azure reports ``RoleAssignmentExists``.
        For the latter, one listing finds the existing assignment's ID; it is
        ``None`` when the listing does not return it.

    Raises
    ------
    AccessDeniedError
        If the operator may not write role assignments (``AuthorizationFailed``).
    BadRequestError
        For ``PrincipalNotFound``, ``UnmatchedPrincipalType`` and
        ``RoleAssignmentUpdateNotPermitted``. ``PrincipalNotFound`` for an
        identity younger than an hour (``plan.principal_created_at``) is first
        retried with backoff by the client's retry policy.
    AzureRequestError
        For any other error response.
    """
    created = _create(connection, plan)
    if created is None:
        return _existing_assignment(connection, plan)

    status, assignment = created
    assignment_id = str(getattr(assignment, "id", None) or plan.assignment_id)
    if status == 201:
        logger.info(
            "Assigned role %s to principal %s at %s: %s",
            plan.role_name,
            plan.principal_id,
            plan.scope,
            assignment_id,
        )
        return GrantResult("granted", assignment_id, created_by_kit=True)
    logger.debug("The kit's role assignment %s already exists", assignment_id)
    return GrantResult("already granted", assignment_id, created_by_kit=True)


def _assignment_info(item: Any) -> AssignmentInfo:
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
    return [_assignment_info(item) for item in items]


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
    place; the message names each one and the reason it was left.

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
            _assignment_info(item) for item in operations.list_for_scope(plan.scope)
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


def _at_scope(item: AssignmentInfo, scope: str) -> bool:
    return item.scope.rstrip("/").lower() == scope.rstrip("/").lower()


def _worth_naming(item: AssignmentInfo, plan: GrantPlan) -> bool:
    """Tell whether revoke reports `item` as left in place.

    These are the assignments at the plan's scope, whoever they are for, and
    the principal's other assignments that let it read the secret. Assignments
    of other principals above the scope, such as the operator's own, are not.
    """
    if _at_scope(item, plan.scope):
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


def _revoke_message(
    deleted: bool,
    own: list[AssignmentInfo],
    kept: list[AssignmentInfo],
    plan: GrantPlan,
) -> str:
    if deleted:
        first = "Deleted the kit's role assignment."
    elif own:
        first = (
            "An assignment has the kit's name but another principal, role or scope, "
            "so the kit left it."
        )
    else:
        first = "The kit's role assignment does not exist; nothing was deleted."
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


def onboard_secret(
    connection: Connection,
    identifier: SecretIdentifier | str,
    principal_id: str,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
    scope: ScopeKind = "secret",
    principal_created_at: datetime | None = None,
) -> OnboardingResult:
    """Grant a principal read access to one secret and verify it, in four requests.

    The steps: find the vault, check that it uses Azure RBAC, check the secret,
    create the role assignment, list the principal's assignments. The notes of
    `akv_helpers.vaults.grant_notes` add one data-plane request when the
    identifier pins a version other than the current one.

    Parameters
    ----------
    connection
        Signed-in connection.
    identifier
        Secret identifier, parsed or as pasted from the portal.
    principal_id
        Principal ID (object ID) of the identity.
    role
        Role definition GUID; defaults to Key Vault Secrets User.
    allow_write_roles
        Whether a role that can change or delete secrets is accepted.
    scope
        ``"secret"`` (the default) or ``"vault"``, which covers every secret in
        the vault, current and future.
    principal_created_at
        When the identity was created (`IdentityCandidate.created_at`); for an
        identity younger than an hour, ``PrincipalNotFound`` is retried.

    Raises
    ------
    KitError
        From any step; nothing is created when a check before the grant fails.
    """
    if isinstance(identifier, str):
        identifier = parse_secret_identifier(identifier)
    principal = validate_guid(principal_id, "principal ID")
    if connection.mode == "azure" and identifier.cloud.name != connection.cloud.name:
        raise InvalidInputError(
            f"The secret identifier is in {identifier.cloud.name}, but the kit is "
            f"signed in to {connection.cloud.name}.",
            f"Set the profile's cloud to {identifier.cloud.name} and sign in again.",
            value=identifier.original,
            expected=f"a vault in {connection.cloud.name}",
        )
    vault = find_vault(connection, identifier.vault_name)
    require_rbac(vault, principal)
    secret = get_secret_info(connection, vault, identifier.name)
    plan = plan_grant(
        vault.subscription_id or connection.subscription_id,
        vault,
        identifier.name,
        principal,
        role=role,
        allow_write_roles=allow_write_roles,
        scope=scope,
        principal_created_at=principal_created_at,
    )
    granted = grant(connection, plan)
    verification = verify(connection, plan)
    if granted.assignment_id is None and verification.assignment_id is not None:
        granted = GrantResult(
            granted.status, verification.assignment_id, granted.created_by_kit
        )
    notes = grant_notes(connection, identifier, vault, secret)
    return OnboardingResult(vault, secret, plan, granted, verification, notes)
