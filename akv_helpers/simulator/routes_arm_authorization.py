"""ARM routes for role assignments and role definitions (Microsoft.Authorization)."""

from __future__ import annotations

import re
import time
from typing import Any

from ..roles import (
    BUILTIN_ROLES,
    ROLE_ASSIGNMENT_DELETE_ACTION,
    ROLE_ASSIGNMENT_WRITE_ACTION,
    RoleDefinition,
    role_definition_id,
    role_guid_from_definition_id,
)
from . import rbac
from .armcore import ArmError, ArmRequest, decode_filter
from .seed import iso_time

Json = dict[str, Any]

ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
ASSIGNMENT_READ = "Microsoft.Authorization/roleAssignments/read"
DEFINITION_READ = "Microsoft.Authorization/roleDefinitions/read"
_PROVIDER = "/providers/Microsoft.Authorization"
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _display_scope(scope: str) -> str:
    return scope if scope else "/"


def assignment_body(assignment: Json) -> Json:
    """Render a role assignment as ARM 2022-04-01 returns it."""
    created = iso_time(float(assignment["created_at"]))
    scope = assignment["scope"]
    prefix = "" if scope == "/" else scope
    return {
        "id": f"{prefix}{_PROVIDER}/roleAssignments/{assignment['name']}",
        "name": assignment["name"],
        "type": ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": assignment["role_definition_id"],
            "principalId": assignment["principal_id"],
            "principalType": assignment["principal_type"],
            "scope": scope,
            "condition": assignment.get("condition"),
            "conditionVersion": assignment.get("condition_version"),
            "createdOn": created,
            "updatedOn": iso_time(
                float(assignment.get("updated_at") or assignment["created_at"])
            ),
            "createdBy": assignment.get("created_by"),
            "updatedBy": assignment.get("created_by"),
            "delegatedManagedIdentityResourceId": None,
            "description": assignment.get("description"),
        },
    }


def definition_body(role: RoleDefinition, subscription_id: str | None) -> Json:
    """Render a built-in role definition, tenant- or subscription-level."""
    permission: Json = {
        "actions": list(role.actions),
        "notActions": list(role.not_actions),
        "dataActions": list(role.data_actions),
        "notDataActions": list(role.not_data_actions),
    }
    if role.condition is not None:
        permission["condition"] = role.condition
        permission["conditionVersion"] = role.condition_version
    return {
        "id": role_definition_id(role.id, subscription_id),
        "name": role.id,
        "type": DEFINITION_TYPE,
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [permission],
            "createdBy": None,
            "updatedBy": None,
        },
    }


def _find_by_name(request: ArmRequest, name: str) -> Json | None:
    for assignment in request.world.role_assignments:
        if assignment["name"].lower() == name.lower():
            return assignment
    return None


def _check_scope_exists(request: ArmRequest, scope: str) -> None:
    """Raise 404 when the scope names a missing subscription, group or resource."""
    parts = [p for p in scope.split("/") if p]
    if not parts:
        return
    if parts[0].lower() != "subscriptions" or len(parts) < 2:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
    request.check_subscription(parts[1])
    if len(parts) < 4:
        return
    group = parts[3]
    request.check_resource_group(parts[1], group)
    rest = [p.lower() for p in parts[4:]]
    if len(rest) >= 4 and rest[:3] == ["providers", "microsoft.keyvault", "vaults"]:
        vault = request.world.vault(parts[7], group)
        if vault is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.KeyVault/vaults/{parts[7]}' under resource "
                f"group '{group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        secret_missing = (
            len(rest) >= 6
            and rest[4] == "secrets"
            and request.world.secret(vault, parts[9]) is None
        )
        if secret_missing:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.KeyVault/vaults/{parts[7]}/secrets/"
                f"{parts[9]}' under resource group '{group}' was not found.",
            )


def get_assignment(request: ArmRequest) -> tuple[int, Json]:
    """GET {scope}/providers/Microsoft.Authorization/roleAssignments/{name}."""
    scope, name = _display_scope(request.params["scope"]), request.params["name"]
    request.require(ASSIGNMENT_READ, scope)
    assignment = _find_by_name(request, name)
    if assignment is None or rbac.normalize_scope(
        assignment["scope"]
    ) != rbac.normalize_scope(scope):
        raise ArmError(
            404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found."
        )
    return 200, assignment_body(assignment)


def delete_assignment(request: ArmRequest) -> tuple[int, Json | None]:
    """DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}."""
    scope, name = _display_scope(request.params["scope"]), request.params["name"]
    assignment = _find_by_name(request, name)
    if assignment is None or rbac.normalize_scope(
        assignment["scope"]
    ) != rbac.normalize_scope(scope):
        request.require(ROLE_ASSIGNMENT_DELETE_ACTION, scope, role_guid="")
        return 204, None
    role_guid = role_guid_from_definition_id(assignment["role_definition_id"])
    request.require(ROLE_ASSIGNMENT_DELETE_ACTION, scope, role_guid=role_guid)
    request.world.role_assignments.remove(assignment)
    request.world.save()
    return 200, assignment_body(assignment)


def _principal_not_found(request: ArmRequest, principal_id: str) -> ArmError:
    # Azure prints the principal ID without hyphens and the tenant ID with them.
    compact = principal_id.replace("-", "").lower()
    tenant = request.world.tenant_id
    return ArmError(
        400,
        "PrincipalNotFound",
        f"Principal {compact} does not exist in the directory {tenant}. Check that you "
        "have the correct principal ID. If you are creating this principal and then "
        "immediately assigning a role, this error might be related to a replication "
        "delay. In this case, set the role assignment principalType property to a "
        "value, such as ServicePrincipal, User, or Group.  See "
        "https://aka.ms/docs-principaltype",
    )


def _still_replicating(
    request: ArmRequest, principal: Json, principal_type: Any
) -> bool:
    """Count down the writes that a principal's replication lag rejects.

    A principal with ``replication_lag`` "all" rejects every write, and one with
    "without-service-principal" rejects only writes whose principalType is not
    ServicePrincipal, until ``replication_attempts_remaining`` writes have failed.
    """
    lag = principal.get("replication_lag")
    if lag is None:
        return False
    typed = str(principal_type or "").lower() == "serviceprincipal"
    if lag != "all" and typed:
        return False
    config = request.world.config
    remaining = int(config.get("replication_attempts_remaining", 2))
    if remaining <= 0:
        return False
    config["replication_attempts_remaining"] = remaining - 1
    request.world.save()
    return True


def create_assignment(request: ArmRequest) -> tuple[int, Json]:
    """PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}."""
    scope, name = _display_scope(request.params["scope"]), request.params["name"]
    body = request.body if isinstance(request.body, dict) else {}
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(
            400, "InvalidRequestContent", "The request content is missing 'properties'."
        )
    definition_id = str(properties.get("roleDefinitionId") or "")
    principal_id = str(properties.get("principalId") or "")
    principal_type = properties.get("principalType")
    role_guid = role_guid_from_definition_id(definition_id) if definition_id else ""

    request.require(ROLE_ASSIGNMENT_WRITE_ACTION, scope, role_guid=role_guid)
    if not _GUID.fullmatch(name):
        raise ArmError(
            400,
            "InvalidRoleAssignmentId",
            f"The role assignment ID '{name}' is not valid. The role assignment ID "
            "must be a GUID.",
        )
    if role_guid not in BUILTIN_ROLES:
        raise ArmError(
            400,
            "RoleDefinitionDoesNotExist",
            f"The specified role definition with ID '{role_guid}' does not exist.",
        )
    if not _GUID.fullmatch(principal_id):
        raise ArmError(
            400,
            "InvalidPrincipalId",
            f"The principal ID '{principal_id}' is not valid.",
        )
    _check_scope_exists(request, scope)

    existing = _find_by_name(request, name)
    if existing is not None:
        same = (
            rbac.normalize_scope(existing["scope"]) == rbac.normalize_scope(scope)
            and role_guid_from_definition_id(existing["role_definition_id"])
            == role_guid
            and existing["principal_id"].lower() == principal_id.lower()
        )
        if not same:
            raise ArmError(
                400,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to "
                "be updated.",
            )
        return 200, assignment_body(existing)

    principal = request.world.principal(principal_id)
    if principal is None or (
        not principal.get("replicated", True) and not principal_type
    ):
        raise _principal_not_found(request, principal_id)
    if _still_replicating(request, principal, principal_type):
        raise _principal_not_found(request, principal_id)
    actual_type = principal["type"]
    if principal_type and str(principal_type).lower() != actual_type.lower():
        raise ArmError(
            400,
            "UnmatchedPrincipalType",
            f"The PrincipalId '{principal_id.replace('-', '')}' has type "
            f"'{actual_type}' , which is different from specified PrincipalType "
            f"'{principal_type}'.",
        )
    for other in request.world.role_assignments:
        if (
            rbac.normalize_scope(other["scope"]) == rbac.normalize_scope(scope)
            and role_guid_from_definition_id(other["role_definition_id"]) == role_guid
            and other["principal_id"].lower() == principal_id.lower()
        ):
            raise ArmError(
                409, "RoleAssignmentExists", "The role assignment already exists."
            )

    now = time.time()
    assignment: Json = {
        "name": name.lower(),
        "scope": scope,
        "role_definition_id": definition_id,
        "principal_id": principal_id.lower(),
        "principal_type": actual_type,
        "description": properties.get("description"),
        "condition": properties.get("condition"),
        "condition_version": properties.get("conditionVersion"),
        "created_at": now,
        "updated_at": now,
        "created_by": request.principal_id,
        "seeded": False,
    }
    request.world.role_assignments.append(assignment)
    request.world.save()
    return 201, assignment_body(assignment)


_PRINCIPAL_FILTER = re.compile(r"principalId\s+eq\s+'([^']*)'", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"assignedTo\('([^']*)'\)", re.IGNORECASE)
_AT_SCOPE = re.compile(r"atScope\(\)", re.IGNORECASE)


def _unsupported(text: str) -> ArmError:
    # NOTE: the code and wording for a rejected filter combination follow observed
    # Azure answers; Azure documents only that the filters cannot be combined.
    return ArmError(
        400,
        "UnsupportedQuery",
        f"The filter '{text}' is not supported. Supported filters are either "
        "'atScope()' or 'principalId eq '{value}'' or 'assignedTo('{value}')'.",
    )


def list_assignments(request: ArmRequest) -> tuple[int, Json]:
    """GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=...]."""
    scope = _display_scope(request.params["scope"])
    request.require(ASSIGNMENT_READ, scope)
    text = decode_filter(request.query.get("$filter")) or ""
    at_scope = bool(_AT_SCOPE.search(text))
    principal_match = _PRINCIPAL_FILTER.search(text)
    assigned_match = _ASSIGNED_TO.search(text)
    recognised = _ASSIGNED_TO.sub(
        "", _PRINCIPAL_FILTER.sub("", _AT_SCOPE.sub("", text))
    )
    if re.sub(r"\band\b", "", recognised, flags=re.IGNORECASE).strip():
        raise _unsupported(text)
    if principal_match and (at_scope or assigned_match):
        raise _unsupported(text)
    principal_filter = principal_match or assigned_match
    principal = principal_filter.group(1).lower() if principal_filter else None
    if principal is not None and not _GUID.fullmatch(principal):
        raise ArmError(
            400, "InvalidPrincipalId", f"The principal ID '{principal}' is not valid."
        )

    selected = []
    for assignment in request.world.role_assignments:
        above = rbac.scope_covers(assignment["scope"], scope)
        below = rbac.scope_covers(scope, assignment["scope"])
        if not (above or (below and not at_scope)):
            continue
        if principal is not None and assignment["principal_id"].lower() != principal:
            continue
        selected.append(assignment)
    selected.sort(key=lambda a: (rbac.normalize_scope(a["scope"]), a["name"]))
    return 200, request.page([assignment_body(a) for a in selected])


def get_definition(request: ArmRequest) -> tuple[int, Json]:
    """GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}."""
    scope = request.params["scope"]
    guid = request.params["name"].lower()
    subscription = _subscription_of(request, scope)
    role = BUILTIN_ROLES.get(guid)
    if role is None:
        raise ArmError(
            404,
            "RoleDefinitionDoesNotExist",
            f"The role definition '{guid}' does not exist.",
        )
    return 200, definition_body(role, subscription)


def list_definitions(request: ArmRequest) -> tuple[int, Json]:
    """GET {scope}/providers/Microsoft.Authorization/roleDefinitions[?$filter=...]."""
    scope = request.params["scope"]
    subscription = _subscription_of(request, scope)
    text = decode_filter(request.query.get("$filter")) or ""
    roles = sorted(BUILTIN_ROLES.values(), key=lambda r: r.name.lower())
    if text:
        name_match = re.fullmatch(r"roleName\s+eq\s+'([^']*)'", text, re.IGNORECASE)
        type_match = re.fullmatch(r"type\s+eq\s+'([^']*)'", text, re.IGNORECASE)
        if name_match:
            roles = [r for r in roles if r.name.lower() == name_match.group(1).lower()]
        elif type_match:
            role_type = type_match.group(1).lower()
            roles = roles if role_type == "builtinrole" else []
        else:
            raise ArmError(
                400,
                "UnsupportedQuery",
                f"The filter '{text}' is not supported. Use roleName eq '<name>' or "
                "type eq 'BuiltInRole'.",
            )
    return 200, request.page([definition_body(r, subscription) for r in roles])


def _subscription_of(request: ArmRequest, scope: str) -> str | None:
    """Authorize a role-definition read and return the scope's subscription, if any.

    Tenant-level definitions are readable by any authenticated caller.
    """
    parts = [p for p in scope.split("/") if p]
    if not parts:
        return None
    if parts[0].lower() != "subscriptions" or len(parts) < 2:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
    request.check_subscription(parts[1])
    request.require(DEFINITION_READ, scope)
    return parts[1]
