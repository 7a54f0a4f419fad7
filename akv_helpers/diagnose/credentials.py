"""Plain-words explanations of a failed azure-identity credential chain.

``DefaultAzureCredential`` and ``ChainedTokenCredential`` list every credential
they tried after a line ``Attempted credentials:``, one per line as
``<CredentialName>: <message>``. The credential names are stable identifiers of
azure-identity, so each is explained by its name; the message only chooses
between the known failures of that credential (for the Azure CLI: not installed
on the kernel's PATH, or installed but not signed in).

This module is pure: it reads the exception's text and imports no Azure package.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["attempted_credentials", "explain_credential_failure"]

_HEADER = "Attempted credentials:"
_FOOTER = "To mitigate this issue"
# A credential's entry starts with its class name and a colon; the kit's error
# messages join lines, so an entry may also start mid-line.
_ENTRY_START = re.compile(r"(?:^|\s)([A-Z][A-Za-z]*Credential):\s", re.MULTILINE)


def attempted_credentials(text: str) -> list[tuple[str, str]]:
    """Return the ``(credential name, message)`` pairs of a chain's error text.

    Continuation lines of a message are joined to it, and the text may be on
    one line.
    """
    start = text.find(_HEADER)
    if start < 0:
        return []
    body = text[start + len(_HEADER) :]
    end = body.find(_FOOTER)
    if end >= 0:
        body = body[:end]
    starts = list(_ENTRY_START.finditer(body))
    entries: list[tuple[str, str]] = []
    for index, match in enumerate(starts):
        stop = starts[index + 1].start() if index + 1 < len(starts) else len(body)
        message = " ".join(body[match.end() : stop].split())
        entries.append((match.group(1), message))
    return entries


def _environment(message: str) -> str:
    if "not fully configured" in message or "unavailable" in message:
        return (
            "EnvironmentCredential: not configured (no AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and AZURE_CLIENT_SECRET or certificate in the "
            "environment); this is expected unless you sign in as a service principal."
        )
    return (
        "EnvironmentCredential: the service principal in the environment was rejected."
    )


def _managed_identity(message: str) -> str:
    text = message.lower()
    if "responded" in text or "status code" in text or "invalid" in text:
        return (
            "ManagedIdentityCredential: a managed identity endpoint answered but "
            "returned no token; check that an identity is assigned to this machine."
        )
    return (
        "ManagedIdentityCredential: no managed identity endpoint answered: this "
        "machine is not an Azure VM, App Service or Arc host."
    )


# Microsoft Entra ID error codes that `az` passes on when it cannot refresh its
# sign-in, with what to do. Codes and meanings as Microsoft Entra's error
# responses word them, such as "AADSTS700082: The refresh token has expired due
# to inactivity."
_SIGN_IN_AGAIN = "run `az login` again in a terminal, then run the step again"
_MFA = (
    "your tenant requires multifactor authentication for this sign-in: run "
    "`az login --tenant <tenant ID>` in a terminal and complete it, then run "
    "the step again"
)
_AADSTS_FIXES: dict[str, str] = {
    "700082": f"its sign-in expired after a long inactivity; {_SIGN_IN_AGAIN}",
    "70008": f"its sign-in expired; {_SIGN_IN_AGAIN}",
    "50173": f"its sign-in was revoked, for example by a password change; "
    f"{_SIGN_IN_AGAIN}",
    "70043": f"a Conditional Access sign-in frequency policy ended its sign-in; "
    f"{_SIGN_IN_AGAIN}",
    "50076": _MFA,
    "50079": _MFA,
    "53003": "a Conditional Access policy blocked the sign-in; ask your tenant's "
    "administrator which policy applies to this device or location",
}
_AADSTS_CODE = re.compile(r"\bAADSTS(\d+)\b")


def _azure_cli(message: str) -> str:
    found = _AADSTS_CODE.search(message)
    if found is not None:
        code = found.group(1)
        fix = _AADSTS_FIXES.get(
            code,
            "look the code up in Microsoft Entra's error reference, or run "
            "`az account get-access-token` in a terminal to see the whole message",
        )
        return f"AzureCliCredential: Microsoft Entra ID answered AADSTS{code}: {fix}."
    text = message.lower()
    if "not found on path" in text or "not installed" in text:
        return (
            "AzureCliCredential: the Python kernel cannot find `az` on its PATH "
            "(install it where the kernel runs, start Jupyter from a shell where "
            "`az login` worked, or sign in with a device code)."
        )
    if "az login" in text or "az account" in text:
        return (
            "AzureCliCredential: `az` is installed but not signed in: run `az login` "
            "(with `--tenant <tenant ID>` for another tenant) in a terminal, then "
            "run the step again."
        )
    if "timed out" in text or "timeout" in text:
        return (
            "AzureCliCredential: `az` did not answer in time; run "
            "`az account get-access-token` in a terminal to see why."
        )
    return (
        "AzureCliCredential: `az` returned no token; run "
        "`az account get-access-token` in a terminal to see why."
    )


def _powershell(message: str) -> str:
    if "not installed" in message.lower():
        return (
            "AzurePowerShellCredential: PowerShell is not installed; this is "
            "expected unless you use Azure PowerShell."
        )
    return (
        "AzurePowerShellCredential: Azure PowerShell is not signed in: run "
        "`Connect-AzAccount`."
    )


def _developer_cli(message: str) -> str:
    if "could not be found" in message.lower():
        return (
            "AzureDeveloperCliCredential: `azd` is not installed; this is expected "
            "unless you use the Azure Developer CLI."
        )
    return "AzureDeveloperCliCredential: `azd` is not signed in: run `azd auth login`."


_FIXED: dict[str, str] = {
    "WorkloadIdentityCredential": (
        "WorkloadIdentityCredential: not configured (no federated token file in "
        "the environment); it works only inside a Kubernetes pod with workload "
        "identity."
    ),
    "SharedTokenCacheCredential": (
        "SharedTokenCacheCredential: no account in the shared token cache of "
        "Visual Studio; this is expected on Linux and macOS."
    ),
    "VisualStudioCodeCredential": (
        "VisualStudioCodeCredential: not signed in through VS Code's Azure "
        "Resources extension (it also needs the azure-identity-broker package)."
    ),
    "BrokerCredential": (
        "BrokerCredential: no broker sign-in (it needs Windows or WSL and the "
        "azure-identity-broker package)."
    ),
    "InteractiveBrowserCredential": (
        "InteractiveBrowserCredential: the browser sign-in did not complete."
    ),
    "DeviceCodeCredential": (
        "DeviceCodeCredential: the device code sign-in did not complete."
    ),
    "ClientSecretCredential": (
        "ClientSecretCredential: the service principal's secret was rejected."
    ),
}
_BY_NAME: dict[str, Callable[[str], str]] = {
    "EnvironmentCredential": _environment,
    "ManagedIdentityCredential": _managed_identity,
    "AzureCliCredential": _azure_cli,
    "AzurePowerShellCredential": _powershell,
    "AzureDeveloperCliCredential": _developer_cli,
}
# Messages azure-identity raises from a single credential, outside a chain.
_SINGLE: tuple[tuple[str, str], ...] = (
    ("azure cli not found on path", "AzureCliCredential"),
    ("please run 'az login'", "AzureCliCredential"),
    ("environment variables are not fully configured", "EnvironmentCredential"),
    ("managedidentitycredential", "ManagedIdentityCredential"),
    ("no managed identity endpoint", "ManagedIdentityCredential"),
    ("powershell is not installed", "AzurePowerShellCredential"),
    ("azure developer cli could not be found", "AzureDeveloperCliCredential"),
)


def _explain(name: str, message: str) -> str:
    if name in _BY_NAME:
        return _BY_NAME[name](message)
    if name in _FIXED:
        return _FIXED[name]
    return f"{name}: failed (the kit does not know this credential)."


def explain_credential_failure(exc: BaseException) -> list[str]:
    """Explain, one plain line per credential, why a credential chain failed.

    Parameters
    ----------
    exc
        The error from ``get_token`` of ``DefaultAzureCredential``,
        ``ChainedTokenCredential`` or a single azure-identity credential.

    Returns
    -------
    list[str]
        One line per attempted credential, in the chain's order, each starting
        with the credential's name; one line for a single credential; empty when
        the error is not from azure-identity.
    """
    text = str(exc)
    entries = attempted_credentials(text)
    if entries:
        return [_explain(name, message) for name, message in entries]
    lowered = text.lower()
    for phrase, name in _SINGLE:
        if phrase in lowered:
            return [_explain(name, text)]
    return []
