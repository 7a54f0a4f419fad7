"""Azure clouds and their Key Vault endpoints.

The authority hosts are the values of azure-identity's ``AzureAuthorityHosts``.
The vault DNS suffixes are the ones the Key Vault documentation gives for each
cloud (``docs.azure.cn`` for the China cloud). The ARM endpoint of a cloud comes
from ``azure.mgmt.core.tools.get_arm_endpoints`` in the services layer, not from
here.
"""

from __future__ import annotations

from dataclasses import dataclass

from akv_helpers.errors import InvalidInputError

__all__ = [
    "CHINA",
    "CLOUDS",
    "PUBLIC",
    "US_GOVERNMENT",
    "Cloud",
    "cloud_for_managed_hsm_host",
    "cloud_for_vault_host",
    "get_cloud",
    "managed_hsm_dns_suffixes",
]


@dataclass(frozen=True)
class Cloud:
    """Key Vault endpoints of one Azure cloud.

    Attributes
    ----------
    name
        Cloud name as the Azure CLI prints it: ``AzureCloud``, ``AzureChinaCloud``
        or ``AzureUSGovernment``.
    keyvault_dns_suffix
        DNS suffix of vault hosts, such as ``vault.azure.net``.
    keyvault_resource
        Token audience of the Key Vault data plane.
    authority_host
        Microsoft Entra ID sign-in host.
    managedhsm_dns_suffix
        DNS suffix of Managed HSM hosts, which hold keys only.
    """

    name: str
    keyvault_dns_suffix: str
    keyvault_resource: str
    authority_host: str
    managedhsm_dns_suffix: str

    @property
    def keyvault_scope(self) -> str:
        """Token scope for the Key Vault data plane, ``<resource>/.default``."""
        return f"{self.keyvault_resource}/.default"


PUBLIC = Cloud(
    name="AzureCloud",
    keyvault_dns_suffix="vault.azure.net",
    keyvault_resource="https://vault.azure.net",
    authority_host="login.microsoftonline.com",
    managedhsm_dns_suffix="managedhsm.azure.net",
)
CHINA = Cloud(
    name="AzureChinaCloud",
    keyvault_dns_suffix="vault.azure.cn",
    keyvault_resource="https://vault.azure.cn",
    authority_host="login.chinacloudapi.cn",
    # NOTE: the China and US Government Managed HSM suffixes follow the pattern of
    # the vault suffixes and were not checked against Azure documentation.
    managedhsm_dns_suffix="managedhsm.azure.cn",
)
US_GOVERNMENT = Cloud(
    name="AzureUSGovernment",
    keyvault_dns_suffix="vault.usgovcloudapi.net",
    keyvault_resource="https://vault.usgovcloudapi.net",
    authority_host="login.microsoftonline.us",
    managedhsm_dns_suffix="managedhsm.usgovcloudapi.net",
)

CLOUDS: dict[str, Cloud] = {
    cloud.name: cloud for cloud in (PUBLIC, CHINA, US_GOVERNMENT)
}


def get_cloud(name: str) -> Cloud:
    """Return the cloud with the given name, compared case-insensitively.

    Parameters
    ----------
    name
        ``AzureCloud``, ``AzureChinaCloud`` or ``AzureUSGovernment``.

    Returns
    -------
    Cloud
        The matching cloud.

    Raises
    ------
    InvalidInputError
        If no cloud has that name.

    Examples
    --------
    >>> get_cloud("azurecloud").keyvault_dns_suffix
    'vault.azure.net'
    """
    for cloud in CLOUDS.values():
        if cloud.name.lower() == name.strip().lower():
            return cloud
    expected = ", ".join(CLOUDS)
    raise InvalidInputError(
        f"Unknown Azure cloud {name!r}.",
        f"Use one of {expected} (the name that `az cloud show` prints).",
        value=name,
        expected=expected,
    )


def _host_in_domain(host: str, suffix: str) -> bool:
    return host.endswith("." + suffix) and len(host) > len(suffix) + 1


def _normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def cloud_for_vault_host(host: str) -> Cloud | None:
    """Return the cloud whose Key Vault DNS suffix ends `host`.

    Parameters
    ----------
    host
        Host name, such as ``kv-demo.vault.azure.net``; letter case and one
        trailing dot are ignored.

    Returns
    -------
    Cloud or None
        The cloud, or ``None`` when the host is in no known Key Vault domain.

    Examples
    --------
    >>> cloud_for_vault_host("kv-demo.vault.azure.cn").name
    'AzureChinaCloud'
    >>> cloud_for_vault_host("kv-demo.example.com") is None
    True
    """
    normalized = _normalize_host(host)
    for cloud in CLOUDS.values():
        if _host_in_domain(normalized, cloud.keyvault_dns_suffix):
            return cloud
    return None


def cloud_for_managed_hsm_host(host: str) -> Cloud | None:
    """Return the cloud whose Managed HSM DNS suffix ends `host`.

    Parameters
    ----------
    host
        Host name, such as ``hsm-demo.managedhsm.azure.net``.

    Returns
    -------
    Cloud or None
        The cloud, or ``None`` when the host is not a Managed HSM host.

    Examples
    --------
    >>> cloud_for_managed_hsm_host("hsm-demo.managedhsm.azure.net").name
    'AzureCloud'
    """
    normalized = _normalize_host(host)
    for cloud in CLOUDS.values():
        if _host_in_domain(normalized, cloud.managedhsm_dns_suffix):
            return cloud
    return None


def managed_hsm_dns_suffixes() -> tuple[str, ...]:
    """Return the Managed HSM DNS suffixes of every known cloud.

    Returns
    -------
    tuple[str, ...]
        Suffixes such as ``managedhsm.azure.net``.

    Examples
    --------
    >>> "managedhsm.azure.net" in managed_hsm_dns_suffixes()
    True
    """
    return tuple(cloud.managedhsm_dns_suffix for cloud in CLOUDS.values())
