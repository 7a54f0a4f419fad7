"""Find a vault, check its permission model, and read a secret's metadata.

Everything here goes through Azure Resource Manager, so it works without
data-plane rights and from behind the vault's firewall; no secret value is read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.core.tools import parse_resource_id

from akv_helpers.connection import (
    Connection,
    azure_errors,
    describe_http_error,
    error_codes,
)
from akv_helpers.errors import (
    AccessPolicyVaultError,
    SecretDisabledError,
    SecretNotFoundError,
    VaultNotFoundError,
)
from akv_helpers.identifiers import (
    SecretIdentifier,
    build_secret_scope,
    build_vault_scope,
    validate_secret_name,
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
    """What the kit needs to know about a vault.

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


@dataclass(frozen=True)
class SecretInfo:
    """Metadata of a secret, read from its ARM resource; never the value.

    Attributes
    ----------
    name
        Secret name.
    vault_name
        Name of the vault that contains the secret.
    scope
        ARM scope of the secret, used for role assignments.
    secret_uri
        Versionless data-plane URI.
    current_version
        Version the secret's latest value has, from ``secretUriWithVersion``.
    enabled
        Whether the secret can be read.
    not_before, expires
        Activation and expiry times, or ``None``.
    content_type
        Content type the owner set, or ``None``.
    """

    name: str
    vault_name: str
    scope: str
    secret_uri: str | None
    current_version: str | None
    enabled: bool
    not_before: datetime | None = None
    expires: datetime | None = None
    content_type: str | None = None

    @property
    def expired(self) -> bool:
        """Whether the expiry time has passed."""
        return self.expires is not None and self.expires <= datetime.now(timezone.utc)

    @property
    def not_yet_valid(self) -> bool:
        """Whether the activation time is still in the future."""
        return self.not_before is not None and self.not_before > datetime.now(
            timezone.utc
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


def get_secret_info(
    connection: Connection, vault: VaultInfo, secret_name: str
) -> SecretInfo:
    """Read a secret's metadata from its ARM resource, in one request.

    Parameters
    ----------
    connection
        Signed-in connection.
    vault
        The vault, from `find_vault`.
    secret_name
        Secret name, such as ``db-pass``.

    Returns
    -------
    SecretInfo
        Whether the secret is enabled, its activation and expiry times and its
        current version.

    Raises
    ------
    SecretNotFoundError
        If the vault has no secret with that name.
    SecretDisabledError
        If the secret is disabled.
    AzureRequestError
        If Azure rejects the request for another reason.
    """
    name = validate_secret_name(secret_name)
    operations = connection.keyvault_mgmt().secrets
    try:
        secret = operations.get(vault.resource_group, vault.name, name)
    except HttpResponseError as exc:
        if exc.status_code == 404 and error_codes(exc)[0] != "ResourceGroupNotFound":
            raise SecretNotFoundError(
                f"The vault {vault.name!r} has no secret named {name!r}.",
                "Check the secret name in the secret identifier (names are "
                f"case-insensitive): `az keyvault secret list --vault-name "
                f'{vault.name} --query "[].name"`.',
            ) from exc
        raise describe_http_error(exc, "read the secret's metadata") from exc

    info = secret_info_from_model(vault, name, secret)
    if not info.enabled:
        raise SecretDisabledError(
            f"The secret {name!r} in vault {vault.name!r} is disabled, so nobody "
            "can read it.",
            "Enable it: `az keyvault secret set-attributes --vault-name "
            f"{vault.name} --name {name} --enabled true`.",
        )
    return info


def secret_info_from_model(vault: VaultInfo, name: str, secret: Any) -> SecretInfo:
    """Build a `SecretInfo` from the ARM secret model, whatever its enabled state."""
    properties = secret.properties
    attributes = properties.attributes if properties else None
    with_version = properties.secret_uri_with_version if properties else None
    version = with_version.rstrip("/").rsplit("/", 1)[-1] if with_version else None
    enabled = attributes.enabled if attributes is not None else None
    return SecretInfo(
        name=name,
        vault_name=vault.name,
        scope=vault.secret_scope(name),
        secret_uri=properties.secret_uri if properties else None,
        current_version=version.lower() if version else None,
        # Key Vault treats a secret without the flag as enabled.
        enabled=enabled is not False,
        not_before=attributes.not_before if attributes is not None else None,
        expires=attributes.expires if attributes is not None else None,
        content_type=properties.content_type if properties else None,
    )


def grant_notes(
    connection: Connection,
    identifier: SecretIdentifier,
    vault: VaultInfo,
    secret: SecretInfo,
) -> list[str]:
    """Return what may stop a task from reading the secret although the grant works.

    The notes cover a pinned version that is missing or not the current one, an
    expired or not yet active secret, and a vault without public network access
    or behind a firewall. A pinned version other than the current one costs one
    data-plane listing of the secret's versions, as the signed-in operator.

    Parameters
    ----------
    connection
        Signed-in connection.
    identifier
        The secret identifier as given, with its version if pinned.
    vault, secret
        The vault and the secret's metadata.

    Returns
    -------
    list[str]
        Notes, each starting with ``Note:`` or ``Warning:``; the version note
        comes first.
    """
    notes = [f"Note: {text}" for text in secret_notes(vault, secret)]
    version_note = pinned_version_note(connection, identifier, vault, secret)
    if version_note is not None:
        notes.insert(0, version_note)
    return notes


def secret_notes(vault: VaultInfo, secret: SecretInfo) -> list[str]:
    """Return the secret's and the vault's notes of `grant_notes`, unprefixed."""
    notes: list[str] = []
    if secret.expired:
        notes.append(f"The secret {secret.name} has expired.")
    if secret.not_yet_valid:
        notes.append(f"The secret {secret.name} is not active yet.")
    if vault.public_network_access == "Disabled":
        notes.append(
            f"The vault {vault.name} has public network access disabled. The grant "
            "is made, but the task can read the secret only through a private "
            "endpoint in the cluster's network."
        )
    elif vault.network_default_action == "Deny":
        notes.append(
            f"The vault {vault.name} has a firewall that denies by default. The "
            "grant is made, but the cluster's network must be allowed in the "
            "vault's Networking settings."
        )
    return notes


def pinned_version_note(
    connection: Connection,
    identifier: SecretIdentifier,
    vault: VaultInfo,
    secret: SecretInfo,
) -> str | None:
    """Check that a pinned version exists, and return a note unless it is current.

    Azure Resource Manager returns only the current version of a secret, so
    another version is looked up in the data plane's version list, which needs
    a data action such as Key Vault Reader's readMetadata.

    Returns
    -------
    str or None
        ``Warning: …`` when the version does not exist, ``Note: …`` when it is
        not the current one or could not be checked, ``None`` otherwise.
    """
    pinned = identifier.version
    if pinned is None or pinned == secret.current_version:
        return None
    listed = _list_versions(connection, vault, identifier.name)
    if isinstance(listed, str):
        return (
            f"Note: version {pinned} of {identifier.name} could not be checked, "
            f"because {listed}. The current version is {secret.current_version}. "
            "The grant covers every version, and `akv-onboard task run` reads the "
            "pinned one."
        )
    if pinned not in listed:
        shown = ", ".join(listed) if listed else "none"
        return (
            f"Warning: version {pinned} of the secret {identifier.name} was not "
            f"found in the vault {vault.name} (versions: {shown}). The grant covers "
            "every version, but a task that pins this one fails. Copy the "
            "identifier of an existing version from the portal."
        )
    return (
        f"Note: the identifier pins version {pinned}, which is not the current "
        f"version {secret.current_version}, so the task reads {pinned}."
    )


def _list_versions(
    connection: Connection, vault: VaultInfo, name: str
) -> list[str] | str:
    """List the secret's versions as the operator, or return why that failed."""
    if not vault.vault_uri:
        return f"the vault {vault.name} has no vault URI"
    try:
        with connection.secret_client(vault.vault_uri) as client:
            pages = client.list_properties_of_secret_versions(name)
            found = [str(item.version).lower() for item in pages if item.version]
    except ClientAuthenticationError as error:
        return f"the sign-in to the data plane failed ({type(error).__name__})"
    except HttpResponseError as error:
        code, inner_code = error_codes(error)
        if error.status_code == 403:
            return (
                "listing versions needs data-plane rights on the vault (such as "
                "Key Vault Reader) that the signed-in account lacks "
                f"({inner_code or code})"
            )
        return f"listing the versions failed ({error.status_code} {code})"
    return sorted(found)
