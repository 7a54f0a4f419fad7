"""Find the Union data-plane managed identity and pick its principal ID.

Union names the data-plane identity ``userflyterole`` (on some tenants
``<prefix>-userflyterole`` or ``flyteuser…``), and Azure has no server-side name
filter, so the kit lists the user-assigned identities of a resource group or
subscription and matches the names itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from azure.mgmt.core.tools import parse_resource_id

from akv_helpers.connection import Connection, azure_errors
from akv_helpers.errors import IdentityNotFoundError, InvalidIdError, displayable
from akv_helpers.identifiers import (
    is_union_identity_name,
    validate_guid,
    validate_resource_group_name,
)
from akv_helpers.profile import IdentityRef

__all__ = [
    "CLIENT_ID_EXPLANATION",
    "IdentityCandidate",
    "PrincipalChoice",
    "find_identities",
    "list_identities",
    "resolve_principal_id",
    "resolve_typed_principal",
    "to_identity_ref",
]

logger = logging.getLogger(__name__)

CLIENT_ID_EXPLANATION = (
    "the client ID is what workload identity uses; "
    "the principal ID (object ID) is what RBAC uses"
)

# Names listed in IdentityNotFoundError before the rest are only counted.
_MAX_NAMES_SHOWN = 20


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
    """

    name: str
    resource_group: str
    resource_id: str
    client_id: str
    principal_id: str
    tenant_id: str | None = None
    location: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


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
        ``"resource ID"``, ``"nothing"`` (the lookup's value was used) or
        ``"unknown"`` (a GUID of no user-assigned identity, passed on as it is).
    explanation
        One sentence for the user, which states whether the typed value was
        replaced; for ``"unknown"`` it is a warning.
    identity
        The user-assigned identity the principal ID belongs to, when known.
    """

    principal_id: str
    principal_type: Literal["ServicePrincipal"] = "ServicePrincipal"
    typed_kind: Literal[
        "principal ID", "client ID", "resource ID", "nothing", "unknown"
    ] = "principal ID"
    explanation: str = ""
    identity: IdentityCandidate | None = None

    @property
    def swapped(self) -> bool:
        """Whether the typed value was replaced by the principal ID."""
        return self.typed_kind in ("client ID", "resource ID")


def _candidate(identity: Any) -> IdentityCandidate:
    resource_id = str(identity.id)
    parts = parse_resource_id(resource_id)
    return IdentityCandidate(
        name=str(identity.name),
        resource_group=str(parts.get("resource_group", "")),
        resource_id=resource_id,
        client_id=str(identity.client_id).lower(),
        principal_id=str(identity.principal_id).lower(),
        tenant_id=str(identity.tenant_id).lower() if identity.tenant_id else None,
        location=identity.location,
        tags=dict(identity.tags or {}),
    )


def find_identities(
    connection: Connection, resource_group: str | None = None
) -> list[IdentityCandidate]:
    """List the managed identities whose names match Union's data-plane identity.

    One request is sent per page of results: ``list_by_resource_group`` when a
    resource group is given, else ``list_by_subscription``.

    Parameters
    ----------
    connection
        Signed-in connection.
    resource_group
        Data-plane resource group, or ``None`` to search the whole subscription.

    Returns
    -------
    list[IdentityCandidate]
        Matching identities sorted by name and then resource ID; several matches
        are all returned, for the user to choose.

    Raises
    ------
    InvalidNameError
        If `resource_group` is not a valid resource group name.
    IdentityNotFoundError
        If no identity name matches; the message lists the names seen.
    AzureRequestError
        If Azure rejects the listing.
    """
    where = f"subscription {connection.subscription_id}"
    if resource_group is not None:
        resource_group = validate_resource_group_name(resource_group)
        where = f"resource group {resource_group!r}"
    identities = list_identities(connection, resource_group)

    seen = sorted(identity.name for identity in identities)
    matches = [
        identity for identity in identities if is_union_identity_name(identity.name)
    ]
    logger.debug("Found %d identities in %s, %d match", len(seen), where, len(matches))
    if not matches:
        raise IdentityNotFoundError(_no_match_message(where, seen), _no_match_fix())
    return sorted(
        matches, key=lambda item: (item.name.lower(), item.resource_id.lower())
    )


def _no_match_message(where: str, seen: list[str]) -> str:
    if not seen:
        return f"No user-assigned managed identity exists in {where}."
    shown = ", ".join(displayable(name) for name in seen[:_MAX_NAMES_SHOWN])
    more = len(seen) - _MAX_NAMES_SHOWN
    if more > 0:
        shown += f" and {more} more"
    return (
        f"No managed identity in {where} is named like Union's data-plane identity "
        f"('userflyterole', '<prefix>-userflyterole' or 'flyteuser…'). "
        f"Identities seen: {shown}."
    )


def _no_match_fix() -> str:
    return (
        "Search the Union data-plane resource group, or the whole subscription "
        "(`akv-onboard find-identity --subscription-wide`, or leave the resource "
        "group empty in the notebook). Check that you are signed in to the "
        "subscription of the Union data plane. Union support can name the identity."
    )


def list_identities(
    connection: Connection, resource_group: str | None = None
) -> list[IdentityCandidate]:
    """List every user-assigned managed identity, whatever its name.

    One request is sent per page of results: ``list_by_resource_group`` when a
    resource group is given, else ``list_by_subscription``.

    Parameters
    ----------
    connection
        Signed-in connection.
    resource_group
        Resource group to list, or ``None`` for the whole subscription.

    Returns
    -------
    list[IdentityCandidate]
        The identities, in the order Azure returns them.

    Raises
    ------
    InvalidNameError
        If `resource_group` is not a valid resource group name.
    AzureRequestError
        If Azure rejects the listing.
    """
    operations = connection.msi().user_assigned_identities
    with azure_errors("list the managed identities"):
        if resource_group is not None:
            group = validate_resource_group_name(resource_group)
            identities = list(operations.list_by_resource_group(group))
        else:
            identities = list(operations.list_by_subscription())
    return [_candidate(identity) for identity in identities]


def resolve_typed_principal(
    connection: Connection,
    typed_id: str,
    known: IdentityRef | None = None,
) -> PrincipalChoice:
    """Turn a typed principal ID, client ID or identity resource ID into a principal ID.

    Unless `typed_id` is an ID of `known`, the user-assigned identities of the
    whole subscription are listed (one request per page) and matched by
    principal ID, client ID and resource ID. A client ID or resource ID is
    replaced by the owning identity's principal ID, with an explanation. A GUID
    that matches no identity is passed on as a principal ID with a warning,
    because it can be a principal that is not a user-assigned identity.

    Parameters
    ----------
    connection
        Signed-in connection.
    typed_id
        What the user typed where the principal ID belongs.
    known
        The profile's identity, checked first without a request.

    Returns
    -------
    PrincipalChoice
        The principal ID, what the typed value was, and the explanation.

    Raises
    ------
    InvalidIdError
        If `typed_id` is neither a GUID nor a managed identity's resource ID.
    IdentityNotFoundError
        If `typed_id` is a managed identity's resource ID that the subscription
        does not contain.
    AzureRequestError
        If Azure rejects the listing.
    """
    text = typed_id.strip()
    is_resource_id = text.lower().startswith("/subscriptions/")
    value = text.rstrip("/") if is_resource_id else validate_guid(text, "principal ID")
    if is_resource_id and not _is_identity_resource_id(value):
        validate_guid(value, "principal ID")
    if known is not None:
        choice = _match_identity(_known_candidate(known), value)
        if choice is not None:
            return choice

    candidates = list_identities(connection)
    for candidate in candidates:
        choice = _match_identity(candidate, value)
        if choice is not None:
            return choice
    if is_resource_id:
        raise IdentityNotFoundError(
            f"No user-assigned managed identity in subscription "
            f"{connection.subscription_id} has the resource ID "
            f"'{displayable(value)}'.",
            "Copy the resource ID from the identity's Properties page, or pass its "
            "principal ID (`az identity show --ids <resource ID> --query "
            "principalId -o tsv`).",
        )
    return PrincipalChoice(
        value,
        typed_kind="unknown",
        explanation=(
            f"{value} is neither the principal ID nor the client ID of any of the "
            f"{len(candidates)} user-assigned managed identities in subscription "
            f"{connection.subscription_id}, so the kit uses it as a principal ID "
            "(object ID) as typed. That is right for a service principal or group. "
            "For a managed identity, check the ID with `akv-onboard find-identity "
            "--subscription-wide`."
        ),
    )


def _is_identity_resource_id(text: str) -> bool:
    try:
        parts = parse_resource_id(text)
    except (TypeError, ValueError):
        return False
    return (
        str(parts.get("namespace", "")).lower() == "microsoft.managedidentity"
        and str(parts.get("type", "")).lower() == "userassignedidentities"
        and bool(parts.get("name"))
        and not parts.get("children")
    )


def _known_candidate(identity: IdentityRef) -> IdentityCandidate:
    return IdentityCandidate(
        name=identity.name,
        resource_group=identity.resource_group,
        resource_id=identity.resource_id,
        client_id=identity.client_id.lower(),
        principal_id=identity.principal_id.lower(),
    )


def _match_identity(candidate: IdentityCandidate, value: str) -> PrincipalChoice | None:
    """Return the choice for `value` if it is an ID of `candidate`, else None."""
    principal_id = candidate.principal_id.lower()
    where = f"{candidate.name!r} in {candidate.resource_group}"
    if value.lower() == candidate.resource_id.lower():
        return PrincipalChoice(
            principal_id,
            typed_kind="resource ID",
            explanation=(
                f"That is the resource ID of the identity {where}, so the kit uses "
                f"its principal ID {principal_id}: {CLIENT_ID_EXPLANATION}."
            ),
            identity=candidate,
        )
    if value == principal_id:
        return PrincipalChoice(
            principal_id,
            explanation=f"{principal_id} is the principal ID of the identity {where}.",
            identity=candidate,
        )
    if value == candidate.client_id.lower():
        return PrincipalChoice(
            principal_id,
            typed_kind="client ID",
            explanation=(
                f"{value} is the client ID of the identity {where}, so the kit uses "
                f"its principal ID {principal_id} instead: {CLIENT_ID_EXPLANATION}."
            ),
            identity=candidate,
        )
    return None


def to_identity_ref(candidate: IdentityCandidate) -> IdentityRef:
    """Convert a candidate into the profile's `IdentityRef`."""
    return IdentityRef(
        name=candidate.name,
        resource_group=candidate.resource_group,
        resource_id=candidate.resource_id,
        client_id=candidate.client_id,
        principal_id=candidate.principal_id,
    )


def resolve_principal_id(
    candidate: IdentityCandidate, typed_id: str | None = None
) -> PrincipalChoice:
    """Choose the principal ID for the role assignment from what the user typed.

    A typed client ID or resource ID of `candidate` is replaced by its principal
    ID, with an explanation. A GUID that belongs to neither is rejected, because
    assigning a role to an unknown principal would grant nothing useful.

    Parameters
    ----------
    candidate
        The identity the user chose.
    typed_id
        What the user typed as the principal ID; ``None`` or blank uses the
        candidate's principal ID.

    Returns
    -------
    PrincipalChoice
        The principal ID, with principal type ``ServicePrincipal``.

    Raises
    ------
    InvalidIdError
        If `typed_id` is not a GUID, or is not an ID of `candidate`.
    """
    principal_id = candidate.principal_id.lower()
    text = (typed_id or "").strip()
    if not text:
        return PrincipalChoice(
            principal_id,
            typed_kind="nothing",
            explanation=(
                f"Using the principal ID (object ID) {principal_id} of "
                f"{candidate.name!r}."
            ),
        )
    if text.lower().startswith("/subscriptions/"):
        return _resolve_resource_id(candidate, text)

    value = validate_guid(text, "principal ID")
    if value == principal_id:
        return PrincipalChoice(
            principal_id,
            explanation=f"{principal_id} is the principal ID of {candidate.name!r}.",
        )
    if value == candidate.client_id.lower():
        return PrincipalChoice(
            principal_id,
            typed_kind="client ID",
            explanation=(
                f"{value} is the client ID of {candidate.name!r}, so the kit uses "
                f"its principal ID {principal_id} instead: {CLIENT_ID_EXPLANATION}."
            ),
        )
    raise InvalidIdError(
        f"The ID {value} is neither the principal ID nor the client ID of the "
        f"identity {candidate.name!r} (principal ID {principal_id}, client ID "
        f"{candidate.client_id}).",
        f"Use the principal ID {principal_id}, or choose the identity that {value} "
        "belongs to.",
        value=text,
        expected=f"the principal ID of {candidate.name!r}",
    )


def _resolve_resource_id(candidate: IdentityCandidate, text: str) -> PrincipalChoice:
    principal_id = candidate.principal_id.lower()
    # ARM returns identity IDs with "resourcegroups" in lowercase, so compare
    # resource IDs without regard to case.
    if text.rstrip("/").lower() == candidate.resource_id.lower():
        return PrincipalChoice(
            principal_id,
            typed_kind="resource ID",
            explanation=(
                f"That is the resource ID of {candidate.name!r}, so the kit uses its "
                f"principal ID {principal_id}: {CLIENT_ID_EXPLANATION}."
            ),
        )
    raise InvalidIdError(
        f"The resource ID '{displayable(text)}' is not the resource ID of the "
        f"identity {candidate.name!r} ({candidate.resource_id}).",
        f"Use the principal ID {principal_id} of {candidate.name!r}.",
        value=text,
        expected=f"the principal ID of {candidate.name!r}",
    )
