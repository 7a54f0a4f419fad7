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
from akv_helpers.diagnose.checks_vault import list_versions_probe
from akv_helpers.diagnose.facts import (
    DataPlaneProbe,
    FactSource,
    FactUnavailableError,
    ResolvedPrincipal,
    VersionAttributes,
    VersionListing,
    fact,
)
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


# Inner codes of a 403 that deny this caller, not the secret to every caller.
_CALLER_DENIALS = frozenset(
    {"ForbiddenByRbac", "AccessDenied", "ForbiddenByFirewall", "ForbiddenByConnection"}
)


def _identity_principal(run: FactSource) -> str:
    connection = cast(Connection, run.fact("connection"))
    if connection.simulator is None:
        raise FactUnavailableError(
            "identity_read",
            "in Azure mode the kit cannot act as the data-plane identity",
            "Run the test task on the Union cluster to read as that identity.",
        )
    return cast(ResolvedPrincipal, run.fact("principal")).principal_id


@fact("versions", "list the secret's versions")
def _fetch_versions(run: FactSource) -> VersionListing:
    probe = cast(DataPlaneProbe, run.fact("probe"))
    if probe.ok:
        return VersionListing({a.version: a for a in probe.attributes}, "you")
    denied = probe.inner_code or probe.code or probe.message
    reason = f"listing the secret's versions on the data plane was denied ({denied})"
    try:
        principal_id = _identity_principal(run)
    except FactUnavailableError:
        principal_id = None
    if principal_id is not None:
        connection = cast(Connection, run.fact("connection"))
        vault = cast(VaultInfo, run.fact("vault"))
        identifier = cast(SecretIdentifier, run.fact("identifier"))
        run.report_progress("Listing the secret's versions as the identity")
        credential = connection.identity_credential(principal_id)
        listed = list_versions_probe(
            connection, str(vault.vault_uri), identifier.name, credential
        )
        if listed.ok:
            versions = {item.version: item for item in listed.attributes}
            return VersionListing(versions, "the identity")
        reason += f", for you and for the identity ({listed.inner_code or listed.code})"
    raise FactUnavailableError(
        "versions",
        reason,
        "Ask someone with a role that includes secrets/readMetadata (such as Key "
        "Vault Reader) on the vault to list the versions.",
    )


@fact("identity_read", "read the secret as the identity")
def _fetch_identity_read(run: FactSource) -> DataPlaneProbe:
    principal_id = _identity_principal(run)
    connection = cast(Connection, run.fact("connection"))
    vault = cast(VaultInfo, run.fact("vault"))
    identifier = cast(SecretIdentifier, run.fact("identifier"))
    run.report_progress("Reading the secret as the identity")
    client = connection.secret_client(
        str(vault.vault_uri), connection.identity_credential(principal_id)
    )
    try:
        with client:
            # Only the outcome matters; the value is dropped at once.
            client.get_secret(identifier.name, identifier.version or "")
    except HttpResponseError as exc:
        code, inner_code = error_codes(exc)
        return DataPlaneProbe(
            reached=True, status=exc.status_code, code=code, inner_code=inner_code
        )
    return DataPlaneProbe(reached=True, versions=(identifier.version or "",))


def _requested(context: CheckContext) -> tuple[str, VersionAttributes | None]:
    """Return which version the task reads, and its attributes when pinned.

    Raises
    ------
    FactUnavailableError
        If a pinned older version's attributes could not be listed.
    """
    identifier, secret = context.identifier, context.secret
    version = identifier.version
    if version is None or version == secret.current_version:
        label = f"the current version {secret.current_version or ''}".rstrip()
        return ("the latest, " + label) if version is None else label, None
    listing = cast(VersionListing, context.fact("versions"))
    return f"the pinned version {version}", listing.versions.get(version)


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
    """Report a disabled version where the task reads, which no caller can read."""
    secret, identifier = context.secret, context.identifier
    expected = "The version the task reads is enabled."
    try:
        which, attributes = _requested(context)
    except FactUnavailableError as exc:
        state = "enabled" if secret.enabled else "disabled"
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not check: the task reads the pinned version "
            f"{identifier.version}, and {exc.message}. The current version is "
            f"{state}, which does not decide a pinned read.",
            expected,
            exc.fix,
        )
    pinned = identifier.version is not None and attributes is not None
    if identifier.version not in (None, secret.current_version) and attributes is None:
        return context.finding(
            Status.NOT_APPLICABLE,
            f"The secret has no version {identifier.version}; the pinned "
            "version finding covers it.",
            expected,
        )
    enabled = attributes.enabled if attributes is not None else secret.enabled
    if enabled:
        observed = f"The task reads {which}, which is enabled."
        if pinned and not secret.enabled:
            observed += (
                f" The current version {secret.current_version} is disabled, which "
                "does not affect a pinned read."
            )
        return context.finding(Status.OK, observed, expected)
    version_option = f" --version {identifier.version}" if pinned else ""
    command = (
        f"az keyvault secret set-attributes --vault-name {secret.vault_name} "
        f"--name {secret.name}{version_option} --enabled true"
    )
    return context.finding(
        Status.FAILED,
        f"The task reads {which}, which is disabled (attributes.enabled is false), "
        "so every read fails with 403 SecretDisabled, whatever the roles.",
        expected,
        f"Enable it: `{command}`.",
        evidence={"attributes.enabled": "false", "version": which},
        commands=(command,),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _refused(context: CheckContext) -> DataPlaneProbe | None:
    """Return the identity's read when the data plane refused the secret itself."""
    outcome = context.outcome("identity_read")
    if not outcome.available:
        return None
    read = cast(DataPlaneProbe, outcome.value)
    if read.ok or read.inner_code in _CALLER_DENIALS or read.status == 404:
        return None
    if read.inner_code == "SecretDisabled":
        return None  # the enabled finding covers it
    return read


def _validity_dates(
    context: CheckContext, attributes: VersionAttributes | None
) -> tuple[datetime | None, datetime | None]:
    if attributes is not None:
        return attributes.not_before, attributes.expires
    return context.secret.not_before, context.secret.expires


@check(
    "secret.validity", needs=("identifier", "secret"), title="Secret validity period"
)
def check_validity(context: CheckContext) -> Finding:
    """Report an activation date in the future or an expiry date in the past.

    Key Vault itself still returns the value of an expired secret, so the
    dates alone are a warning; a refusal by the data plane is a failure.
    """
    secret = context.secret
    expected = "The activation date (nbf) has passed and the expiry date (exp) "
    expected += "has not."
    try:
        which, attributes = _requested(context)
    except FactUnavailableError as exc:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not check the pinned version's dates: {exc.message}.",
            expected,
            exc.fix,
        )
    not_before, expires = _validity_dates(context, attributes)
    evidence: dict[str, str] = {"version": which}
    if not_before is not None:
        evidence["nbf"] = _iso(not_before)
    if expires is not None:
        evidence["exp"] = _iso(expires)
    now = datetime.now(timezone.utc)
    problem = ""
    if not_before is not None and not_before > now:
        problem = f"becomes valid only at {_iso(not_before)} (nbf)"
        option = "--not-before <date>"
    elif expires is not None and expires < now:
        problem = f"expired at {_iso(expires)} (exp)"
        option = "--expires <date>"
    if not problem:
        observed = f"The task reads {which}, which has no activation or expiry date."
        if not_before is not None or expires is not None:
            dates = ", ".join(f"{k} {v}" for k, v in evidence.items() if k != "version")
            observed = f"The task reads {which}, inside its validity period ({dates})."
        return context.finding(Status.OK, observed, expected, evidence=evidence)

    version = f" --version {context.identifier.version}" if attributes else ""
    command = (
        f"az keyvault secret set-attributes --vault-name {secret.vault_name} "
        f"--name {secret.name}{version} {option}"
    )
    fix = (
        f"Store a new version (`az keyvault secret set`) or move the date: `{command}`."
    )
    refused = _refused(context)
    if refused is not None:
        evidence["inner error code"] = str(refused.inner_code or refused.code)
        return context.finding(
            Status.FAILED,
            f"The task reads {which}, which {problem}, and the data plane refused "
            f"the identity's read ({refused.status} {evidence['inner error code']}).",
            expected,
            fix,
            evidence=evidence,
            commands=(command,),
        )
    read = context.outcome("identity_read")
    served = ""
    if read.available and cast(DataPlaneProbe, read.value).ok:
        served = " The identity's read returned the value all the same."
    return context.finding(
        Status.WARNING,
        f"The task reads {which}, whose attributes say it {problem}. Key Vault may "
        "still serve it, but clients or policies that honour exp/nbf will not."
        + served,
        expected,
        fix,
        evidence=evidence,
        commands=(command,),
    )


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

    listing = context.outcome("versions")
    if not listing.available:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not check: the pinned version {version} is not the current one "
            f"({secret.current_version}), and {listing.reason}; Azure Resource "
            "Manager lists only the current version.",
            expected,
            "Ask someone with a role that includes secrets/readMetadata (such as "
            "Key Vault Reader) on the vault to run the command below.",
            evidence=evidence,
            commands=(
                f"az keyvault secret list-versions --vault-name {secret.vault_name} "
                f'--name {secret.name} --query "[].id"',
            ),
        )
    versions = cast(VersionListing, listing.value).versions
    if version in versions:
        return context.finding(
            Status.OK,
            f"The pinned version {version} exists; it is older than the current "
            f"one ({secret.current_version}).",
            expected,
            evidence=evidence,
        )

    listed = ", ".join(sorted(versions)) or "none"
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
