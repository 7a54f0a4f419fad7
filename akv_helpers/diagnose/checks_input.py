"""Checks of the secret identifier as the user typed it; they send no request."""

from __future__ import annotations

import dataclasses
import urllib.parse

from akv_helpers.clouds import cloud_for_managed_hsm_host
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.diagnose.typed_text import (
    NOT_AN_IDENTIFIER,
    describe_withheld,
    typed_fingerprint,
)
from akv_helpers.errors import InvalidSecretIdentifierError, displayable
from akv_helpers.identifiers import SECRET_IDENTIFIER_SHAPE, parse_secret_identifier

__all__: list[str] = []

_CLOUD_LOGIN = {
    "AzureCloud": "az cloud set --name AzureCloud && az login",
    "AzureChinaCloud": "az cloud set --name AzureChinaCloud && az login",
    "AzureUSGovernment": "az cloud set --name AzureUSGovernment && az login",
}


def _host(text: str) -> str:
    try:
        return (urllib.parse.urlsplit(text.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _is_managed_hsm(text: str) -> bool:
    host = _host(text)
    return bool(host) and cloud_for_managed_hsm_host(host) is not None


def _withheld_format_finding(
    context: CheckContext, text: str, expected: str
) -> Finding:
    """Build the format finding that reports show: it does not quote `text`.

    The parser's message quotes the text or parts of it, which may be a secret
    value pasted into the wrong box, so a report shows only its fingerprint.
    """
    return context.finding(
        Status.FAILED,
        f"The text given is {NOT_AN_IDENTIFIER} ({typed_fingerprint(text)}). "
        "The report does not repeat it, in case it is a secret value pasted "
        "into the wrong box.",
        expected,
        "Copy the Secret Identifier from the Azure portal (the key vault, then "
        "Secrets, the secret and its version) and run the doctor again. The "
        "doctor's findings on screen say what is wrong with the text given.",
        evidence={"identifier": describe_withheld(text, NOT_AN_IDENTIFIER)},
    )


@check("identifier.format", title="Secret identifier format")
def check_identifier_format(context: CheckContext) -> Finding:
    """Parse the identifier and report the parser's message and fix."""
    text = context.inputs.identifier_text
    expected = (
        f"The portal's Secret Identifier, {SECRET_IDENTIFIER_SHAPE}, with the "
        "version or without it."
    )
    if _is_managed_hsm(text):
        return context.finding(
            Status.NOT_APPLICABLE,
            "The identifier points at a Managed HSM; the Managed HSM finding "
            "covers it.",
            expected,
        )
    try:
        identifier = parse_secret_identifier(text)
    except InvalidSecretIdentifierError as exc:
        finding = context.finding(
            Status.FAILED,
            exc.message,
            expected,
            exc.fix,
            evidence={"identifier": exc.value},
        )
        return dataclasses.replace(
            finding, redacted=_withheld_format_finding(context, text, expected)
        )
    version = identifier.version or "none (the latest)"
    return context.finding(
        Status.OK,
        f"Vault {identifier.vault_name}, secret {identifier.name}, version {version}.",
        expected,
        evidence={"secret URI": identifier.uri},
    )


@check("identifier.managed-hsm", title="Vault kind")
def check_managed_hsm(context: CheckContext) -> Finding:
    """Reject a Managed HSM host, which stores keys and no secrets."""
    text = context.inputs.identifier_text
    host = _host(text)
    expected = "A key vault host (such as kv-demo.vault.azure.net); Managed HSM "
    expected += "holds keys only."
    if not host:
        return context.finding(
            Status.NOT_APPLICABLE, "The identifier has no host to check.", expected
        )
    if not _is_managed_hsm(text):
        return context.finding(
            Status.OK, f"The host '{displayable(host)}' is not a Managed HSM.", expected
        )
    try:
        parse_secret_identifier(text)
    except InvalidSecretIdentifierError as exc:
        fix = exc.fix
    else:  # pragma: no cover - the parser rejects every Managed HSM host
        fix = "Store the secret in a key vault and copy its Secret Identifier."
    return context.finding(
        Status.FAILED,
        f"The host '{displayable(host)}' is a Managed HSM, which stores keys, not "
        "secrets, so no secret can be read from it.",
        expected,
        fix,
        evidence={"host": host},
    )


@check(
    "identifier.cloud", needs=("identifier", "cloud", "sign_in"), title="Azure cloud"
)
def check_cloud(context: CheckContext) -> Finding:
    """Compare the cloud of the vault's DNS suffix with the signed-in cloud."""
    identifier = context.identifier
    signed_in = context.cloud
    expected = "The vault is in the cloud the session signed in to."
    evidence = {"vault cloud": identifier.cloud.name, "signed-in cloud": signed_in.name}
    if identifier.cloud.name == signed_in.name:
        return context.finding(
            Status.OK,
            f"The vault's host ends in {identifier.cloud.keyvault_dns_suffix}, "
            f"which is {identifier.cloud.name}, the cloud you signed in to.",
            expected,
            evidence=evidence,
        )
    login = _CLOUD_LOGIN.get(identifier.cloud.name, "az login")
    return context.finding(
        Status.FAILED,
        f"The vault's host ends in {identifier.cloud.keyvault_dns_suffix}, which is "
        f"{identifier.cloud.name}, but you signed in to {signed_in.name}; tokens "
        "of one cloud are not accepted in another.",
        expected,
        f"Sign in to {identifier.cloud.name} (`{login}`) and set the profile's "
        f"cloud to {identifier.cloud.name}, or use a vault in {signed_in.name} "
        f"(host ending in {signed_in.keyvault_dns_suffix}).",
        evidence=evidence,
        commands=(login,),
    )


def _path_segments(text: str) -> list[str]:
    try:
        path = urllib.parse.urlsplit(text.strip()).path
    except ValueError:
        return []
    return [segment for segment in path.split("/") if segment]


@check("identifier.case", needs=("identifier",), title="Letter case")
def check_case(context: CheckContext) -> Finding:
    """Warn when the name or version has uppercase letters."""
    identifier = context.identifier
    segments = _path_segments(identifier.original)[1:3]
    expected = (
        "The task reads the secret with lowercase names, because the injector "
        "writes the file at a lowercased path."
    )
    uppercase = [part for part in segments if any(c.isupper() for c in part)]
    if not uppercase:
        observed = "The secret name and version are lowercase."
        if identifier.had_uppercase:
            observed += " The host has uppercase letters, which DNS ignores."
        return context.finding(Status.OK, observed, expected)

    path = f"/etc/flyte/secrets/{identifier.name}"
    call = f'secrets.get("{identifier.name}")'
    if identifier.version is not None:
        path += f"/{identifier.version}"
        call = f'secrets.get("{identifier.name}", group_version="{identifier.version}")'
    shown = ", ".join(f"'{displayable(part)}'" for part in uppercase)
    return context.finding(
        Status.WARNING,
        f"The identifier has uppercase letters in {shown}. Key Vault compares "
        "names case-insensitively, so the grant works, but the injector writes "
        f"the value to {path}, in lowercase.",
        expected,
        f"Use lowercase in the task: {call}.",
        evidence={"file path": path},
    )
