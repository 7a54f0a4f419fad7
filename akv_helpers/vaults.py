"""Find a vault, check its permission model, and read a secret's metadata.

Everything here goes through Azure Resource Manager, so it works without
data-plane rights and from behind the vault's firewall; no secret value is read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from azure.mgmt.core.tools import parse_resource_id

from akv_helpers._secret_info import (
    SecretInfo,
    get_secret_info,
    grant_notes,
    pinned_version_note,
    secret_info_from_model,
    secret_notes,
)
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.errors import AccessPolicyVaultError, VaultNotFoundError
from akv_helpers.identifiers import (
    build_secret_scope,
    build_vault_scope,
    validate_vault_name,
)

__all__ = [
    "AccessPolicy",
    "SecretInfo",
    "VaultInfo",
    "find_vault",
    "get_secret_info",
    "grant_notes",
    "pinned_version_note",
    "require_rbac",
    "secret_info_from_model",
    "secret_notes",
    "vault_info_from_model",
]

logger = logging.getLogger(__name__)

PermissionModel = Literal["rbac", "access policies"]


@dataclass(frozen=True)
class AccessPolicy:
    """One access policy entry of a vault.

    Attributes
    ----------
    object_id
        Object ID of the principal the policy is for.
    tenant_id
        Tenant of the principal.
    application_id
        Application ID of a compound identity, or ``None``.
    secrets, keys, certificates
        Permissions on each object kind, such as ``("get", "list")``.
    """

    object_id: str
    tenant_id: str | None = None
    application_id: str | None = None
    secrets: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()


@dataclass(frozen=True)
class VaultInfo:
    """The properties of a vault that the kit checks.

    Attributes
    ----------
    name
        Vault name, as Azure returns it.
    resource_group
        Resource group, parsed from the vault's ARM ID.
    resource_id
        ARM ID of the vault.
    subscription_id
        Subscription, parsed from the vault's ARM ID.
    vault_uri
        Data-plane URI, such as ``https://kv-demo.vault.azure.net/``.
    tenant_id
        Tenant that authenticates requests to the vault.
    location
        Azure region.
    rbac_enabled
        Whether ``enableRbacAuthorization`` is true; absent counts as false.
    permission_model
        ``"rbac"`` or ``"access policies"``.
    public_network_access
        ``"Enabled"``, ``"Disabled"`` or ``None`` when Azure returned no value.
    network_default_action
        Firewall default action, ``"Allow"`` or ``"Deny"``, or ``None``.
    access_policies
        The vault's access policies; they apply only in the access policy model.
    """

    name: str
    resource_group: str
    resource_id: str
    subscription_id: str
    vault_uri: str | None
    tenant_id: str | None
    location: str | None
    rbac_enabled: bool
    permission_model: PermissionModel
    public_network_access: str | None
    network_default_action: str | None
    access_policies: tuple[AccessPolicy, ...] = ()

    @property
    def scope(self) -> str:
        """ARM scope of the vault, built from its parts."""
        return build_vault_scope(self.subscription_id, self.resource_group, self.name)

    def secret_scope(self, secret_name: str) -> str:
        """Return the ARM scope of the secret `secret_name` in this vault."""
        return build_secret_scope(
            self.subscription_id, self.resource_group, self.name, secret_name
        )


def _text(value: Any) -> str | None:
    # The SDK returns known values as str enums, whose str() is "Enum.MEMBER".
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def _texts(values: Any) -> tuple[str, ...]:
    return tuple(str(_text(value)) for value in values or ())


def _access_policy(entry: Any) -> AccessPolicy:
    permissions = entry.permissions
    return AccessPolicy(
        object_id=str(entry.object_id).lower(),
        tenant_id=entry.tenant_id,
        application_id=entry.application_id,
        secrets=_texts(permissions.secrets if permissions else None),
        keys=_texts(permissions.keys_property if permissions else None),
        certificates=_texts(permissions.certificates if permissions else None),
    )


def vault_info_from_model(vault: Any) -> VaultInfo:
    """Convert an ``azure.mgmt.keyvault.models.Vault`` into `VaultInfo`.

    Parameters
    ----------
    vault
        Vault model, as ``vaults.list_by_subscription`` returns it.

    Returns
    -------
    VaultInfo
        The vault's facts; a missing ``enableRbacAuthorization`` counts as false,
        which is Azure's default.
    """
    parts = parse_resource_id(str(vault.id))
    properties = vault.properties
    rbac = bool(properties.enable_rbac_authorization) if properties else False
    network = properties.network_acls if properties else None
    policies = properties.access_policies if properties else None
    return VaultInfo(
        name=str(vault.name),
        resource_group=str(parts.get("resource_group", "")),
        resource_id=str(vault.id),
        subscription_id=str(parts.get("subscription", "")).lower(),
        vault_uri=properties.vault_uri if properties else None,
        tenant_id=properties.tenant_id if properties else None,
        location=vault.location,
        rbac_enabled=rbac,
        permission_model="rbac" if rbac else "access policies",
        public_network_access=_text(properties.public_network_access)
        if properties
        else None,
        network_default_action=_text(network.default_action) if network else None,
        access_policies=tuple(_access_policy(entry) for entry in policies or ()),
    )


def find_vault(connection: Connection, vault_name: str) -> VaultInfo:
    """Find a vault by name in the connection's subscription.

    The vaults are listed with ``vaults.list_by_subscription``, one request per
    page, and listing stops at the first match. Names compare case-insensitively.

    Parameters
    ----------
    connection
        Signed-in connection.
    vault_name
        Vault name, such as ``kv-demo``.

    Returns
    -------
    VaultInfo
        The vault, with its resource group parsed from its ARM ID.

    Raises
    ------
    InvalidNameError
        If `vault_name` is not a valid vault name.
    VaultNotFoundError
        If no vault in the subscription has that name.
    AzureRequestError
        If Azure rejects the listing.
    """
    name = validate_vault_name(vault_name)
    seen = 0
    with azure_errors("list the key vaults"):
        for vault in connection.keyvault_mgmt().vaults.list_by_subscription():
            seen += 1
            if str(vault.name).lower() == name.lower():
                info = vault_info_from_model(vault)
                logger.debug("Found vault %s in %s", info.name, info.resource_group)
                return info

    raise VaultNotFoundError(
        f"No key vault named {name!r} is in subscription "
        f"{connection.subscription_id} ({seen} vaults listed).",
        "Check the vault name in the secret identifier, and that you are signed in "
        "to the subscription that contains the vault "
        f"(`az keyvault list --subscription {connection.subscription_id} "
        '--query "[].name"`).',
    )


def require_rbac(vault: VaultInfo, principal_id: str | None = None) -> None:
    """Check that the vault uses Azure RBAC, where role assignments take effect.

    Parameters
    ----------
    vault
        The vault.
    principal_id
        Principal ID for the access policy fix; a placeholder when ``None``.

    Raises
    ------
    AccessPolicyVaultError
        If the vault uses the access policy permission model; the message lists
        the access policies and the fix gives both ways out.
    """
    if vault.rbac_enabled:
        return
    raise AccessPolicyVaultError(
        _access_policy_message(vault), _access_policy_fix(vault, principal_id)
    )


def _access_policy_message(vault: VaultInfo) -> str:
    if vault.access_policies:
        lines = "; ".join(
            f"{policy.object_id} (secrets: {', '.join(policy.secrets) or 'none'})"
            for policy in vault.access_policies
        )
        policies = f"Its access policies: {lines}."
    else:
        policies = "It has no access policies."
    return (
        f"The vault {vault.name!r} uses the access policy permission model "
        "(enableRbacAuthorization is not true), so a role assignment would have "
        f"no effect and the kit created none. {policies}"
    )


def _access_policy_fix(vault: VaultInfo, principal_id: str | None) -> str:
    principal = principal_id or "<principal ID>"
    where = f"--name {vault.name} --resource-group {vault.resource_group}"
    return (
        "Either (1) switch the vault to the Azure RBAC permission model: "
        f"`az keyvault update {where} --enable-rbac-authorization true`. "
        "This needs rights to write role assignments on the vault, and it drops "
        "every access policy, so list them first "
        f"(`az keyvault show {where} --query properties.accessPolicies`) and give "
        "each principal a role before switching. Then run the grant again. "
        "Or (2) keep access policies and add one with secret get for the principal: "
        f"`az keyvault set-policy {where} --object-id {principal} "
        "--secret-permissions get`. An access policy cannot be limited to one "
        "secret: it lets the principal read every secret in the vault."
    )
