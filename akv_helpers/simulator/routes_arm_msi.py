"""ARM routes for user-assigned managed identities (Microsoft.ManagedIdentity)."""

from __future__ import annotations

import time
from typing import Any

from .armcore import ArmRequest, resource_not_found
from .seed import SEEDED_AGE_SECONDS, iso_time

Json = dict[str, Any]

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
READ_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/read"


def identity_id(subscription_id: str, identity: Json) -> str:
    """Build an identity's resource ID with lowercase ``resourcegroups`` as Azure."""
    return (
        f"/subscriptions/{subscription_id}/resourcegroups/{identity['resource_group']}"
        f"/providers/{IDENTITY_TYPE}/{identity['name']}"
    )


def _system_data(identity: Json) -> Json:
    # State files written before identities had a creation time count as seeded.
    created = identity.get("created")
    if created is None:
        created = time.time() - SEEDED_AGE_SECONDS
    stamp = iso_time(float(created))
    creator = identity.get("created_by") or "unknown"
    return {
        "createdBy": creator,
        "createdByType": "User",
        "createdAt": stamp,
        "lastModifiedBy": creator,
        "lastModifiedByType": "User",
        "lastModifiedAt": stamp,
    }


def identity_body(subscription_id: str, identity: Json) -> Json:
    """Render an identity as ARM returns it, with ``systemData``."""
    return {
        "id": identity_id(subscription_id, identity),
        "name": identity["name"],
        "type": IDENTITY_TYPE,
        "location": identity["location"],
        "tags": dict(identity["tags"]),
        "systemData": _system_data(identity),
        "properties": {
            "tenantId": identity["tenant_id"],
            "principalId": identity["principal_id"],
            "clientId": identity["client_id"],
            "isolationScope": identity.get("isolation_scope", "None"),
        },
    }


def _readable(request: ArmRequest, identities: list[Json]) -> list[Json]:
    subscription = request.world.subscription_id
    return [
        identity_body(subscription, identity)
        for identity in sorted(identities, key=lambda i: i["name"].lower())
        if request.allowed(READ_ACTION, identity_id(subscription, identity))
    ]


def list_by_subscription(request: ArmRequest) -> tuple[int, Json]:
    """List the identities of the subscription that the caller may read."""
    subscription = request.params["subscription"]
    request.check_subscription(subscription)
    scope = f"/subscriptions/{subscription}"
    items = _readable(request, request.world.identities())
    if not items:
        request.require(READ_ACTION, scope)
    return 200, request.page(items)


def list_by_resource_group(request: ArmRequest) -> tuple[int, Json]:
    """List the identities of one resource group that the caller may read."""
    subscription, group = request.params["subscription"], request.params["group"]
    request.check_subscription(subscription)
    scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
    items = _readable(request, request.world.identities(group))
    if not items:
        request.require(READ_ACTION, scope)
        request.check_resource_group(subscription, group)
    return 200, request.page(items)


def get_identity(request: ArmRequest) -> tuple[int, Json]:
    """GET .../userAssignedIdentities/{name}."""
    subscription, group = request.params["subscription"], request.params["group"]
    name = request.params["name"]
    scope = (
        f"/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/{IDENTITY_TYPE}/{name}"
    )
    request.check_subscription(subscription)
    request.require(READ_ACTION, scope)
    request.check_resource_group(subscription, group)
    identity = request.world.identity(group, name)
    if identity is None:
        raise resource_not_found(IDENTITY_TYPE, name, group)
    return 200, identity_body(subscription, identity)
