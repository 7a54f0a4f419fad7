"""Build the Azure Resource Manager scopes of a Key Vault vault and secret."""

from __future__ import annotations

from dataclasses import dataclass

from akv_helpers.guids import validate_guid
from akv_helpers.names import (
    validate_resource_group_name,
    validate_secret_name,
    validate_vault_name,
)
from akv_helpers.secret_ids import SecretIdentifier

__all__ = [
    "SECRET_SCOPE_SHAPE",
    "SecretScope",
    "build_secret_scope",
    "build_secret_scope_for_identifier",
    "build_vault_scope",
]


_KEYVAULT_PROVIDER = "Microsoft.KeyVault"
SECRET_SCOPE_SHAPE = (
    "/subscriptions/<subscription ID>/resourceGroups/<resource group>"
    f"/providers/{_KEYVAULT_PROVIDER}/vaults/<vault>/secrets/<name>"
)


@dataclass(frozen=True)
class SecretScope:
    """The Azure Resource Manager scope of one Key Vault secret.

    Attributes
    ----------
    subscription_id
        Subscription ID in canonical GUID form.
    resource_group
        Resource group of the vault, as given.
    vault_name
        Vault name, lowercased.
    secret_name
        Secret name, lowercased.
    """

    subscription_id: str
    resource_group: str
    vault_name: str
    secret_name: str

    def __str__(self) -> str:
        return self.scope

    @property
    def vault_scope(self) -> str:
        """Scope of the vault that contains the secret."""
        return build_vault_scope(
            self.subscription_id, self.resource_group, self.vault_name
        )

    @property
    def scope(self) -> str:
        """Scope of the secret, as a role assignment takes it."""
        return f"{self.vault_scope}/secrets/{self.secret_name}"


def build_vault_scope(
    subscription_id: str, resource_group: str, vault_name: str
) -> str:
    """Build the ARM scope of a vault from validated parts.

    Parameters
    ----------
    subscription_id
        Subscription ID, a GUID.
    resource_group
        Resource group of the vault, as Azure returns it in the vault's resource ID.
    vault_name
        Vault name.

    Returns
    -------
    str
        ``/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>``.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If the resource group or vault name is invalid.

    Examples
    --------
    >>> build_vault_scope(
    ...     "00000000-1111-2222-3333-444444444444", "rg-union-dp", "KV-Demo"
    ... ).rsplit("/", 2)[1:]
    ['vaults', 'kv-demo']
    """
    subscription = validate_guid(subscription_id, "subscription ID")
    group = validate_resource_group_name(resource_group)
    vault = validate_vault_name(vault_name)
    return (
        f"/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/{_KEYVAULT_PROVIDER}/vaults/{vault}"
    )


def build_secret_scope(
    subscription_id: str, resource_group: str, vault_name: str, secret_name: str
) -> str:
    """Build the ARM scope of one secret from validated parts.

    The scope never has a version: a role assignment covers every version of the
    secret. Build it from these parts, never from the data-plane URL, which has
    neither the subscription nor the resource group.

    Parameters
    ----------
    subscription_id
        Subscription ID, a GUID.
    resource_group
        Resource group of the vault.
    vault_name
        Vault name.
    secret_name
        Secret name.

    Returns
    -------
    str
        The vault scope followed by ``/secrets/<name>``.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If a name is invalid.

    Examples
    --------
    >>> build_secret_scope(
    ...     "00000000-1111-2222-3333-444444444444", "rg-union-dp", "kv-demo", "db-pass"
    ... ).endswith("/vaults/kv-demo/secrets/db-pass")
    True
    """
    vault_scope = build_vault_scope(subscription_id, resource_group, vault_name)
    return f"{vault_scope}/secrets/{validate_secret_name(secret_name)}"


def build_secret_scope_for_identifier(
    identifier: SecretIdentifier, subscription_id: str, resource_group: str
) -> str:
    """Build the ARM scope of the secret that `identifier` names, without its version.

    Parameters
    ----------
    identifier
        Parsed secret identifier.
    subscription_id
        Subscription ID of the vault.
    resource_group
        Resource group of the vault, as Azure returns it.

    Returns
    -------
    str
        The secret scope.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If `resource_group` is invalid.
    """
    return build_secret_scope(
        subscription_id, resource_group, identifier.vault_name, identifier.name
    )
