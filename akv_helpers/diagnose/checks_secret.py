"""Checks of the secret: found, enabled, inside its validity period, version present.

This module also fetches the ``secret`` fact, the secret's metadata from its ARM
resource, which needs no data-plane rights. Only the pinned-version check uses
the data plane, through the ``probe`` fact of `checks_vault`, which lists
versions and never reads a value.
"""

from __future__ import annotations

import difflib
from datetime import datetime, timezone
from typing import cast

from azure.core.exceptions import HttpResponseError

from akv_helpers.connection import (
    Connection,
    azure_errors,
    describe_http_error,
    error_codes,
)
from akv_helpers.diagnose.facts import FactSource, fact
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.errors import SecretNotFoundError
from akv_helpers.identifiers import SecretIdentifier
from akv_helpers.vaults import SecretInfo, VaultInfo, secret_info_from_model

__all__: list[str] = []


@fact("secret", "read the secret's metadata")
def _fetch_secret(run: FactSource) -> SecretInfo:
    connection = cast(Connection, run.fact("connection"))
    identifier = cast(SecretIdentifier, run.fact("identifier"))
    vault = cast(VaultInfo, run.fact("vault"))
    run.report_progress(f"Reading the metadata of the secret {identifier.name}")
    operations = connection.keyvault_mgmt().secrets
    try:
        model = operations.get(vault.resource_group, vault.name, identifier.name)
    except HttpResponseError as exc:
        if exc.status_code == 404 and error_codes(exc)[0] != "ResourceGroupNotFound":
            raise SecretNotFoundError(
                f"The vault {vault.name!r} has no secret named {identifier.name!r}.",
                "Check the secret name in the secret identifier.",
            ) from None
        raise describe_http_error(exc, "read the secret's metadata") from None
    # get_secret_info raises for a disabled secret, but the doctor needs the
    # attributes of a disabled secret too.
    return secret_info_from_model(vault, identifier.name, model)


def _similar_names(context: CheckContext, vault: VaultInfo, name: str) -> list[str]:
    connection = context.signed_in
    with azure_errors("list the secrets"):
        names = [
            str(item.name)
            for item in connection.keyvault_mgmt().secrets.list(
                vault.resource_group, vault.name
            )
        ]
    return difflib.get_close_matches(name, names, n=3, cutoff=0.6)


@check("secret.not-found", needs=("identifier", "vault"), title="Secret")
def check_secret_found(context: CheckContext) -> Finding:
    """Find the secret's ARM resource, which needs no data-plane rights."""
    identifier, vault = context.identifier, context.vault
    outcome = context.outcome("secret")
    expected = f"The vault {vault.name} has a secret named {identifier.name!r}."
    if outcome.available:
        return context.finding(
            Status.OK,
            f"The secret {identifier.name} exists in {vault.name}.",
            expected,
            evidence={"secret scope": vault.secret_scope(identifier.name)},
        )
    if not isinstance(outcome.error, SecretNotFoundError):
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not read the secret's metadata: {outcome.reason}",
            expected,
            outcome.fix,
        )
    similar = _similar_names(context, vault, identifier.name)
    fix = "Check the secret name in the secret identifier (names are case-"
    fix += "insensitive)."
    if similar:
        fix += " Secrets with similar names: " + ", ".join(similar) + "."
    return context.finding(
        Status.FAILED,
        outcome.reason,
        expected,
        fix,
        evidence={"secret": identifier.name, "vault": vault.name},
        commands=(
            f'az keyvault secret list --vault-name {vault.name} --query "[].name"',
        ),
    )


@check("secret.disabled", needs=("identifier", "secret"), title="Secret enabled")
def check_disabled(context: CheckContext) -> Finding:
    """Report a disabled secret, which no caller can read."""
    secret = context.secret
    expected = "The secret is enabled."
    if secret.enabled:
        return context.finding(
            Status.OK, f"The secret {secret.name} is enabled.", expected
        )
    command = (
        f"az keyvault secret set-attributes --vault-name {secret.vault_name} "
        f"--name {secret.name} --enabled true"
    )
    return context.finding(
        Status.FAILED,
        f"The secret {secret.name} is disabled (attributes.enabled is false), so "
        "every read fails with 403 SecretDisabled, whatever the roles.",
        expected,
        f"Enable it: `{command}`.",
        evidence={"attributes.enabled": "false"},
        commands=(command,),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@check("secret.validity", needs=("secret",), title="Secret validity period")
def check_validity(context: CheckContext) -> Finding:
    """Report an activation date in the future or an expiry date in the past."""
    secret = context.secret
    expected = "The activation date (nbf) has passed and the expiry date (exp) "
    expected += "has not."
    where = f"--vault-name {secret.vault_name} --name {secret.name}"
    evidence: dict[str, str] = {}
    if secret.not_before is not None:
        evidence["nbf"] = _iso(secret.not_before)
    if secret.expires is not None:
        evidence["exp"] = _iso(secret.expires)

    if secret.not_yet_valid and secret.not_before is not None:
        command = f"az keyvault secret set-attributes {where} --not-before <date>"
        return context.finding(
            Status.FAILED,
            f"The secret becomes valid only at {_iso(secret.not_before)} (nbf), "
            "so reads fail until then.",
            expected,
            f"Wait until then, or move the activation date: `{command}`.",
            evidence=evidence,
            commands=(command,),
        )
    if secret.expired and secret.expires is not None:
        command = f"az keyvault secret set-attributes {where} --expires <date>"
        return context.finding(
            Status.FAILED,
            f"The secret expired at {_iso(secret.expires)} (exp), so reads fail.",
            expected,
            "Store a new version (`az keyvault secret set`) or move the expiry "
            f"date: `{command}`.",
            evidence=evidence,
            commands=(command,),
        )

    observed = "The secret has no activation or expiry date."
    if evidence:
        observed = "The secret is inside its validity period (" + ", ".join(
            f"{key} {value}" for key, value in evidence.items()
        )
        observed += ")."
    return context.finding(Status.OK, observed, expected, evidence=evidence)


@check("secret.version-missing", needs=("identifier",), title="Pinned version")
def check_version(context: CheckContext) -> Finding:
    """Check that a pinned version is one of the secret's versions."""
    identifier = context.identifier
    expected = "The pinned version is one of the secret's versions."
    if identifier.version is None:
        return context.finding(
            Status.NOT_APPLICABLE,
            "No version is pinned, so the task reads the latest.",
            expected,
        )

    secret = context.secret
    version = identifier.version
    evidence = {"pinned version": version}
    if secret.current_version:
        evidence["current version"] = secret.current_version
    if version == secret.current_version:
        return context.finding(
            Status.OK,
            f"The pinned version {version} is the current one.",
            expected,
            evidence=evidence,
        )

    probe = context.probe
    if not probe.ok or probe.versions is None:
        code = probe.inner_code or probe.code or probe.message
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"The pinned version {version} is not the current one "
            f"({secret.current_version}), and listing the older versions on the "
            f"data plane was denied ({code}); Azure Resource Manager lists only "
            "the current version.",
            expected,
            "Ask someone with a role that includes secrets/readMetadata (such as "
            "Key Vault Reader) on the vault to run the command below.",
            evidence=evidence,
            commands=(
                f"az keyvault secret list-versions --vault-name {secret.vault_name} "
                f'--name {secret.name} --query "[].id"',
            ),
        )
    if version in probe.versions:
        return context.finding(
            Status.OK,
            f"The pinned version {version} exists; it is older than the current "
            f"one ({secret.current_version}).",
            expected,
            evidence=evidence,
        )

    listed = ", ".join(probe.versions) or "none"
    latest = identifier.with_version(None).uri
    return context.finding(
        Status.FAILED,
        f"The secret {secret.name} has no version {version}; its versions are "
        f"{listed}.",
        expected,
        f"Copy the Secret Identifier of an existing version, or use '{latest}' for "
        "the latest.",
        evidence=evidence,
    )
