"""Classify what the user typed for an identity and pick its principal ID.

The text may be a name, a resource ID, a client ID or a principal ID; these checks
make no request to Azure.
"""

from __future__ import annotations

import re

from azure.mgmt.core.tools import parse_resource_id

from akv_helpers._identity_models import (
    CLIENT_ID_EXPLANATION,
    IdentityCandidate,
    PrincipalChoice,
)
from akv_helpers.errors import (
    InvalidIdError,
    InvalidInputError,
    InvalidNameError,
    displayable,
)
from akv_helpers.identifiers import (
    GUID_SHAPE,
    IDENTITY_NAME_RULE,
    validate_guid,
    validate_identity_name,
    validate_resource_group_name,
)
from akv_helpers.profile import IdentityRef

__all__ = [
    "IDENTITY_REFERENCE_SHAPE",
    "looks_like_identity_name",
    "resolve_principal_id",
    "validate_identity_reference",
    "validate_identity_resource_id",
    "validate_principal_reference",
]

IDENTITY_REFERENCE_SHAPE = (
    f"a principal ID or client ID ({GUID_SHAPE}), an identity's resource ID "
    "(/subscriptions/<ID>/resourceGroups/<group>/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/<name>), or an identity name "
    f"({IDENTITY_NAME_RULE})"
)


# Hexadecimal digits and hyphens only: a mistyped GUID, not a name.
_GUID_LIKE = re.compile(r"[0-9a-fA-F-]+")


def looks_like_identity_name(text: str) -> bool:
    """Check whether `text` is a valid identity name and not a mistyped GUID.

    Text of only hexadecimal digits and hyphens, with a digit, counts as a
    GUID.
    """
    if _GUID_LIKE.fullmatch(text) and any(ch.isdigit() for ch in text):
        return False
    try:
        validate_identity_name(text)
    except InvalidNameError:
        return False
    return True


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


def validate_identity_resource_id(text: str) -> None:
    """Check the parts of an identity's resource ID before it enters a request.

    Raises
    ------
    InvalidInputError
        If the subscription ID, resource group or identity name is invalid.
    """
    parts = parse_resource_id(text)
    validate_guid(str(parts.get("subscription", "")), "subscription ID")
    validate_resource_group_name(str(parts.get("resource_group", "")))
    validate_identity_name(str(parts.get("name", "")))


def _is_identity_path(text: str) -> bool:
    segments = text.lower().rstrip("/").split("/")
    return segments[-2:-1] == ["userassignedidentities"] and "providers" in segments


def validate_principal_reference(text: str) -> str:
    """Check a principal ID, client ID or identity resource ID before any request.

    Parameters
    ----------
    text
        What the user typed; surrounding whitespace is ignored.

    Returns
    -------
    str
        A GUID in canonical form (lowercase with hyphens), or the resource ID
        without a trailing slash.

    Raises
    ------
    InvalidInputError
        If `text` is neither a GUID nor a valid resource ID of a user-assigned
        identity; the message is `validate_guid`'s or names the invalid part.
    """
    stripped = _require_string(text, "principal ID").strip()
    if stripped.lower().startswith("/subscriptions/"):
        from azure.mgmt.core.tools import is_valid_resource_id

        resource_id = stripped.rstrip("/")
        if is_valid_resource_id(resource_id) and _is_identity_path(resource_id):
            validate_identity_resource_id(resource_id)
            return resource_id
    return validate_guid(stripped, "principal ID")


def validate_identity_reference(text: str) -> str:
    """Check what the user typed for the doctor's identity before any request.

    The doctor's ``--identity`` option and the troubleshooting panel share this
    rule: a principal ID, a client ID, an identity's resource ID or an identity
    name. Text of hexadecimal digits and hyphens counts as a mistyped GUID, so
    its error explains what is wrong with the GUID.

    Parameters
    ----------
    text
        What the user typed; surrounding whitespace is ignored.

    Returns
    -------
    str
        A GUID in canonical form, a resource ID without a trailing slash, or
        the identity name as typed, without surrounding whitespace.

    Raises
    ------
    InvalidInputError
        If `text` matches none of these forms. The message names the value,
        `IDENTITY_REFERENCE_SHAPE` and the fix.
    """
    stripped = _require_string(text, "identity").strip()
    try:
        return validate_principal_reference(stripped)
    except InvalidInputError as error:
        if looks_like_identity_name(stripped):
            return stripped
        if not stripped:
            raise InvalidIdError(
                "The identity is empty.",
                "Enter the identity's principal ID or name, or leave the identity "
                "out to use the profile's.",
                value=stripped,
                expected=IDENTITY_REFERENCE_SHAPE,
            ) from None
        if _GUID_LIKE.fullmatch(stripped) or stripped.startswith("/"):
            raise
        shown = displayable(stripped)
        raise InvalidIdError(
            f"The identity '{shown}' is invalid: it is not a principal ID, client "
            f"ID, resource ID or identity name. Expected {IDENTITY_REFERENCE_SHAPE}.",
            "Copy the principal ID (object ID) or the name from the managed "
            "identity's Overview page in the portal.",
            value=stripped,
            expected=IDENTITY_REFERENCE_SHAPE,
        ) from error


def _require_string(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    raise InvalidIdError(
        f"The {what} must be text, not {displayable(repr(value))} "
        f"({type(value).__name__}).",
        f"Pass the {what} as a string in quotes.",
        value=repr(value),
        expected=IDENTITY_REFERENCE_SHAPE,
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
