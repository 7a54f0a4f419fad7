"""Role-based access decisions from the world's role assignments.

Control-plane (ARM) decisions see every assignment at once. Data-plane (Key Vault)
decisions see an assignment only ``propagation_seconds`` after it was created, as
Azure's RBAC caches do.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..roles import BUILTIN_ROLES, role_allows, role_guid_from_definition_id

Json = dict[str, Any]


def normalize_scope(scope: str) -> str:
    """Lowercase a scope and strip trailing slashes; the root scope is ``/``."""
    cleaned = "/" + scope.strip().strip("/")
    return cleaned.lower()


def scope_covers(assignment_scope: str, target_scope: str) -> bool:
    """Tell whether an assignment at ``assignment_scope`` applies to ``target_scope``.

    An assignment applies at its own scope and everywhere below it.
    """
    outer = normalize_scope(assignment_scope)
    inner = normalize_scope(target_scope)
    if outer == "/":
        return True
    return inner == outer or inner.startswith(outer + "/")


def _assignments_for(
    assignments: Iterable[Json], principal_id: str, scope: str
) -> list[Json]:
    principal = principal_id.lower()
    return [
        assignment
        for assignment in assignments
        if assignment["principal_id"].lower() == principal
        and scope_covers(assignment["scope"], scope)
    ]


def control_plane_allows(
    assignments: Iterable[Json],
    principal_id: str,
    action: str,
    scope: str,
    *,
    requested_role_guid: str | None = None,
) -> bool:
    """Decide an ARM action for a principal at a scope.

    Parameters
    ----------
    assignments : iterable of dict
        The world's role assignments.
    principal_id : str
        The caller's object ID.
    action : str
        The operation, such as ``Microsoft.Authorization/roleAssignments/write``.
    scope : str
        The resource the operation acts on.
    requested_role_guid : str or None
        For role-assignment writes and deletes, the role being assigned or removed.
        Roles with an ABAC condition (Key Vault Data Access Administrator) grant the
        action only for the roles their condition lists.

    Returns
    -------
    bool
        True when some assignment's role grants the action.
    """
    for assignment in _assignments_for(assignments, principal_id, scope):
        role = BUILTIN_ROLES.get(
            role_guid_from_definition_id(assignment["role_definition_id"])
        )
        if role is None or not role_allows(role, action, data=False):
            continue
        limited = (
            role.assignable_role_ids is not None
            and action.lower().startswith("microsoft.authorization/roleassignments/")
            and not action.lower().endswith("/read")
        )
        if limited and (
            requested_role_guid is None
            or requested_role_guid.lower() not in (role.assignable_role_ids or ())
        ):
            continue
        return True
    return False


def data_plane_allows(
    assignments: Iterable[Json],
    principal_id: str,
    data_action: str,
    scope: str,
    *,
    propagation_seconds: float,
    now: float | None = None,
) -> bool:
    """Decide a Key Vault data action, counting only propagated assignments."""
    # NOTE: a deleted assignment stops granting at once; Azure may keep honoring it
    # for the same propagation window.
    moment = time.time() if now is None else now
    for assignment in _assignments_for(assignments, principal_id, scope):
        if float(assignment["created_at"]) + propagation_seconds > moment:
            continue
        role = BUILTIN_ROLES.get(
            role_guid_from_definition_id(assignment["role_definition_id"])
        )
        if role is not None and role_allows(role, data_action, data=True):
            return True
    return False
