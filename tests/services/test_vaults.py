"""Tests of the vault lookup, the permission model check and secret metadata."""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.keyvault.models import Vault

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.errors import (
    AccessPolicyVaultError,
    SecretDisabledError,
    SecretNotFoundError,
    VaultNotFoundError,
)
from akv_helpers.vaults import (
    find_vault,
    get_secret_info,
    require_rbac,
    vault_info_from_model,
)

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
CURRENT_VERSION = "7c4a8d09ca3762af61e59520943dc264"
SECRET_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)


def _arm_requests(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [e for e in sim.requests() if not e["path"].startswith("/_simulator/")]


def _vault_model(properties: dict[str, Any]) -> Vault:
    return Vault(
        {
            "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app-secrets/"
            "providers/Microsoft.KeyVault/vaults/kv-legacy",
            "name": "kv-legacy",
            "location": "westeurope",
            "properties": {
                "tenantId": "11111111-1111-4111-8111-111111111111",
                "sku": {"family": "A", "name": "standard"},
                **properties,
            },
        }
    )


def test_find_vault_one_request(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = find_vault(connection, "KV-Demo")
    assert vault.name == "kv-demo"
    assert vault.resource_group.lower() == "rg-union-dp"
    assert vault.subscription_id == SUBSCRIPTION
    assert vault.rbac_enabled
    assert vault.permission_model == "rbac"
    assert vault.public_network_access == "Enabled"
    assert vault.vault_uri is not None
    assert vault.vault_uri.startswith("https://127.0.0.1:")
    [request] = _arm_requests(fresh_sim)
    assert request["method"] == "GET"
    assert request["path"].lower().endswith("/providers/microsoft.keyvault/vaults")


def test_find_vault_secret_scope(connection: Connection) -> None:
    vault = find_vault(connection, "kv-demo")
    assert vault.secret_scope("db-pass").lower() == SECRET_SCOPE.lower()


def test_find_vault_missing(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(VaultNotFoundError) as caught:
        find_vault(connection, "kv-absent")
    assert "kv-absent" in caught.value.message
    assert SUBSCRIPTION in caught.value.message
    assert "subscription" in caught.value.fix


def test_access_policy_vault_rejected(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = find_vault(connection, "kv-legacy")
    assert not vault.rbac_enabled
    assert vault.permission_model == "access policies"
    assert vault.network_default_action == "Deny"
    with pytest.raises(AccessPolicyVaultError) as caught:
        require_rbac(vault, PRINCIPAL_ID)
    assert OPERATOR in caught.value.message
    assert "get, list" in caught.value.message


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param(
            {
                "enableRbacAuthorization": False,
                "accessPolicies": [
                    {
                        "tenantId": "11111111-1111-4111-8111-111111111111",
                        "objectId": OPERATOR,
                        "permissions": {"secrets": ["get", "list"]},
                    }
                ],
            },
            id="rbac-false",
        ),
        pytest.param(
            {
                "accessPolicies": [
                    {
                        "tenantId": "11111111-1111-4111-8111-111111111111",
                        "objectId": OPERATOR,
                        "permissions": {"secrets": ["get", "list"]},
                    }
                ]
            },
            id="rbac-key-missing",
        ),
    ],
)
def test_access_policy_both_fixes(properties: dict[str, Any]) -> None:
    vault = vault_info_from_model(_vault_model(properties))
    with pytest.raises(AccessPolicyVaultError) as caught:
        require_rbac(vault, PRINCIPAL_ID)
    message = caught.value.message
    fix = caught.value.fix
    assert "no effect" in message
    assert OPERATOR in message
    assert "--enable-rbac-authorization true" in fix
    assert "drops every access policy" in fix
    assert "properties.accessPolicies" in fix
    assert "write role assignments" in fix
    assert f"--object-id {PRINCIPAL_ID}" in fix
    assert "--secret-permissions get" in fix
    assert "cannot be limited to one secret" in fix


def test_rbac_vault_passes() -> None:
    vault = vault_info_from_model(_vault_model({"enableRbacAuthorization": True}))
    require_rbac(vault)
    assert vault.access_policies == ()


def test_secret_info(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    vault = find_vault(connection, "kv-demo")
    fresh_sim.clear_requests()
    info = get_secret_info(connection, vault, "db-pass")
    assert info.enabled
    assert info.current_version == CURRENT_VERSION
    assert info.scope.lower() == SECRET_SCOPE.lower()
    assert not info.expired
    assert len(_arm_requests(fresh_sim)) == 1


def test_secret_info_expiry(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = find_vault(connection, "kv-demo")
    info = get_secret_info(connection, vault, "api-token")
    assert info.expires is not None
    assert not info.expired


def test_secret_missing(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    vault = find_vault(connection, "kv-demo")
    with pytest.raises(SecretNotFoundError) as caught:
        get_secret_info(connection, vault, "db-password")
    assert "db-password" in caught.value.message
    assert "kv-demo" in caught.value.message


def test_secret_disabled(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    vault = find_vault(connection, "kv-demo")
    with pytest.raises(SecretDisabledError) as caught:
        get_secret_info(connection, vault, "db-pass")
    assert "disabled" in caught.value.message
    assert "--enabled true" in caught.value.fix
