"""Tests for ARM scopes and role assignment names in akv_helpers.identifiers."""

from __future__ import annotations

import re
import uuid

import pytest

from akv_helpers.errors import (
    InvalidIdError,
    InvalidNameError,
    InvalidScopeError,
)
from akv_helpers.identifiers import (
    ROLE_ASSIGNMENT_NAMESPACE,
    SECRET_SCOPE_SHAPE,
    SecretScope,
    build_secret_scope,
    build_secret_scope_for_identifier,
    build_vault_scope,
    parse_secret_identifier,
    parse_secret_scope,
    role_assignment_name,
    scope_contains,
)

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"


# --- building scopes -----------------------------------------------------------------


def test_build_vault_scope() -> None:
    assert build_vault_scope(SUBSCRIPTION, "rg-union-dp", "kv-demo") == VAULT_SCOPE


def test_build_secret_scope() -> None:
    scope = build_secret_scope(SUBSCRIPTION, "rg-union-dp", "kv-demo", "db-pass")

    assert scope == SECRET_SCOPE


def test_build_secret_scope_canonicalizes_parts() -> None:
    scope = build_secret_scope(
        SUBSCRIPTION.upper().replace("-", ""), " rg-union-dp ", "KV-Demo", "DB-Pass"
    )

    assert scope == SECRET_SCOPE


def test_build_scope_from_reported_versioned_url() -> None:
    identifier = parse_secret_identifier(
        f"https://kv-demo.vault.azure.net/secrets/db-pass/{VERSION}"
    )

    scope = build_secret_scope_for_identifier(identifier, SUBSCRIPTION, "rg-union-dp")

    assert scope == SECRET_SCOPE
    assert VERSION not in scope


@pytest.mark.parametrize(
    ("parts", "error", "fragment"),
    [
        pytest.param(
            ("not-a-guid", "rg-union-dp", "kv-demo", "db-pass"),
            InvalidIdError,
            "subscription ID 'not-a-guid'",
            id="subscription-not-guid",
        ),
        pytest.param(
            (SUBSCRIPTION, "rg/union", "kv-demo", "db-pass"),
            InvalidNameError,
            "resource group name 'rg/union'",
            id="resource-group-slash",
        ),
        pytest.param(
            (SUBSCRIPTION, "rg-union-dp", "kv_demo", "db-pass"),
            InvalidNameError,
            "vault name 'kv_demo'",
            id="vault-underscore",
        ),
        pytest.param(
            (SUBSCRIPTION, "rg-union-dp", "kv-demo", "db-pass/" + VERSION),
            InvalidNameError,
            "secret name",
            id="secret-with-version",
        ),
        pytest.param(
            (
                SUBSCRIPTION,
                "rg-union-dp",
                "kv-demo",
                "https://kv-demo.vault.azure.net/secrets/db-pass",
            ),
            InvalidNameError,
            "is a URL",
            id="secret-name-is-url",
        ),
        pytest.param(
            (SUBSCRIPTION, "rg-union-dp/../rg-other", "kv-demo", "db-pass"),
            InvalidNameError,
            "resource group name",
            id="resource-group-traversal",
        ),
    ],
)
def test_build_secret_scope_rejects_bad_parts(
    parts: tuple[str, str, str, str], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment.replace("/", ".")):
        build_secret_scope(*parts)


# --- parsing scopes: good ------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(SECRET_SCOPE, id="canonical"),
        pytest.param(SECRET_SCOPE + "/", id="trailing-slash"),
        pytest.param(f"  {SECRET_SCOPE}\n", id="surrounding-space"),
        pytest.param(
            SECRET_SCOPE.replace("resourceGroups", "resourcegroups").replace(
                "Microsoft.KeyVault", "microsoft.keyvault"
            ),
            id="azure-lowercase-segments",
        ),
        pytest.param(
            SECRET_SCOPE.upper().replace("RG-UNION-DP", "rg-union-dp"), id="upper"
        ),
        pytest.param(
            SECRET_SCOPE.replace(SUBSCRIPTION, SUBSCRIPTION.replace("-", "")),
            id="subscription-without-dashes",
        ),
    ],
)
def test_parse_secret_scope_good(scope: str) -> None:
    parsed = parse_secret_scope(scope)

    assert parsed.subscription_id == SUBSCRIPTION
    assert parsed.resource_group == "rg-union-dp"
    assert parsed.vault_name == "kv-demo"
    assert parsed.secret_name == "db-pass"
    assert parsed.scope == SECRET_SCOPE
    assert parsed.vault_scope == VAULT_SCOPE
    assert str(parsed) == SECRET_SCOPE


def test_secret_scope_fields() -> None:
    scope = SecretScope(SUBSCRIPTION, "rg-union-dp", "kv-demo", "db-pass")

    assert scope == parse_secret_scope(SECRET_SCOPE)
    assert scope.vault_scope == VAULT_SCOPE


# --- parsing scopes: bad -------------------------------------------------------------

MISSING_PROVIDERS = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp"
    "/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)

MISSING_RESOURCE_GROUPS = (
    f"/subscriptions/{SUBSCRIPTION}/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)

BAD_SCOPES = [
    pytest.param(
        MISSING_RESOURCE_GROUPS,
        "the resourceGroups segment is missing",
        f"Use '{SECRET_SCOPE}' instead",
        id="missing-resource-groups",
    ),
    pytest.param(
        f"{MISSING_RESOURCE_GROUPS}/{VERSION}",
        "ends with a version",
        f"Use '{SECRET_SCOPE}' instead",
        id="missing-resource-groups-with-version",
    ),
    pytest.param(
        f"{MISSING_PROVIDERS}/{VERSION}",
        "no /providers/ segment",
        f"Use '{SECRET_SCOPE}' instead",
        id="missing-providers-with-version",
    ),
    pytest.param(
        f"/subscriptions/{SUBSCRIPTION}/rg-union-dp"
        "/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass",
        "the resourceGroups and providers segments are missing",
        f"Use '{SECRET_SCOPE}' instead",
        id="missing-resource-groups-and-providers",
    ),
    pytest.param(
        MISSING_PROVIDERS,
        "no /providers/ segment",
        f"Use '{SECRET_SCOPE}' instead",
        id="reported-missing-providers",
    ),
    pytest.param(
        MISSING_PROVIDERS.lower().replace(SUBSCRIPTION, SUBSCRIPTION),
        "no /providers/ segment",
        "/providers/microsoft.keyvault/vaults/kv-demo/secrets/db-pass",
        id="missing-providers-lowercase",
    ),
    pytest.param(
        f"{SECRET_SCOPE}/{VERSION}",
        f"ends with the version '{VERSION}'",
        f"Use '{SECRET_SCOPE}' instead",
        id="trailing-version",
    ),
    pytest.param(
        f"{SECRET_SCOPE}/versions/{VERSION}",
        "after the secret name",
        f"Use '{SECRET_SCOPE}' instead",
        id="versions-segment",
    ),
    pytest.param(
        f"https://kv-demo.vault.azure.net/secrets/db-pass/{VERSION}",
        "is the data-plane URL of a secret",
        "/resourceGroups/<resource group>/providers/Microsoft.KeyVault/vaults/kv-demo"
        "/secrets/db-pass",
        id="reported-data-plane-url",
    ),
    pytest.param(
        "https://kv-demo.vault.azure.net/secrets/db-pass",
        "data-plane URL",
        "Take the resource group from Azure",
        id="data-plane-url-versionless",
    ),
    pytest.param(
        "https://example.com/x",
        "is a URL, not an Azure Resource Manager scope",
        "<vault>",
        id="other-url",
    ),
    pytest.param(
        VAULT_SCOPE, "scope of a vault", "Add /secrets/<name>", id="vault-scope"
    ),
    pytest.param(
        f"/subscriptions/{SUBSCRIPTION}",
        "not the scope of a Key Vault secret",
        "Build the scope",
        id="subscription-scope",
    ),
    pytest.param(
        SECRET_SCOPE.replace("Microsoft.KeyVault", "Microsoft.Storage"),
        "'Microsoft.Storage' where 'Microsoft.KeyVault' belongs",
        "Build the scope",
        id="other-provider",
    ),
    pytest.param(
        SECRET_SCOPE.replace("/secrets/", "/keys/"),
        "'keys' where 'secrets' belongs",
        "Build the scope",
        id="keys-not-secrets",
    ),
    pytest.param(
        SECRET_SCOPE.replace("/subscriptions/", "/subscription/"),
        "'subscription' where 'subscriptions' belongs",
        "Build the scope",
        id="singular-subscription",
    ),
    pytest.param(
        SECRET_SCOPE.lstrip("/"),
        "does not start with '/'",
        f"Use '{SECRET_SCOPE}' instead",
        id="no-leading-slash",
    ),
    pytest.param(
        SECRET_SCOPE.replace("/vaults/", "/vaults//"),
        "empty segment",
        f"Use '{SECRET_SCOPE}' instead",
        id="double-slash",
    ),
    pytest.param(
        SECRET_SCOPE.replace(SUBSCRIPTION, "not-a-guid"),
        "has an invalid part",
        "subscription ID 'not-a-guid'",
        id="subscription-not-guid",
    ),
    pytest.param(
        SECRET_SCOPE.replace("db-pass", "db_pass"),
        "has an invalid part",
        "probably named 'db-pass'",
        id="secret-underscore",
    ),
    pytest.param(
        SECRET_SCOPE.replace("kv-demo", "kv--demo"),
        "has an invalid part",
        "two hyphens in a row",
        id="vault-double-hyphen",
    ),
    pytest.param(
        SECRET_SCOPE.replace("db-pass", "db\npass"),
        "'\\n'",
        "Type the scope again",
        id="newline-escaped",
    ),
    pytest.param(
        SECRET_SCOPE.replace("kv-demo", "kv-dеmo"),
        "CYRILLIC SMALL LETTER IE",
        f"'{SECRET_SCOPE}'",
        id="cyrillic-e",
    ),
    pytest.param("", "is empty", "Build the scope", id="empty"),
]


@pytest.mark.parametrize(("scope", "reason", "fix"), BAD_SCOPES)
def test_parse_secret_scope_bad(scope: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidScopeError) as caught:
        parse_secret_scope(scope)

    error = caught.value
    shown = scope.strip().replace("\n", "\\n")
    assert f"'{shown}'" in str(error)
    assert reason in error.message
    assert SECRET_SCOPE_SHAPE in str(error)
    assert fix in error.fix
    assert error.expected == SECRET_SCOPE_SHAPE
    assert isinstance(error, ValueError)
    assert "/providers/providers/" not in error.fix.lower()


_SUGGESTED_SCOPE = re.compile(r"'(/subscriptions/[^']*)'")


@pytest.mark.parametrize(("scope", "reason", "fix"), BAD_SCOPES)
def test_suggested_scope_parses(scope: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidScopeError) as caught:
        parse_secret_scope(scope)

    for suggestion in _SUGGESTED_SCOPE.findall(caught.value.fix):
        if "<" in suggestion:
            continue  # a shape with placeholders, such as <resource group>
        assert parse_secret_scope(suggestion).scope.lower() == suggestion.lower()
        assert not suggestion.lower().endswith(VERSION)


# --- scope_contains ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        pytest.param(SECRET_SCOPE, SECRET_SCOPE, True, id="same"),
        pytest.param(VAULT_SCOPE, SECRET_SCOPE, True, id="vault-above-secret"),
        pytest.param(f"/subscriptions/{SUBSCRIPTION}", SECRET_SCOPE, True, id="sub"),
        pytest.param("/", SECRET_SCOPE, True, id="root"),
        pytest.param(VAULT_SCOPE.lower(), SECRET_SCOPE, True, id="case-insensitive"),
        pytest.param(VAULT_SCOPE + "/", SECRET_SCOPE, True, id="trailing-slash"),
        pytest.param(SECRET_SCOPE, VAULT_SCOPE, False, id="secret-below-vault"),
        pytest.param(VAULT_SCOPE + "2", SECRET_SCOPE, False, id="partial-segment"),
        pytest.param(
            VAULT_SCOPE + "/secrets/db", SECRET_SCOPE, False, id="partial-secret-name"
        ),
        pytest.param(
            VAULT_SCOPE.replace("kv-demo", "kv-legacy"), SECRET_SCOPE, False, id="other"
        ),
        pytest.param("subscriptions", SECRET_SCOPE, False, id="relative-outer"),
    ],
)
def test_scope_contains(outer: str, inner: str, expected: bool) -> None:
    assert scope_contains(outer, inner) is expected


# --- role assignment names -----------------------------------------------------------


def test_role_assignment_name_is_uuid5_of_lowercased_parts() -> None:
    name = role_assignment_name(SECRET_SCOPE, SECRETS_USER, PRINCIPAL)

    key = f"{SECRET_SCOPE}|{SECRETS_USER}|{PRINCIPAL}".lower()
    assert name == str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))
    assert uuid.UUID(name).version == 5


@pytest.mark.parametrize(
    ("scope", "role", "principal"),
    [
        pytest.param(SECRET_SCOPE.upper(), SECRETS_USER, PRINCIPAL, id="scope-upper"),
        pytest.param(SECRET_SCOPE.lower(), SECRETS_USER, PRINCIPAL, id="scope-lower"),
        pytest.param(SECRET_SCOPE + "/", SECRETS_USER, PRINCIPAL, id="scope-slash"),
        pytest.param(SECRET_SCOPE, SECRETS_USER.upper(), PRINCIPAL, id="role-upper"),
        pytest.param(
            SECRET_SCOPE, SECRETS_USER, PRINCIPAL.upper(), id="principal-upper"
        ),
        pytest.param(
            SECRET_SCOPE,
            SECRETS_USER,
            PRINCIPAL.replace("-", ""),
            id="principal-without-dashes",
        ),
        pytest.param(
            SECRET_SCOPE,
            f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}",
            PRINCIPAL,
            id="tenant-level-role-id",
        ),
        pytest.param(
            SECRET_SCOPE,
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization"
            f"/roleDefinitions/{SECRETS_USER}",
            PRINCIPAL,
            id="subscription-level-role-id",
        ),
    ],
)
def test_role_assignment_name_ignores_letter_case(
    scope: str, role: str, principal: str
) -> None:
    expected = role_assignment_name(SECRET_SCOPE, SECRETS_USER, PRINCIPAL)

    assert role_assignment_name(scope, role, principal) == expected


@pytest.mark.parametrize(
    ("scope", "role", "principal"),
    [
        pytest.param(VAULT_SCOPE, SECRETS_USER, PRINCIPAL, id="other-scope"),
        pytest.param(
            SECRET_SCOPE,
            "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
            PRINCIPAL,
            id="other-role",
        ),
        pytest.param(
            SECRET_SCOPE,
            SECRETS_USER,
            "bbbbbbbb-0000-4000-8000-000000000012",
            id="other-principal",
        ),
    ],
)
def test_role_assignment_name_differs_per_grant(
    scope: str, role: str, principal: str
) -> None:
    expected = role_assignment_name(SECRET_SCOPE, SECRETS_USER, PRINCIPAL)

    assert role_assignment_name(scope, role, principal) != expected


@pytest.mark.parametrize(
    ("scope", "role", "principal", "error"),
    [
        pytest.param(
            "subscriptions/x", SECRETS_USER, PRINCIPAL, InvalidScopeError, id="relative"
        ),
        pytest.param(
            SECRET_SCOPE + " x", SECRETS_USER, PRINCIPAL, InvalidScopeError, id="space"
        ),
        pytest.param(
            SECRET_SCOPE,
            "Key Vault Secrets User",
            PRINCIPAL,
            InvalidIdError,
            id="role-name",
        ),
        pytest.param(
            SECRET_SCOPE, SECRETS_USER, "x' or 1 eq 1", InvalidIdError, id="principal"
        ),
    ],
)
def test_role_assignment_name_rejects_bad_input(
    scope: str, role: str, principal: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        role_assignment_name(scope, role, principal)


# --- long input in messages --------------------------------------------------------

LONG = "a" * 100_000
MAX_MESSAGE_LENGTH = 2_000


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        pytest.param(f"{SECRET_SCOPE}/{LONG}", "after the secret name", id="extra"),
        pytest.param(f"{SECRET_SCOPE}/{LONG}/b", "after the secret name", id="extra2"),
        pytest.param(
            f"/subscriptions/{SUBSCRIPTION}/{LONG}/rg-union-dp", "belongs", id="segment"
        ),
        pytest.param(LONG, "does not start with '/'", id="no-slash"),
        pytest.param(f"{SECRET_SCOPE}\u0430{LONG}", "non-ASCII", id="lookalike"),
        pytest.param(
            f"https://kv-demo.vault.azure.net/secrets/{LONG}", "URL", id="data-plane"
        ),
        pytest.param(
            SECRET_SCOPE.replace(SUBSCRIPTION, LONG), "invalid part", id="subscription"
        ),
        pytest.param(
            SECRET_SCOPE.replace("db-pass", LONG), "invalid part", id="secret-name"
        ),
        pytest.param(
            SECRET_SCOPE.replace("rg-union-dp", LONG), "invalid part", id="group"
        ),
        pytest.param(f"/{LONG}//x", "empty segment", id="double-slash"),
    ],
)
def test_parse_scope_long_input_bounded(scope: str, reason: str) -> None:
    with pytest.raises(InvalidScopeError) as caught:
        parse_secret_scope(scope)

    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH
    assert reason in caught.value.message


def test_role_assignment_name_long_scope_bounded() -> None:
    with pytest.raises(InvalidScopeError) as caught:
        role_assignment_name(LONG, SECRETS_USER, PRINCIPAL)

    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH


def test_build_scope_long_parts_bounded() -> None:
    with pytest.raises(InvalidNameError) as caught:
        build_secret_scope(SUBSCRIPTION, "rg-union-dp", "kv-demo", LONG)
    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH

    with pytest.raises(InvalidIdError) as guid_caught:
        build_vault_scope(LONG, "rg-union-dp", "kv-demo")
    assert len(str(guid_caught.value)) < MAX_MESSAGE_LENGTH


# --- Unicode resource group names -----------------------------------------------
# Azure allows Unicode letters and digits in resource group names, so a scope
# may be non-ASCII there and nowhere else.

UNICODE_GROUP = "rg-café-données"
UNICODE_SCOPE = SECRET_SCOPE.replace("rg-union-dp", UNICODE_GROUP)


def test_parse_scope_unicode_group() -> None:
    parts = parse_secret_scope(UNICODE_SCOPE)

    assert parts.resource_group == UNICODE_GROUP
    assert parts.vault_name == "kv-demo"


def test_assignment_name_unicode_group() -> None:
    first = role_assignment_name(UNICODE_SCOPE, SECRETS_USER, PRINCIPAL)

    assert first == role_assignment_name(UNICODE_SCOPE + "/", SECRETS_USER, PRINCIPAL)
    assert first != role_assignment_name(SECRET_SCOPE, SECRETS_USER, PRINCIPAL)


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(UNICODE_SCOPE.replace("kv-demo", "kv-d\u0435mo"), id="vault"),
        pytest.param(UNICODE_SCOPE.replace("db-pass", "db-p\u0430ss"), id="secret"),
        pytest.param(
            UNICODE_SCOPE.replace("providers", "pr\u043eviders"), id="keyword"
        ),
    ],
)
def test_parse_scope_non_ascii_outside_group(scope: str) -> None:
    with pytest.raises(InvalidScopeError) as caught:
        parse_secret_scope(scope)

    assert "non-ASCII" in caught.value.message
    assert UNICODE_GROUP in caught.value.fix
    assert "xxx" not in caught.value.fix


def test_parse_scope_group_lookalike() -> None:
    scope = SECRET_SCOPE.replace("rg-union-dp", "rg-un\u0456on-dp")

    with pytest.raises(InvalidScopeError) as caught:
        parse_secret_scope(scope)

    assert "Cyrillic" in str(caught.value)
    assert "rg-union-dp" in caught.value.fix


def test_assignment_name_rejects_whitespace_in_group() -> None:
    with pytest.raises(InvalidScopeError):
        role_assignment_name(
            UNICODE_SCOPE.replace("café", "caf\u00a0é"), SECRETS_USER, PRINCIPAL
        )
