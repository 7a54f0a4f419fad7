"""Types of the identity lookup: a matching identity and the principal ID chosen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from akv_helpers.profile import IdentityRef

__all__ = [
    "CLIENT_ID_EXPLANATION",
    "IdentityCandidate",
    "PrincipalChoice",
    "to_identity_ref",
]


CLIENT_ID_EXPLANATION = (
    "the client ID is what workload identity uses; "
    "the principal ID (object ID) is what RBAC uses"
)


@dataclass(frozen=True)
class IdentityCandidate:
    """A user-assigned managed identity whose name matches Union's naming.

    Attributes
    ----------
    name
        Identity name, such as ``userflyterole``.
    resource_group
        Resource group, as it appears in the identity's resource ID.
    resource_id
        ARM resource ID of the identity.
    client_id
        Client ID (application ID), which workload identity uses.
    principal_id
        Principal ID (object ID of the service principal), which RBAC uses.
    tenant_id
        Tenant of the service principal.
    location
        Azure region.
    tags
        Resource tags.
    created_at
        When the identity was created (``systemData.createdAt``), or ``None``
        when Azure did not return it. A principal created less than an hour ago
        may still be replicating in the directory.
    """

    name: str
    resource_group: str
    resource_id: str
    client_id: str
    principal_id: str
    tenant_id: str | None = None
    location: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class PrincipalChoice:
    """The principal ID the kit will assign a role to, and why.

    Attributes
    ----------
    principal_id
        Principal ID (object ID) in canonical form.
    principal_type
        Always ``"ServicePrincipal"`` for a managed identity.
    typed_kind
        What the typed value was: ``"principal ID"``, ``"client ID"``,
        ``"resource ID"``, ``"name"`` (an identity's name), ``"nothing"`` (the
        lookup's value was used) or ``"unknown"`` (a GUID of no user-assigned
        identity, passed on as it is).
    explanation
        One sentence for the user, which states whether the typed value was
        replaced; for ``"unknown"`` it is a warning.
    identity
        The user-assigned identity the principal ID belongs to, when known.
    """

    principal_id: str
    principal_type: Literal["ServicePrincipal"] = "ServicePrincipal"
    typed_kind: Literal[
        "principal ID", "client ID", "resource ID", "name", "nothing", "unknown"
    ] = "principal ID"
    explanation: str = ""
    identity: IdentityCandidate | None = None

    @property
    def swapped(self) -> bool:
        """Whether the typed value was replaced by the principal ID."""
        return self.typed_kind in ("client ID", "resource ID")


def to_identity_ref(candidate: IdentityCandidate) -> IdentityRef:
    """Convert a candidate into the profile's `IdentityRef`."""
    return IdentityRef(
        name=candidate.name,
        resource_group=candidate.resource_group,
        resource_id=candidate.resource_id,
        client_id=candidate.client_id,
        principal_id=candidate.principal_id,
    )
