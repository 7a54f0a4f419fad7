"""Checks of the vault: found, in RBAC mode, behind a firewall or a private link.

This module also fetches the vault facts: the vault (``vault``) and the
operator's metadata-only request to the data plane (``probe``), whose 403 inner
code distinguishes the firewall, private link and permission checks. The probe
lists versions, so it never reads a value.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from akv_helpers.connection import Connection, error_codes
from akv_helpers.diagnose.facts import (
    DataPlaneProbe,
    FactSource,
    FactUnavailableError,
    ResolvedPrincipal,
    VersionAttributes,
    fact,
)
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.errors import (
    AccessPolicyVaultError,
    VaultNotFoundError,
    displayable,
)
from akv_helpers.identifiers import SecretIdentifier
from akv_helpers.vaults import AccessPolicy, VaultInfo, find_vault, require_rbac

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["access_policy_for", "list_versions_probe", "principal_id_or_none"]


_CLIENT_ADDRESS = re.compile(r"Client address:\s*([0-9A-Fa-f.:]+)")
# Messages from the data plane are cut to this length in findings.
_MAX_MESSAGE = 600


@fact("vault", "find the vault")
def _fetch_vault(run: FactSource) -> VaultInfo:
    connection = cast(Connection, run.fact("connection"))
    identifier = cast(SecretIdentifier, run.fact("identifier"))
    if identifier.cloud.name != connection.cloud.name:
        # A vault of the same name in the signed-in cloud is another vault.
        raise FactUnavailableError(
            "vault",
            f"the identifier names another cloud ({identifier.cloud.name}) than "
            f"the one you signed in to ({connection.cloud.name}), so the doctor did "
            "not look for the vault (see the Azure cloud finding)",
            f"Sign in to {identifier.cloud.name}, or use the identifier of a vault "
            f"in {connection.cloud.name}.",
        )
    run.report_progress(f"Finding the vault {identifier.vault_name}")
    return find_vault(connection, identifier.vault_name)


def _one_line(text: object) -> str:
    return displayable(" ".join(str(text or "").split()), _MAX_MESSAGE)


def list_versions_probe(
    connection: Connection,
    vault_uri: str,
    secret_name: str,
    credential: TokenCredential | None = None,
) -> DataPlaneProbe:
    """List the versions of a secret on the data plane, metadata only.

    Parameters
    ----------
    connection
        Signed-in connection.
    vault_uri
        The vault's data-plane URI.
    secret_name
        The secret.
    credential
        Who lists; the signed-in operator when ``None``.

    Returns
    -------
    DataPlaneProbe
        The versions with their attributes, or the error codes of the refusal.
    """
    client = connection.secret_client(vault_uri, credential)
    try:
        with client:
            items = list(client.list_properties_of_secret_versions(secret_name))
    except HttpResponseError as exc:
        code, inner_code = error_codes(exc)
        error_message = exc.error.message if exc.error is not None else None
        message = _one_line(error_message or exc.reason)
        address = _CLIENT_ADDRESS.search(message)
        return DataPlaneProbe(
            reached=exc.status_code is not None,
            status=exc.status_code,
            code=code,
            inner_code=inner_code,
            message=message,
            client_address=address.group(1).rstrip(".:") if address else None,
        )
    except (ServiceRequestError, ServiceResponseError) as exc:
        reason = f"no response from the vault ({type(exc).__name__})"
        return DataPlaneProbe(reached=False, message=reason)
    attributes = tuple(
        VersionAttributes(
            str(item.version).lower(),
            bool(item.enabled),
            item.not_before,
            item.expires_on,
        )
        for item in items
    )
    versions = tuple(item.version for item in attributes)
    return DataPlaneProbe(reached=True, versions=versions, attributes=attributes)


@fact("probe", "list the secret's versions on the data plane")
def _fetch_probe(run: FactSource) -> DataPlaneProbe:
    connection = cast(Connection, run.fact("connection"))
    identifier = cast(SecretIdentifier, run.fact("identifier"))
    vault = cast(VaultInfo, run.fact("vault"))
    if not vault.vault_uri:
        raise FactUnavailableError(
            "probe", f"Azure returned no vault URI for the vault {vault.name!r}"
        )
    run.report_progress("Trying the vault's data plane as you (metadata only)")
    return list_versions_probe(connection, vault.vault_uri, identifier.name)


def principal_id_or_none(context: CheckContext) -> str | None:
    """Return the principal ID the run checks, or ``None`` when none was chosen."""
    outcome = context.outcome("principal")
    if not outcome.available:
        return None
    return cast(ResolvedPrincipal, outcome.value).principal_id


def access_policy_for(
    vault: VaultInfo, principal_id: str | None
) -> AccessPolicy | None:
    """Return the access policy that lets `principal_id` get secrets, if any."""
    if principal_id is None:
        return None
    for policy in vault.access_policies:
        if policy.object_id.lower() == principal_id.lower() and any(
            permission.lower() in ("get", "all") for permission in policy.secrets
        ):
            return policy
    return None


def _where(vault: VaultInfo) -> str:
    return f"--name {vault.name} --resource-group {vault.resource_group}"


def _probe_evidence(probe: DataPlaneProbe) -> dict[str, str]:
    evidence = {"status": str(probe.status)} if probe.status else {}
    if probe.code:
        evidence["error code"] = probe.code
    if probe.inner_code:
        evidence["inner error code"] = probe.inner_code
    return evidence


@check("vault.not-found", needs=("identifier", "connection"), title="Vault")
def check_vault_found(context: CheckContext) -> Finding:
    """Find the vault of the identifier in the signed-in subscription."""
    outcome = context.outcome("vault")
    name = context.identifier.vault_name
    expected = f"A key vault named {name!r} in the subscription you signed in to."
    if outcome.available:
        vault = cast(VaultInfo, outcome.value)
        return context.finding(
            Status.OK,
            f"Found the vault {vault.name} in the resource group "
            f"{vault.resource_group}.",
            expected,
            evidence={"vault resource ID": vault.resource_id},
        )
    if isinstance(outcome.error, VaultNotFoundError):
        subscription = context.signed_in.subscription_id
        return context.finding(
            Status.FAILED,
            outcome.reason,
            expected,
            outcome.fix,
            evidence={"vault": name, "subscription ID": subscription},
            commands=(
                f'az keyvault list --subscription {subscription} --query "[].name"',
            ),
        )
    return context.finding(
        Status.COULD_NOT_CHECK,
        f"Could not list the vaults: {outcome.reason}",
        expected,
        outcome.fix,
    )


@check("vault.permission-model", needs=("vault",), title="Vault permission model")
def check_permission_model(context: CheckContext) -> Finding:
    """Require the Azure RBAC permission model, where role assignments apply."""
    vault = context.vault
    expected = (
        "enableRbacAuthorization is true, so a role assignment on the secret "
        "takes effect."
    )
    evidence = {"enableRbacAuthorization": str(vault.rbac_enabled).lower()}
    if vault.rbac_enabled:
        return context.finding(
            Status.OK,
            f"The vault {vault.name} uses the Azure RBAC permission model.",
            expected,
            evidence=evidence,
        )
    principal_id = principal_id_or_none(context)
    try:
        require_rbac(vault, principal_id)
    except AccessPolicyVaultError as exc:
        message, fix = exc.message, exc.fix
    where = _where(vault)
    policy = access_policy_for(vault, principal_id)
    if policy is not None:
        return context.finding(
            Status.WARNING,
            f"The vault {vault.name} uses access policies, and the policy for "
            f"principal {principal_id} allows secrets "
            f"{', '.join(policy.secrets)}, so the task can read the secret. Role "
            "assignments have no effect on this vault, and the policy grants every "
            "secret in it, not only this one.",
            expected,
            "Nothing blocks the read. To grant one secret only, switch the vault "
            "to Azure RBAC (`az keyvault update "
            f"{where} --enable-rbac-authorization true`) after granting every "
            "caller a role, because the access policies stop working then.",
            evidence={**evidence, "access policy object ID": policy.object_id},
            commands=(f"az keyvault show {where} --query properties.accessPolicies",),
        )
    return context.finding(
        Status.FAILED,
        message,
        expected,
        fix,
        evidence=evidence,
        commands=(
            f"az keyvault show {where} --query properties.accessPolicies",
            f"az keyvault update {where} --enable-rbac-authorization true",
            f"az keyvault set-policy {where} --object-id "
            f"{principal_id or '<principal ID>'} --secret-permissions get",
        ),
    )


@check("vault.firewall", needs=("vault", "probe"), title="Vault firewall")
def check_firewall(context: CheckContext) -> Finding:
    """Detect a firewall that rejects this machine, or denies by default."""
    vault, probe = context.vault, context.probe
    expected = (
        "The vault's firewall allows the networks that read it: Union's cluster "
        "egress, and your address for the checks from here."
    )
    evidence = _probe_evidence(probe)
    if vault.network_default_action:
        evidence["networkAcls.defaultAction"] = vault.network_default_action
    if probe.inner_code == "ForbiddenByFirewall":
        address = probe.client_address or "<your address>"
        evidence["client address"] = address
        return context.finding(
            Status.FAILED,
            f"The vault's firewall rejected a request from {address} (403 "
            "ForbiddenByFirewall): the firewall denies by default and allows no "
            "rule for that address.",
            expected,
            f"Allow your address: `az keyvault network-rule add {_where(vault)} "
            f"--ip-address {address}`, or run the doctor from an allowed "
            "network. Union's cluster egress addresses must be allowed as well, "
            "or the task's read fails the same way.",
            evidence=evidence,
            commands=(
                f"az keyvault network-rule add {_where(vault)} --ip-address {address}",
                f"az keyvault network-rule list {_where(vault)}",
            ),
        )
    if vault.public_network_access and vault.public_network_access == "Disabled":
        return context.finding(
            Status.NOT_APPLICABLE,
            "Public network access is disabled, so the firewall rules do not "
            "apply; the private link finding covers the vault.",
            expected,
            evidence=evidence,
        )
    if (vault.network_default_action or "").lower() == "deny":
        return context.finding(
            Status.WARNING,
            "The firewall denies by default (networkAcls.defaultAction Deny), and "
            "your request passed it.",
            expected,
            "Check that Union's cluster egress addresses are in the firewall's "
            "rules, because the task reads from there, not from this machine.",
            evidence=evidence,
            commands=(f"az keyvault network-rule list {_where(vault)}",),
        )
    if not probe.reached:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"The data plane could not be reached: {probe.message}.",
            expected,
            "Check the network path to the vault.",
        )
    return context.finding(
        Status.OK,
        "The firewall allows every network (networkAcls.defaultAction "
        f"{vault.network_default_action or 'Allow'}), and your request reached "
        "the vault.",
        expected,
        evidence=evidence,
    )


@check("vault.private-link", needs=("vault",), title="Private link")
def check_private_link(context: CheckContext) -> Finding:
    """Say when the vault is reachable only through a private endpoint."""
    vault = context.vault
    probe_outcome = context.outcome("probe")
    probe = cast(DataPlaneProbe, probe_outcome.value)
    by_connection = probe_outcome.available and (
        probe.inner_code == "ForbiddenByConnection"
    )
    disabled = (vault.public_network_access or "").lower() == "disabled"
    expected = "The task runs where it can reach the vault."
    evidence = {"publicNetworkAccess": vault.public_network_access or "not set"}
    if by_connection or disabled:
        if by_connection:
            evidence.update(_probe_evidence(probe))
        how = (
            "the vault rejected the request from here (403 ForbiddenByConnection)"
            if by_connection
            else "publicNetworkAccess is Disabled"
        )
        return context.finding(
            Status.WARNING,
            f"The vault accepts requests only through its private endpoint: {how}. "
            "This machine, where the kit runs, cannot reach the vault, as "
            "expected with private link, so the checks that read from here do "
            "not apply.",
            "The task runs inside the private network that reaches the vault's "
            "private endpoint (Union's cluster, peered with it).",
            "Run the task inside the private network; the kit's local test run "
            "reads from here and will fail, so test on the Union cluster instead.",
            evidence=evidence,
            commands=(
                f"az network private-endpoint-connection list --id {vault.resource_id}",
            ),
        )
    return context.finding(
        Status.OK,
        f"Public network access is {vault.public_network_access or 'enabled'}, "
        "so no private link stands between this machine and the vault.",
        expected,
        evidence=evidence,
    )
