"""Find the Union data-plane managed identity and pick its principal ID.

Union names the data-plane identity ``userflyterole`` (on some tenants
``<prefix>-userflyterole`` or ``flyteuser…``), and Azure has no server-side name
filter, so the kit lists the user-assigned identities of a resource group or
subscription and matches the names itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from azure.mgmt.core.tools import parse_resource_id

from akv_helpers._identity_models import (
    CLIENT_ID_EXPLANATION,
    IdentityCandidate,
    PrincipalChoice,
    to_identity_ref,
)
from akv_helpers._principal_ids import (
    _is_identity_resource_id,
    _known_candidate,
    _match_identity,
    looks_like_identity_name,
    resolve_principal_id,
    validate_identity_reference,
    validate_identity_resource_id,
    validate_principal_reference,
)
from akv_helpers.connection import Connection, azure_errors
from akv_helpers.errors import (
    AzureRequestError,
    IdentityNotFoundError,
    NotConfiguredError,
    displayable,
)
from akv_helpers.identifiers import (
    is_union_identity_name,
    validate_guid,
    validate_resource_group_name,
)
from akv_helpers.profile import IdentityRef
from akv_helpers.steps import step_place

__all__ = [
    "CLIENT_ID_EXPLANATION",
    "IdentityCandidate",
    "PrincipalChoice",
    "find_identities",
    "identity_created_at",
    "list_identities",
    "looks_like_identity_name",
    "resolve_principal_id",
    "resolve_typed_principal",
    "validate_identity_reference",
    "validate_identity_resource_id",
    "validate_principal_reference",
    "to_identity_ref",
]

logger = logging.getLogger(__name__)


# Names listed in IdentityNotFoundError before the rest are only counted.
_MAX_NAMES_SHOWN = 20


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
        created_at=_created_at(identity),
    )


def _created_at(identity: Any) -> datetime | None:
    created = getattr(getattr(identity, "system_data", None), "created_at", None)
    if not isinstance(created, datetime):
        return None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


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
        "(`akv-onboard find-identity --subscription-wide`, or select Search the "
        f"whole subscription in {step_place('identity')}). Check that you are "
        "signed in to the subscription of the Union data plane. Union support can "
        "name the identity."
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


def identity_created_at(
    connection: Connection, principal_id: str, known: IdentityRef | None = None
) -> datetime | None:
    """Return when the user-assigned identity with `principal_id` was created.

    The age decides whether a grant retries ``PrincipalNotFound``: Azure
    returns it while a new principal replicates, and for an old one it means a
    wrong kind of ID. One request is sent: a read of `known` when it has the
    principal ID, else a listing of the subscription's identities.

    Parameters
    ----------
    connection
        Signed-in connection.
    principal_id
        Principal ID (object ID) of the identity.
    known
        The profile's identity, read directly when it has `principal_id`.

    Returns
    -------
    datetime or None
        ``systemData.createdAt``, or ``None`` when no user-assigned identity has
        the principal ID, Azure did not return the time, or the request failed
        (which is logged).
    """
    principal = principal_id.lower()
    try:
        if known is not None and known.principal_id.lower() == principal:
            operations = connection.msi().user_assigned_identities
            with azure_errors("read the managed identity"):
                identity = operations.get(known.resource_group, known.name)
            return _created_at(identity)
        for candidate in list_identities(connection):
            if candidate.principal_id == principal:
                return candidate.created_at
    except AzureRequestError as error:
        logger.warning(
            "Could not read when identity %s was created: %s", principal, error.message
        )
    return None


def resolve_typed_principal(
    connection: Connection,
    typed_id: str,
    known: IdentityRef | None = None,
) -> PrincipalChoice:
    """Turn a typed principal ID, client ID, resource ID or name into a principal ID.

    Unless `typed_id` is an ID of `known`, the user-assigned identities of the
    whole subscription are listed (one request per page) and matched by
    principal ID, client ID, resource ID or name. A client ID, resource ID or
    name is replaced by the identity's principal ID, with an explanation. A
    GUID that matches no identity is passed on as a principal ID with a
    warning, because it can be a principal that is not a user-assigned
    identity.

    Parameters
    ----------
    connection
        Signed-in connection.
    typed_id
        What the user typed where the principal ID belongs. Text that is not
        GUID-like (hexadecimal digits and hyphens) and is a valid identity name
        is taken as a name.
    known
        The profile's identity, checked first without a request.

    Returns
    -------
    PrincipalChoice
        The principal ID, what the typed value was, and the explanation.

    Raises
    ------
    InvalidIdError
        If `typed_id` is neither a GUID, a managed identity's resource ID nor an
        identity name.
    IdentityNotFoundError
        If `typed_id` is a resource ID or a name that no identity of the
        subscription has.
    NotConfiguredError
        If several identities of the subscription have the typed name.
    AzureRequestError
        If Azure rejects the listing.
    """
    text = typed_id.strip()
    is_resource_id = text.lower().startswith("/subscriptions/")
    if not is_resource_id and looks_like_identity_name(text):
        return _resolve_name(connection, text)
    value = text.rstrip("/") if is_resource_id else validate_guid(text, "principal ID")
    if is_resource_id and not _is_identity_resource_id(value):
        validate_guid(value, "principal ID")
    if is_resource_id:
        validate_identity_resource_id(value)
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
            "(object ID) as typed. A grant works only if it is the ID of a service "
            "principal, such as a managed identity's principal ID: the kit assigns "
            "roles with principal type ServicePrincipal, so Azure rejects the ID "
            "of a user or group. For a managed identity, check the ID with "
            "`akv-onboard find-identity --subscription-wide`."
        ),
    )


def _resolve_name(connection: Connection, name: str) -> PrincipalChoice:
    matches = [c for c in list_identities(connection) if c.name.lower() == name.lower()]
    where = f"subscription {connection.subscription_id}"
    if not matches:
        raise IdentityNotFoundError(
            f"No user-assigned managed identity in {where} is named {name!r}.",
            "Check the name with `akv-onboard find-identity --subscription-wide`, "
            "or pass the identity's principal ID.",
        )
    if len(matches) > 1:
        listed = "; ".join(
            f"{c.resource_group} (principal ID {c.principal_id})" for c in matches
        )
        raise NotConfiguredError(
            f"{len(matches)} identities in {where} are named {name!r}: {listed}.",
            "Pass the principal ID or the resource ID of the one you mean.",
        )
    found = matches[0]
    return PrincipalChoice(
        found.principal_id,
        typed_kind="name",
        explanation=(
            f"{name!r} is the identity in {found.resource_group}; the kit uses its "
            f"principal ID {found.principal_id}."
        ),
        identity=found,
    )
