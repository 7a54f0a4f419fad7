"""Grant, verify and revoke read access to one secret with an Azure role assignment.

The kit names its assignment with `akv_helpers.identifiers.role_assignment_name`,
a UUIDv5 over scope, role and principal, so a repeated grant is the same PUT and
Azure returns 200 instead of creating a duplicate. Azure errors are classified by
``error.code``; the message text is only shown, never matched.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers._verify_revoke import (
    _list_principal_assignments,
    _matches_plan,
    revoke,
    verify,
)
from akv_helpers.assignment_results import (
    AssignmentInfo,
    GrantResult,
    OnboardingResult,
    RevokeResult,
    VerifyResult,
)
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.errors import AzureRequestError
from akv_helpers.grant_errors import GRANTING_ROLE_IDS, classify_grant_error
from akv_helpers.grant_plan import (
    PRINCIPAL_TYPE,
    SECRET_WRITE_DATA_ACTIONS,
    GrantPlan,
    ScopeKind,
    plan_grant,
)
from akv_helpers.identifiers import (
    SecretIdentifier,
    parse_secret_identifier,
    require_cloud,
    validate_guid,
)
from akv_helpers.retry_policies import RETRY_PRINCIPAL_NOT_FOUND
from akv_helpers.roles import SECRETS_USER_ROLE_ID
from akv_helpers.vaults import find_vault, get_secret_info, grant_notes, require_rbac

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
        If the operator may not write role assignments (``AuthorizationFailed``),
        an Azure Policy denies the assignment (``RequestDisallowedByPolicy``) or
        the operator lacks an action on a linked scope
        (``LinkedAuthorizationFailed``).
    BadRequestError
        For ``PrincipalNotFound``, ``UnmatchedPrincipalType``,
        ``InvalidPrincipalId``, ``RoleAssignmentLimitExceeded`` and
        ``RoleAssignmentUpdateNotPermitted``. ``PrincipalNotFound`` for an
        identity younger than an hour (``plan.principal_created_at``) is first
        retried with backoff by the client's retry policy.
    ConflictError
        If a resource lock blocks the assignment (``ScopeLocked``).
    AzureRequestError
        For any other error response. Its fix hands the error code and the
        request ID to an administrator.
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
    # The simulator serves the public cloud, so the check applies in both modes.
    require_cloud(identifier, connection.cloud.name)
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
