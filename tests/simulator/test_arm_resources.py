"""Identity and Key Vault management routes through the real management SDKs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.msi import ManagedServiceIdentityClient

from .conftest import (
    IDENTITY,
    OTHER_IDENTITY,
    SUBSCRIPTION,
    RunningSimulator,
    SimulatorTestCredential,
    _client_kwargs,
)


def test_identities_list_by_subscription(msi_client) -> None:
    identities = list(msi_client.user_assigned_identities.list_by_subscription())
    names = [identity.name for identity in identities]
    assert names == ["aks-agentpool", "ci-deployer", "userflyterole"]
    flyte = identities[2]
    assert flyte.principal_id == IDENTITY
    assert flyte.client_id == "aaaaaaaa-0000-4000-8000-000000000001"
    assert flyte.tags == {"union.ai/managed": "true"}
    assert "/resourcegroups/rg-union-dp/" in flyte.id


def test_identities_list_by_resource_group(msi_client) -> None:
    identities = list(
        msi_client.user_assigned_identities.list_by_resource_group("rg-tools")
    )
    assert [(i.name, i.principal_id) for i in identities] == [
        ("ci-deployer", OTHER_IDENTITY)
    ]


def test_identities_paging_page_size_one(sim: RunningSimulator, msi_client) -> None:
    sim.admin("POST", "config", {"page_size": 1})
    pages = list(msi_client.user_assigned_identities.list_by_subscription().by_page())
    assert [len(list(page)) for page in pages] == [1, 1, 1]
    gets = [r for r in sim.admin("GET", "requests")["value"] if r["method"] == "GET"]
    assert len(gets) == 3
    assert "$skiptoken=" in gets[1]["query"]
    assert gets[1]["api_version"] == "2024-11-30"


def test_identity_get(msi_client) -> None:
    identity = msi_client.user_assigned_identities.get("rg-union-dp", "userflyterole")
    assert identity.principal_id == IDENTITY
    assert identity.isolation_scope == "None"


def test_identity_get_path_case_insensitive(sim: RunningSimulator) -> None:
    token = sim.token("dddddddd-0000-4000-8000-000000000004")
    url = (
        f"{sim.arm_url}/SUBSCRIPTIONS/{SUBSCRIPTION}/resourcegroups/RG-UNION-DP/providers/"
        "microsoft.managedidentity/USERASSIGNEDIDENTITIES/UserFlyteRole?api-version=2024-11-30"
    )
    status, body, _ = sim.raw("GET", url, headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert body["name"] == "userflyterole"


def test_identity_get_missing(msi_client) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        msi_client.user_assigned_identities.get("rg-union-dp", "nope")
    assert caught.value.error.code == "ResourceNotFound"


def test_identity_missing_resource_group(msi_client) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        msi_client.user_assigned_identities.get("rg-absent", "userflyterole")
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_identity_read_denied_without_role(sim: RunningSimulator) -> None:
    client = ManagedServiceIdentityClient(
        SimulatorTestCredential(sim, OTHER_IDENTITY),
        SUBSCRIPTION,
        **_client_kwargs(sim),
    )
    with pytest.raises(HttpResponseError) as caught:
        client.user_assigned_identities.get("rg-union-dp", "userflyterole")
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert f"'{OTHER_IDENTITY}'" in caught.value.error.message


def test_vaults_list_by_subscription(sim: RunningSimulator, kv_client) -> None:
    vaults = {vault.name: vault for vault in kv_client.vaults.list_by_subscription()}
    assert sorted(vaults) == ["kv-demo", "kv-legacy"]
    demo = vaults["kv-demo"].properties
    assert demo.enable_rbac_authorization is True
    assert demo.vault_uri == sim.vault_url("kv-demo")
    assert demo.public_network_access == "Enabled"
    assert demo.network_acls.default_action == "Allow"
    legacy = vaults["kv-legacy"].properties
    assert legacy.enable_rbac_authorization is False
    assert legacy.access_policies[0].object_id == "dddddddd-0000-4000-8000-000000000004"
    assert legacy.access_policies[0].permissions.secrets == ["get", "list"]


def test_vault_get_and_missing(kv_client) -> None:
    vault = kv_client.vaults.get("rg-union-dp", "kv-demo")
    assert vault.properties.soft_delete_retention_in_days == 90
    assert vault.system_data.created_by_type == "User"
    with pytest.raises(ResourceNotFoundError) as caught:
        kv_client.vaults.get("rg-union-dp", "kv-absent")
    assert caught.value.error.code == "ResourceNotFound"


def test_arm_secret_get(sim: RunningSimulator, kv_client) -> None:
    secret = kv_client.secrets.get("rg-union-dp", "kv-demo", "db-pass")
    base = sim.vault_url("kv-demo").rstrip("/")
    assert secret.properties.secret_uri == f"{base}/secrets/db-pass"
    assert secret.properties.secret_uri_with_version.endswith(
        "/db-pass/7c4a8d09ca3762af61e59520943dc264"
    )
    assert secret.properties.attributes.enabled is True
    assert secret.properties.value is None


def test_arm_secret_list_paged(sim: RunningSimulator, kv_client) -> None:
    sim.admin("POST", "config", {"page_size": 1})
    names = [s.name for s in kv_client.secrets.list("rg-union-dp", "kv-demo")]
    assert names == ["api-token", "db-pass"]


def test_arm_secret_missing(kv_client) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        kv_client.secrets.get("rg-union-dp", "kv-demo", "absent")
    assert caught.value.error.code == "ResourceNotFound"


def test_api_version_checked(sim: RunningSimulator) -> None:
    token = sim.token("dddddddd-0000-4000-8000-000000000004")
    base = f"{sim.arm_url}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.KeyVault"
    base += "/vaults"
    headers = {"Authorization": f"Bearer {token}"}
    status, body, _ = sim.raw("GET", f"{base}?api-version=2019-09-01", headers=headers)
    assert status == 400
    assert body["error"]["code"] == "InvalidApiVersionParameter"
    status, body, _ = sim.raw("GET", base, headers=headers)
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"


def test_unknown_route(sim: RunningSimulator) -> None:
    token = sim.token("dddddddd-0000-4000-8000-000000000004")
    headers = {"Authorization": f"Bearer {token}"}
    url = (
        f"{sim.arm_url}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/disks"
    )
    status, body, _ = sim.raw("GET", url + "?api-version=2024-01-01", headers=headers)
    assert status == 404
    assert body["error"]["code"] == "InvalidResourceType"
    status, body, _ = sim.raw("GET", f"{sim.arm_url}/nothing/here", headers=headers)
    assert status == 404
    assert body["error"]["code"] == "ResourceNotFound"


def test_wrong_subscription(sim: RunningSimulator) -> None:
    client = ManagedServiceIdentityClient(
        SimulatorTestCredential(sim, "dddddddd-0000-4000-8000-000000000004"),
        "99999999-1111-2222-3333-444444444444",
        **_client_kwargs(sim),
    )
    with pytest.raises(ResourceNotFoundError) as caught:
        list(client.user_assigned_identities.list_by_subscription())
    assert caught.value.error.code == "SubscriptionNotFound"
