"""Built-in role definitions and wildcard matching."""

from __future__ import annotations

import pytest

from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    SECRETS_USER_ROLE_ID,
    action_matches,
    role_allows,
    role_definition_id,
    role_guid_from_definition_id,
)

CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
KV_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "Microsoft.Authorization/roleAssignments/write", True),
        ("*/read", "Microsoft.KeyVault/vaults/read", True),
        ("*/read", ROLE_WRITE, False),
        ("Microsoft.Authorization/*/Write", ROLE_WRITE, True),
        (
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/read",
            True,
        ),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/read", True),
        ("Microsoft.KeyVault/vaults/secrets/*", GET_SECRET_DATA_ACTION, True),
        (
            "microsoft.keyvault/VAULTS/secrets/getsecret/action",
            GET_SECRET_DATA_ACTION,
            True,
        ),
        ("Microsoft.KeyVault/vaults/keys/*", GET_SECRET_DATA_ACTION, False),
    ],
)
def test_action_matches_table(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_secrets_user_grants_get_secret() -> None:
    role = BUILTIN_ROLES[SECRETS_USER_ROLE_ID]
    assert role.name == "Key Vault Secrets User"
    assert role_allows(role, GET_SECRET_DATA_ACTION, data=True)
    assert not role_allows(role, GET_SECRET_DATA_ACTION, data=False)


def test_contributor_cannot_write_assignments() -> None:
    assert not role_allows(BUILTIN_ROLES[CONTRIBUTOR], ROLE_WRITE, data=False)
    assert role_allows(
        BUILTIN_ROLES[CONTRIBUTOR], "Microsoft.KeyVault/vaults/read", data=False
    )


def test_readers_cannot_read_secret_values() -> None:
    assert not role_allows(BUILTIN_ROLES[READER], GET_SECRET_DATA_ACTION, data=True)
    assert not role_allows(BUILTIN_ROLES[KV_READER], GET_SECRET_DATA_ACTION, data=True)


def test_all_contract_roles_present() -> None:
    expected = {
        "4633458b-17de-408a-b874-0445c86b69e6",
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "21090545-7ca7-4776-b22c-e363652d74d2",
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "8b54135c-b56d-4d72-a534-26097cfdc8d8",
        "f25e0fa2-a7c8-4377-a976-54943a77a395",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        CONTRIBUTOR,
        READER,
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    }
    assert set(BUILTIN_ROLES) == expected


@pytest.mark.parametrize(
    "definition_id",
    [
        f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER_ROLE_ID.upper()}",
        "/subscriptions/00000000-1111-2222-3333-444444444444/providers/"
        f"Microsoft.Authorization/roleDefinitions/{SECRETS_USER_ROLE_ID}/",
        SECRETS_USER_ROLE_ID,
    ],
)
def test_role_guid_from_definition_id(definition_id: str) -> None:
    assert role_guid_from_definition_id(definition_id) == SECRETS_USER_ROLE_ID


def test_role_definition_id_levels() -> None:
    tenant = role_definition_id(SECRETS_USER_ROLE_ID)
    assert (
        tenant
        == f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER_ROLE_ID}"
    )
    scoped = role_definition_id(
        SECRETS_USER_ROLE_ID, "00000000-1111-2222-3333-444444444444"
    )
    assert scoped == f"/subscriptions/00000000-1111-2222-3333-444444444444{tenant}"
