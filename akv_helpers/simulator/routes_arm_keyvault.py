"""ARM routes for Key Vault vaults and their secret resources (Microsoft.KeyVault)."""

from __future__ import annotations

from typing import Any

from .armcore import ArmRequest, resource_not_found
from .seed import iso_time
from .state import World

Json = dict[str, Any]

VAULT_TYPE = "Microsoft.KeyVault/vaults"
SECRETS_RESOURCE_TYPE = "Microsoft.KeyVault/vaults/secrets"
VAULT_READ = "Microsoft.KeyVault/vaults/read"
SECRETS_READ_ACTION = "Microsoft.KeyVault/vaults/secrets/read"


def vault_scope(subscription_id: str, vault: Json) -> str:
    """Build a vault's resource ID."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{vault['resource_group']}"
        f"/providers/{VAULT_TYPE}/{vault['name']}"
    )


def vault_body(request: ArmRequest, vault: Json) -> Json:
    """Render a vault as ARM returns it, with ``vaultUri`` at the vault's own port."""
    created = iso_time(vault["created"])
    properties: Json = {
        "tenantId": vault["tenant_id"],
        "sku": dict(vault["sku"]),
        "accessPolicies": [dict(policy) for policy in vault["access_policies"]],
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": vault["soft_delete_retention_days"],
        "enableRbacAuthorization": vault["enable_rbac_authorization"],
        "hsmPoolResourceId": None,
        "vaultUri": request.sim.vault_uri(vault["name"]),
        "provisioningState": "Succeeded",
        "publicNetworkAccess": vault["public_network_access"],
        "networkAcls": vault["network_acls"],
    }
    return {
        "id": vault_scope(request.world.subscription_id, vault),
        "name": vault["name"],
        "type": VAULT_TYPE,
        "location": vault["location"],
        "tags": dict(vault["tags"]),
        "systemData": {
            "createdBy": vault["created_by"],
            "createdByType": "User",
            "createdAt": created,
            "lastModifiedBy": vault["created_by"],
            "lastModifiedByType": "User",
            "lastModifiedAt": created,
        },
        "properties": properties,
    }


def secret_body(request: ArmRequest, vault: Json, secret: Json) -> Json:
    """Render a secret as the ARM secret resource: attributes and URIs, no value."""
    latest = World.latest_version(secret)
    vault_uri = request.sim.vault_uri(vault["name"]).rstrip("/")
    attributes: Json = {
        "enabled": latest["enabled"],
        "created": latest["created"],
        "updated": latest["updated"],
    }
    for key in ("nbf", "exp"):
        if latest.get(key) is not None:
            attributes[key] = latest[key]
    properties: Json = {
        "attributes": attributes,
        "secretUri": f"{vault_uri}/secrets/{secret['name']}",
        "secretUriWithVersion": (
            f"{vault_uri}/secrets/{secret['name']}/{latest['version']}"
        ),
    }
    if secret.get("content_type"):
        properties["contentType"] = secret["content_type"]
    return {
        "id": (
            f"{vault_scope(request.world.subscription_id, vault)}"
            f"/secrets/{secret['name']}"
        ),
        "name": secret["name"],
        "type": SECRETS_RESOURCE_TYPE,
        "location": vault["location"],
        "tags": dict(secret.get("tags") or {}),
        "properties": properties,
    }


def list_by_subscription(request: ArmRequest) -> tuple[int, Json]:
    """GET /subscriptions/{s}/providers/Microsoft.KeyVault/vaults."""
    subscription = request.params["subscription"]
    request.check_subscription(subscription)
    items = _readable_vaults(request, request.world.vaults())
    if not items:
        request.require(VAULT_READ, f"/subscriptions/{subscription}")
    return 200, request.page(items)


def list_by_resource_group(request: ArmRequest) -> tuple[int, Json]:
    """GET .../resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults."""
    subscription, group = request.params["subscription"], request.params["group"]
    request.check_subscription(subscription)
    items = _readable_vaults(request, request.world.vaults(group))
    if not items:
        request.require(
            VAULT_READ, f"/subscriptions/{subscription}/resourceGroups/{group}"
        )
        request.check_resource_group(subscription, group)
    return 200, request.page(items)


def _readable_vaults(request: ArmRequest, vaults: list[Json]) -> list[Json]:
    subscription = request.world.subscription_id
    ordered = sorted(vaults, key=lambda v: v["name"].lower())
    return [
        vault_body(request, vault)
        for vault in ordered
        if request.allowed(VAULT_READ, vault_scope(subscription, vault))
    ]


def _vault_or_404(request: ArmRequest, action: str, scope: str) -> Json:
    subscription, group = request.params["subscription"], request.params["group"]
    request.check_subscription(subscription)
    request.require(action, scope)
    request.check_resource_group(subscription, group)
    vault = request.world.vault(request.params["vault"], group)
    if vault is None:
        raise resource_not_found(VAULT_TYPE, request.params["vault"], group)
    return vault


def _vault_path(request: ArmRequest) -> str:
    return (
        f"/subscriptions/{request.params['subscription']}/resourceGroups/"
        f"{request.params['group']}/providers/{VAULT_TYPE}/{request.params['vault']}"
    )


def get_vault(request: ArmRequest) -> tuple[int, Json]:
    """GET .../providers/Microsoft.KeyVault/vaults/{vault}."""
    vault = _vault_or_404(request, VAULT_READ, _vault_path(request))
    return 200, vault_body(request, vault)


def list_secrets(request: ArmRequest) -> tuple[int, Json]:
    """GET .../vaults/{vault}/secrets."""
    vault = _vault_or_404(
        request, SECRETS_READ_ACTION, _vault_path(request) + "/secrets"
    )
    ordered = sorted(vault["secrets"], key=lambda s: s["name"].lower())
    return 200, request.page([secret_body(request, vault, s) for s in ordered])


def get_secret(request: ArmRequest) -> tuple[int, Json]:
    """GET .../vaults/{vault}/secrets/{name}."""
    name = request.params["name"]
    scope = f"{_vault_path(request)}/secrets/{name}"
    vault = _vault_or_404(request, SECRETS_READ_ACTION, scope)
    secret = World.secret(vault, name)
    if secret is None:
        raise resource_not_found(
            f"{SECRETS_RESOURCE_TYPE}",
            f"{vault['name']}/{name}",
            vault["resource_group"],
        )
    return 200, secret_body(request, vault, secret)
