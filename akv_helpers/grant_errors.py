"""Classification of Azure's error responses to a grant, and the administrator hand-off.

Errors are classified by ``error.code``. The message text is only shown, and read
for IDs, never matched.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from azure.core.exceptions import HttpResponseError

from akv_helpers.assignment_results import GrantResult
from akv_helpers.errors import AccessDeniedError, AzureRequestError, BadRequestError
from akv_helpers.grant_plan import GrantPlan
from akv_helpers.http_errors import describe_http_error, error_codes
from akv_helpers.identifiers import validate_guid
from akv_helpers.roles import (
    BUILTIN_ROLES,
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
)

__all__ = ["GRANTING_ROLE_IDS", "classify_grant_error"]

logger = logging.getLogger(__name__)

# Roles that may write role assignments for Key Vault Secrets User, least
# privileged first.
GRANTING_ROLE_IDS = (
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
)

_GUID_IN_TEXT = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)


def _existing_assignment_id(message: str, plan: GrantPlan) -> str | None:
    # Newer Azure messages name the existing assignment; older ones do not. The
    # ID is only read from the text, the decision is made on the code.
    found = [match.replace("-", "").lower() for match in _GUID_IN_TEXT.findall(message)]
    if len(found) != 1:
        return None
    guid = validate_guid(found[0], "role assignment name")
    return f"{plan.scope}/providers/Microsoft.Authorization/roleAssignments/{guid}"


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
        raise, chosen by ``error.code``.
    """
    code, _ = error_codes(exc)
    message = exc.error.message if exc.error is not None and exc.error.message else ""
    if code == "RoleAssignmentExists":
        existing = _existing_assignment_id(str(message), plan)
        logger.debug("Azure reports an existing assignment for %s", plan.scope)
        return GrantResult("already granted", existing, created_by_kit=False)

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
        return BadRequestError(
            f"Azure rejected principal {plan.principal_id} as a ServicePrincipal "
            "(UnmatchedPrincipalType): it is a user or group, not a managed identity.",
            "Use the principal ID (object ID) of the data-plane managed identity, "
            "from the identity lookup.",
            **details,
        )
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
    return described


def _authorization_failed(plan: GrantPlan, message: str) -> tuple[str, str]:
    caller = _GUID_IN_TEXT.search(message)
    who = f"The signed-in account ({caller.group(0)})" if caller else "You"
    roles = ", ".join(BUILTIN_ROLES[guid].name for guid in GRANTING_ROLE_IDS)
    return (
        f"{who} cannot grant roles here: Azure denied "
        "Microsoft.Authorization/roleAssignments/write at "
        f"{plan.scope} (AuthorizationFailed). Nothing was created.",
        f"Any of these roles on the secret, vault, resource group or subscription "
        f"is enough, least privileged first: {roles}. Ask someone who has one to "
        f"create the assignment:\n\n{plan.admin_instructions()}",
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
