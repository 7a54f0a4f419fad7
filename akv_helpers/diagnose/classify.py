"""Classification of the Azure errors the kit meets into causes with a fix.

`classify_error` decides by the HTTP status, Azure's ``error.code`` and Key Vault's
``innererror.code``. Key Vault's 401 answers all carry the code ``Unauthorized``
and tell their causes apart only by an ``AKV<number>:`` prefix of the message, so
that prefix counts as a code too. Otherwise the message is read only to extract
facts (tenant IDs, the client address, the lines of Key Vault's 403 message,
principal IDs) or, when the body has no code at all, as a last resort; a cause
found that way has ``from_message`` set.

This module is pure: it imports neither the Azure SDK nor the widgets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from akv_helpers.steps import step_place

__all__ = ["Cause", "classify_error", "extract_details"]


@dataclass(frozen=True)
class Cause:
    """The cause of an Azure error, in plain words.

    Attributes
    ----------
    id
        Stable ID of the cause, such as ``"rbac-denied"``.
    summary
        What went wrong, one sentence.
    fix
        What to do next.
    details
        Facts read from the message: ``"caller"``, ``"action"``, ``"resource"``,
        ``"assignment"``, ``"decision_reason"``, ``"expected_tenant"``,
        ``"token_tenant"``, ``"client_address"``, ``"principal_id"``,
        ``"scope"``, ``"akv_code"``; only those present.
    from_message
        Whether the cause was guessed from the message text because the error
        had no code.
    """

    id: str
    summary: str
    fix: str
    details: dict[str, str] = field(default_factory=dict)
    from_message: bool = False


@dataclass(frozen=True)
class _Rule:
    id: str
    summary: str
    # A function when the fix names a step's place, because that place depends
    # on the front end (see akv_helpers.steps). classify_error calls it.
    fix: str | Callable[[], str]


def _sign_in_again() -> str:
    return f"Sign in again (`az login`, or in {step_place('start')}) and retry."


# One rule per cause. Keys are the codes Azure sends; a Key Vault rule is keyed on
# its inner code, an AKV message code on "AKV<number>".
_RULES: dict[str, _Rule] = {
    "AuthorizationFailed": _Rule(
        "authorization-failed",
        "The signed-in account has no role that allows this action on this scope.",
        "Ask an administrator for a role that allows the action on the scope, then "
        "sign in again so the new role is in the token.",
    ),
    "InvalidAuthenticationTokenTenant": _Rule(
        "tenant-mismatch",
        "The access token was issued by another tenant than the one that owns the "
        "subscription.",
        "Sign in to the subscription's tenant: `az login --tenant <tenant ID>`, or "
        "set the tenant ID in the profile.",
    ),
    "AKV10032": _Rule(
        "tenant-mismatch",
        "The access token was issued by another tenant than the vault's.",
        "Sign in to the vault's tenant: `az login --tenant <tenant ID>`, or set the "
        "tenant ID in the profile.",
    ),
    "AKV10000": _Rule(
        "token-missing",
        "The request to Key Vault carried no access token.",
        "Use an SDK client with a credential; the first request of a client is "
        "answered this way and retried with a token, so a repeated 401 means the "
        "credential returned no token.",
    ),
    "AKV10022": _Rule(
        "token-audience",
        "The access token is for another service than Key Vault.",
        "Request the token for the vault's scope, such as "
        "https://vault.azure.net/.default.",
    ),
    "InvalidAuthenticationToken": _Rule(
        "token-invalid",
        "Azure did not accept the access token.",
        _sign_in_again,
    ),
    "ExpiredAuthenticationToken": _Rule(
        "token-expired",
        "The access token has expired.",
        _sign_in_again,
    ),
    "AuthenticationFailed": _Rule(
        "authentication-failed",
        "Azure could not authenticate the request.",
        "Sign in again, to the tenant that owns the subscription.",
    ),
    "RoleAssignmentExists": _Rule(
        "already-granted",
        "The role assignment already exists, under another name.",
        "",
    ),
    "RoleAssignmentUpdateNotPermitted": _Rule(
        "update-not-permitted",
        "An assignment with this name exists with another role, principal or scope, "
        "and Azure does not let an assignment change.",
        "Inspect the assignment, delete it if it is stale, then grant again.",
    ),
    "PrincipalNotFound": _Rule(
        "principal-not-found",
        "Azure found no principal with this ID in the directory.",
        "If the identity was created minutes ago, the directory has not replicated "
        "it yet: retry with principalType ServicePrincipal after a short wait. If it "
        "is older, the ID is probably of the wrong kind: use the principal ID "
        "(object ID), not the client ID.",
    ),
    "UnmatchedPrincipalType": _Rule(
        "principal-type-mismatch",
        "The principal exists but is of another type than the request said.",
        "Use the principal ID of the managed identity, which is a ServicePrincipal.",
    ),
    "ResourceNotFound": _Rule(
        "resource-not-found",
        "The resource does not exist in this subscription.",
        "Check the name and the subscription.",
    ),
    "ResourceGroupNotFound": _Rule(
        "resource-group-not-found",
        "The resource group does not exist in this subscription.",
        "Check the resource group name and the subscription.",
    ),
    "RoleAssignmentNotFound": _Rule(
        "assignment-not-found",
        "The role assignment does not exist.",
        "List the assignments on the scope: `az role assignment list --scope <scope>`.",
    ),
    "InvalidApiVersionParameter": _Rule(
        "api-version",
        "The service does not support the api-version of the request.",
        "Use the SDK versions pinned in requirements.txt.",
    ),
    "SubscriptionNotFound": _Rule(
        "subscription-not-found",
        "The subscription does not exist, or the signed-in tenant cannot see it.",
        "Check the subscription ID and sign in to the tenant that owns it.",
    ),
    "ForbiddenByRbac": _Rule(
        "rbac-denied",
        "Key Vault found no role assignment that lets the caller do this action on "
        "the resource.",
        "Assign a role that includes the action (Key Vault Secrets User to read a "
        "value) at the secret's scope, or wait up to 10 minutes after a recent grant.",
    ),
    "AccessDenied": _Rule(
        "access-policy-denied",
        "The vault uses access policies, and none gives the caller this permission.",
        "Switch the vault to the Azure RBAC permission model, or add an access "
        "policy with the permission for the caller.",
    ),
    "ForbiddenByFirewall": _Rule(
        "firewall",
        "The vault's firewall does not allow the caller's network address.",
        "Add the address to the vault's firewall, or call from an allowed network.",
    ),
    "ForbiddenByConnection": _Rule(
        "private-link",
        "The vault accepts requests only through a private endpoint.",
        "Call the vault from inside the private network, through its private endpoint.",
    ),
    "SecretDisabled": _Rule(
        "secret-disabled",
        "The secret version is disabled.",
        "Enable it: `az keyvault secret set-attributes --enabled true --id <secret "
        "identifier>`.",
    ),
    "SecretNotFound": _Rule(
        "secret-not-found",
        "The vault has no secret (or version) with this name.",
        "Check the secret name and version in the secret identifier.",
    ),
}
_THROTTLED = _Rule(
    "throttled",
    "Azure throttled the request: too many requests in a short time.",
    "Wait for the time the Retry-After header names, then retry; the kit's "
    "clients already retry with backoff.",
)
_UNCLASSIFIED = _Rule(
    "unclassified",
    "Azure rejected the request with an error the kit does not classify.",
    "Read the error code and message; the request ID helps Azure support.",
)
# Codes Azure sends for throttling, besides the status 429.
_THROTTLING_CODES = frozenset({"TooManyRequests", "Throttled", "RequestsThrottled"})

_AKV_CODE = re.compile(r"^\s*(AKV\d{5})\b")
_GUID = (
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_KEY_VAULT_LINES = {
    "caller": re.compile(r"^Caller:\s*(.+?)\s*$", re.MULTILINE),
    "action": re.compile(r"^Action:\s*'?(.+?)'?\s*$", re.MULTILINE),
    "resource": re.compile(r"^Resource:\s*'?(.+?)'?\s*$", re.MULTILINE),
    "assignment": re.compile(r"^Assignment:\s*(.+?)\s*$", re.MULTILINE),
    "decision_reason": re.compile(r"^DecisionReason:\s*(.+?)\s*$", re.MULTILINE),
    "client_address": re.compile(r"^Client address:\s*(\S+?)\s*$", re.MULTILINE),
    "vault": re.compile(r"^Vault:\s*(.+?)\s*$", re.MULTILINE),
}
_CALLER_OID = re.compile(rf"\boid=({_GUID})", re.IGNORECASE)
_AKV_ISSUERS = re.compile(
    rf"Expected one of .*?/({_GUID})/.*?found:?\s*\S*?/({_GUID})/", re.DOTALL
)
_ARM_ISSUERS = re.compile(
    rf"wrong issuer '\S*?/({_GUID})/?'.*?tenant '\S*?/({_GUID})/?'", re.DOTALL
)
_PRINCIPAL = re.compile(rf"Principal(?:Id)?\s+'?({_GUID})'?", re.IGNORECASE)
_DIRECTORY = re.compile(rf"directory\s+'?({_GUID})'?", re.IGNORECASE)
_CLIENT_OBJECT = re.compile(
    rf"client '([^']+)' with object id '({_GUID})'", re.IGNORECASE
)
_PERFORM_ACTION = re.compile(r"perform action '([^']+)'", re.IGNORECASE)
_OVER_SCOPE = re.compile(r"over scope '([^']+)'", re.IGNORECASE)


def canonical_guid(text: str) -> str:
    """Return a GUID printed with or without dashes in the dashed lowercase form.

    Examples
    --------
    >>> canonical_guid("BBBBBBBB000040008000000000000002")
    'bbbbbbbb-0000-4000-8000-000000000002'
    """
    compact = text.replace("-", "").lower()
    parts = (compact[:8], compact[8:12], compact[12:16], compact[16:20], compact[20:])
    return "-".join(parts)


def extract_details(message: str) -> dict[str, str]:
    """Read the facts an Azure error message states, without judging them.

    Parameters
    ----------
    message
        The error message, with its line breaks.

    Returns
    -------
    dict[str, str]
        The facts found; see `Cause.details` for the keys.
    """
    details: dict[str, str] = {}
    akv = _AKV_CODE.match(message)
    if akv:
        details["akv_code"] = akv.group(1)
    for key, pattern in _KEY_VAULT_LINES.items():
        match = pattern.search(message)
        if match:
            details[key] = match.group(1)
    caller = _CALLER_OID.search(details.get("caller", ""))
    if caller:
        details["principal_id"] = canonical_guid(caller.group(1))
    client = _CLIENT_OBJECT.search(message)
    if client:
        details["principal_id"] = canonical_guid(client.group(2))
    for key, pattern in (("action", _PERFORM_ACTION), ("scope", _OVER_SCOPE)):
        match = pattern.search(message)
        if match and key not in details:
            details[key] = match.group(1)
    tenants = _AKV_ISSUERS.search(message)
    if tenants:
        details["expected_tenant"] = canonical_guid(tenants.group(1))
        details["token_tenant"] = canonical_guid(tenants.group(2))
    tenants = _ARM_ISSUERS.search(message)
    if tenants:
        details["token_tenant"] = canonical_guid(tenants.group(1))
        details["expected_tenant"] = canonical_guid(tenants.group(2))
    principal = _PRINCIPAL.search(message)
    if principal and "principal_id" not in details:
        details["principal_id"] = canonical_guid(principal.group(1))
    directory = _DIRECTORY.search(message)
    if directory:
        details["directory"] = canonical_guid(directory.group(1))
    return details


# Last resort for a body without a code: phrases of Azure's own messages, each
# rule matching when all its phrases occur in the lowercased message.
_MESSAGE_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("does not have authorization to perform",), "AuthorizationFailed"),
    (("wrong issuer",), "InvalidAuthenticationTokenTenant"),
    (("invalid issuer",), "AKV10032"),
    (("does not exist in the directory",), "PrincipalNotFound"),
    (("role assignment already exists",), "RoleAssignmentExists"),
    (("not allowed to be updated",), "RoleAssignmentUpdateNotPermitted"),
    (("different from specified principaltype",), "UnmatchedPrincipalType"),
    (("client address is not authorized",), "ForbiddenByFirewall"),
    (("public network access is disabled",), "ForbiddenByConnection"),
    (("caller is not authorized to perform action",), "ForbiddenByRbac"),
    (("does not have secrets",), "AccessDenied"),
    (("disabled secret",), "SecretDisabled"),
    (("a secret with (name/id)",), "SecretNotFound"),
    (("access token expiry",), "ExpiredAuthenticationToken"),
    (("api-version", "invalid"), "InvalidApiVersionParameter"),
    (("resource group", "could not be found"), "ResourceGroupNotFound"),
    (("subscription", "could not be found"), "SubscriptionNotFound"),
)


def _rule_for_codes(
    status: int | None, code: str | None, inner_code: str | None, message: str
) -> _Rule | None:
    if inner_code and inner_code in _RULES:
        return _RULES[inner_code]
    akv = _AKV_CODE.match(message)
    if akv and akv.group(1) in _RULES:
        return _RULES[akv.group(1)]
    if status == 429 or code in _THROTTLING_CODES:
        return _THROTTLED
    if code and code in _RULES:
        return _RULES[code]
    return None


def _rule_from_message(message: str) -> _Rule | None:
    text = message.lower()
    for phrases, code in _MESSAGE_HINTS:
        if all(phrase in text for phrase in phrases):
            return _RULES[code]
    return None


def classify_error(
    status: int | None, code: str | None, inner_code: str | None, message: str = ""
) -> Cause:
    """Classify an Azure error response by its status and codes.

    Parameters
    ----------
    status
        HTTP status, or ``None`` when unknown.
    code
        Azure's ``error.code``, such as ``"AuthorizationFailed"``.
    inner_code
        Key Vault's ``error.innererror.code``, such as ``"ForbiddenByRbac"``.
    message
        The error message; read for facts, and for the cause only when both
        codes are missing (or are Key Vault's generic ``Forbidden`` and
        ``Unauthorized`` without an inner code or ``AKV`` number).

    Returns
    -------
    Cause
        The cause, with ``from_message`` set when the message decided it, or the
        cause ``"unclassified"``.

    Examples
    --------
    >>> classify_error(409, "RoleAssignmentExists", None, "any text").id
    'already-granted'
    >>> cause = classify_error(400, None, None, "x does not exist in the directory")
    >>> (cause.id, cause.from_message)
    ('principal-not-found', True)
    """
    details = extract_details(message)
    rule = _rule_for_codes(status, code, inner_code, message)
    from_message = False
    generic = code in (None, "", "Forbidden", "Unauthorized", "BadRequest")
    if rule is None and generic:
        rule = _rule_from_message(message)
        from_message = rule is not None
    if rule is None:
        rule = _UNCLASSIFIED
    if status is not None:
        details["status"] = str(status)
    for key, value in (("code", code), ("inner_code", inner_code)):
        if value:
            details[key] = value
    fix = rule.fix() if callable(rule.fix) else rule.fix
    return Cause(rule.id, rule.summary, fix, details, from_message)
