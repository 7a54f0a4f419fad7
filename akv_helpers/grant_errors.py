"""Classification of Azure's error responses to a grant, and the administrator hand-off.

Errors are classified by ``error.code``. The message text is only shown, and read
for IDs, never matched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.core.tools import parse_resource_id

from akv_helpers.assignment_results import GrantResult
from akv_helpers.errors import AccessDeniedError, AzureRequestError, BadRequestError
from akv_helpers.grant_plan import PRINCIPAL_TYPE, GrantPlan, shell_join
from akv_helpers.http_errors import describe_http_error, error_codes
from akv_helpers.identifiers import validate_guid
from akv_helpers.roles import (
    BUILTIN_ROLES,
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
)
from akv_helpers.steps import step_place

__all__ = [
    "GRANTING_ROLE_IDS",
    "caller_object_id",
    "classify_grant_error",
    "classify_revoke_error",
]

logger = logging.getLogger(__name__)

# Roles that may write role assignments for Key Vault Secrets User, least
# privileged first.
GRANTING_ROLE_IDS = (
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
)

# Azure's AuthorizationFailed message: "The client '<id>' with object id '<id>'
# does not have authorization ...". For a service principal the first ID is its
# application (client) ID, so only the ID after "with object id" is the caller's.
_CALLER_OBJECT_ID = re.compile(
    r"with object id '?([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?"
    r"[0-9a-f]{12})",
    re.IGNORECASE,
)


def classify_grant_error(
    exc: HttpResponseError, plan: GrantPlan
) -> GrantResult | AzureRequestError:
    """Turn an error response to the grant's PUT into a result or a kit error.

    Parameters
    ----------
    exc
        Error raised by ``role_assignments.create``.
    plan
        The plan that was sent.

    Returns
    -------
    GrantResult or AzureRequestError
        ``"already granted"`` for ``RoleAssignmentExists``; otherwise the error to
        raise, chosen by ``error.code``. An error the kit has no specific fix for
        gets a fix that hands the error code and the request ID to an
        administrator.
    """
    code, _ = error_codes(exc)
    message = exc.error.message if exc.error is not None and exc.error.message else ""
    if code == "RoleAssignmentExists":
        # The message may name the principal, the subscription or the existing
        # assignment, so no ID is taken from it; `grant` lists the assignments.
        logger.debug("Azure reports an existing assignment for %s", plan.scope)
        return GrantResult("already granted", None, created_by_kit=False)

    described = describe_http_error(exc, "create the role assignment")
    details: dict[str, Any] = {
        "status": described.status,
        "code": described.code,
        "inner_code": described.inner_code,
        "request_id": described.request_id,
    }
    if code == "AuthorizationFailed":
        return AccessDeniedError(*_authorization_failed(plan, str(message)), **details)
    if code == "PrincipalNotFound":
        return BadRequestError(*_principal_not_found(plan), **details)
    if code == "UnmatchedPrincipalType":
        return BadRequestError(*_unmatched_principal_type(plan), **details)
    if code == "RoleAssignmentUpdateNotPermitted":
        return BadRequestError(
            f"An assignment named {plan.assignment_name} already exists at "
            f"{plan.scope} with another role or principal, and Azure does not let "
            "an assignment change (RoleAssignmentUpdateNotPermitted).",
            "Inspect it with `az role assignment list --scope "
            f"{plan.scope}`, delete it if it is stale (`az role assignment delete "
            f"--ids {plan.assignment_id}`), then grant again.",
            **details,
        )
    return _with_fix(described, code, plan)


def caller_object_id(message: str) -> str | None:
    """Return the caller's object ID from an ``AuthorizationFailed`` message.

    Only the ID after "with object id" is taken, because a service principal's
    message names its application ID first. Returns ``None`` when the message
    has no such ID.
    """
    found = _CALLER_OBJECT_ID.search(message)
    if found is None:
        return None
    return validate_guid(found.group(1), "object ID")


def _roles_that_suffice() -> str:
    return ", ".join(BUILTIN_ROLES[guid].name for guid in GRANTING_ROLE_IDS)


def _authorization_failed(plan: GrantPlan, message: str) -> tuple[str, str]:
    # The scope is quoted from the plan: Azure's message can be long, and the
    # kit shortens long messages, which could cut it in the middle of the scope.
    caller = caller_object_id(message)
    who = f"The signed-in account ({caller})" if caller else "You"
    return (
        f"{who} cannot grant roles here: Azure denied "
        "Microsoft.Authorization/roleAssignments/write at "
        f"{plan.scope} (AuthorizationFailed). Nothing was created.",
        f"Any of these roles on the secret, vault, resource group or subscription "
        f"is enough, least privileged first: {_roles_that_suffice()}. Ask someone "
        f"who has one to create the assignment:\n\n{plan.admin_instructions()}",
    )


def classify_revoke_error(
    exc: HttpResponseError, plan: GrantPlan, action: str
) -> AzureRequestError:
    """Turn an error response to the revoke's listing or DELETE into a kit error.

    Parameters
    ----------
    exc
        Error raised by ``role_assignments.list_for_scope`` or ``delete``.
    plan
        The plan whose assignment is revoked.
    action
        What the kit was doing, such as ``"delete the role assignment"``.

    Returns
    -------
    AzureRequestError
        For ``AuthorizationFailed``, an `AccessDeniedError` whose fix hands the
        deletion to an administrator; otherwise the error chosen by
        ``error.code``.
    """
    code, _ = error_codes(exc)
    described = describe_http_error(exc, action)
    if code != "AuthorizationFailed":
        return described
    message = exc.error.message if exc.error is not None and exc.error.message else ""
    caller = caller_object_id(str(message))
    who = f"The signed-in account ({caller})" if caller else "You"
    return AccessDeniedError(
        f"{who} cannot remove role assignments here: Azure denied the request to "
        f"{action} at {plan.scope} (AuthorizationFailed). Nothing was deleted.",
        f"Any of these roles on the secret, vault, resource group or subscription "
        f"is enough, least privileged first: {_roles_that_suffice()}. Ask someone "
        f"who has one to delete the assignment:\n\n"
        f"{plan.admin_revoke_instructions()}",
        status=described.status,
        code=described.code,
        inner_code=described.inner_code,
        request_id=described.request_id,
    )


def _principal_not_found(plan: GrantPlan) -> tuple[str, str]:
    found = (
        f"Azure found no principal {plan.principal_id} in the directory "
        "(PrincipalNotFound)."
    )
    wrong_kind = (
        "The ID is probably of the wrong kind: use the identity's principal ID "
        "(object ID), not its client ID (application ID), which workload identity "
        "uses. The identity lookup shows both."
    )
    young = plan.principal_is_young()
    age = plan.principal_age_seconds()
    if young is None:
        return (
            found,
            "If the identity was created in the last few minutes, the directory has "
            f"not replicated it yet: wait a minute and grant again. Otherwise: "
            f"{wrong_kind}",
        )
    if young:
        return (
            f"{found} The identity is {_minutes(age)} old, so the directory may "
            "still be replicating it; the kit retried with backoff and Azure "
            "still did not know it.",
            "Wait a few minutes and grant again; nothing was created.",
        )
    return (
        f"{found} The identity is {_minutes(age)} old, long enough to be known to "
        "the directory, so the kit did not retry.",
        wrong_kind,
    )


def _minutes(age: float | None) -> str:
    minutes = int((age or 0) // 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes >= 120:
        return f"{minutes // 60} hours"
    return "less than a minute" if minutes < 1 else f"{minutes} minutes"


def _unmatched_principal_type(plan: GrantPlan) -> tuple[str, str]:
    return (
        f"Azure rejected principal {plan.principal_id} as a {PRINCIPAL_TYPE} "
        "(UnmatchedPrincipalType): it is a user or group, not a managed identity. "
        "Nothing was created.",
        "The kit assigns roles only to service principals, and the Flyte task "
        "reads the secret as the data-plane managed identity, so grant that "
        "identity: use its principal ID (object ID), which `akv-onboard "
        f"find-identity` and {step_place('identity')} show. To give a user or "
        "group access instead, assign the role outside the kit with `az role "
        "assignment create --assignee-principal-type User` (or `Group`).",
    )


def _scope_parts(plan: GrantPlan) -> tuple[str, str]:
    """Return the subscription ID and resource group of the plan's vault."""
    parts = parse_resource_id(plan.vault_scope)
    return str(parts.get("subscription", "")), str(parts.get("resource_group", ""))


def _scope_locked(plan: GrantPlan) -> tuple[str, str]:
    subscription, group = _scope_parts(plan)
    command = shell_join(
        "az", "lock", "list", "--resource-group", group, "--subscription", subscription
    )
    return (
        f"A resource lock on {plan.scope} or a scope above it blocks the role "
        "assignment, so nothing was created.",
        "A lock applies to everyone, whatever their roles. Someone who may manage "
        "locks (of the built-in roles, Owner and User Access Administrator) must "
        "remove the lock that Azure's message names, or you grant again once it "
        "is lifted, for example in a maintenance window. List the locks of the "
        f"resource group with:\n\n{command}",
    )


def _disallowed_by_policy(plan: GrantPlan) -> tuple[str, str]:
    return (
        f"An Azure Policy assignment denies the role assignment at {plan.scope}, "
        "so nothing was created.",
        "An Azure administrator must exempt this scope from the policy assignment "
        "that Azure's message names (a policy exemption can cover a single "
        "resource), or change the policy. Then grant again.",
    )


def _linked_authorization_failed(plan: GrantPlan) -> tuple[str, str]:
    return (
        f"Azure allows you to write the role assignment at {plan.scope}, but "
        "denied an action on a linked scope that the request refers to, so "
        "nothing was created.",
        "Azure's message names the action and the linked scope. Ask an Azure "
        "administrator for that action on the linked scope, or ask them to create "
        f"the assignment:\n\n{plan.admin_instructions()}",
    )


def _limit_exceeded(plan: GrantPlan) -> tuple[str, str]:
    subscription, _ = _scope_parts(plan)
    count = shell_join(
        "az",
        "role",
        "assignment",
        "list",
        "--all",
        "--subscription",
        subscription,
        "--query",
        "length(@)",
    )
    # Azure documents a fixed limit of 4000 role assignments per subscription,
    # counting those at subscription, resource group and resource scopes but
    # not at management groups ("Troubleshoot Azure RBAC limits", Microsoft Learn).
    return (
        f"Subscription {subscription} has reached Azure's limit of 4000 role "
        "assignments, so nothing was created.",
        "The limit cannot be raised. An administrator must remove role "
        "assignments nobody uses, or replace several assignments of one role "
        "with a single assignment to a group, before you grant again. Count the "
        f"assignments in the subscription with:\n\n{count}",
    )


def _invalid_principal_id(plan: GrantPlan) -> tuple[str, str]:
    return (
        f"The principal ID {plan.principal_id} is invalid for a role assignment, "
        "so nothing was created.",
        "Use the principal ID (object ID) of the data-plane managed identity, a "
        "GUID that `akv-onboard find-identity` and "
        f"{step_place('identity')} show, and grant again.",
    )


# Fixes for the other error codes of the grant's PUT. Each function returns the
# sentence put before Azure's message, and the fix.
_EXPLAINED_CODES: dict[str, Callable[[GrantPlan], tuple[str, str]]] = {
    "ScopeLocked": _scope_locked,
    "RequestDisallowedByPolicy": _disallowed_by_policy,
    "LinkedAuthorizationFailed": _linked_authorization_failed,
    "RoleAssignmentLimitExceeded": _limit_exceeded,
    "InvalidPrincipalId": _invalid_principal_id,
}


def _administrator_fix(described: AzureRequestError) -> str:
    """Return the hand-off to an administrator for an error the kit cannot fix."""
    if described.code:
        details = f"the error code {described.code}"
    else:
        details = f"the HTTP status {described.status or 'unknown'}"
    if described.request_id:
        details += f", the request ID {described.request_id}"
    return (
        f"The kit has no specific fix for this error. Send {details} and the "
        "message above to an Azure administrator, or to Azure support."
    )


def _with_fix(
    described: AzureRequestError, code: str | None, plan: GrantPlan
) -> AzureRequestError:
    """Return `described` with the fix for its code, keeping its class and codes."""
    explain = _EXPLAINED_CODES.get(code or "")
    if explain is not None:
        lead, fix = explain(plan)
        message = f"{lead} {described.message}"
    else:
        message, fix = described.message, described.fix
        fix = fix or _administrator_fix(described)
    return type(described)(
        message,
        fix,
        status=described.status,
        code=described.code,
        inner_code=described.inner_code,
        request_id=described.request_id,
    )
