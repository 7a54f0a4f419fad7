"""Shared pieces of the ARM routes: request context, Azure errors, paging."""

from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import rbac

if TYPE_CHECKING:
    from .app import Simulator
    from .state import World

Json = dict[str, Any]

API_VERSIONS = {
    "microsoft.managedidentity": "2024-11-30",
    "microsoft.keyvault": "2026-05-15",
    "microsoft.authorization": "2022-04-01",
}


class ArmError(Exception):
    """An Azure error answer: HTTP status, ``error.code`` and ``error.message``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class ArmRequest:
    """One authenticated ARM request as the route functions see it."""

    sim: Simulator
    method: str
    path: str
    query: dict[str, str]
    body: Any
    principal_id: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def world(self) -> World:
        """The simulated tenant."""
        return self.sim.world

    def require(self, action: str, scope: str, *, role_guid: str | None = None) -> None:
        """Raise 403 AuthorizationFailed unless the caller may do ``action``."""
        if not self.allowed(action, scope, role_guid=role_guid):
            raise authorization_failed(self.principal_id, action, scope)

    def allowed(self, action: str, scope: str, *, role_guid: str | None = None) -> bool:
        """Tell whether the caller may do ``action`` at ``scope``."""
        return rbac.control_plane_allows(
            self.world.role_assignments,
            self.principal_id,
            action,
            scope,
            requested_role_guid=role_guid,
        )

    def check_subscription(self, subscription_id: str) -> None:
        """Raise 404 SubscriptionNotFound for any subscription but the seeded one."""
        if subscription_id.lower() != self.world.subscription_id.lower():
            raise ArmError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{subscription_id}' could not be found.",
            )

    def check_resource_group(self, subscription_id: str, group: str) -> None:
        """Raise 404 for an unknown subscription or resource group."""
        self.check_subscription(subscription_id)
        if not self.world.has_resource_group(group):
            raise ArmError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{group}' could not be found.",
            )

    def page(self, items: list[Json]) -> Json:
        """Return one page of ``items`` with a ``nextLink`` back to the simulator."""
        size = max(1, int(self.world.config.get("page_size", 100)))
        start = decode_skip_token(self.query.get("$skiptoken"))
        chunk = items[start : start + size]
        body: Json = {"value": chunk}
        if start + size < len(items):
            query = {
                key: value
                for key, value in self.query.items()
                if key not in ("$skiptoken", "api-version")
            }
            query["api-version"] = self.query.get("api-version", "")
            query["$skiptoken"] = encode_skip_token(start + size)
            body["nextLink"] = (
                f"{self.sim.arm_url}{self.path}?"
                + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
            )
        return body


def encode_skip_token(offset: int) -> str:
    """Encode a list offset as an opaque paging token."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_skip_token(token: str | None) -> int:
    """Decode a paging token; a missing or foreign token starts at the beginning."""
    if not token:
        return 0
    padded = token + "=" * (-len(token) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise ArmError(
            400, "InvalidSkipToken", f"The skip token '{token}' is not valid."
        ) from error
    match = re.fullmatch(r"offset:(\d+)", text)
    if match is None:
        raise ArmError(
            400, "InvalidSkipToken", f"The skip token '{token}' is not valid."
        )
    return int(match.group(1))


def authorization_failed(principal_id: str, action: str, scope: str) -> ArmError:
    """Build Azure's 403 AuthorizationFailed error."""
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{principal_id}' with object id '{principal_id}' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope "
        "is invalid. If access was recently granted, please refresh your credentials.",
    )


def resource_not_found(resource_type: str, name: str, group: str) -> ArmError:
    """Build ARM's 404 ResourceNotFound error for a resource in a resource group."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def decode_filter(raw: str | None) -> str | None:
    """Decode an OData ``$filter`` that may arrive percent-encoded more than once."""
    if raw is None:
        return None
    text = raw
    for _ in range(3):
        if not re.search(r"%[0-9A-Fa-f]{2}", text):
            break
        text = urllib.parse.unquote(text)
    return text.strip()
