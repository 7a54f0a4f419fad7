"""Read a secret's metadata, and list what may stop a task from reading it.

The metadata comes from Azure Resource Manager; no secret value is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from akv_helpers.connection import (
    Connection,
    azure_errors,
    describe_http_error,
    error_codes,
)
from akv_helpers.errors import SecretDisabledError, SecretNotFoundError
from akv_helpers.identifiers import SecretIdentifier, validate_secret_name

if TYPE_CHECKING:
    from akv_helpers.vaults import VaultInfo

__all__ = [
    "SecretInfo",
    "get_secret_info",
    "grant_notes",
    "pinned_version_note",
    "secret_info_from_model",
    "secret_notes",
]


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
    # azure_errors turns a request that got no response into the kit's error.
    with azure_errors("read the secret's metadata"):
        try:
            secret = operations.get(vault.resource_group, vault.name, name)
        except HttpResponseError as exc:
            code = error_codes(exc)[0]
            if exc.status_code == 404 and code != "ResourceGroupNotFound":
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
    except (ServiceRequestError, ServiceResponseError) as error:
        return f"listing the versions got no response ({type(error).__name__})"
    return sorted(found)
