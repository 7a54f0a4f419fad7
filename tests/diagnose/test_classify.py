"""Table tests of the Azure error classifier, with Azure's own error bodies."""

from __future__ import annotations

import pytest

from akv_helpers.diagnose.classify import canonical_guid, classify_error

TENANT = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
SCOPE = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
CALLER = (
    f"appid=aaaaaaaa-0000-4000-8000-000000000001;oid={PRINCIPAL};"
    f"iss=https://sts.windows.net/{TENANT}/"
)
RBAC_MESSAGE = (
    "Caller is not authorized to perform action on resource.\r\nIf role "
    "assignments, deny assignments or role definitions were changed recently, please "
    f"observe propagation time.\r\nCaller: {CALLER}\r\n"
    "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"
    f"Resource: '{SCOPE.lower()}'\r\nAssignment: (not found)\r\n"
    "DenyAssignmentId: null\r\nDecisionReason: null \r\n"
    "Vault: kv-demo;location=westeurope\r\n"
)

# (case id, status, code, inner code, message, expected cause id)
CASES = [
    (
        "authorization-failed",
        403,
        "AuthorizationFailed",
        None,
        f"The client '{OPERATOR}' with object id '{OPERATOR}' does not have "
        "authorization to perform action 'Microsoft.Authorization/roleAssignments/"
        f"write' over scope '{SCOPE}' or the scope is invalid. If access was recently "
        "granted, please refresh your credentials.",
        "authorization-failed",
    ),
    (
        "arm-tenant",
        401,
        "InvalidAuthenticationTokenTenant",
        None,
        f"The access token is from the wrong issuer 'https://sts.windows.net/"
        f"{OTHER_TENANT}/'. It must match the tenant 'https://sts.windows.net/{TENANT}/'"
        " associated with this subscription. Please use the authority (URL) "
        f"'https://login.windows.net/{TENANT}' to get the token.",
        "tenant-mismatch",
    ),
    (
        "token-invalid",
        401,
        "InvalidAuthenticationToken",
        None,
        "The received access token is not valid: at least one of the claims 'puid' "
        "or 'altsecid' or 'oid' should be present.",
        "token-invalid",
    ),
    (
        "token-expired",
        401,
        "ExpiredAuthenticationToken",
        None,
        "The access token expiry UTC time '12/4/2026 5:00:00 PM' is earlier than "
        "current UTC time '12/4/2026 6:00:00 PM'.",
        "token-expired",
    ),
    (
        "authentication-failed",
        401,
        "AuthenticationFailed",
        None,
        "Authentication failed. The 'Authorization' header is missing.",
        "authentication-failed",
    ),
    (
        "exists",
        409,
        "RoleAssignmentExists",
        None,
        "The role assignment already exists.",
        "already-granted",
    ),
    (
        "update-not-permitted",
        400,
        "RoleAssignmentUpdateNotPermitted",
        None,
        "Tenant ID, application ID, principal ID, and scope are not allowed to be "
        "updated.",
        "update-not-permitted",
    ),
    (
        "principal-not-found",
        400,
        "PrincipalNotFound",
        None,
        "Principal bbbbbbbb000040008000000000000002 does not exist in the directory "
        f"{TENANT}. Check that you have the correct principal ID.",
        "principal-not-found",
    ),
    (
        "unmatched-type",
        400,
        "UnmatchedPrincipalType",
        None,
        "The PrincipalId 'bbbbbbbb000040008000000000000002' has type "
        "'ServicePrincipal' , which is different from specified PrincipalType 'User'.",
        "principal-type-mismatch",
    ),
    (
        "resource-not-found",
        404,
        "ResourceNotFound",
        None,
        "The Resource 'Microsoft.KeyVault/vaults/kv-x' under resource group "
        "'rg-union-dp' was not found.",
        "resource-not-found",
    ),
    (
        "group-not-found",
        404,
        "ResourceGroupNotFound",
        None,
        "Resource group 'rg-x' could not be found.",
        "resource-group-not-found",
    ),
    (
        "assignment-not-found",
        404,
        "RoleAssignmentNotFound",
        None,
        "The role assignment 'x' is not found.",
        "assignment-not-found",
    ),
    (
        "api-version",
        400,
        "InvalidApiVersionParameter",
        None,
        "The api-version '2099-01-01' is invalid. The supported versions are "
        "'2022-04-01'.",
        "api-version",
    ),
    (
        "subscription-not-found",
        404,
        "SubscriptionNotFound",
        None,
        "The subscription '00000000-1111-2222-3333-444444444444' could not be found.",
        "subscription-not-found",
    ),
    ("throttled-status", 429, None, None, "Too many requests.", "throttled"),
    (
        "throttled-code",
        429,
        "TooManyRequests",
        None,
        "The request is being throttled.",
        "throttled",
    ),
    (
        "akv-tenant",
        401,
        "Unauthorized",
        None,
        f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{TENANT}/,"
        f" https://login.microsoftonline.com/{TENANT}/v2.0, found "
        f"https://sts.windows.net/{OTHER_TENANT}/.",
        "tenant-mismatch",
    ),
    (
        "akv-no-token",
        401,
        "Unauthorized",
        None,
        "AKV10000: Request is missing a Bearer or PoP token.",
        "token-missing",
    ),
    (
        "akv-audience",
        401,
        "Unauthorized",
        None,
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: "
        "https://management.azure.com.",
        "token-audience",
    ),
    ("rbac", 403, "Forbidden", "ForbiddenByRbac", RBAC_MESSAGE, "rbac-denied"),
    (
        "access-policy",
        403,
        "Forbidden",
        "AccessDenied",
        f"The user, group or application '{CALLER}' does not have secrets get "
        "permission on key vault 'kv-legacy;location=westeurope'.",
        "access-policy-denied",
    ),
    (
        "firewall",
        403,
        "Forbidden",
        "ForbiddenByFirewall",
        "Client address is not authorized and caller is not a trusted service.\r\n"
        f"Client address: 203.0.113.7\r\nCaller: {CALLER}\r\n"
        "Vault: kv-demo;location=westeurope",
        "firewall",
    ),
    (
        "private-link",
        403,
        "Forbidden",
        "ForbiddenByConnection",
        "Public network access is disabled and request is not from a trusted "
        f"service nor via an approved private link.\r\nCaller: {CALLER}\r\n"
        "Vault: kv-demo;location=westeurope",
        "private-link",
    ),
    (
        "disabled",
        403,
        "Forbidden",
        "SecretDisabled",
        "Operation get is not allowed on a disabled secret.",
        "secret-disabled",
    ),
    (
        "secret-not-found",
        404,
        "SecretNotFound",
        None,
        "A secret with (name/id) db-pass was not found in this key vault.",
        "secret-not-found",
    ),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(
    ("case", "status", "code", "inner", "message", "cause"), CASES, ids=IDS
)
def test_classify_real_body(
    case: str,
    status: int,
    code: str | None,
    inner: str | None,
    message: str,
    cause: str,
) -> None:
    result = classify_error(status, code, inner, message)
    assert result.id == cause
    assert result.from_message is False
    assert result.summary


@pytest.mark.parametrize(
    ("case", "status", "code", "inner", "message", "cause"), CASES, ids=IDS
)
def test_classify_changed_message(
    case: str,
    status: int,
    code: str | None,
    inner: str | None,
    message: str,
    cause: str,
) -> None:
    # Only the code surface decides: Key Vault's AKV number stays, the words change.
    prefix = message[:9] if message.startswith("AKV") else ""
    changed = classify_error(status, code, inner, prefix + " Something else.")
    assert changed.id == cause
    assert changed.from_message is False
    if not prefix:
        assert classify_error(status, code, inner, "").id == cause


MESSAGE_ONLY = [
    case for case in CASES if case[0] not in {"throttled-status", "throttled-code"}
]


@pytest.mark.parametrize(
    ("case", "status", "code", "inner", "message", "cause"),
    MESSAGE_ONLY,
    ids=[case[0] for case in MESSAGE_ONLY],
)
def test_classify_without_code(
    case: str,
    status: int,
    code: str | None,
    inner: str | None,
    message: str,
    cause: str,
) -> None:
    result = classify_error(status, None, None, message)
    if case in {
        "token-invalid",
        "authentication-failed",
        "resource-not-found",
        "assignment-not-found",
    }:
        # These messages share no phrase the kit relies on.
        assert result.id in {cause, "unclassified"}
        return
    assert result.id == cause
    assert result.from_message is (not message.startswith("AKV"))


def test_classify_unknown_code() -> None:
    result = classify_error(
        400, "SomethingNew", None, "The role assignment already exists."
    )
    assert result.id == "unclassified"
    assert result.from_message is False


def test_details_rbac_lines() -> None:
    details = classify_error(403, "Forbidden", "ForbiddenByRbac", RBAC_MESSAGE).details
    assert details["action"] == "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    assert details["resource"] == SCOPE.lower()
    assert details["assignment"] == "(not found)"
    assert details["decision_reason"] == "null"
    assert details["principal_id"] == PRINCIPAL
    assert details["inner_code"] == "ForbiddenByRbac"


def test_details_tenants() -> None:
    akv = CASES[IDS.index("akv-tenant")]
    arm = CASES[IDS.index("arm-tenant")]
    for case in (akv, arm):
        details = classify_error(case[1], case[2], case[3], case[4]).details
        assert details["expected_tenant"] == TENANT
        assert details["token_tenant"] == OTHER_TENANT


def test_details_client_address() -> None:
    case = CASES[IDS.index("firewall")]
    assert classify_error(*case[1:5]).details["client_address"] == "203.0.113.7"


def test_details_principal_without_dashes() -> None:
    case = CASES[IDS.index("principal-not-found")]
    details = classify_error(*case[1:5]).details
    assert details["principal_id"] == PRINCIPAL
    assert details["directory"] == TENANT


def test_details_authorization_failed() -> None:
    case = CASES[IDS.index("authorization-failed")]
    details = classify_error(*case[1:5]).details
    assert details["principal_id"] == OPERATOR
    assert details["action"] == "Microsoft.Authorization/roleAssignments/write"
    assert details["scope"] == SCOPE


def test_canonical_guid() -> None:
    assert canonical_guid("BBBBBBBB000040008000000000000002") == PRINCIPAL
