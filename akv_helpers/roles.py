"""Azure built-in role definitions that the kit and its simulator use.

Each definition's actions, notActions, dataActions, notDataActions and description are
copied from Microsoft's "Azure built-in roles" reference as stored in the
MicrosoftDocs/azure-docs repository, folder
``articles/role-based-access-control/built-in-roles/``: ``security.md`` and
``general.md`` (commit 03e5750af10b23b5ba437d5b333ec5e9437844f9, dated 2026-02-23) and
``privileged.md`` (commit 0b8729eaf7eb0aabc6390cb17348d19761285f12, dated 2026-07-01).
Roles are matched by GUID, never by display name, because display names are not
unique and can change.

This module is pure: it imports nothing from ``azure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SECRETS_USER_ROLE_ID = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER_ROLE_ID = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_READER_ROLE_ID = "21090545-7ca7-4776-b22c-e363652d74d2"
KEY_VAULT_ADMINISTRATOR_ROLE_ID = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
KEY_VAULT_CONTRIBUTOR_ROLE_ID = "f25e0fa2-a7c8-4377-a976-54943a77a395"
OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ROLE_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER_ROLE_ID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USER_ACCESS_ADMINISTRATOR_ROLE_ID = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR_ROLE_ID = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"

# Action names, not credentials.
GET_SECRET_DATA_ACTION = "Microsoft.KeyVault/vaults/secrets/getSecret/action"  # noqa: S105
READ_METADATA_DATA_ACTION = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
ROLE_ASSIGNMENT_WRITE_ACTION = "Microsoft.Authorization/roleAssignments/write"
ROLE_ASSIGNMENT_DELETE_ACTION = "Microsoft.Authorization/roleAssignments/delete"

_ROLE_DEFINITIONS_PATH = "/providers/Microsoft.Authorization/roleDefinitions/"

# The Key Vault roles that Key Vault Data Access Administrator may assign or remove,
# from the ABAC condition in its definition (GuidEquals list, same source).
_KEY_VAULT_DATA_ROLE_IDS = (
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "a4417e6f-fecd-4de8-b567-7b0420556985",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "12338af0-0e69-4776-bea7-57ae8d297424",
    "21090545-7ca7-4776-b22c-e363652d74d2",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "4633458b-17de-408a-b874-0445c86b69e6",
)


def _data_access_condition() -> str:
    guids = ", ".join(_KEY_VAULT_DATA_ROLE_IDS)
    write = ROLE_ASSIGNMENT_WRITE_ACTION
    delete = ROLE_ASSIGNMENT_DELETE_ACTION
    return (
        f"((!(ActionMatches{{'{write}'}})) OR "
        f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals{{{guids}}})) AND "
        f"((!(ActionMatches{{'{delete}'}})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals{{{guids}}}))"
    )


@dataclass(frozen=True)
class RoleDefinition:
    """One built-in role definition.

    Attributes
    ----------
    id : str
        The role's GUID, lowercase.
    name : str
        The display name (``roleName``).
    description : str
        Azure's description of the role.
    actions, not_actions, data_actions, not_data_actions : tuple of str
        The permission patterns; ``*`` is a wildcard.
    condition, condition_version : str or None
        The ABAC condition that limits role-assignment writes, where the role has one.
    assignable_role_ids : tuple of str or None
        The role GUIDs the condition lets this role assign and remove; ``None`` when
        the role has no condition.
    """

    id: str
    name: str
    description: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    condition: str | None = None
    condition_version: str | None = None
    assignable_role_ids: tuple[str, ...] | None = field(default=None)


_KV_RBAC_NOTE = (
    "Only works for key vaults that use the 'Azure role-based access control' "
    "permission model."
)
_KV_READ_ACTIONS = (
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
)

_ROLES = (
    RoleDefinition(
        id=SECRETS_USER_ROLE_ID,
        name="Key Vault Secrets User",
        description=f"Read secret contents. {_KV_RBAC_NOTE}",
        data_actions=(GET_SECRET_DATA_ACTION, READ_METADATA_DATA_ACTION),
    ),
    RoleDefinition(
        id=SECRETS_OFFICER_ROLE_ID,
        name="Key Vault Secrets Officer",
        description=(
            "Perform any action on the secrets of a key vault, except manage "
            f"permissions. {_KV_RBAC_NOTE}"
        ),
        actions=_KV_READ_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
    ),
    RoleDefinition(
        id=KEY_VAULT_READER_ROLE_ID,
        name="Key Vault Reader",
        description=(
            "Read metadata of key vaults and its certificates, keys, and secrets. "
            "Cannot read sensitive values such as secret contents or key material. "
            f"{_KV_RBAC_NOTE}"
        ),
        actions=_KV_READ_ACTIONS,
        data_actions=(
            "Microsoft.KeyVault/vaults/*/read",
            READ_METADATA_DATA_ACTION,
        ),
    ),
    RoleDefinition(
        id=KEY_VAULT_ADMINISTRATOR_ROLE_ID,
        name="Key Vault Administrator",
        description=(
            "Perform all data plane operations on a key vault and all objects in it, "
            "including certificates, keys, and secrets. Cannot manage key vault "
            f"resources or manage role assignments. {_KV_RBAC_NOTE}"
        ),
        actions=_KV_READ_ACTIONS,
        data_actions=("Microsoft.KeyVault/vaults/*",),
    ),
    RoleDefinition(
        id=KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
        name="Key Vault Data Access Administrator",
        description=(
            "Manage access to Azure Key Vault by adding or removing role assignments "
            "for the Key Vault Administrator, Key Vault Certificates Officer, Key "
            "Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault "
            "Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault "
            "Secrets User roles. Includes an ABAC condition to constrain role "
            "assignments."
        ),
        actions=(
            ROLE_ASSIGNMENT_WRITE_ACTION,
            ROLE_ASSIGNMENT_DELETE_ACTION,
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Support/*",
            "Microsoft.KeyVault/vaults/*/read",
        ),
        condition=_data_access_condition(),
        condition_version="2.0",
        assignable_role_ids=_KEY_VAULT_DATA_ROLE_IDS,
    ),
    RoleDefinition(
        id=KEY_VAULT_CONTRIBUTOR_ROLE_ID,
        name="Key Vault Contributor",
        description="Lets you manage key vaults, but not access to them.",
        actions=(
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.KeyVault/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ),
        not_actions=(
            "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            "Microsoft.KeyVault/hsmPools/*",
            "Microsoft.KeyVault/managedHsms/*",
        ),
    ),
    RoleDefinition(
        id=OWNER_ROLE_ID,
        name="Owner",
        description=(
            "Grants full access to manage all resources, including the ability to "
            "assign roles in Azure RBAC."
        ),
        actions=("*",),
    ),
    RoleDefinition(
        id=CONTRIBUTOR_ROLE_ID,
        name="Contributor",
        description=(
            "Grants full access to manage all resources, but does not allow you to "
            "assign roles in Azure RBAC, manage assignments in Azure Blueprints, or "
            "share image galleries."
        ),
        actions=("*",),
        not_actions=(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
    ),
    RoleDefinition(
        id=READER_ROLE_ID,
        name="Reader",
        description="View all resources, but does not allow you to make any changes.",
        actions=("*/read",),
    ),
    RoleDefinition(
        id=USER_ACCESS_ADMINISTRATOR_ROLE_ID,
        name="User Access Administrator",
        description="Lets you manage user access to Azure resources.",
        actions=("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
    ),
    RoleDefinition(
        id=RBAC_ADMINISTRATOR_ROLE_ID,
        name="Role Based Access Control Administrator",
        description=(
            "Manage access to Azure resources by assigning roles using Azure RBAC. "
            "This role does not allow you to manage access using other ways, such as "
            "Azure Policy."
        ),
        actions=(
            ROLE_ASSIGNMENT_WRITE_ACTION,
            ROLE_ASSIGNMENT_DELETE_ACTION,
            "*/read",
            "Microsoft.Support/*",
        ),
    ),
)

BUILTIN_ROLES: Mapping[str, RoleDefinition] = MappingProxyType(
    {role.id: role for role in _ROLES}
)


def role_guid_from_definition_id(role_definition_id: str) -> str:
    """Return the lowercase GUID at the end of a role definition ID.

    Parameters
    ----------
    role_definition_id : str
        A tenant-level (``/providers/Microsoft.Authorization/roleDefinitions/<guid>``)
        or subscription-level (``/subscriptions/<sub>/providers/...``) ID, or a bare
        GUID.

    Returns
    -------
    str
        The last path segment, lowercased.
    """
    return role_definition_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()


def role_definition_id(guid: str, subscription_id: str | None = None) -> str:
    """Build a role definition ID, subscription-level when a subscription is given.

    Parameters
    ----------
    guid : str
        The role's GUID.
    subscription_id : str or None
        The subscription for a subscription-level ID; ``None`` for tenant-level.

    Returns
    -------
    str
        ``[/subscriptions/<sub>]/providers/Microsoft.Authorization/roleDefinitions/<guid>``.
    """
    prefix = f"/subscriptions/{subscription_id}" if subscription_id else ""
    return f"{prefix}{_ROLE_DEFINITIONS_PATH}{guid.lower()}"


def action_matches(pattern: str, action: str) -> bool:
    """Tell whether an RBAC permission pattern covers an action.

    ``*`` matches any run of characters, including ``/``, and the comparison ignores
    case. A ``/*/`` segment also matches no segment at all, so
    ``Microsoft.KeyVault/vaults/*/read`` covers ``Microsoft.KeyVault/vaults/read``.

    Parameters
    ----------
    pattern : str
        A permission such as ``Microsoft.KeyVault/vaults/*/read`` or ``*``.
    action : str
        A concrete operation such as ``Microsoft.KeyVault/vaults/secrets/read``.

    Returns
    -------
    bool
        True when the pattern covers the action.
    """
    # NOTE: the zero-segment reading of "/*/" follows what Key Vault Reader is
    # documented to do (read vault metadata); Azure does not spell out the rule.
    if "/*/" in pattern and _wildcard_match(pattern.replace("/*/", "/"), action):
        return True
    return _wildcard_match(pattern, action)


def _wildcard_match(pattern: str, action: str) -> bool:
    parts = pattern.lower().split("*")
    text = action.lower()
    if len(parts) == 1:
        return parts[0] == text
    if not text.startswith(parts[0]) or not text.endswith(parts[-1]):
        return False
    position = len(parts[0])
    end = len(text) - len(parts[-1])
    for middle in parts[1:-1]:
        found = text.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= end


def role_allows(role: RoleDefinition, action: str, *, data: bool) -> bool:
    """Tell whether a role grants an action, before any ABAC condition.

    Parameters
    ----------
    role : RoleDefinition
        The role to evaluate.
    action : str
        The operation.
    data : bool
        True for a data action (checked against dataActions minus notDataActions),
        False for a control-plane action (actions minus notActions).

    Returns
    -------
    bool
        True when some allow pattern covers the action and no deny pattern does.
    """
    allowed = role.data_actions if data else role.actions
    denied = role.not_data_actions if data else role.not_actions
    if not any(action_matches(pattern, action) for pattern in allowed):
        return False
    return not any(action_matches(pattern, action) for pattern in denied)
