"""The seeded demo tenant: fixed made-up IDs, fresh random secret values."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from ..roles import OWNER_ROLE_ID, role_definition_id

TENANT_ID = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
SUBSCRIPTION_NAME = "Union demo subscription"
DATA_PLANE_RESOURCE_GROUP = "rg-union-dp"
OPERATOR_PRINCIPAL_ID = "dddddddd-0000-4000-8000-000000000004"
OPERATOR_NAME = "demo.operator@contoso.example"
IDENTITY_NAME = "userflyterole"
IDENTITY_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
IDENTITY_PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_IDENTITY_NAME = "ci-deployer"
OTHER_IDENTITY_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000011"
OTHER_IDENTITY_PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000012"
AGENT_POOL_IDENTITY_NAME = "aks-agentpool"
AGENT_POOL_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000021"
AGENT_POOL_PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000022"
RBAC_VAULT = "kv-demo"
ACCESS_POLICY_VAULT = "kv-legacy"
ACCESS_POLICY_RESOURCE_GROUP = "rg-app-secrets"
SECRET_NAME = "db-pass"  # noqa: S105 (a secret name, not a value)
OLDER_VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CURRENT_VERSION = "7c4a8d09ca3762af61e59520943dc264"
LOCATION = "westeurope"

# The Azure CLI's public client ID, which a signed-in person's tokens carry as appid.
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
CANARY_PREFIX = "AKVSIM-CANARY-"
# Fixed namespace for the names of the assignments that the seed itself creates.
_SEED_NAMESPACE = uuid.UUID("5b0c7a5e-2d3f-4c1b-9a8e-7f6d5c4b3a21")

DAY_SECONDS = 86_400
# Seeded resources are this old, so nothing looks freshly created.
SEEDED_AGE_SECONDS = 30 * DAY_SECONDS

DEFAULT_CONFIG: dict[str, Any] = {
    "propagation_seconds": 0.0,
    "page_size": 100,
    # Role-assignment writes that fail with PrincipalNotFound while an identity
    # replicates (see the identity-young and identity-replicating scenarios).
    "replication_attempts_remaining": 2,
}


def new_canary() -> str:
    """Return a fresh random secret value that is easy to spot if it ever leaks."""
    return CANARY_PREFIX + secrets.token_urlsafe(18)[:24]


def iso_time(epoch: float) -> str:
    """Format a Unix time as ARM does, with seven fractional digits and ``Z``."""
    seconds = int(epoch)
    fraction = int(round((epoch - seconds) * 10_000_000))
    if fraction >= 10_000_000:
        seconds, fraction = seconds + 1, 0
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{fraction:07d}Z"


def new_version(version: str, created: int, **extra: Any) -> dict[str, Any]:
    """Build one secret version with a fresh canary value."""
    entry: dict[str, Any] = {
        "version": version,
        "value": new_canary(),
        "enabled": True,
        "created": created,
        "updated": created,
    }
    entry.update(extra)
    return entry


def new_identity(
    name: str,
    group: str,
    client_id: str,
    principal_id: str,
    *,
    created: int,
) -> dict[str, Any]:
    """Build a user-assigned identity created by the operator at ``created``."""
    tags = {"union.ai/managed": "true"} if name == IDENTITY_NAME else {}
    return {
        "name": name,
        "resource_group": group,
        "location": LOCATION,
        "client_id": client_id,
        "principal_id": principal_id,
        "tenant_id": TENANT_ID,
        "isolation_scope": "None",
        "tags": tags,
        "created": created,
        "created_by": OPERATOR_NAME,
    }


def new_vault(name: str, group: str, *, rbac: bool, created: int) -> dict[str, Any]:
    """Build a vault with public access, an open firewall and no secrets."""
    return {
        "name": name,
        "resource_group": group,
        "location": LOCATION,
        "tenant_id": TENANT_ID,
        "enable_rbac_authorization": rbac,
        "public_network_access": "Enabled",
        "network_acls": {
            "bypass": "AzureServices",
            "defaultAction": "Allow",
            "ipRules": [],
            "virtualNetworkRules": [],
        },
        "access_policies": [],
        "sku": {"family": "A", "name": "standard"},
        "soft_delete_retention_days": 90,
        "created": created,
        "created_by": OPERATOR_NAME,
        "tags": {},
        "secrets": [],
    }


def seed_world() -> dict[str, Any]:
    """Build the demo tenant with new canary secret values.

    Returns
    -------
    dict
        The world state as stored in ``state.json``.
    """
    now = int(time.time())
    day = DAY_SECONDS
    identities_created = now - SEEDED_AGE_SECONDS
    demo = new_vault(
        RBAC_VAULT, DATA_PLANE_RESOURCE_GROUP, rbac=True, created=now - 30 * day
    )
    demo["secrets"] = [
        {
            "name": SECRET_NAME,
            "content_type": "text/plain",
            "tags": {"owner": "data-platform"},
            "versions": [
                new_version(OLDER_VERSION, now - 20 * day),
                new_version(CURRENT_VERSION, now - 2 * day),
            ],
        },
        {
            "name": "api-token",
            "content_type": "text/plain",
            "tags": {"rotation": "yearly"},
            "versions": [
                new_version(uuid.uuid4().hex, now - 10 * day, exp=now + 355 * day),
            ],
        },
    ]
    legacy = new_vault(
        ACCESS_POLICY_VAULT,
        ACCESS_POLICY_RESOURCE_GROUP,
        rbac=False,
        created=now - 400 * day,
    )
    legacy["network_acls"] = {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "ipRules": [{"value": "127.0.0.1/32"}],
        "virtualNetworkRules": [
            {
                "id": (
                    f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/rg-app-secrets"
                    "/providers/microsoft.network/virtualnetworks/vnet-app"
                    "/subnets/snet-app"
                ),
                "ignoreMissingVnetServiceEndpoint": False,
            }
        ],
    }
    legacy["access_policies"] = [
        {
            "tenantId": TENANT_ID,
            "objectId": OPERATOR_PRINCIPAL_ID,
            "permissions": {"keys": [], "secrets": ["get", "list"], "certificates": []},
        }
    ]
    legacy["secrets"] = [
        {
            "name": "api-key",
            "content_type": None,
            "tags": {},
            "versions": [new_version(uuid.uuid4().hex, now - 100 * day)],
        }
    ]
    owner_scope = f"/subscriptions/{SUBSCRIPTION_ID}"
    owner_assignment = {
        "name": str(uuid.uuid5(_SEED_NAMESPACE, f"{owner_scope}|owner|operator")),
        "scope": owner_scope,
        "role_definition_id": role_definition_id(OWNER_ROLE_ID, SUBSCRIPTION_ID),
        "principal_id": OPERATOR_PRINCIPAL_ID,
        "principal_type": "User",
        "description": None,
        "condition": None,
        "condition_version": None,
        "created_at": float(now - 90 * day),
        "created_by": None,
        "seeded": True,
    }
    return {
        "schema": 1,
        "tenant_id": TENANT_ID,
        "subscription": {"id": SUBSCRIPTION_ID, "display_name": SUBSCRIPTION_NAME},
        "resource_groups": {
            DATA_PLANE_RESOURCE_GROUP: {"location": LOCATION},
            "rg-tools": {"location": LOCATION},
            ACCESS_POLICY_RESOURCE_GROUP: {"location": LOCATION},
        },
        "principals": {
            OPERATOR_PRINCIPAL_ID: {
                "type": "User",
                "display_name": OPERATOR_NAME,
                "app_id": AZURE_CLI_APP_ID,
                "replicated": True,
            },
            IDENTITY_PRINCIPAL_ID: {
                "type": "ServicePrincipal",
                "display_name": IDENTITY_NAME,
                "app_id": IDENTITY_CLIENT_ID,
                "replicated": True,
            },
            OTHER_IDENTITY_PRINCIPAL_ID: {
                "type": "ServicePrincipal",
                "display_name": OTHER_IDENTITY_NAME,
                "app_id": OTHER_IDENTITY_CLIENT_ID,
                "replicated": True,
            },
            AGENT_POOL_PRINCIPAL_ID: {
                "type": "ServicePrincipal",
                "display_name": AGENT_POOL_IDENTITY_NAME,
                "app_id": AGENT_POOL_CLIENT_ID,
                "replicated": True,
            },
        },
        "identities": [
            new_identity(
                IDENTITY_NAME,
                DATA_PLANE_RESOURCE_GROUP,
                IDENTITY_CLIENT_ID,
                IDENTITY_PRINCIPAL_ID,
                created=identities_created,
            ),
            new_identity(
                AGENT_POOL_IDENTITY_NAME,
                DATA_PLANE_RESOURCE_GROUP,
                AGENT_POOL_CLIENT_ID,
                AGENT_POOL_PRINCIPAL_ID,
                created=identities_created,
            ),
            new_identity(
                OTHER_IDENTITY_NAME,
                "rg-tools",
                OTHER_IDENTITY_CLIENT_ID,
                OTHER_IDENTITY_PRINCIPAL_ID,
                created=identities_created,
            ),
        ],
        "vaults": [demo, legacy],
        "role_assignments": [owner_assignment],
        "config": dict(DEFAULT_CONFIG),
        "scenarios": [],
    }
